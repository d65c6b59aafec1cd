"""jieba's prefix dictionary (every word and every prefix of one, with its frequency), read
from a cache of our own: jieba keeps it with marshal, which reads its half a million
entries in about 0.55 s here; the words as one string and the frequencies as one array
read in 0.16 s. Start-up waits for it before the first answer (docs/scale.md).

Exactness-critical: the dictionary must be the one jieba builds (tests/test_keywords.py).
"""

from __future__ import annotations

from pathlib import Path

import jieba
import numpy as np

from retrieval.index import tempcache

_HEADER = np.dtype("<i8")


def initialize(tok: jieba.Tokenizer) -> None:
    """`tok.initialize()`, from the cache when there is one."""
    with tok.get_dict_file() as dictionary:
        cache = tempcache.cache_path("prefixdict", dictionary.name).with_suffix(".bin")
    if _read(tok, cache):
        return
    tok.initialize()
    tempcache.save(cache, _encode(tok.FREQ, tok.total))


def _encode(freq: dict[str, int], total: int) -> bytes:
    counts = np.fromiter(freq.values(), dtype=_HEADER, count=len(freq))
    head = np.array([len(freq), total], dtype=_HEADER)
    return head.tobytes() + counts.tobytes() + "\n".join(freq).encode("utf-8")


def _read(tok: jieba.Tokenizer, cache: Path) -> bool:
    try:
        data = cache.read_bytes()
        n, total = np.frombuffer(data, dtype=_HEADER, count=2).tolist()
        start = 2 * _HEADER.itemsize
        counts = np.frombuffer(data, dtype=_HEADER, count=n, offset=start)
        words = data[start + n * _HEADER.itemsize :].decode("utf-8").split("\n")
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    if len(words) != n:
        return False
    tok.FREQ, tok.total = dict(zip(words, counts.tolist(), strict=True)), total
    tok.initialized = True
    return True
