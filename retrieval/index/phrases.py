"""Exact phrase look-up: a character-bigram index narrows, the text itself decides.

Texts here are in the comparison form of `query.normalize` (letters, digits and CJK only),
so every character is below U+10000 and a bigram fits in 32 bits. A paragraph holding a
phrase holds all of the phrase's bigrams; the paragraphs holding all of them are
then checked for the phrase itself, so the answer is exact, never a bigram coincidence.

Exactness-critical: phrase counts must equal a substring scan (tests/test_phrases.py).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

import numpy as np

from retrieval.index import compiled
from retrieval.index.arrays import (
    Runs,
    intersect_sorted,
    merge_runs,
    merge_runs_into,
    read_only,
    unique_counts,
)
from retrieval.index.columns import DiskArray, NpyWriter, TextColumn
from retrieval.index.compiled import jit
from retrieval.index.integrity import DamagedIndex

# A needle's bigram lists narrow its candidates rarest first, as long as the next list is
# no longer than this many times the candidates left.
NARROWING_RATIO = 16
# Bigram postings merged at a time by a big build (documents: 4 bytes each).
MERGE_BUDGET = 1 << 24


def _bigram_codes(text: str) -> np.ndarray:
    chars = np.frombuffer(text.encode("utf-16-le"), dtype=np.uint16).astype(np.uint64)
    return unique_counts((chars[:-1] << 16) | chars[1:])[0]


class PhraseIndex:
    def __init__(
        self, flat: TextColumn, grams: np.ndarray, indptr: np.ndarray, docs: np.ndarray | DiskArray
    ) -> None:
        self.flat = flat
        self.grams = grams
        self.indptr = indptr
        self.docs = docs

    @staticmethod
    def chunk_postings(flats: list[str], first_doc: int) -> Runs:
        """Under each bigram, the documents of a run of consecutive ones holding it."""
        chars = np.frombuffer("".join(flats).encode("utf-16-le"), dtype=np.uint16)
        doc = np.repeat(
            np.arange(first_doc, first_doc + len(flats), dtype=np.uint64),
            np.fromiter(map(len, flats), dtype=np.int64, count=len(flats)),
        )
        same = doc[:-1] == doc[1:]
        codes = (chars[:-1].astype(np.uint64) << 16) | chars[1:]
        keys = unique_counts((codes[same] << 32) | doc[:-1][same])[0]
        return Runs.from_sorted(keys >> 32, (keys & 0xFFFFFFFF).astype(np.uint32))

    @classmethod
    def from_chunks(cls, flat: TextColumn, parts: list[Runs]) -> PhraseIndex:
        """From the postings of consecutive runs of documents (see `chunk_postings`)."""
        if not parts:
            parts = [cls.chunk_postings([], 0)]
        grams = unique_counts(np.concatenate([p.keys for p in parts]))[0]
        indptr, (docs,) = merge_runs(parts, len(grams), lambda k: np.searchsorted(grams, k))
        return cls(flat, grams, indptr, docs)

    @classmethod
    def written(
        cls,
        flat: TextColumn,
        parts: list[Runs],
        out: NpyWriter,
        opener: Callable[[Path], np.ndarray | DiskArray],
    ) -> PhraseIndex:
        """As from_chunks, the documents written to `out` a range of bigrams at a time and
        opened by `opener`: with the parts' documents spilled to files, a million
        paragraphs' bigram postings (600 MB) are never whole in memory."""
        if not parts:
            parts = [cls.chunk_postings([], 0)]
        grams = unique_counts(np.concatenate([p.keys for p in parts]))[0]
        indptr = merge_runs_into(
            parts, len(grams), lambda k: np.searchsorted(grams, k), [out], MERGE_BUDGET
        )
        return cls(flat, grams, indptr, opener(out.close()))

    def arrays(self) -> dict[str, np.ndarray | DiskArray]:
        return {
            **self.flat.arrays("flat"),
            "grams": self.grams,
            "gram_indptr": self.indptr,
            "gram_docs": self.docs,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray | DiskArray]) -> PhraseIndex:
        # Of these only the documents may be read by slices (persist.READ_BY_SLICES).
        return cls(
            TextColumn.from_arrays("flat", arrays),
            cast(np.ndarray, arrays["grams"]),
            cast(np.ndarray, arrays["gram_indptr"]),
            arrays["gram_docs"],
        )

    def _at(self, code: int) -> int | None:
        at = int(np.searchsorted(self.grams, code))
        return None if at == len(self.grams) or int(self.grams[at]) != code else at

    def _size(self, code: int) -> int:
        at = self._at(code)
        return 0 if at is None else int(self.indptr[at + 1] - self.indptr[at])

    def _postings(self, code: int) -> np.ndarray:
        at = self._at(code)
        if at is None:
            return np.zeros(0, dtype=np.uint32)
        docs = self.docs[self.indptr[at] : self.indptr[at + 1]]
        # Too big to check at start-up (integrity.py), so checked as read: an id out of
        # order or past the last paragraph would take the compiled loops out of their
        # arrays (a phrase's holders bound top-k, `within`).
        if len(docs) and (docs[-1] >= len(self.flat) or (docs[1:] <= docs[:-1]).any()):
            raise DamagedIndex("the bigram postings are damaged")
        return docs

    def bigram_freq(self, bigram: str) -> int:
        """How many documents hold the two characters side by side."""
        units = bigram.encode("utf-16-le")
        if len(units) != 4:
            return 0
        # The code _bigram_codes gives the pair of UTF-16 units, without building arrays.
        return self._size(
            int.from_bytes(units[:2], "little") << 16 | int.from_bytes(units[2:], "little")
        )

    def candidates(self, needle: str, narrowing_ratio: float = NARROWING_RATIO) -> np.ndarray:
        """Sorted ids of the documents holding every bigram of the needle: all those that
        contain it, and (for needles longer than two characters) perhaps a few more."""
        if not needle:
            return np.zeros(0, dtype=np.int64)
        if len(needle) == 1:
            every = np.arange(len(self.flat), dtype=np.int64)
            return every[self._containing(needle, every)]
        rarest_first = sorted((self._size(code), code) for code in _bigram_codes(needle).tolist())
        found = self._postings(rarest_first[0][1])
        for size, code in rarest_first[1:]:
            if size > narrowing_ratio * len(found):
                # Reading a long list to narrow a short one costs more than checking the
                # few extra candidates for the needle itself (`holds`).
                break
            found = intersect_sorted(found, self._postings(code))
        return found.astype(np.int64)

    def holds(self, needle: str, docs: np.ndarray) -> np.ndarray:
        """Which of the candidate documents really contain the needle."""
        if len(needle) <= 2:
            return np.ones(len(docs), dtype=bool)
        return self._containing(needle, docs)

    def _containing(self, needle: str, docs: np.ndarray) -> np.ndarray:
        docs = docs.astype(np.int64, copy=False)
        if not compiled.enabled():
            return np.fromiter((needle in self.flat[d] for d in docs.tolist()), bool, len(docs))
        data = np.frombuffer(needle.encode("utf-8"), dtype=np.uint8)
        text, offsets = read_only(self.flat.data, np.uint8), self.flat.offsets
        if len(docs) < SPLIT_FROM or _CORES < 2:
            return _holding(text, offsets, docs, data)
        # A common phrase has hundreds of thousands of paragraphs to check: the compiled
        # check releases the GIL, so each core takes a share.
        shares = np.array_split(docs, _CORES)
        found = _checkers().map(lambda share: _holding(text, offsets, share, data), shares)
        return np.concatenate(list(found))


# Candidates from which the check is shared between the cores.
SPLIT_FROM = 4_000
_CORES = min(os.cpu_count() or 1, 4)


@functools.cache
def _checkers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_CORES, thread_name_prefix="phrase-check")


@jit
def _holding(data: np.ndarray, offsets: np.ndarray, docs: np.ndarray, needle: np.ndarray):
    """Which documents' bytes hold the needle's. A match of UTF-8 bytes is a match of
    characters (no character's bytes begin inside another's). Compiled, and by
    Boyer-Moore-Horspool: the byte under the needle's end tells how far it can move on,
    most often its whole length, so a check reads a fraction of the text; a common keyword
    has tens of thousands of paragraphs to check."""
    n = len(needle)
    move = np.full(256, n, dtype=np.int64)
    for i in range(n - 1):
        move[needle[i]] = n - 1 - i
    last = needle[n - 1]
    out = np.zeros(len(docs), dtype=np.bool_)
    for k in range(len(docs)):
        at, end = offsets[docs[k]], offsets[docs[k] + 1] - n
        while at <= end:
            byte = data[at + n - 1]
            if byte == last:
                j = 0
                while j < n - 1 and data[at + j] == needle[j]:
                    j += 1
                if j == n - 1:
                    out[k] = True
                    break
            at += move[byte]
    return out


def warm() -> None:
    """Compile the phrase check (or load it from numba's cache), as blocks.warm."""
    if not compiled.enabled():
        return
    nothing = np.zeros(4, dtype=np.uint8)
    _holding(
        read_only(nothing, np.uint8),
        np.array([0, 4]),
        np.zeros(1, dtype=np.int64),
        nothing[:3].copy(),
    )
