"""Every matching document scored, in one compiled pass over the query words' postings.

When the bounds of bm25.top cannot settle a query quickly — rank-bm25's BM25L grows with a
word's raw frequency, so what a common word may give a document is loosely bounded — the
exact answer is found by adding up every posting of the query's words. In numpy that is a
gather, a scatter and several temporaries per word, 100–200 ms at a million paragraphs;
as one compiled loop (numba) over the postings as stored, a block of documents at a time,
it is a few nanoseconds a posting.

The loop hands back the m best and any document within a rounding error of the m-th;
bm25.top then scores those exactly (combined_scores), so the answer is the one sorting
every score gives, ties going to the lower document id.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
from numba import get_num_threads, njit, prange
from numba.typed import List

from retrieval.arrays import read_only


class Part(NamedTuple):
    """A query word's postings in one segment, as stored: segment-local document ids and
    frequencies, or (dense) a frequency for every document of the segment."""

    place: int
    first: int
    docs: np.ndarray
    tfs: np.ndarray
    dense: bool = False


# The variants scored here, by code; BM25+ gives every document something for every word.
VARIANTS = {"okapi": 0, "l": 1}


# numba's own thread pool serves one parallel call at a time.
_ONE_AT_A_TIME = threading.Lock()

# Near ties are decided by the exact scores afterwards: within this share of the m-th
# best, a document is handed back even if it seems not to get in.
MARGIN = 1e-9
# Documents are scored a block at a time, so that the block's sums stay in the cache while
# every word adds to them: summing word by word over a million documents instead sweeps
# megabytes through memory once a word, and that, not the arithmetic, is what costs.
BLOCK = 1 << 14


@njit(cache=True)
def _weight(variant: int, k1: float, delta: float, idf: float, tf: float, norm: float) -> float:
    """What a posting gives: bm25._weights, in the same order of operations."""
    if variant == 0:
        return idf * (tf * (k1 + 1) / (tf + k1 * norm))
    ctd = tf / norm
    return idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)


@njit(cache=True)
def _add_row(tfs, norm, total, matched, variant, k1, delta, idf) -> None:
    """Add a word's scores from its frequency in each of a run of documents. Without a
    branch (a frequency of 0 gives 0), so the loop runs on the processor's vector units."""
    for i in range(len(tfs)):
        tf = float(tfs[i])
        total[i] += _weight(variant, k1, delta, idf, tf, norm[i])
        matched[i] |= tf > 0


@njit(cache=True)
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


@njit(cache=True)
def _best_range(
    lo_doc: int,
    hi_doc: int,
    m: int,
    doc_parts,
    tf_parts,
    part_word: np.ndarray,
    part_first: np.ndarray,
    part_dense: np.ndarray,
    idf: np.ndarray,
    variant: int,
    k1: float,
    delta: float,
    norm: np.ndarray,
    dead: np.ndarray,
    text_weight: float,
    owner: np.ndarray,
    group_scores: np.ndarray,
    group_held: np.ndarray,
    within: np.ndarray,
    use_within: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The documents lo_doc to hi_doc - 1 that may be among the m best of them, with
    their scores."""
    n_parts = len(tf_parts)
    at = np.zeros(n_parts, dtype=np.int64)
    for p in range(n_parts):
        if not part_dense[p]:
            at[p] = np.searchsorted(doc_parts[p], lo_doc - part_first[p])
    total = np.zeros(BLOCK)
    matched = np.zeros(BLOCK, dtype=np.bool_)
    grouped = len(owner) > 0
    heap_scores = np.empty(m)
    size = 0
    worst = 0
    theta = -np.inf
    # Documents near or above the m-th best seen so far, kept for the exact scores.
    near = np.empty(max(4 * m, 64), dtype=np.int64)
    near_scores = np.empty(len(near))
    kept = 0
    within_at = np.searchsorted(within, lo_doc) if use_within else 0
    block_docs = np.empty(BLOCK, dtype=np.int64)
    block_scores = np.empty(BLOCK)
    for start in range(lo_doc, hi_doc, BLOCK):
        end = min(start + BLOCK, hi_doc)
        total[:] = 0.0
        matched[:] = False
        for p in range(n_parts):
            tfs, first, word_idf = tf_parts[p], part_first[p], idf[part_word[p]]
            if part_dense[p]:
                lo, hi = max(start, first), min(end, first + len(tfs))
                if lo < hi:
                    _add_row(
                        tfs[lo - first : hi - first],
                        norm[lo:hi],
                        total[lo - start : hi - start],
                        matched[lo - start : hi - start],
                        variant,
                        k1,
                        delta,
                        word_idf,
                    )
            else:
                docs = doc_parts[p]
                i = at[p]
                while i < len(docs) and first + docs[i] < end:
                    doc = first + docs[i]
                    tf = tfs[i]
                    total[doc - start] += _weight(
                        variant, k1, delta, word_idf, float(tf), norm[doc]
                    )
                    matched[doc - start] = True
                    i += 1
                at[p] = i
        first_within = within_at
        if use_within:
            while within_at < len(within) and within[within_at] < end:
                within_at += 1
        count = within_at - first_within if use_within else end - start
        # First the block's documents that may get in, in a tight loop; then those few
        # against the best so far.
        floor = theta - MARGIN * (1.0 + abs(theta))
        found = 0
        for k in range(count):
            doc = within[first_within + k] if use_within else start + k
            if not matched[doc - start] and not (grouped and group_held[owner[doc]]):
                continue
            score = text_weight * total[doc - start]
            if grouped:
                score += group_scores[owner[doc]]
            if score >= floor and not (len(dead) and dead[doc]):
                block_docs[found] = doc
                block_scores[found] = score
                found += 1
        for j in range(found):
            score = block_scores[j]
            if score < theta - MARGIN * (1.0 + abs(theta)):
                continue
            if kept == len(near):
                near, near_scores, kept = _make_room(near, near_scores, kept, theta)
            near[kept] = block_docs[j]
            near_scores[kept] = score
            kept += 1
            if size < m:
                heap_scores[size] = score
                size += 1
            elif score > theta:
                heap_scores[worst] = score
            else:
                continue
            if size == m:
                worst = 0
                for i in range(1, m):
                    if heap_scores[i] < heap_scores[worst]:
                        worst = i
                theta = heap_scores[worst]
    return near[:kept], near_scores[:kept]


@njit(parallel=True, cache=True)
def _best(chunks: int, m: int, n_docs: int, *query) -> np.ndarray:
    """Sorted ids of the documents that may be among the m best: the ids split in
    chunks, one a core, each keeping its own best; the best of all are among those.
    `query` is what _best_range takes after m."""
    step = (n_docs + chunks - 1) // chunks
    found_docs = np.empty((chunks, max(step, 1)), dtype=np.int64)
    found_scores = np.empty((chunks, max(step, 1)))
    counts = np.zeros(chunks, dtype=np.int64)
    for c in prange(chunks):
        lo, hi = min(c * step, n_docs), min((c + 1) * step, n_docs)
        docs, scores = _best_range(lo, hi, m, *query)
        counts[c] = len(docs)
        found_docs[c, : len(docs)] = docs
        found_scores[c, : len(docs)] = scores
    total = counts.sum()
    docs = np.empty(total, dtype=np.int64)
    scores = np.empty(total)
    k = 0
    for c in range(chunks):
        docs[k : k + counts[c]] = found_docs[c, : counts[c]]
        scores[k : k + counts[c]] = found_scores[c, : counts[c]]
        k += counts[c]
    if total < m:
        return np.sort(docs)
    theta = np.sort(scores)[total - m]
    return np.sort(docs[scores >= theta - MARGIN * (1.0 + abs(theta))])


def best_matches(
    parts: list[Part],
    idf: np.ndarray,
    params: tuple[str, float, float],
    norm: np.ndarray,
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
    word's place in the query; `params`: variant, k1 and delta; `norm`: each document's
    length normalisation; `dead`: the documents left out.
    `groups`: each document's group, each group's (weighted) score, and which groups
    hold a query word. `within`: sorted ids the answer is limited to.
    """
    parts = parts or [Part(0, 0, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint8))]
    doc_parts, tf_parts = List(), List()
    for part in parts:
        doc_parts.append(read_only(part.docs, np.int32))
        tf_parts.append(read_only(part.tfs, np.uint8))
    if groups is None:
        groups = (np.zeros(0, dtype=np.int32), np.zeros(0), np.zeros(0, dtype=np.bool_))
    owner, scores, held = groups
    variant, k1, delta = params
    with _ONE_AT_A_TIME:
        return _best(
            get_num_threads(),
            m,
            len(norm),
            doc_parts,
            tf_parts,
            np.array([part.place for part in parts], dtype=np.int64),
            np.array([part.first for part in parts], dtype=np.int64),
            np.array([part.dense for part in parts], dtype=np.bool_),
            read_only(idf if len(idf) else np.zeros(1), np.float64),
            VARIANTS[variant],
            k1,
            delta,
            read_only(norm, np.float64),
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
    best_matches([one], np.ones(1), ("l", 1.2, 0.5), np.ones(2), None, 1.0, 1)
