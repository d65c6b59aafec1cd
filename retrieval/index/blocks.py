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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numba import njit

from retrieval.index.arrays import read_only

# Documents a block: smaller blocks bound more tightly (fewer documents scored), more
# blocks cost more to bound. 32 scored the fewest documents at 1M (docs/scale.md).
BLOCK = 32
# A block's bound is kept in a byte, rounded up, as a share of the word's highest.
LEVELS = 255
# Blocks are visited in this many bands of bound, highest first (a sort of every bound
# would cost more than scoring the blocks that matter).
BANDS = 1024
# Near ties are decided by the exact scores afterwards: within this share of the m-th
# best, a document is handed back even if it seems not to get in.
MARGIN = 1e-9
# Bounds are summed in another order than scores: a block is skipped only when its bound
# is below the m-th best by more than this share.
SLACK = 1e-6

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


@njit(cache=True, nogil=True)
def _weight(variant: int, k1: float, delta: float, idf: float, tf: float, norm: float) -> float:
    """What a posting gives: bm25._weights, in the same order of operations."""
    if variant == 0:
        return idf * (tf * (k1 + 1) / (tf + k1 * norm))
    ctd = tf / norm
    return idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _bounds(segs, parts, idf, stored, scales, scoring, text_weight, groups, within, use_within):
    """Each block's bound, and whether it holds a document that matches (and is within)."""
    variant, k1, delta, norm = scoring
    _, starts, group_scores, group_held = groups
    n_blocks = (len(norm) + BLOCK - 1) // BLOCK
    bound = np.zeros(n_blocks)
    present = np.zeros(n_blocks, dtype=np.bool_)
    for w in range(len(idf)):
        if scales[w] >= 0.0:
            # A word whose IDF is negative (BM25Okapi on a tiny corpus) gives at most 0.
            scale = scales[w] * max(idf[w], 0.0) * text_weight
            levels = stored[w]
            for b in range(n_blocks):
                bound[b] += levels[b] * scale
                present[b] |= levels[b] > 0
    for p in range(len(parts)):
        w = parts[p, WORD]
        if scales[w] >= 0.0:
            continue
        # A rarer word, with fewer postings than there are blocks: worked out here.
        word_idf = max(idf[w], 0.0) * text_weight
        s, row, first = parts[p, SEGMENT], parts[p, ROW], segs.first[parts[p, SEGMENT]]
        block, most = -1, 0.0
        if row >= 0:
            lo, hi = 0, len(segs.dense[s][row])
        else:
            lo, hi = parts[p, LO], parts[p, HI]
        for i in range(lo, hi):
            if row >= 0:
                tf, doc = float(segs.dense[s][row][i]), first + i
            else:
                tf, doc = float(segs.tfs[s][i]), first + segs.doc_ids[s][i]
            if tf == 0:
                continue
            if doc // BLOCK != block:
                if block >= 0:
                    bound[block] += most
                block, most = doc // BLOCK, 0.0
                present[block] = True
            most = max(most, _weight(variant, k1, delta, word_idf, tf, norm[doc]))
        if block >= 0:
            bound[block] += most
    if len(starts):
        # A block's best group: a group holding no query word scores 0, so 0 bounds
        # those, and only the groups holding one are looked at.
        best = np.zeros(n_blocks)
        for g in range(len(starts) - 1):
            if group_held[g]:
                score = group_scores[g]
                for b in range(starts[g] // BLOCK, (starts[g + 1] - 1) // BLOCK + 1):
                    best[b] = max(best[b], score)
                    present[b] = True
        bound += best
    if use_within:
        inside = np.zeros(n_blocks, dtype=np.bool_)
        for doc in within:
            inside[doc // BLOCK] = True
        present &= inside
    return bound, present


@njit(cache=True, nogil=True)
def _order(bound, present):
    """The present blocks, highest bound first by bands (a counting sort), each one's band,
    and each band's highest bound."""
    low, high, count = np.inf, -np.inf, 0
    for b in range(len(bound)):
        if present[b]:
            low, high, count = min(low, bound[b]), max(high, bound[b]), count + 1
    scale = (BANDS - 1) / (high - low) if high > low else 0.0
    band_of = np.empty(len(bound), dtype=np.int64)
    band_top = np.full(BANDS, -np.inf)
    starts = np.zeros(BANDS + 1, dtype=np.int64)
    for b in range(len(bound)):
        if present[b]:
            band = BANDS - 1 - min(int((bound[b] - low) * scale), BANDS - 1)
            band_of[b] = band
            starts[band + 1] += 1
            band_top[band] = max(band_top[band], bound[b])
    starts = np.cumsum(starts)
    ordered = np.empty(count, dtype=np.int64)
    bands = np.empty(count, dtype=np.int64)
    for b in range(len(bound)):
        if present[b]:
            band = band_of[b]
            ordered[starts[band]] = b
            bands[starts[band]] = band
            starts[band] += 1
    return ordered, bands, band_top


@njit(cache=True, nogil=True)
def _make_room(
    near: np.ndarray, scores: np.ndarray, kept: int, theta: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop the kept documents that have fallen behind the m-th best; if none has, grow."""
    cut = theta - MARGIN * (1.0 + abs(theta))
    keep = 0
    for j in range(kept):
        if scores[j] >= cut:
            near[keep] = near[j]
            scores[keep] = scores[j]
            keep += 1
    if keep == len(near):
        near = np.concatenate((near, np.empty(len(near), dtype=np.int64)))
        scores = np.concatenate((scores, np.empty(len(scores))))
    return near, scores, keep


@njit(cache=True, nogil=True)
def _best(
    m, dead, segs, parts, idf, stored, scales, scoring, text_weight, groups, within, use_within
):
    """Sorted ids of the documents that may be among the m best, `dead` ones left out."""
    bound, present = _bounds(
        segs, parts, idf, stored, scales, scoring, text_weight, groups, within, use_within
    )
    ordered, bands, band_top = _order(bound, present)
    variant, k1, delta, norm = scoring
    owner, _, group_scores, group_held = groups
    n_docs = len(norm)
    grouped = len(owner) > 0
    total = np.zeros(BLOCK)
    matched = np.zeros(BLOCK, dtype=np.bool_)
    heap = np.empty(max(m, 1))
    size = 0
    worst = 0
    theta = -np.inf
    # Documents near or above the m-th best seen so far, kept for the exact scores.
    near = np.empty(max(4 * m, 64), dtype=np.int64)
    near_scores = np.empty(len(near))
    kept = 0
    for i in range(len(ordered)):
        b = ordered[i]
        if size == m:
            cut = theta - SLACK * (1.0 + abs(theta))
            if band_top[bands[i]] < cut:
                break
            if bound[b] < cut:
                continue
        start, end = b * BLOCK, min((b + 1) * BLOCK, n_docs)
        total[:] = 0.0
        matched[:] = False
        for p in range(len(parts)):
            s, row, first = parts[p, SEGMENT], parts[p, ROW], segs.first[parts[p, SEGMENT]]
            word_idf = idf[parts[p, WORD]]
            if row >= 0:
                freqs = segs.dense[s][row]
                for doc in range(max(start, first), min(end, first + len(freqs))):
                    tf = float(freqs[doc - first])
                    if tf > 0:
                        total[doc - start] += _weight(variant, k1, delta, word_idf, tf, norm[doc])
                        matched[doc - start] = True
            else:
                ids, tfs, hi = segs.doc_ids[s], segs.tfs[s], parts[p, HI]
                j = parts[p, LO] + np.searchsorted(ids[parts[p, LO] : hi], start - first)
                while j < hi and first + ids[j] < end:
                    doc = first + ids[j]
                    tf = float(tfs[j])
                    total[doc - start] += _weight(variant, k1, delta, word_idf, tf, norm[doc])
                    matched[doc - start] = True
                    j += 1
        lo = np.searchsorted(within, start) if use_within else start
        hi = np.searchsorted(within, end) if use_within else end
        for k in range(lo, hi):
            doc = within[k] if use_within else k
            if not matched[doc - start] and not (grouped and group_held[owner[doc]]):
                continue
            if len(dead) and dead[doc]:
                continue
            score = text_weight * total[doc - start]
            if grouped:
                score += group_scores[owner[doc]]
            if size == m and score < theta - MARGIN * (1.0 + abs(theta)):
                continue
            if kept == len(near):
                near, near_scores, kept = _make_room(near, near_scores, kept, theta)
            near[kept] = doc
            near_scores[kept] = score
            kept += 1
            if size < m:
                heap[size] = score
                size += 1
            elif score > theta:
                heap[worst] = score
            else:
                continue
            if size == m:
                worst = 0
                for h in range(1, m):
                    if heap[h] < heap[worst]:
                        worst = h
                theta = heap[worst]
    docs = near[:kept]
    if size == m:
        docs = docs[near_scores[:kept] >= theta - MARGIN * (1.0 + abs(theta))]
    return np.sort(docs)


def count(n_docs: int) -> int:
    """How many blocks the documents make."""
    return (n_docs + BLOCK - 1) // BLOCK


def best_matches(
    segs: Segments,
    parts: np.ndarray,
    idf: np.ndarray,
    stored: list[tuple[np.ndarray, float] | None],
    scoring: Scoring,
    dead: np.ndarray | None,
    text_weight: float,
    m: int,
    groups: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    within: np.ndarray | None = None,
) -> np.ndarray:
    """Sorted ids of the m best matching documents, and of any others whose scores are
    within a rounding error of the m-th: the scores here are summed in another order than
    the exact ones, which decide.

    `parts`: where the segments keep the query words, in query order (see WORD…ROW);
    `idf` by the word's place in the query; `stored`: by place, the word's `maxima` when
    the index keeps them (None: worked out from its postings); `dead`: the documents left
    out. `groups`: each document's group, each group's first document (and the end), each
    group's (weighted) score, and which groups hold a query word. `within`: sorted ids
    the answer is limited to.
    """
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    n_blocks = count(len(scoring.norm))
    levels = np.zeros((max(len(stored), 1), n_blocks), dtype=np.uint8)
    scales = np.full(max(len(stored), 1), -1.0)
    for w, kept in enumerate(stored):
        if kept:
            levels[w], scales[w] = kept
    if groups is None:
        groups = (
            np.zeros(0, dtype=np.int32),
            np.zeros(0),
            np.zeros(0),
            np.zeros(0, dtype=np.bool_),
        )
    owner, starts, scores, held = groups
    return _best(
        m,
        read_only(np.zeros(0) if dead is None else dead, np.bool_),
        segs,
        parts,
        read_only(idf if len(idf) else np.zeros(1), np.float64),
        levels,
        scales,
        scoring,
        float(text_weight),
        (
            read_only(owner, np.int32),
            read_only(starts, np.int64),
            read_only(scores, np.float64),
            read_only(held, np.bool_),
        ),
        read_only(np.zeros(0) if within is None else within, np.int64),
        within is not None,
    )


def warm() -> None:
    """Compile the loops (or load them from numba's cache beside this file), so that the
    first question after a start does not wait for it: seconds the first time, half a
    second after."""
    ids, tfs = np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.uint8)
    segs = segments([(0, ids, tfs, np.zeros((0, 2), dtype=np.uint8))])
    parts = np.array([[0, 0, 0, 1, -1]], dtype=np.int64)
    how = scoring("l", 1.2, 0.5, np.ones(2))
    kept = maxima(segs, parts, how)
    best_matches(segs, parts, np.ones(1), [kept], how, None, 1.0, 1)
    best_matches(segs, parts, np.ones(1), [None], how, None, 1.0, 1)
    sums(segs, parts, np.ones(1), how)
