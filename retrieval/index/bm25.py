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

from retrieval.index import blocks
from retrieval.index.arrays import Runs, merge_runs, present_sorted, run_starts, unique_counts
from retrieval.index.blocks import Scoring, Segments

VARIANTS = ("okapi", "plus", "l")
# A term holding fewer documents than this many times the blocks has no block maxima kept
# (blocks.py): going through its few postings costs a query less than adding up a byte a
# block, and the index keeps no byte a block for the many rare words.
KEPT_MAXIMA_DF = 0.25


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
    def from_runs(cls, terms: Sequence[str], parts: list[Runs], lengths: np.ndarray) -> Postings:
        """From the postings of consecutive runs of documents (see `postings_of`)."""
        indptr, values = merge_runs(parts, len(terms))
        doc_ids, tfs = values if values else (np.zeros(0, np.int32), np.zeros(0, np.int32))
        # Frequencies are small: the narrowest type that holds them makes a big index smaller.
        most = int(tfs.max(initial=0))
        narrow = np.uint8 if most < 1 << 8 else np.uint16 if most < 1 << 16 else np.int32
        tfs = tfs.astype(narrow)
        counts = np.diff(indptr)
        dense_terms = np.flatnonzero(counts > len(lengths) * DENSE_SHARE).astype(np.int32)
        dense = np.zeros((len(dense_terms), len(lengths)), dtype=narrow)
        keep = np.ones(len(doc_ids), dtype=bool)
        for row, term in zip(dense, dense_terms.tolist(), strict=True):
            lo, hi = indptr[term], indptr[term + 1]
            row[doc_ids[lo:hi]] = tfs[lo:hi]
            keep[lo:hi] = False
        if len(dense_terms):
            counts[dense_terms] = 0
            indptr = np.concatenate([[0], np.cumsum(counts)]).astype(indptr.dtype)
            doc_ids, tfs = doc_ids[keep], tfs[keep]
        return cls(
            list(terms), indptr, doc_ids, tfs, lengths.astype(np.float64), dense_terms, dense
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


class BM25:
    """Scores over segments laid end to end (ids run on from one to the next), as if built
    afresh from the live documents.

    An id is one document, or (with `counts`) a group of documents with the same text —
    every paragraph of a section has the same context — that counts as `counts[id]` live
    documents for document frequencies and the average length; 0 leaves it out (dead).
    """

    def __init__(
        self, segments: Sequence[Postings], params: BM25Params, counts: np.ndarray | None = None
    ) -> None:
        self.segments = list(segments)
        self.params = params
        self.offsets = np.cumsum([0] + [len(s) for s in self.segments])
        self.n_docs = int(self.offsets[-1])
        self.counts = counts if counts is not None and (counts != 1).any() else None
        self.dead = None if self.counts is None or self.counts.all() else self.counts == 0
        self.terms = self.segments[-1].terms if self.segments else []
        self.vocab = self.segments[-1].vocab if self.segments else {}
        doc_len = np.concatenate([s.doc_len for s in self.segments]) if self.segments else []
        doc_len = np.asarray(doc_len, dtype=np.float64)
        # Lengths and counts are whole numbers: their sums are exact in any order.
        if self.counts is None:
            self.n_live, total = len(doc_len), float(doc_len.sum())
        else:
            self.n_live, total = int(self.counts.sum()), float(doc_len @ self.counts)
        self.df = self._doc_freqs()
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
            self.params.variant in blocks.VARIANTS
            and len(self.segments) <= blocks.SLOTS
            and all(seg.tfs.dtype == np.uint8 for seg in self.segments)
        )

    def _parts(self, term_id: int, place: int) -> list[tuple[int, int, int, int, int]]:
        return [(place, i, *seg.where(term_id)) for i, seg in enumerate(self.segments)]

    def maxima(self, term: str) -> tuple[np.ndarray, float] | None:
        """The most the term gives a document of each block (see blocks.maxima), worked out
        once per snapshot; None for a rarer term (KEPT_MAXIMA_DF), whose postings give it
        at query time."""
        term_id = self.vocab.get(term)
        if term_id is None or self.df[term_id] < KEPT_MAXIMA_DF * blocks.count(self.n_docs):
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
        idf = []
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
    """One index and how much its score counts in the sum.

    With `starts`, the index's ids are groups of consecutive documents (see BM25): group i
    holds documents starts[i] to starts[i + 1] - 1.
    """

    index: BM25
    weight: float = 1.0
    starts: np.ndarray | None = None

    @property
    def n_docs(self) -> int:
        """Document ids run below this, the dead ones' included."""
        return self.index.n_docs if self.starts is None else int(self.starts[-1])

    @cached_property
    def sizes(self) -> np.ndarray:
        """How many documents each group holds."""
        assert self.starts is not None
        return np.diff(self.starts)

    @cached_property
    def owner(self) -> np.ndarray:
        """The group of each document."""
        return np.repeat(np.arange(len(self.sizes), dtype=np.int32), self.sizes)

    def ids(self, docs: np.ndarray) -> np.ndarray:
        """The index's ids of documents."""
        return docs if self.starts is None else self.owner[docs]

    def members(self, ids: np.ndarray) -> np.ndarray:
        """The documents of the index's ids (sorted ids give sorted documents)."""
        if self.starts is None:
            return ids
        first, sizes = self.starts[ids], self.sizes[ids]
        ends = np.cumsum(sizes)
        return np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(first - ends + sizes, sizes)

    def docs(self, term: str) -> np.ndarray:
        """Sorted ids of the live documents holding the term."""
        return self.members(self.index.docs(term))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The live documents holding the term, and the term's score in each."""
        found = self.index.postings(term)
        if found is None or self.starts is None:
            return found
        ids, weights = found
        return self.members(ids), np.repeat(weights, self.sizes[ids])

    def scores(self, query: Sequence[str], docs: np.ndarray) -> np.ndarray:
        return self.weight * self.index.score_docs(query, self.ids(docs))


def combined_scores(fields: Sequence[Field], query: Sequence[str], docs: np.ndarray) -> np.ndarray:
    total = np.zeros(len(docs))
    for f in fields:
        total += f.scores(query, docs)
    return total


def matched_docs(fields: Sequence[Field], query: Sequence[str]) -> np.ndarray:
    """Sorted ids of the documents holding at least one query term in some field."""
    parts = [d for f in fields for t in set(query) if len(d := f.docs(t))]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    n = fields[0].n_docs
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
    BM25 slow on a big corpus. For the fields a snapshot has (the paragraph's words, and
    its section's context scored once per section) and the variants compiled in
    retrieval/blocks.py, the documents that can be among the best are found block by block
    there, and only they are scored here. Otherwise (BM25+, where every document scores,
    or other fields) every matching document is scored. `within` (sorted ids) limits the
    answer to those documents.
    """
    plain = [f for f in fields if f.starts is None]
    grouped = [f for f in fields if f.starts is not None]
    if len(plain) == 1 and len(grouped) <= 1 and all(f.index.compiled for f in fields):
        text = plain[0]
        index = text.index
        parts, idf = index.parts(query)
        groups = None
        if grouped:
            g = grouped[0]
            scores, held = blocks.sums(g.index.segs, *g.index.parts(query), g.index.scoring)
            groups = (g.owner, g.starts, g.weight * scores, held)
        docs = blocks.best_matches(
            index.segs,
            parts,
            idf,
            index.kept_maxima(query),
            index.scoring,
            index.dead,
            text.weight,
            m,
            groups,
            within,
        )
        return best(docs, combined_scores(fields, query, docs), m)
    docs = matched_docs(fields, query)
    if within is not None:
        docs = docs[present_sorted(docs, within)]
    return best(docs, combined_scores(fields, query, docs), m)
