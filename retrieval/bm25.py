"""BM25 over an inverted index, vectorised with numpy, giving rank-bm25's scores.

rank-bm25 loops in Python over every document for every query term. Here each term's
postings (document ids and term frequencies) are stored contiguously, so a query touches only
the documents that contain its terms; the arithmetic is the same expression in the same
order, so the scores agree with rank-bm25's to rounding (tests/test_bm25_equivalence.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

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

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown BM25 variant {self.variant!r}")


class BM25:
    """Immutable once built: reloads build a new one and swap the reference."""

    def __init__(
        self,
        vocab: dict[str, int],
        indptr: np.ndarray,
        doc_ids: np.ndarray,
        tfs: np.ndarray,
        doc_len: np.ndarray,
        params: BM25Params,
    ) -> None:
        self.vocab = vocab
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.tfs = tfs
        self.doc_len = doc_len
        self.params = params
        self.n_docs = len(doc_len)
        self.df = np.diff(indptr)
        self.avgdl = float(doc_len.sum()) / self.n_docs if self.n_docs else 0.0
        self.idf = self._idf()
        p = params
        with np.errstate(divide="ignore", invalid="ignore"):
            self.length_norm = 1 - p.b + p.b * doc_len / self.avgdl
        self.okapi_norm = p.k1 * self.length_norm

    @classmethod
    def from_tokens(cls, docs: Iterable[Sequence[str]], params: BM25Params) -> BM25:
        vocab: dict[str, int] = {}
        rows: list[list[tuple[int, int]]] = []
        lengths: list[int] = []
        for doc_id, doc in enumerate(docs):
            lengths.append(len(doc))
            for term, tf in Counter(doc).items():
                term_id = vocab.setdefault(term, len(vocab))
                if term_id == len(rows):
                    rows.append([])
                rows[term_id].append((doc_id, tf))
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        flat = [pair for r in rows for pair in r]
        doc_ids = np.fromiter((d for d, _ in flat), dtype=np.int32, count=len(flat))
        tfs = np.fromiter((t for _, t in flat), dtype=np.float64, count=len(flat))
        return cls(vocab, indptr, doc_ids, tfs, np.asarray(lengths, dtype=np.float64), params)

    def _idf(self) -> np.ndarray:
        n = self.n_docs
        df = self.df.astype(np.float64)
        if self.params.variant == "okapi":
            # Same formula and the same flooring of negative values as rank-bm25's BM25Okapi.
            idf = np.array([math.log(n - f + 0.5) - math.log(f + 0.5) for f in df])
            if len(idf):
                eps = self.params.epsilon * (sum(idf.tolist()) / len(idf))
                idf[idf < 0] = eps
            return idf
        if self.params.variant == "plus":
            return np.array([math.log((n + 1) / f) for f in df])
        return np.array([math.log(n + 1) - math.log(f + 0.5) for f in df])

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        term_id = self.vocab.get(term)
        if term_id is None:
            return None
        lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
        return self.doc_ids[lo:hi], self.tfs[lo:hi]

    def doc_freq(self, term: str) -> int:
        term_id = self.vocab.get(term)
        return 0 if term_id is None else int(self.df[term_id])

    def term_idf(self, term: str) -> float:
        term_id = self.vocab.get(term)
        return 0.0 if term_id is None else float(self.idf[term_id])

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        """Scores for every document, as rank-bm25's get_scores (repeated terms count again)."""
        scores = np.zeros(self.n_docs)
        p = self.params
        for term in query:
            term_id = self.vocab.get(term)
            if term_id is None:
                continue
            idf = self.idf[term_id]
            lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
            docs, tf = self.doc_ids[lo:hi], self.tfs[lo:hi]
            if p.variant == "okapi":
                scores[docs] += idf * (tf * (p.k1 + 1) / (tf + self.okapi_norm[docs]))
            elif p.variant == "plus":
                # Documents without the term still get idf·δ in BM25+.
                scores += idf * p.delta
                scores[docs] += idf * ((tf * (p.k1 + 1)) / (self.okapi_norm[docs] + tf))
            else:
                # rank-bm25's BM25L multiplies by the raw term frequency as well; kept, since
                # its scores are the ones of record.
                ctd = tf / self.length_norm[docs]
                scores[docs] += idf * tf * (p.k1 + 1) * (ctd + p.delta) / (p.k1 + ctd + p.delta)
        return scores
