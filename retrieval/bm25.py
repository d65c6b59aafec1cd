"""BM25 over an inverted index, vectorised with numpy, giving rank-bm25's scores.

rank-bm25 loops in Python over every document for every query term. Here each term's
postings (sorted document ids and each posting's whole contribution, computed once at build
time with rank-bm25's expression) are stored contiguously, so a query touches only the
documents that contain its terms, and a score is a sum of looked-up numbers in query-term
order, as rank-bm25 adds them. tests/test_bm25_equivalence.py holds the two to 1e-9.

The arrays are plain numpy, so an index is saved with `arrays()` and memory-mapped back
with `from_arrays()`: start-up reads nothing it does not touch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.arrays import Runs, merge_runs, run_starts, unique_counts

VARIANTS = ("okapi", "plus", "l")
# A term in more than this share of the documents is "common": a query's top documents are
# found among those holding its rarer terms, and the common terms only add to their scores.
COMMON_SHARE = 1 / 50
DERIVE_STEP = 1 << 22


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
    """Immutable once built: reloads build a new one and swap the reference.

    Stored: the vocabulary, postings (sorted document ids and term frequencies per term) and
    document lengths. Derived, and saved beside them: IDF, each posting's contribution, and
    each term's largest contribution.
    """

    def __init__(
        self,
        terms: Sequence[str],
        indptr: np.ndarray,
        doc_ids: np.ndarray,
        tfs: np.ndarray,
        doc_len: np.ndarray,
        params: BM25Params,
        derived: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.terms = list(terms)
        self.vocab = {term: i for i, term in enumerate(self.terms)}
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.tfs = tfs
        self.doc_len = doc_len
        self.params = params
        self.n_docs = len(doc_len)
        self.df = np.diff(indptr)
        if derived is None:
            derived = self._derive()
        self.idf = derived["idf"]
        self.weights = derived["weights"]
        self.term_max = derived["term_max"]

    def _derive(self) -> dict[str, np.ndarray]:
        idf = _idf(self.df.astype(np.float64), self.n_docs, self.params)
        weights = np.empty(len(self.doc_ids))
        norm = _length_norm(self.params, self.doc_len)
        # A slice of postings at a time: the temporaries of one expression over every
        # posting of a big corpus would cost gigabytes.
        for lo in range(0, len(weights), DERIVE_STEP):
            hi = min(lo + DERIVE_STEP, len(weights))
            first = int(np.searchsorted(self.indptr, lo, side="right")) - 1
            last = int(np.searchsorted(self.indptr, hi, side="left"))
            counts = np.diff(np.clip(self.indptr[first : last + 1], lo, hi))
            term_of = np.repeat(np.arange(first, last), counts)
            tf = self.tfs[lo:hi].astype(np.float64)
            weights[lo:hi] = _weights(self.params, idf[term_of], tf, norm[self.doc_ids[lo:hi]])
        # The largest contribution of each term: what a document can gain from it at most.
        term_max = np.zeros(len(self.terms))
        nonempty = self.df > 0
        if weights.size:
            term_max[nonempty] = np.maximum.reduceat(weights, self.indptr[:-1][nonempty])
        return {"idf": idf, "weights": weights, "term_max": term_max}

    # building ---------------------------------------------------------------------------

    @classmethod
    def from_tokens(cls, docs: Iterable[Sequence[str]], params: BM25Params) -> BM25:
        vocab: dict[str, int] = {}
        ids: list[int] = []
        lengths: list[int] = []
        for doc in docs:
            lengths.append(len(doc))
            ids += [vocab.setdefault(term, len(vocab)) for term in doc]
        return cls.from_ids(
            list(vocab),
            np.asarray(ids, dtype=np.int64),
            np.asarray(lengths, dtype=np.int64),
            params,
        )

    @classmethod
    def from_ids(
        cls, terms: Sequence[str], ids: np.ndarray, lengths: np.ndarray, params: BM25Params
    ) -> BM25:
        """From every document's term ids laid end to end, and each document's length."""
        return cls.from_runs(terms, [postings_of(ids, lengths, 0)], lengths, params)

    @classmethod
    def from_runs(
        cls, terms: Sequence[str], parts: list[Runs], lengths: np.ndarray, params: BM25Params
    ) -> BM25:
        """From the postings of consecutive runs of documents (see `postings_of`)."""
        indptr, values = merge_runs(parts, len(terms))
        doc_ids, tfs = values if values else (np.zeros(0, np.int32), np.zeros(0, np.int32))
        return cls(terms, indptr, doc_ids, tfs, lengths.astype(np.float64), params)

    def updated(self, keep: np.ndarray, added: Sequence[Sequence[str]]) -> BM25:
        """The documents where `keep` is true, renumbered in order, then the added ones.

        The same index as building from those documents afresh, without re-reading the
        kept ones: their postings are filtered, the new ones inserted at the end of each
        term's list (new documents have the highest ids, so the lists stay sorted).
        """
        renumber = np.cumsum(keep) - 1
        alive = keep[self.doc_ids]
        term_of = np.repeat(np.arange(len(self.terms), dtype=np.int32), self.df)[alive]
        doc_ids = renumber[self.doc_ids[alive]].astype(np.int32)
        tfs = self.tfs[alive]
        kept = int(keep.sum())
        terms = list(self.terms)
        vocab = dict(self.vocab)
        ids = [vocab.setdefault(t, len(vocab)) for doc in added for t in doc]
        terms += list(vocab)[len(terms) :]
        lengths = np.fromiter(map(len, added), dtype=np.int64, count=len(added))
        new = postings_of(np.asarray(ids, np.int64), lengths, kept)
        new_terms = np.repeat(new.keys, new.counts)
        new_docs, new_tfs = new.values if new.values else (new_terms, new_terms)
        at = np.searchsorted(term_of, new_terms, side="right")
        counts = np.bincount(term_of, minlength=len(terms))
        counts += np.bincount(new_terms, minlength=len(terms))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(counts)
        return BM25(
            terms,
            indptr,
            np.insert(doc_ids, at, new_docs),
            np.insert(tfs, at, new_tfs),
            np.concatenate([self.doc_len[keep], lengths.astype(np.float64)]),
            self.params,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "indptr": self.indptr,
            "doc_ids": self.doc_ids,
            "tfs": self.tfs,
            "doc_len": self.doc_len,
            "idf": self.idf,
            "weights": self.weights,
            "term_max": self.term_max,
        }

    @classmethod
    def from_arrays(
        cls, terms: Sequence[str], arrays: dict[str, np.ndarray], params: BM25Params
    ) -> BM25:
        a = arrays
        derived = {k: a[k] for k in ("idf", "weights", "term_max")}
        return cls(terms, a["indptr"], a["doc_ids"], a["tfs"], a["doc_len"], params, derived)

    # looking up -------------------------------------------------------------------------

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Sorted ids of the documents holding the term, and the term's score in each."""
        term_id = self.vocab.get(term)
        if term_id is None:
            return None
        lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
        return self.doc_ids[lo:hi], self.weights[lo:hi]

    def doc_freq(self, term: str) -> int:
        term_id = self.vocab.get(term)
        return 0 if term_id is None else int(self.df[term_id])

    def term_idf(self, term: str) -> float:
        term_id = self.vocab.get(term)
        return 0.0 if term_id is None else float(self.idf[term_id])

    def bound(self, term: str) -> float:
        """No document gains more than this from the term (an absent one gains 0)."""
        term_id = self.vocab.get(term)
        return 0.0 if term_id is None else max(float(self.term_max[term_id]), 0.0)

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
        for term in query:
            post = self.postings(term)
            if post is None:
                continue
            if self.params.variant == "plus":
                scores += self.term_idf(term) * self.params.delta
            ids, weights = post
            at = np.searchsorted(ids, docs)
            found = at < len(ids)
            found[found] = ids[at[found]] == docs[found]
            scores[found] += weights[at[found]]
        return scores


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


def _length_norm(p: BM25Params, doc_len: np.ndarray) -> np.ndarray:
    if not len(doc_len):
        return np.zeros(0)
    avgdl = float(doc_len.sum()) / len(doc_len)
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


@dataclass(frozen=True)
class Field:
    """One index and how much its score counts in the sum."""

    index: BM25
    weight: float = 1.0


def combined_scores(fields: Sequence[Field], query: Sequence[str], docs: np.ndarray) -> np.ndarray:
    total = np.zeros(len(docs))
    for f in fields:
        total += f.weight * f.index.score_docs(query, docs)
    return total


def matched_docs(fields: Sequence[Field], query: Sequence[str]) -> np.ndarray:
    """Sorted ids of the documents holding at least one query term in some field."""
    parts = [p[0] for f in fields for t in set(query) if (p := f.index.postings(t)) is not None]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    n = fields[0].index.n_docs
    if sum(len(p) for p in parts) > n // 8:
        mask = np.zeros(n, dtype=bool)
        for p in parts:
            mask[p] = True
        return np.flatnonzero(mask)
    return unique_counts(np.concatenate(parts))[0].astype(np.int64)


def best(docs: np.ndarray, scores: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The m best documents, best first, ties by document id (as a stable sort gives)."""
    if len(docs) > m > 0:
        cut = np.partition(scores, len(scores) - m)[len(scores) - m]
        keep = scores >= cut
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:m]
    return docs[order], scores[order]


def top(fields: Sequence[Field], query: Sequence[str], m: int) -> tuple[np.ndarray, np.ndarray]:
    """The m best matching documents and their scores, exactly as sorting every score gives.

    Postings of common terms are long, and touching them for every query is what makes
    BM25 slow on a big corpus. So the candidates are the documents holding a rarer term,
    scored in full; a document holding only common terms cannot score more than their
    bounds summed, and when the m-th candidate beats that sum, nobody else can get in.
    Otherwise (a query of common words only, BM25+, few candidates) every match is scored.
    """
    n = fields[0].index.n_docs if fields else 0
    rare: list[np.ndarray] = []
    common_bound = 0.0
    for f in fields:
        for term in query:
            post = f.index.postings(term)
            if post is None:
                continue
            if len(post[0]) > n * COMMON_SHARE:
                common_bound += f.weight * f.index.bound(term)
            else:
                rare.append(post[0])
    plus = any(f.index.params.variant == "plus" for f in fields)
    if rare and not plus:
        candidates = unique_counts(np.concatenate(rare))[0].astype(np.int64)
        if len(candidates) >= m:
            scores = combined_scores(fields, query, candidates)
            found, found_scores = best(candidates, scores, m)
            if found_scores[-1] > common_bound:
                return found, found_scores
    docs = matched_docs(fields, query)
    return best(docs, combined_scores(fields, query, docs), m)
