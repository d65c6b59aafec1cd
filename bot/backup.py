"""`speechbot backup DIR`: copies of the store and the journal taken while the bot runs.

SQLite's online backup copies a consistent state page by page, where copying the file could
catch a write half done. The saved index is not copied: it is rebuilt from the store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from bot.journal import Journal


class BackupError(Exception):
    """The backup could not be made; the message says which file and why."""


def backup(store_path: Path, folder: Path) -> list[Path]:
    """The store and its journal, copied into `folder` under their own names."""
    if not store_path.exists():
        raise BackupError(f"no store at {store_path}: run `speechbot index` first")
    journal = Journal.path_beside(store_path)
    sources = [store_path] + ([journal] if journal.exists() else [])
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    made = []
    for source in sources:
        target = folder / source.name
        if target.resolve() == source.resolve():
            raise BackupError(f"the backup of {source} would overwrite it")
        made.append(_copy(source, target))
    return made


def _copy(source: Path, target: Path) -> Path:
    # Written beside the target and renamed: an interrupted backup never leaves half a copy
    # under the real name.
    scratch = target.with_name(target.name + ".part")
    scratch.unlink(missing_ok=True)
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(scratch)) as dst,
        ):
            src.backup(dst)
        scratch.replace(target)
    except (sqlite3.Error, OSError) as exc:
        scratch.unlink(missing_ok=True)
        raise BackupError(f"cannot back up {source.name}: {exc}") from exc
    return target
