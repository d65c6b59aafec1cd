"""Caches of what jieba reads from its dictionary, kept in the temporary folder beside
jieba's own and named after the dictionary file's path, size and time, so a changed
dictionary is read afresh."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def cache_path(kind: str, dictionary: str) -> Path:
    stat = os.stat(dictionary)
    key = hashlib.sha1(f"{dictionary}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"speechbot-{kind}-{key[:16]}"


def save(cache: Path, data: bytes) -> None:
    """Written beside and renamed: a reader never sees half a cache. A cache that cannot be
    written (a read-only /tmp) only costs the next start the time to read the dictionary."""
    try:
        fd, scratch = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(scratch, cache)
    except OSError:
        Path(scratch).unlink(missing_ok=True)
