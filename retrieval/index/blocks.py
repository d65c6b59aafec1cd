"""The best documents of a query, found block by block in compiled loops (numba).

Documents are cut into blocks of BLOCK consecutive ids. For each word, an index keeps the
most the word gives any document of each block (`maxima`, without the IDF). A query's bound
for a block is then the sum of its words' IDF times those, plus the best score of a section
the block holds: no document of the block scores more. The blocks are scored exactly, the
highest bounds first, until no bound left can reach the m-th best score found. So the
blocks scored are about those whose bound reaches the answer's m-th score, whatever the
words: on a million paragraphs a few hundred blocks, not the million documents that a
common word's postings hold.

The loop hands back the m best and any document within a rounding error of the m-th;
bm25.top then scores those exactly (combined_scores), so the answer is the one sorting
every score gives, ties going to the lower document id.

Exactness-critical: a bound below a true score loses a result (tests/test_topk.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from retrieval.index.arrays import read_only
from retrieval.index.compiled import jit

# Documents a block: smaller blocks bound more tightly (fewer documents scored), more
# blocks cost more to bound. 32 scored the fewest documents at 1M (docs/scale.md).
BLOCK = 32
# A block's bound is kept in a byte, rounded up, as a share of the word's highest.
LEVELS = 255

# The variants scored here, by code; BM25+ gives every document something for every word.
VARIANTS = {"okapi": 0, "l": 1}


# A query's parts are rows of five numbers: the word's place in the query, the segment,
# and where the segment keeps the word: postings lo:hi, or its dense row (-1: none).
WORD, SEGMENT, LO, HI, ROW = range(5)


class Segments(NamedTuple):
    """An index's segments as the compiled loops take them, put together once per index:
    each one's first document id, its postings' document ids and frequencies end to end,
    and its dense rows (bm25.Postings); each a tuple of SLOTS, padded with empty arrays."""

    first: np.ndarray
    doc_ids: tuple[np.ndarray, ...]
    tfs: tuple[np.ndarray, ...]
    dense: tuple[np.ndarray, ...]


# Segments the compiled loops take. A tuple of one length is one type: the loops compile
# once and numba caches them on disk; a typed List would be compiled again in every
# process (1.4 s of every start-up). An index keeps fewer (index.MAX_SEGMENTS).
SLOTS = 16


def segments(parts: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> Segments:
    """From each segment's first id, document ids, frequencies and dense rows."""
    if len(parts) > SLOTS:
        raise ValueError(f"{len(parts)} segments, more than the {SLOTS} the loops take")
    pad = SLOTS - len(parts)

    def slots(arrays: list[np.ndarray], dtype: type, empty: np.ndarray) -> tuple:
        return tuple(read_only(a, dtype) for a in arrays + [empty] * pad)

    return Segments(
        np.array([p[0] for p in parts] + [0] * pad, dtype=np.int64),
        slots([p[1] for p in parts], np.int32, np.zeros(0, dtype=np.int32)),
        slots([p[2] for p in parts], np.uint8, np.zeros(0, dtype=np.uint8)),
        slots([p[3] for p in parts], np.uint8, np.zeros((0, 0), dtype=np.uint8)),
    )


class Scoring(NamedTuple):
    """How a posting's score is worked out: the variant's code, k1, delta, and each
    document's length normalisation (see `scoring`)."""

    variant: int
    k1: float
    delta: float
    norm: np.ndarray


def scoring(variant: str, k1: float, delta: float, norm: np.ndarray) -> Scoring:
    """The loops are compiled once per type of argument: always the same types here."""
    return Scoring(VARIANTS[variant], float(k1), float(delta), read_only(norm, np.float64))


@jit
def _weight(variant: int, k1: float, delta: float, idf: float, tf: float, norm: float) -> float:
    """What a posting gives: bm25._weights, in the same order of operations."""
    if variant == 0:
        return idf * (tf * (k1 + 1) / (tf + k1 * norm))
    ctd = tf / norm
    return idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)


@jit
def _maxima(segs, parts, scoring, n_blocks):
    """The most a word (its parts, one a segment) gives a document of each block, IDF 1."""
    variant, k1, delta, norm = scoring
    out = np.zeros(n_blocks)
    for p in range(len(parts)):
        s, row, first = parts[p, SEGMENT], parts[p, ROW], segs.first[parts[p, SEGMENT]]
        if row >= 0:
            freqs = segs.dense[s][row]
            for i in range(len(freqs)):
                if freqs[i]:
                    doc = first + i
                    w = _weight(variant, k1, delta, 1.0, float(freqs[i]), norm[doc])
                    out[doc // BLOCK] = max(out[doc // BLOCK], w)
        else:
            ids, tfs = segs.doc_ids[s], segs.tfs[s]
            for i in range(parts[p, LO], parts[p, HI]):
                doc = first + ids[i]
                w = _weight(variant, k1, delta, 1.0, float(tfs[i]), norm[doc])
                out[doc // BLOCK] = max(out[doc // BLOCK], w)
    return out


def maxima(segs: Segments, parts: np.ndarray, scoring: Scoring) -> tuple[np.ndarray, float]:
    """A word's most for a document of each block (its `parts` in the segments), as bytes
    rounded up, and the scale that turns a byte back into a bound."""
    most = _maxima(segs, parts, scoring, count(len(scoring.norm)))
    top = float(most.max(initial=0.0))
    if top == 0.0:
        return np.zeros(len(most), dtype=np.uint8), 0.0
    scale = top / LEVELS
    # Rounded up, and at least 1 where the word is present: a byte is never below the most.
    levels = np.minimum(np.ceil(most / scale), LEVELS)
    levels[(most > 0) & (levels == 0)] = 1
    return levels.astype(np.uint8), scale


@jit
def _sums(segs, parts, idf, scoring):
    """Every document's score, and whether it holds a word, summed word by word."""
    variant, k1, delta, norm = scoring
    scores = np.zeros(len(norm))
    held = np.zeros(len(norm), dtype=np.bool_)
    for p in range(len(parts)):
        s, row, first = parts[p, SEGMENT], parts[p, ROW], segs.first[parts[p, SEGMENT]]
        word_idf = idf[parts[p, WORD]]
        if row >= 0:
            freqs = segs.dense[s][row]
            for i in range(len(freqs)):
                if freqs[i]:
                    doc = first + i
                    tf = float(freqs[i])
                    scores[doc] += _weight(variant, k1, delta, word_idf, tf, norm[doc])
                    held[doc] = True
        else:
            ids, tfs = segs.doc_ids[s], segs.tfs[s]
            for i in range(parts[p, LO], parts[p, HI]):
                doc = first + ids[i]
                tf = float(tfs[i])
                scores[doc] += _weight(variant, k1, delta, word_idf, tf, norm[doc])
                held[doc] = True
    return scores, held


def sums(
    segs: Segments, parts: np.ndarray, idf: np.ndarray, scoring: Scoring
) -> tuple[np.ndarray, np.ndarray]:
    """Every document's score for the words (as for best_matches), and which documents
    hold one of them: for an index of few documents, such as the sections' contexts, whose
    scores then bound the blocks and add to their documents' exactly."""
    return _sums(segs, parts, read_only(idf, np.float64), scoring)


def count(n_docs: int) -> int:
    """How many blocks the documents make."""
    return (n_docs + BLOCK - 1) // BLOCK
