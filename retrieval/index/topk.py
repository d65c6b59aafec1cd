"""The best documents of a query over one or more fields (the paragraph, its context),
exactly as sorting every score gives: pruned block by block where the compiled loops
serve, every match scored otherwise.

Exactness-critical: the answer must equal sorting every score (tests/test_topk.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from retrieval.index import blocks, pruning
from retrieval.index.arrays import present_sorted, unique_counts
from retrieval.index.bm25 import BM25


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
            assert g.starts is not None  # `grouped` holds the fields with starts
            scores, held = blocks.sums(g.index.segs, *g.index.parts(query), g.index.scoring)
            groups = (g.owner, g.starts, g.weight * scores, held)
        docs = pruning.best_matches(
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
