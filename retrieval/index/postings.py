"""Inverted-index segments: under each term, the sorted ids of the documents holding it and
its frequency in each. A segment is built once and never changed; its arrays are plain
numpy, saved and memory-mapped back (persist.py).

Exactness-critical: every score is read from these (tests/test_bm25_equivalence.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from retrieval.index.arrays import Runs, merge_runs, run_starts

POSTINGS_ARRAYS = ("indptr", "doc_ids", "tfs", "doc_len", "dense_terms", "dense")
# A term in more than this share of a segment's documents keeps its frequencies as a row
# over all of them: no bigger than its postings, and a document's is found at once.
DENSE_SHARE = 1 / 5


@dataclass(frozen=True)
class Postings:
    """One segment's inverted index: under each term id, sorted segment-local document ids
    and term frequencies. A later segment's vocabulary extends the one before it, so a term
    has one id across segments. The commonest terms (`dense_terms`, sorted) have no
    postings; row i of `dense` holds term dense_terms[i]'s frequency in every document."""

    terms: list[str]
    indptr: np.ndarray
    doc_ids: np.ndarray
    tfs: np.ndarray
    doc_len: np.ndarray
    dense_terms: np.ndarray
    dense: np.ndarray

    @cached_property
    def vocab(self) -> dict[str, int]:
        return {term: i for i, term in enumerate(self.terms)}

    @cached_property
    def _rows(self) -> dict[int, int]:
        return {term: i for i, term in enumerate(self.dense_terms.tolist())}

    @classmethod
    def from_runs(
        cls,
        terms: Sequence[str],
        parts: list[Runs],
        lengths: np.ndarray,
        spill: Callable[[Runs], Runs] = lambda part: part,
    ) -> Postings:
        """From the postings of consecutive runs of documents (see `postings_of`). Each part
        in `parts` is replaced by its postings of the terms that keep them, passed through
        `spill` (arrays.spilled: to a file until merged), so a big index holds its parts
        and its final arrays once each at most, not its postings three times."""
        held = np.zeros(len(terms), dtype=np.int64)
        for part in parts:
            held[part.keys] += part.counts
        dense_terms = np.flatnonzero(held > len(lengths) * DENSE_SHARE).astype(np.int32)
        # Frequencies are small: the narrowest type that holds them makes a big index smaller.
        narrow = narrowest(max((int(np.max(p.values[1], initial=0)) for p in parts), default=0))
        dense: np.ndarray = np.zeros((len(dense_terms), len(lengths)), dtype=narrow)
        for i, part in enumerate(parts):
            parts[i] = spill(_undensed(part, dense_terms, dense))
        indptr, values = merge_runs(parts, len(terms))
        doc_ids, tfs = values if values else (np.zeros(0, np.int32), np.zeros(0, np.int32))
        return cls(
            list(terms),
            indptr,
            doc_ids,
            tfs.astype(narrow, copy=False),
            lengths.astype(np.float64),
            dense_terms,
            dense,
        )

    @classmethod
    def from_tokens(cls, docs: Iterable[Sequence[str]]) -> Postings:
        vocab: dict[str, int] = {}
        ids: list[int] = []
        lengths: list[int] = []
        for doc in docs:
            lengths.append(len(doc))
            ids += [vocab.setdefault(term, len(vocab)) for term in doc]
        length_array = np.asarray(lengths, dtype=np.int64)
        part = postings_of(np.asarray(ids, dtype=np.int64), length_array, 0)
        return cls.from_runs(list(vocab), [part], length_array)

    def __len__(self) -> int:
        return len(self.doc_len)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in POSTINGS_ARRAYS}

    @classmethod
    def from_arrays(cls, terms: Sequence[str], arrays: dict[str, np.ndarray]) -> Postings:
        return cls(list(terms), *(arrays[name] for name in POSTINGS_ARRAYS))

    def span(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding the term, sorted, and its frequency in each."""
        row = self._rows.get(term_id)
        if row is not None:
            docs = np.flatnonzero(self.dense[row]).astype(self.doc_ids.dtype)
            return docs, self.dense[row][docs]
        if term_id >= len(self.terms):
            return self.doc_ids[:0], self.tfs[:0]
        lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
        return self.doc_ids[lo:hi], self.tfs[lo:hi]

    def where(self, term_id: int) -> tuple[int, int, int]:
        """Where the term is kept: its postings lo:hi, or its dense row (-1: none)."""
        row = self._rows.get(term_id, -1)
        if row >= 0 or term_id >= len(self.terms):
            return 0, 0, row
        return int(self.indptr[term_id]), int(self.indptr[term_id + 1]), -1

    def frequencies(self, term_id: int, docs: np.ndarray) -> np.ndarray:
        """The term's frequency in each of the (sorted) documents, 0 where absent."""
        row = self._rows.get(term_id)
        if row is not None:
            return self.dense[row][docs]
        ids, tfs = self.span(term_id)
        at = np.searchsorted(ids, docs.astype(ids.dtype, copy=False))
        found = at < len(ids)
        found[found] = ids[at[found]] == docs[found]
        out = np.zeros(len(docs), dtype=tfs.dtype)
        out[found] = tfs[at[found]]
        return out

    def doc_freqs(self, counts: np.ndarray | None) -> np.ndarray:
        """How many documents hold each term; with `counts`, how many each stands for."""
        held = np.diff(self.indptr)
        if counts is None:
            held[self.dense_terms] = np.count_nonzero(self.dense, axis=1)
            return held
        df = held.astype(np.int64)
        # Most documents count once (a reload's dead ones 0): only the postings of the
        # others change the plain count, and finding them is cheaper than adding them all.
        odd = np.flatnonzero((counts != 1)[self.doc_ids])
        if len(odd):
            terms = np.searchsorted(self.indptr, odd, side="right") - 1
            np.add.at(df, terms, counts[self.doc_ids[odd]].astype(np.int64) - 1)
        for row, term in zip(self.dense, self.dense_terms.tolist(), strict=True):
            df[term] = counts[row > 0].sum()
        return df


def narrowest(most: int) -> type:
    """The narrowest type for frequencies up to `most`."""
    return np.uint8 if most < 1 << 8 else np.uint16 if most < 1 << 16 else np.int32


def _undensed(part: Runs, dense_terms: np.ndarray, dense: np.ndarray) -> Runs:
    """The part's postings of the dense terms written into their rows of `dense`; the part
    without them, its frequencies as narrow as the rows'."""
    docs, tfs = (np.asarray(v) for v in part.values)
    at = np.searchsorted(dense_terms, part.keys)
    in_rows = np.zeros(len(at), dtype=bool)
    found = at < len(dense_terms)
    in_rows[found] = dense_terms[at[found]] == part.keys[found]
    keep = ~np.repeat(in_rows, part.counts)
    if not keep.all():
        dense[np.repeat(at[in_rows], part.counts[in_rows]), docs[~keep]] = tfs[~keep]
        docs, tfs = docs[keep], tfs[keep]
    kept = ~in_rows
    return Runs(part.keys[kept], part.counts[kept], (docs, tfs.astype(dense.dtype, copy=False)))


def postings_of(ids: np.ndarray, lengths: np.ndarray, first_doc: int) -> Runs:
    """The postings of consecutive documents, numbered from `first_doc`: under each term id,
    the documents holding it and how often. `ids` are their term ids end to end."""
    n = max(len(lengths), 1)
    keys = ids.astype(np.int64)
    keys *= n
    keys += np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    keys.sort()
    starts = run_starts(keys)
    tfs = np.diff(np.append(starts, len(keys))).astype(np.int32)
    pairs = keys[starts]
    del keys
    term_of = pairs // n
    docs = (pairs - term_of * n + first_doc).astype(np.int32)
    return Runs.from_sorted(term_of.astype(np.int32), docs, tfs)
