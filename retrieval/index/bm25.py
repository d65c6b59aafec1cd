"""BM25 over inverted indexes, vectorised with numpy, giving rank-bm25's scores.

rank-bm25 loops in Python over every document for every query term. Here each term's
postings (sorted document ids and term frequencies) are stored contiguously, so a query
touches only the documents that contain its terms; a posting's contribution is rank-bm25's
expression for the variant, and a score adds them in query-term order, as rank-bm25 does.
tests/test_bm25_equivalence.py holds the two to 1e-9.

An index is one or more `Postings` segments (each built once and never changed; the arrays
are plain numpy, saved and memory-mapped back) plus a mask of deleted documents. A reload
adds a segment for the new files and marks the replaced documents deleted, so it costs the
size of the change, not of the corpus; IDF and length normalisation are computed over the
live documents, so the scores are exactly those of a fresh build.

Exactness-critical: scores must equal rank-bm25's (tests/test_bm25_equivalence.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from retrieval.index import blocks, compiled
from retrieval.index.blocks import Scoring, Segments
from retrieval.index.postings import Postings

VARIANTS = ("okapi", "plus", "l")


@dataclass(frozen=True)
class BM25Params:
    """Defaults chosen on the dev queries (docs/retrieval.md): BM25L with mild length
    normalisation. Okapi zeroes or floors the IDF of 工会/职工-like words that half the
    paragraphs contain; BM25L keeps every IDF positive and ranked best."""

    variant: str = "l"
    k1: float = 1.2
    b: float = 0.3
    epsilon: float = 0.25
    delta: float = 0.5
    # Routing, not scoring: a term holding fewer documents than this many times the blocks
    # has no block maxima kept (blocks.py): going through its few postings costs a query
    # less than adding up a byte a block, and no byte a block is kept for rare words.
    kept_maxima_df: float = 0.25

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown BM25 variant {self.variant!r}")


class BM25:
    """Scores over segments laid end to end (ids run on from one to the next), as if built
    afresh from the live documents.

    An id is one document, or (with `counts`) a group of documents with the same text —
    every paragraph of a section has the same context — that counts as `counts[id]` live
    documents for document frequencies and the average length; 0 leaves it out (dead).
    """

    def __init__(
        self,
        segments: Sequence[Postings],
        params: BM25Params,
        counts: np.ndarray | None = None,
        df: np.ndarray | None = None,
    ) -> None:
        """`df`: the document frequencies, when known (saved with the snapshot): working
        them out reads every common word's dense row, a third of a second at 1M."""
        self.segments = list(segments)
        self.params = params
        self.offsets = np.cumsum([0] + [len(s) for s in self.segments])
        self.n_docs = int(self.offsets[-1])
        self.counts = counts if counts is not None and (counts != 1).any() else None
        self.dead = None if self.counts is None or self.counts.all() else self.counts == 0
        self.terms = self.segments[-1].terms if self.segments else []
        self.vocab = self.segments[-1].vocab if self.segments else {}
        doc_len: np.ndarray | list[int]
        doc_len = np.concatenate([s.doc_len for s in self.segments]) if self.segments else []
        doc_len = np.asarray(doc_len, dtype=np.float64)
        # Lengths and counts are whole numbers: their sums are exact in any order.
        if self.counts is None:
            self.n_live, total = len(doc_len), float(doc_len.sum())
        else:
            self.n_live, total = int(self.counts.sum()), float(doc_len @ self.counts)
        self.df = self._doc_freqs() if df is None else df
        self.idf = _idf(self.df.astype(np.float64), self.n_live, params)
        self.avgdl = total / self.n_live if self.n_live else 0.0
        self.norm = _length_norm(params, doc_len, self.avgdl)
        self._maxima: dict[int, tuple[np.ndarray, float]] = {}

    @classmethod
    def from_tokens(cls, docs: Iterable[Sequence[str]], params: BM25Params) -> BM25:
        return cls([Postings.from_tokens(docs)], params)

    def _doc_freqs(self) -> np.ndarray:
        df = np.zeros(len(self.terms), dtype=np.int64)
        for i, seg in enumerate(self.segments):
            counts = None
            if self.counts is not None:
                counts = self.counts[self.offsets[i] : self.offsets[i + 1]].astype(np.int64)
            seg_df = seg.doc_freqs(None if counts is None or (counts == 1).all() else counts)
            df[: len(seg_df)] += seg_df
        return df

    # looking up -------------------------------------------------------------------------

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Sorted ids of the live documents holding the term, and the term's score in each."""
        term_id = self.vocab.get(term)
        if term_id is None:
            return None
        docs, tfs = self._raw(term_id)
        weights = _weights(self.params, self.idf[term_id], tfs.astype(np.float64), self.norm[docs])
        return docs.astype(np.int32, copy=False), weights

    def _raw(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        spans = [s.span(term_id) for s in self.segments]
        if len(spans) == 1:
            docs, tfs = spans[0]
        else:
            docs = np.concatenate(
                [d + int(o) for (d, _), o in zip(spans, self.offsets, strict=False)]
            )
            tfs = np.concatenate([t for _, t in spans])
        if self.dead is not None:
            live = ~self.dead[docs]
            docs, tfs = docs[live], tfs[live]
        return docs, tfs

    def doc_freq(self, term: str) -> int:
        term_id = self.vocab.get(term)
        return 0 if term_id is None else int(self.df[term_id])

    def term_idf(self, term: str) -> float:
        term_id = self.vocab.get(term)
        return 0.0 if term_id is None else float(self.idf[term_id])

    def docs(self, term: str) -> np.ndarray:
        """Sorted ids of the live documents holding the term."""
        term_id = self.vocab.get(term)
        return self._raw(term_id)[0] if term_id is not None else np.zeros(0, dtype=np.int32)

    @cached_property
    def scoring(self) -> Scoring:
        """How the compiled loops (retrieval/blocks.py) work out a posting's score."""
        p = self.params
        return blocks.scoring(p.variant, p.k1, p.delta, self.norm)

    @cached_property
    def segs(self) -> Segments:
        """The segments as the compiled loops take them (blocks.Segments)."""
        return blocks.segments(
            [
                (first, seg.doc_ids, seg.tfs, seg.dense)
                for seg, first in zip(self.segments, self.offsets.tolist(), strict=False)
            ]
        )

    @cached_property
    def compiled(self) -> bool:
        """Whether the compiled loops score this index: they take frequencies below 256
        (a word repeated more often in a paragraph makes the index keep wider ones) and up
        to blocks.SLOTS segments."""
        return (
            compiled.enabled()
            and self.params.variant in blocks.VARIANTS
            and len(self.segments) <= blocks.SLOTS
            and all(seg.tfs.dtype == np.uint8 for seg in self.segments)
        )

    def _parts(self, term_id: int, place: int) -> list[tuple[int, int, int, int, int]]:
        return [(place, i, *seg.where(term_id)) for i, seg in enumerate(self.segments)]

    def maxima(self, term: str) -> tuple[np.ndarray, float] | None:
        """The most the term gives a document of each block (see blocks.maxima), worked out
        once per snapshot; None for a rarer term (BM25Params.kept_maxima_df), whose postings give it
        at query time."""
        term_id = self.vocab.get(term)
        least = self.params.kept_maxima_df * blocks.count(self.n_docs)
        if term_id is None or self.df[term_id] < least:
            return None
        known = self._maxima.get(term_id)
        if known is None:
            known = blocks.maxima(self.segs, np.array(self._parts(term_id, 0)), self.scoring)
            self._maxima[term_id] = known
        return known

    def warm(self) -> None:
        """Work out the block maxima of every term that has them (a byte a block), most
        frequent first, so that questions after a start or a reload do not wait."""
        if not self.compiled:
            return
        for term_id in np.argsort(-self.df, kind="stable").tolist():
            if self.maxima(self.terms[term_id]) is None:
                break

    def parts(self, query: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Where the segments keep the query words (rows as blocks.WORD…ROW give them), and
        each word's IDF by its place among the words the index knows."""
        parts: list[tuple[int, int, int, int, int]] = []
        idf: list[float] = []
        for term in query:
            term_id = self.vocab.get(term)
            if term_id is not None:
                parts += self._parts(term_id, len(idf))
                idf.append(self.idf[term_id])
        return np.array(parts, dtype=np.int64).reshape(-1, 5), np.array(idf)

    def kept_maxima(self, query: Sequence[str]) -> list[tuple[np.ndarray, float] | None]:
        """`maxima` of each query word the index knows, as `parts` places them."""
        return [self.maxima(term) for term in query if term in self.vocab]

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        """Scores for every document, as rank-bm25's get_scores (repeated terms count again)."""
        scores = np.zeros(self.n_docs)
        for term in query:
            post = self.postings(term)
            if post is None:
                continue
            if self.params.variant == "plus":
                # Documents without the term still get idf·δ in BM25+.
                scores += self.term_idf(term) * self.params.delta
            scores[post[0]] += post[1]
        return scores

    def score_docs(self, query: Sequence[str], docs: np.ndarray) -> np.ndarray:
        """get_scores(query)[docs], touching only those documents, with the same sums."""
        if len(docs) > self.n_docs // 16:
            # Looking each one up would cost more than scoring them all.
            return self.get_scores(query)[docs]
        scores = np.zeros(len(docs))
        parts: list[tuple[Postings, slice | np.ndarray, np.ndarray]]
        if len(self.segments) == 1:
            parts = [(self.segments[0], slice(None), docs)]
        else:
            seg_of = np.searchsorted(self.offsets, docs, side="right") - 1
            parts = []
            for i, seg in enumerate(self.segments):
                mine = np.flatnonzero(seg_of == i)
                parts.append((seg, mine, docs[mine] - self.offsets[i]))
        for term in query:
            term_id = self.vocab.get(term)
            if term_id is None:
                continue
            if self.params.variant == "plus":
                scores += self.term_idf(term) * self.params.delta
            tf = np.zeros(len(docs))
            for seg, at, local in parts:
                tf[at] = seg.frequencies(term_id, local)
            if self.dead is not None:
                tf[self.dead[docs]] = 0
            held = np.flatnonzero(tf)
            norm = self.norm[docs[held]]
            scores[held] += _weights(self.params, self.idf[term_id], tf[held], norm)
        return scores


def _idf(df: np.ndarray, n: int, params: BM25Params) -> np.ndarray:
    if params.variant == "okapi":
        # Same formula and the same flooring of negative values as rank-bm25's BM25Okapi,
        # whose average runs over the words present (a reload can leave absent ones).
        idf = np.array([math.log(n - f + 0.5) - math.log(f + 0.5) for f in df.tolist()])
        present = idf[df > 0]
        if len(present):
            eps = params.epsilon * (sum(present.tolist()) / len(present))
            idf[idf < 0] = eps
        return idf
    if params.variant == "plus":
        # A word no document holds any more counts as unknown, as in rank-bm25.
        return np.array([math.log((n + 1) / f) if f else 0.0 for f in df.tolist()])
    return np.array([math.log(n + 1) - math.log(f + 0.5) for f in df.tolist()])


def _length_norm(p: BM25Params, doc_len: np.ndarray, avgdl: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - p.b + p.b * doc_len / avgdl


def _weights(p: BM25Params, idf: np.ndarray, tf: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Each posting's contribution, with rank-bm25's expression for the variant."""
    if p.variant == "okapi":
        return idf * (tf * (p.k1 + 1) / (tf + p.k1 * norm))
    if p.variant == "plus":
        return idf * ((tf * (p.k1 + 1)) / (p.k1 * norm + tf))
    # rank-bm25's BM25L multiplies by the raw term frequency as well; kept, since its
    # scores are the ones of record.
    ctd = tf / norm
    return idf * tf * (p.k1 + 1) * (ctd + p.delta) / (p.k1 + ctd + p.delta)
