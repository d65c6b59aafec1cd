"""Changing the corpus folder safely: a new file is checked in a scratch folder before it
touches the corpus, written with a rename, and undone if the reload fails; a removed file
goes to the trash folder inside the corpus directory, from where it can be put back."""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retrieval.ingest.sources import SUPPORTED_SUFFIXES, SourceError
from retrieval.ingest.sync import TRASH_DIR, parse_file
from retrieval.model import Speech

_UNSAFE = re.compile(r"[^\w.\-（）()\u3400-\u9fff]+")


class UnsupportedFile(SourceError):
    """Not a kind of file the readers know (.txt, .md, .docx)."""

    def __init__(self, suffix: str) -> None:
        super().__init__(f"unsupported file type: {suffix or 'none'}")
        self.suffix = suffix


class NameTaken(SourceError):
    """Too many files of that name already."""


def safe_name(file_name: str) -> str:
    """A plain file name: no folders, no hidden files, nothing a shell would trip on."""
    name = _UNSAFE.sub("_", Path(file_name).name).strip("._") or "upload"
    return name[-120:]


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
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def written(target: Path, data: bytes) -> Iterator[None]:
    """The file in place for the block; as it was before if the block fails."""
    backup = target.read_bytes() if target.exists() else None
    write_atomically(target, data)
    try:
        yield
    except BaseException:
        if backup is None:
            target.unlink(missing_ok=True)
        else:
            write_atomically(target, backup)
        raise


@contextmanager
def trashed(corpus_dir: Path, source: Path) -> Iterator[None]:
    """The file moved to the trash for the block; back in place if the block fails."""
    trash = corpus_dir / TRASH_DIR
    trash.mkdir(exist_ok=True)
    moved = trash / f"{time.strftime('%Y%m%d-%H%M%S')}_{source.name}"
    os.replace(source, moved)
    try:
        yield
    except BaseException:
        os.replace(moved, source)
        raise
