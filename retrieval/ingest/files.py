"""Changing the corpus folder safely: a new file is checked in a scratch folder before it
touches the corpus, written with a rename, and undone if the reload fails; a removed or
replaced file goes to the trash folder inside the corpus directory, from where it can be
put back. A full disk undoes the change too, and says so (DiskFull)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retrieval.atomic import write_atomically as atomic_write
from retrieval.ingest.sources import SUPPORTED_SUFFIXES, SourceError
from retrieval.ingest.sync import TRASH_DIR, parse_file
from retrieval.model import DiskFull, Speech

_UNSAFE = re.compile(r"[^\w.\-（）()\u3400-\u9fff]+")


class UnsupportedFile(SourceError):
    """Not a kind of file the readers know (.txt, .md, .docx)."""

    def __init__(self, suffix: str) -> None:
        super().__init__(f"unsupported file type: {suffix or 'none'}")
        self.suffix = suffix


class NameTaken(SourceError):
    """Too many files of that name already."""


# File systems allow 255 bytes a name (85 Chinese characters in UTF-8); this leaves room
# for a _2 and for the trash's time-stamp prefix.
MAX_NAME_BYTES = 200


def safe_name(file_name: str) -> str:
    """A plain file name: no folders, no hidden files, nothing a shell would trip on, short
    enough for any file system (a long stem is cut, the suffix kept)."""
    name = _UNSAFE.sub("_", Path(file_name).name).strip("._") or "upload"
    stem, suffix = Path(name).stem, Path(name).suffix[:16]
    while len((stem + suffix).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix


def free_name(path: Path) -> Path:
    for i in range(2, 1000):
        candidate = path.with_name(f"{path.stem}_{i}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise NameTaken(f"too many files named {path.name}")


def check_file(name: str, data: bytes) -> list[Speech]:
    """Parse in a scratch folder: a bad file never reaches the corpus directory."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFile(suffix)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / name
        path.write_bytes(data)
        return parse_file(path, Path(scratch))


def write_atomically(target: Path, data: bytes) -> None:
    """Temporary file in the same folder, then rename: readers never see half a file."""
    atomic_write(target, data, prefix=".upload-")


@contextmanager
def written(corpus_dir: Path, target: Path, data: bytes) -> Iterator[None]:
    """The file in place for the block, a file it replaces kept in the trash; as it was
    before if the block fails."""
    kept = None
    if target.exists():
        kept = _trash_name(corpus_dir, target)
        # Linked, not moved: until the new file is renamed in, the old one stays in place
        # for anyone reading the folder (`speechbot index` would drop its speeches).
        try:
            os.link(target, kept)
        except OSError:
            shutil.copy2(target, kept)
    try:
        write_atomically(target, data)
        yield
    except BaseException:
        if kept is None:
            target.unlink(missing_ok=True)
        else:
            # Renaming a link over the file it links to does nothing: then only the link goes.
            os.replace(kept, target)
            kept.unlink(missing_ok=True)
        raise


@contextmanager
def trashed(corpus_dir: Path, source: Path) -> Iterator[None]:
    """The file moved to the trash for the block; back in place if the block fails."""
    moved = _trash_name(corpus_dir, source)
    os.replace(source, moved)
    try:
        yield
    except BaseException:
        os.replace(moved, source)
        raise


def _trash_name(corpus_dir: Path, source: Path) -> Path:
    trash = corpus_dir / TRASH_DIR
    trash.mkdir(exist_ok=True)
    moved = trash / f"{time.strftime('%Y%m%d-%H%M%S')}_{source.name}"
    return free_name(moved) if moved.exists() else moved


@contextmanager
def refusing_full_disk() -> Iterator[None]:
    """A full disk (or quota) as DiskFull, whether a file or SQLite met it. The blocks
    inside undo their changes as the error passes, so DiskFull means nothing changed."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise DiskFull(f"no space left on the disk ({exc.strerror or exc})") from exc
    except sqlite3.OperationalError as exc:
        full = getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL"
        if not full and "disk is full" not in str(exc):
            raise
        raise DiskFull(f"no space left for the database ({exc})") from exc
