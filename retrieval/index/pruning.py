"""Top-k by block bounds: the compiled loop that scores blocks of documents in order of
their bound and stops when no bound left can reach the m-th best (see blocks.py for the
bounds), and the call that hands it a query.

Exactness-critical: the answer must equal sorting every score (tests/test_topk.py).
"""

from __future__ import annotations

import numpy as np

from retrieval.index import compiled
from retrieval.index.arrays import read_only
from retrieval.index.blocks import (
    BLOCK,
    HI,
    LO,
    ROW,
    SEGMENT,
    WORD,
    Scoring,
    Segments,
    _weight,
    count,
    maxima,
    scoring,
    segments,
    sums,
)
from retrieval.index.compiled import jit

# Blocks are visited in this many bands of bound, highest first (a sort of every bound
# would cost more than scoring the blocks that matter).
BANDS = 1024
# Near ties are decided by the exact scores afterwards: within this share of the m-th
# best, a document is handed back even if it seems not to get in.
MARGIN = 1e-9
# Bounds are summed in another order than scores: a block is skipped only when its bound
# is below the m-th best by more than this share.
SLACK = 1e-6


@jit
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


@jit
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


@jit
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


@jit
def _best(
    m, dead, segs, parts, idf, stored, scales, scoring, text_weight, groups, within, use_within
):
    """Sorted ids of the documents that may be among the m best, `dead` ones left out."""
    # long: one compiled loop; cut into functions, numba would pass the block's running
    # totals between them on every block, which is what this loop exists to avoid.
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
    if not compiled.enabled():
        return
    ids, tfs = np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.uint8)
    segs = segments([(0, ids, tfs, np.zeros((0, 2), dtype=np.uint8))])
    parts = np.array([[0, 0, 0, 1, -1]], dtype=np.int64)
    how = scoring("l", 1.2, 0.5, np.ones(2))
    kept = maxima(segs, parts, how)
    best_matches(segs, parts, np.ones(1), [kept], how, None, 1.0, 1)
    best_matches(segs, parts, np.ones(1), [None], how, None, 1.0, 1)
    sums(segs, parts, np.ones(1), how)
