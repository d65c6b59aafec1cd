"""Caches of what jieba reads from its dictionary, kept in the temporary folder beside
jieba's own and named after the dictionary file's path, size and time, so a changed
dictionary is read afresh."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from retrieval.atomic import write_atomically


def cache_path(kind: str, dictionary: str) -> Path:
    stat = os.stat(dictionary)
    key = hashlib.sha1(f"{dictionary}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"speechbot-{kind}-{key[:16]}"


def save(cache: Path, data: bytes) -> None:
    """Written beside and renamed: a reader never sees half a cache. A cache that cannot be
    written (a read-only /tmp) only costs the next start the time to read the dictionary."""
    with contextlib.suppress(OSError):
        write_atomically(cache, data, prefix=f".{cache.name}.")
