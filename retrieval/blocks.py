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

from typing import NamedTuple

import numpy as np
from numba import njit
from numba.typed import List

from retrieval.arrays import read_only

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


class Part(NamedTuple):
    """A query word's postings in one segment, as stored: segment-local document ids and
    frequencies, or (dense) a frequency for every document of the segment."""

    place: int
    first: int
    docs: np.ndarray
    tfs: np.ndarray
    dense: bool = False


class Scoring(NamedTuple):
    """How a posting's score is worked out: the variant's code, k1, delta, and each
    document's length normalisation."""

    variant: int
    k1: float
    delta: float
    norm: np.ndarray


@njit(cache=True, nogil=True)
def _weight(variant: int, k1: float, delta: float, idf: float, tf: float, norm: float) -> float:
    """What a posting gives: bm25._weights, in the same order of operations."""
    if variant == 0:
        return idf * (tf * (k1 + 1) / (tf + k1 * norm))
    ctd = tf / norm
    return idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)


@njit(cache=True, nogil=True)
def _maxima(doc_parts, tf_parts, part_first, part_dense, variant, k1, delta, norm, n_blocks):
    """The most a word (its parts, one a segment) gives a document of each block, IDF 1."""
    out = np.zeros(n_blocks)
    for p in range(len(tf_parts)):
        tfs, first = tf_parts[p], part_first[p]
        docs = doc_parts[p]
        for i in range(len(tfs)):
            if tfs[i] == 0:
                continue
            doc = first + (i if part_dense[p] else docs[i])
            w = _weight(variant, k1, delta, 1.0, float(tfs[i]), norm[doc])
            b = doc // BLOCK
            if w > out[b]:
                out[b] = w
    return out


def maxima(parts: list[Part], scoring: Scoring) -> tuple[np.ndarray, float]:
    """A word's most for a document of each block, as bytes rounded up, and the scale
    that turns a byte back into a bound."""
    doc_parts, tf_parts = _typed(parts)
    most = _maxima(
        doc_parts,
        tf_parts,
        np.array([part.first for part in parts], dtype=np.int64),
        np.array([part.dense for part in parts], dtype=np.bool_),
        scoring.variant,
        scoring.k1,
        scoring.delta,
        read_only(scoring.norm, np.float64),
        count(len(scoring.norm)),
    )
    top = float(most.max(initial=0.0))
    if top == 0.0:
        return np.zeros(len(most), dtype=np.uint8), 0.0
    scale = top / LEVELS
    # Rounded up, and at least 1 where the word is present: a byte is never below the most.
    levels = np.minimum(np.ceil(most / scale), LEVELS)
    levels[(most > 0) & (levels == 0)] = 1
    return levels.astype(np.uint8), scale


@njit(cache=True, nogil=True)
def _sums(doc_parts, tf_parts, part_word, part_first, part_dense, idf, variant, k1, delta, norm):
    """Every document's score, and whether it holds a word, summed word by word."""
    scores = np.zeros(len(norm))
    held = np.zeros(len(norm), dtype=np.bool_)
    for p in range(len(tf_parts)):
        tfs, first, docs, word_idf = tf_parts[p], part_first[p], doc_parts[p], idf[part_word[p]]
        for i in range(len(tfs)):
            if tfs[i] == 0:
                continue
            doc = first + (i if part_dense[p] else docs[i])
            scores[doc] += _weight(variant, k1, delta, word_idf, float(tfs[i]), norm[doc])
            held[doc] = True
    return scores, held


def sums(parts: list[Part], idf: np.ndarray, scoring: Scoring) -> tuple[np.ndarray, np.ndarray]:
    """Every document's score for the words (`parts` and `idf` as for best_matches), and
    which documents hold one of them: for an index of few documents, such as the sections'
    contexts, whose scores then bound the blocks and add to their documents' exactly."""
    if not parts:
        return np.zeros(len(scoring.norm)), np.zeros(len(scoring.norm), dtype=np.bool_)
    doc_parts, tf_parts = _typed(parts)
    return _sums(
        doc_parts,
        tf_parts,
        *_layout(parts),
        read_only(idf, np.float64),
        scoring.variant,
        scoring.k1,
        scoring.delta,
        read_only(scoring.norm, np.float64),
    )


@njit(cache=True, nogil=True)
def _bounds(
    n_docs,
    doc_parts,
    tf_parts,
    part_word,
    part_first,
    part_dense,
    idf,
    stored,
    scales,
    variant,
    k1,
    delta,
    norm,
    text_weight,
    owner,
    group_scores,
    group_held,
    within,
    use_within,
):
    """Each block's bound, and whether it holds a document that matches (and is within)."""
    n_blocks = (n_docs + BLOCK - 1) // BLOCK
    bound = np.zeros(n_blocks)
    present = np.zeros(n_blocks, dtype=np.bool_)
    for w in range(len(idf)):
        # A word whose IDF is negative (BM25Okapi on a tiny corpus) gives at most 0.
        word_idf = max(idf[w], 0.0) * text_weight
        if scales[w] >= 0.0:
            levels, scale = stored[w], scales[w] * word_idf
            for b in range(n_blocks):
                if levels[b]:
                    bound[b] += levels[b] * scale
                    present[b] = True
    for p in range(len(tf_parts)):
        w = part_word[p]
        if scales[w] >= 0.0:
            continue
        # A rarer word, whose postings are fewer than the blocks: worked out here.
        word_idf = max(idf[w], 0.0) * text_weight
        tfs, first, docs = tf_parts[p], part_first[p], doc_parts[p]
        block, most = -1, 0.0
        for i in range(len(tfs)):
            if tfs[i] == 0:
                continue
            doc = first + (i if part_dense[p] else docs[i])
            if doc // BLOCK != block:
                if block >= 0:
                    bound[block] += most
                block, most = doc // BLOCK, 0.0
                present[block] = True
            most = max(most, _weight(variant, k1, delta, word_idf, float(tfs[i]), norm[doc]))
        if block >= 0:
            bound[block] += most
    if len(owner):
        for b in range(n_blocks):
            lo, hi = owner[b * BLOCK], owner[min((b + 1) * BLOCK, n_docs) - 1]
            best = -np.inf
            for g in range(lo, hi + 1):
                best = max(best, group_scores[g])
                present[b] |= group_held[g]
            bound[b] += best
    if use_within:
        inside = np.zeros(n_blocks, dtype=np.bool_)
        for doc in within:
            inside[doc // BLOCK] = True
        present &= inside
    return bound, present


@njit(cache=True, nogil=True)
def _order(bound, present):
    """The present blocks, highest bound first by bands, and each band's highest bound."""
    ids = np.flatnonzero(present)
    band_top = np.full(BANDS, -np.inf)
    band_of = np.zeros(len(ids), dtype=np.int64)
    if not len(ids):
        return ids, band_of, band_top
    low, high = bound[ids].min(), bound[ids].max()
    width = (high - low) / (BANDS - 1) if high > low else 1.0
    counts = np.zeros(BANDS + 1, dtype=np.int64)
    for i in range(len(ids)):
        band = BANDS - 1 - min(int((bound[ids[i]] - low) / width), BANDS - 1)
        band_of[i] = band
        counts[band + 1] += 1
        band_top[band] = max(band_top[band], bound[ids[i]])
    starts = np.cumsum(counts)
    ordered = np.empty(len(ids), dtype=np.int64)
    bands = np.empty(len(ids), dtype=np.int64)
    for i in range(len(ids)):
        band = band_of[i]
        ordered[starts[band]] = ids[i]
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
    m,
    n_docs,
    doc_parts,
    tf_parts,
    part_word,
    part_first,
    part_dense,
    idf,
    stored,
    scales,
    variant,
    k1,
    delta,
    norm,
    dead,
    text_weight,
    owner,
    group_scores,
    group_held,
    within,
    use_within,
):
    """Sorted ids of the documents that may be among the m best."""
    bound, present = _bounds(
        n_docs,
        doc_parts,
        tf_parts,
        part_word,
        part_first,
        part_dense,
        idf,
        stored,
        scales,
        variant,
        k1,
        delta,
        norm,
        text_weight,
        owner,
        group_scores,
        group_held,
        within,
        use_within,
    )
    ordered, bands, band_top = _order(bound, present)
    n_parts = len(tf_parts)
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
        for p in range(n_parts):
            tfs, first, word_idf = tf_parts[p], part_first[p], idf[part_word[p]]
            if part_dense[p]:
                lo, hi = max(start, first), min(end, first + len(tfs))
                for doc in range(lo, hi):
                    tf = float(tfs[doc - first])
                    if tf > 0:
                        total[doc - start] += _weight(variant, k1, delta, word_idf, tf, norm[doc])
                        matched[doc - start] = True
            else:
                docs = doc_parts[p]
                j = np.searchsorted(docs, start - first)
                while j < len(docs) and first + docs[j] < end:
                    doc = first + docs[j]
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


def _layout(parts: list[Part]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each part's word (its place in the query), first document id and whether dense."""
    return (
        np.array([part.place for part in parts], dtype=np.int64),
        np.array([part.first for part in parts], dtype=np.int64),
        np.array([part.dense for part in parts], dtype=np.bool_),
    )


def _typed(parts: list[Part]) -> tuple[List, List]:
    doc_parts, tf_parts = List(), List()
    for part in parts:
        doc_parts.append(read_only(part.docs, np.int32))
        tf_parts.append(read_only(part.tfs, np.uint8))
    return doc_parts, tf_parts


def best_matches(
    parts: list[Part],
    idf: np.ndarray,
    stored: list[tuple[np.ndarray, float] | None],
    scoring: Scoring,
    dead: np.ndarray | None,
    text_weight: float,
    m: int,
    groups: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    within: np.ndarray | None = None,
) -> np.ndarray:
    """Sorted ids of the m best matching documents, and of any others whose scores are
    within a rounding error of the m-th: the scores here are summed in another order than
    the exact ones, which decide.

    `parts`: the query words' postings as stored, in query order (see Part); `idf` by the
    word's place in the query; `stored`: by place, the word's `maxima` when the index
    keeps them (None: worked out from its postings); `dead`: the documents left out.
    `groups`: each document's group, each group's (weighted) score, and which groups
    hold a query word. `within`: sorted ids the answer is limited to.
    """
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    parts = parts or [Part(0, 0, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint8))]
    doc_parts, tf_parts = _typed(parts)
    levels = List()
    scales = np.full(max(len(idf), 1), -1.0)
    for w, kept in enumerate(stored):
        levels.append(read_only(kept[0] if kept else np.zeros(0), np.uint8))
        if kept:
            scales[w] = kept[1]
    if not len(levels):
        levels.append(read_only(np.zeros(0), np.uint8))
    if groups is None:
        groups = (np.zeros(0, dtype=np.int32), np.zeros(0), np.zeros(0, dtype=np.bool_))
    owner, scores, held = groups
    return _best(
        m,
        len(scoring.norm),
        doc_parts,
        tf_parts,
        *_layout(parts),
        read_only(idf if len(idf) else np.zeros(1), np.float64),
        levels,
        scales,
        scoring.variant,
        scoring.k1,
        scoring.delta,
        read_only(scoring.norm, np.float64),
        read_only(np.zeros(0) if dead is None else dead, np.bool_),
        text_weight,
        read_only(owner, np.int32),
        read_only(scores, np.float64),
        read_only(held, np.bool_),
        read_only(np.zeros(0) if within is None else within, np.int64),
        within is not None,
    )


def warm() -> None:
    """Compile the loops (or load them from numba's cache beside this file), so that the
    first question after a start does not wait for it: seconds the first time, half a
    second after."""
    one = Part(0, 0, np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.uint8))
    scoring = Scoring(VARIANTS["l"], 1.2, 0.5, np.ones(2))
    best_matches([one], np.ones(1), [maxima([one], scoring)], scoring, None, 1.0, 1)
    best_matches([one], np.ones(1), [None], scoring, None, 1.0, 1)
    sums([one], np.ones(1), scoring)
