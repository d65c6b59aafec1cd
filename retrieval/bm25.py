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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from retrieval.arrays import Runs, merge_runs, present_sorted, run_starts, unique_counts

VARIANTS = ("okapi", "plus", "l")
# A term in more than this share of the documents is "common": a query's top documents are
# found among those holding its rarer terms, and the common terms only add to their scores.
COMMON_SHARE = 1 / 50
# How deep into a common word's best documents a query looks, level by level, before it
# scores every match.
IMPACT_DOCS = (1_000, 10_000, 60_000)
# Relative slack for rounding when bounds summed in one order meet scores summed in another.
SLACK = 1e-9


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


POSTINGS_ARRAYS = ("indptr", "doc_ids", "tfs", "doc_len")


@dataclass(frozen=True)
class Postings:
    """One segment's inverted index: under each term id, sorted segment-local document ids
    and term frequencies. A later segment's vocabulary extends the one before it, so a term
    has one id across segments."""

    terms: list[str]
    indptr: np.ndarray
    doc_ids: np.ndarray
    tfs: np.ndarray
    doc_len: np.ndarray

    @cached_property
    def vocab(self) -> dict[str, int]:
        return {term: i for i, term in enumerate(self.terms)}

    @classmethod
    def from_runs(cls, terms: Sequence[str], parts: list[Runs], lengths: np.ndarray) -> Postings:
        """From the postings of consecutive runs of documents (see `postings_of`)."""
        indptr, values = merge_runs(parts, len(terms))
        doc_ids, tfs = values if values else (np.zeros(0, np.int32), np.zeros(0, np.int32))
        # Frequencies are small: the narrowest type that holds them makes a big index smaller.
        most = int(tfs.max(initial=0))
        narrow = np.uint8 if most < 1 << 8 else np.uint16 if most < 1 << 16 else np.int32
        return cls(list(terms), indptr, doc_ids, tfs.astype(narrow), lengths.astype(np.float64))

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
        if term_id >= len(self.terms):
            return self.doc_ids[:0], self.tfs[:0]
        lo, hi = self.indptr[term_id], self.indptr[term_id + 1]
        return self.doc_ids[lo:hi], self.tfs[lo:hi]


class BM25:
    """Scores over segments laid end to end (document ids run on from one to the next),
    leaving out the documents marked dead, as if built afresh from the live ones."""

    def __init__(
        self, segments: Sequence[Postings], params: BM25Params, dead: np.ndarray | None = None
    ) -> None:
        self.segments = list(segments)
        self.params = params
        self.offsets = np.cumsum([0] + [len(s) for s in self.segments])
        self.n_docs = int(self.offsets[-1])
        self.dead = dead if dead is not None and dead.any() else None
        self.terms = self.segments[-1].terms if self.segments else []
        self.vocab = self.segments[-1].vocab if self.segments else {}
        doc_len = np.concatenate([s.doc_len for s in self.segments]) if self.segments else []
        doc_len = np.asarray(doc_len, dtype=np.float64)
        live_len = doc_len if self.dead is None else doc_len[~self.dead]
        self.n_live = len(live_len)
        self.df = self._doc_freqs()
        self.idf = _idf(self.df.astype(np.float64), self.n_live, params)
        self.avgdl = float(live_len.sum()) / self.n_live if self.n_live else 0.0
        self.norm = _length_norm(params, doc_len, self.avgdl)
        self._impacts: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, float]] = {}

    @classmethod
    def from_tokens(cls, docs: Iterable[Sequence[str]], params: BM25Params) -> BM25:
        return cls([Postings.from_tokens(docs)], params)

    def _doc_freqs(self) -> np.ndarray:
        df = np.zeros(len(self.terms), dtype=np.int64)
        for i, seg in enumerate(self.segments):
            seg_df = np.diff(seg.indptr)
            if self.dead is not None:
                dead = self.dead[self.offsets[i] : self.offsets[i + 1]]
                if dead.any() and len(seg.doc_ids):
                    # Documents marked dead no longer count towards any term's frequency.
                    held = seg_df > 0
                    gone = np.add.reduceat(
                        dead[seg.doc_ids].astype(np.int64), seg.indptr[:-1][held]
                    )
                    seg_df = seg_df.copy()
                    seg_df[held] -= gone
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
        return docs, weights

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

    def impact(self, term: str, level: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
        """The documents the term gives most to (IMPACT_DOCS[level] of them, sorted), what
        it gives each, and the most it gives any other document: the bound that lets a
        query skip the rest of a common word's postings. Computed once per term, level and
        snapshot."""
        term_id = self.vocab.get(term)
        if term_id is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0), 0.0
        known = self._impacts.get((term_id, level))
        if known is None:
            size = IMPACT_DOCS[level]
            docs, weights = self.postings(term)
            if len(docs) <= size:
                known = (docs, weights, 0.0)
            else:
                split = np.argpartition(weights, len(weights) - size)
                rest = max(float(weights[split[:-size]].max()), 0.0)
                mine = np.sort(split[-size:])
                known = (docs[mine], weights[mine], rest)
            self._impacts[term_id, level] = known
        return known

    def warm(self, terms: int) -> None:
        """Work out the first impact level of the most frequent terms, which questions
        need most, so the first questions after a start or a reload do not wait for it."""
        n = self.n_live
        for term_id in np.argsort(-self.df, kind="stable")[:terms].tolist():
            if self.df[term_id] > n * COMMON_SHARE:
                self.impact(self.terms[term_id])

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
            term_id = self.vocab.get(term)
            if term_id is None:
                continue
            if self.params.variant == "plus":
                scores += self.term_idf(term) * self.params.delta
            ids, tfs = self._raw(term_id)
            at = np.searchsorted(ids, docs)
            found = at < len(ids)
            found[found] = ids[at[found]] == docs[found]
            hit = at[found]
            scores[found] += _weights(
                self.params, self.idf[term_id], tfs[hit].astype(np.float64), self.norm[ids[hit]]
            )
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
    parts = [d for f in fields for t in set(query) if len(d := f.index.docs(t))]
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


def top(
    fields: Sequence[Field], query: Sequence[str], m: int, within: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The m best matching documents and their scores, exactly as sorting every score gives.

    Postings of common words are long, and touching them all for every query is what makes
    BM25 slow on a big corpus. So the candidates are the documents holding a rarer query
    word, and for each common one the documents it gives most to. What the rare words and
    those best documents give is known at once; what a common word gives a candidate
    outside its best is at most that word's bound. Only candidates whose best case reaches
    the m-th worst case are scored in full. Any other document gets at most the sum of the
    common words' bounds; when the m-th candidate beats that sum, nobody else can get in.
    Otherwise (BM25+, where every document scores, or too few candidates) every match is
    scored. `within` (sorted ids) limits the answer to those documents.
    """

    def limit(docs: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if within is None:
            return docs, weights
        keep = present_sorted(docs, within)
        return docs[keep], weights[keep]

    n = fields[0].index.n_live if fields else 0
    plus = any(f.index.params.variant == "plus" for f in fields)
    for level in range(0 if not plus else len(IMPACT_DOCS), len(IMPACT_DOCS)):
        known: list[tuple[np.ndarray, np.ndarray, float]] = []
        outside = 0.0
        for f in fields:
            for term in query:
                df = f.index.doc_freq(term)
                if df > n * COMMON_SHARE:
                    docs, weights, rest = f.index.impact(term, level)
                    known.append((*limit(docs, weights * f.weight), f.weight * rest))
                    outside += f.weight * rest
                elif df:
                    docs, weights = f.index.postings(term)
                    known.append((*limit(docs, weights * f.weight), 0.0))
        if not known:
            break
        candidates = unique_counts(np.concatenate([d for d, _, _ in known]))[0].astype(np.int64)
        if len(candidates) < m:
            break
        low = np.zeros(len(candidates))
        high = np.full(len(candidates), outside)
        for docs, weights, rest in known:
            at = np.searchsorted(candidates, docs)
            low[at] += weights
            high[at] -= rest
        high += low
        hopeful = candidates
        if all(f.index.term_idf(t) >= 0 for f in fields for t in query):
            # What is known is then a floor too. Sums in another order than the exact
            # scores: a little slack for rounding.
            floor = np.partition(low, len(low) - m)[len(low) - m] - SLACK * (1 + abs(outside))
            hopeful = candidates[high >= floor]
        scores = combined_scores(fields, query, hopeful)
        best_docs, best_scores = best(hopeful, scores, m)
        if best_scores[-1] > outside + SLACK * (1 + outside):
            return best_docs, best_scores
    docs = matched_docs(fields, query)
    if within is not None:
        docs = docs[present_sorted(docs, within)]
    return best(docs, combined_scores(fields, query, docs), m)
