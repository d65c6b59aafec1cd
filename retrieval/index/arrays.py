"""Array helpers shared by the indexes: distinct values, and postings built chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.index.columns import DiskArray, NpyWriter


def run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values begins in a sorted array."""
    if not len(ordered):
        return np.zeros(0, dtype=np.int64)
    change = np.empty(len(ordered), dtype=bool)
    change[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    return np.flatnonzero(change)


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and how often each occurs.

    np.unique hashes integer arrays in numpy 2.3+, which is many times slower here than
    sorting once and cutting at the changes.
    """
    ordered = np.sort(values)
    starts = run_starts(ordered)
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def read_only(values: np.ndarray | DiskArray, dtype: type) -> np.ndarray:
    """A read-only, contiguous view of the given type (a copy only if the type differs).
    Compiled loops (numba) are compiled once per argument type, and arrays mapped from
    disk are read-only: giving every caller's arrays this one type compiles them once."""
    view: np.ndarray = np.ascontiguousarray(values, dtype=dtype).view()
    view.flags.writeable = False
    return view


def present_sorted(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Which of `values` are in `among`, both sorted and distinct non-negative integers: a
    binary search per value, not a sort of both; or, when both are long and dense, a
    mark per possible value (a binary search per value costs more than that then)."""
    if not len(values) or not len(among):
        return np.zeros(len(values), dtype=bool)
    top = int(max(values[-1], among[-1])) + 1
    if len(values) * np.log2(len(among) + 1) > 4 * (len(values) + len(among)) + top // 8:
        marked = np.zeros(top, dtype=bool)
        marked[among] = True
        return marked[values]
    at = np.minimum(np.searchsorted(among, values), len(among) - 1)
    return among[at] == values


def intersect_sorted(small: np.ndarray, big: np.ndarray) -> np.ndarray:
    """The elements of `small` also in `big`, both sorted and distinct."""
    return small[present_sorted(small, big)]


@dataclass(frozen=True)
class Runs:
    """Postings of a run of consecutive documents: `keys` sorted and distinct, `counts[i]`
    entries under `keys[i]`, and `values` (document ids first) in key order."""

    keys: np.ndarray
    counts: np.ndarray
    # Values spilled to a file (a big build's) are read a slice at a time.
    values: tuple[np.ndarray | DiskArray, ...]

    @classmethod
    def from_sorted(cls, keys: np.ndarray, *values: np.ndarray) -> Runs:
        """From one key per entry, already sorted."""
        starts = run_starts(keys)
        return cls(keys[starts], np.diff(np.append(starts, len(keys))), values)


def spilled(part: Runs, path: Path) -> Runs:
    """The part with its values in files (`path` and a number), read back a slice at a
    time until merged. The files are unlinked at once (they live as long as the part), so
    one path serves every part."""
    values: list[np.ndarray | DiskArray] = []
    for i, value in enumerate(part.values):
        file = path.with_name(f"{path.name}-{i}.npy")
        np.save(file, np.asarray(value))
        values.append(DiskArray(file))
        file.unlink()
    return Runs(part.keys, part.counts, tuple(values))


def merge_runs(
    parts: list[Runs],
    n_keys: int,
    key_ids: Callable[[np.ndarray], np.ndarray] = lambda keys: keys,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """One CSR (indptr, values) over `n_keys` from parts covering consecutive documents.

    Each part's entries are scattered straight into place (a counting sort), so a big index
    needs its final arrays and one part at a time, never a sort of everything.
    """
    indptr = _indptr(parts, n_keys, key_ids)
    return indptr, _scatter(parts, indptr, key_ids, 0, n_keys)


def merge_runs_into(
    parts: list[Runs],
    n_keys: int,
    key_ids: Callable[[np.ndarray], np.ndarray],
    writers: list[NpyWriter],
    budget: int,
) -> np.ndarray:
    """As merge_runs, the values appended to `writers` a range of keys at a time (entries
    up to `budget` a range, or one key's): with the parts' values in files (DiskArray),
    only one range is ever in memory. Returns indptr."""
    indptr = _indptr(parts, n_keys, key_ids)
    lo = 0
    while lo < n_keys:
        top = int(np.searchsorted(indptr, indptr[lo] + budget, side="right")) - 1
        hi = min(max(top, lo + 1), n_keys)
        for writer, values in zip(writers, _scatter(parts, indptr, key_ids, lo, hi), strict=True):
            writer.write(values)
        lo = hi
    return indptr


def _indptr(
    parts: list[Runs], n_keys: int, key_ids: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    totals = np.zeros(n_keys, dtype=np.int64)
    for part in parts:
        totals[key_ids(part.keys)] += part.counts
    indptr = np.zeros(n_keys + 1, dtype=np.int64)
    np.cumsum(totals, out=indptr[1:])
    return indptr


def _scatter(
    parts: list[Runs],
    indptr: np.ndarray,
    key_ids: Callable[[np.ndarray], np.ndarray],
    lo: int,
    hi: int,
) -> list[np.ndarray]:
    """The merged values of keys lo to hi - 1 (key_ids must keep the keys' order)."""
    base = int(indptr[lo])
    # The widest of the parts' types: a part may have kept its values narrower.
    types = (
        [np.result_type(*(p.values[i].dtype for p in parts)) for i in range(len(parts[0].values))]
        if parts
        else []
    )
    outs = [np.empty(int(indptr[hi]) - base, dtype=t) for t in types]
    cursor = indptr[lo:hi] - base
    for part in parts:
        ids = key_ids(part.keys)
        a, b = np.searchsorted(ids, [lo, hi])
        if a == b:
            continue
        ends = np.cumsum(part.counts[:b])
        start = int(ends[a - 1]) if a else 0
        counts, ids = part.counts[a:b], ids[a:b] - lo
        first = ends[a:] - counts - start
        at = np.repeat(cursor[ids] - first, counts) + np.arange(int(ends[-1]) - start)
        for out, values in zip(outs, part.values, strict=True):
            out[at] = values[start : int(ends[-1])]
        cursor[ids] += counts
    return outs
