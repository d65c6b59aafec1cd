"""Whether a saved snapshot is whole, checked before anything reads it.

A damaged file must never reach a compiled loop (an id past the end of an array is a
segmentation fault there, not an exception) nor serve a paragraph with no text: damage
found here raises DamagedIndex, a ValueError, and the library builds the index again
from the store.

Small files (meta.json, and every file up to CHECKSUM_BYTES) carry a CRC-32 in their
folder's checksums.json, so any change to them is seen. The big arrays are checked for
structure only — types and lengths, each term's postings rising and within the documents,
offsets rising to the end of their buffer — in vectorised passes: tens of milliseconds at
a million paragraphs, where a checksum would read gigabytes at every start. What that
cannot see (ids or text bytes overwritten in place with plausible ones, in files too big to
checksum) gives wrong answers, never a crash. The bigram postings are read a slice at a
time and too big to read at start-up: a slice is checked as it is read (phrases.py).

Exactness-critical: the compiled loops read what passes here unchecked; the checks are
held to a fresh build's answers by tests/test_index_damage.py.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from retrieval.index.columns import DiskArray
    from retrieval.index.snapshot import Segment

CHECKSUMS = "checksums.json"
META = "meta.json"
# Files up to this size are checksummed: reading one costs well under a millisecond.
CHECKSUM_BYTES = 4 << 20
# Files signed whatever their size: a wrong document frequency would change scores and no
# structural check could tell.
SIGNED_WHOLE = ("df_",)
# Postings compared at a time (a temporary of this many bools).
CHUNK = 1 << 22
COLUMNS = ("rowid", "speech", "n", "heading", "damaged")
FIELDS = ("text", "context")

SNAPSHOT_META = {"fingerprint": str, "segments": list}
SEGMENT_META = {
    "key": str,
    "speech_ids": list,
    "headings": list,
    "known_terms": dict,
    "text_terms": list,
    "context_terms": list,
}


class DamagedIndex(ValueError):
    """A saved snapshot is incomplete or damaged: it is to be built again."""


def _require(ok: bool | np.bool_, what: str) -> None:
    if not ok:
        raise DamagedIndex(what)


# Checksums ------------------------------------------------------------------------------


def sign(folder: Path) -> None:
    """Write the folder's checksums.json: meta.json's, and every small file's."""
    sums = {
        p.name: zlib.crc32(p.read_bytes())
        for p in sorted(folder.iterdir())
        if p.name == META or p.name.startswith(SIGNED_WHOLE) or p.stat().st_size <= CHECKSUM_BYTES
    }
    (folder / CHECKSUMS).write_text(json.dumps(sums), encoding="utf-8")


def read_meta(folder: Path) -> object:
    """The folder's meta.json, once it and every file checksums.json names are as signed."""
    sums = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
    _require(isinstance(sums, dict) and isinstance(sums.get(META), int), f"{CHECKSUMS} unusable")
    meta = b""
    for name, crc in sums.items():
        _require(plain_name(name) and isinstance(crc, int), f"{CHECKSUMS} names {name!r}")
        data = (folder / name).read_bytes()
        _require(zlib.crc32(data) == crc, f"{folder.name}/{name} does not match its checksum")
        meta = data if name == META else meta
    return json.loads(meta)


def plain_name(name: str) -> bool:
    """A file or folder of the index's own: no path, and not a scratch name (`.…`)."""
    return bool(name) and not name.startswith(".") and Path(name).name == name


# meta.json ------------------------------------------------------------------------------


def fields(meta: object, types: Mapping[str, type], where: str) -> dict[str, Any]:
    """meta.json's fields, each of its type; a list's items are strings."""
    _require(isinstance(meta, dict), f"{where}: meta.json is not an object")
    assert isinstance(meta, dict)
    for name, kind in types.items():
        value = meta.get(name)
        # bool is an int to isinstance; a count or an id never is one.
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if ok and isinstance(value, list):
            ok = all(isinstance(item, str) for item in value)
        _require(ok, f"{where}: meta.json's {name!r} is not a {kind.__name__}")
    return meta


def snapshot_meta(meta: object, folder: Path) -> dict[str, Any]:
    checked = fields(meta, SNAPSHOT_META, folder.name)
    _require(checked["fingerprint"] == folder.name, f"{folder.name}: another snapshot's meta")
    keys = checked["segments"]
    _require(keys and all(map(plain_name, keys)), f"{folder.name}: segment names unusable")
    return checked


def segment_meta(meta: object, folder: Path, known: Mapping[str, int]) -> dict[str, Any]:
    """A segment's meta.json, its vocabulary extending the previous segment's `known`."""
    checked = fields(meta, SEGMENT_META, folder.name)
    _require(checked["key"] == folder.name, f"{folder.name}: another segment's meta")
    counts = fields(checked["known_terms"], {f: int for f in FIELDS}, folder.name)
    _require(dict(counts) == dict(known), f"{folder.name}: extends another vocabulary")
    return checked


# Arrays ---------------------------------------------------------------------------------

Arrays = Mapping[str, "np.ndarray | DiskArray"]


def _array(
    arrays: Arrays, name: str, kinds: str, length: int | None = None, ndim: int = 1
) -> np.ndarray:
    """The array, of one of the dtype kinds (numpy's letters) and the shape expected."""
    values = arrays.get(name)
    _require(isinstance(values, np.ndarray), f"{name}.npy missing")
    assert isinstance(values, np.ndarray)
    ok = values.dtype.kind in kinds and values.ndim == ndim
    ok = ok and (length is None or values.shape[0] == length)
    _require(ok, f"{name}.npy: {values.dtype} {values.shape}")
    return values


def _length(arrays: Arrays, name: str, kind: str) -> int:
    """The length of an array perhaps read a slice at a time (persist.READ_BY_SLICES):
    too big to read here, and read only where its use checks it."""
    values = arrays.get(name)
    _require(values is not None, f"{name}.npy missing")
    assert values is not None
    ok = values.dtype.kind == kind and (not isinstance(values, np.ndarray) or values.ndim == 1)
    _require(ok, f"{name}.npy: {values.dtype}")
    return len(values)


def _ids(values: np.ndarray, bound: int, name: str) -> None:
    """Every value in 0 .. bound - 1: one pass, a negative one read as a huge unsigned."""
    if len(values) and values.dtype.kind == "i":
        values = values.view(f"u{values.dtype.itemsize}")
    _require(not len(values) or int(values.max()) < bound, f"{name}.npy: an id out of range")


def _rising(values: np.ndarray, name: str, ends: tuple[int, int] | None, strictly: bool) -> None:
    """Sorted (strictly: distinct), and from ends[0] to ends[1]."""
    if len(values) > 1:
        step = values[1:] > values[:-1] if strictly else values[1:] >= values[:-1]
        _require(step.all(), f"{name}.npy is out of order")
    if ends is not None:
        whole = len(values) > 0 and (int(values[0]), int(values[-1])) == ends
        _require(whole, f"{name}.npy does not run from {ends[0]} to {ends[1]}")


def _postings_ids(values: np.ndarray, indptr: np.ndarray, bound: int, name: str) -> None:
    """Each run values[indptr[i] : indptr[i + 1]] strictly rising, within 0 .. bound - 1:
    the compiled loops find a block's postings by binary search and index arrays by them,
    unchecked. Rising runs need only their ends checked against the bounds; they are
    compared a chunk at a time, into one buffer, so no temporary is as long as they are."""
    firsts, lasts = indptr[:-1], indptr[1:] - 1
    held = firsts <= lasts
    if held.any():
        inside = values[firsts[held]].min() >= 0 and values[lasts[held]].max() < bound
        _require(inside, f"{name}.npy: an id out of range")
    # Where a run begins: exempt from rising above the one before it.
    starts = indptr[(indptr > 0) & (indptr < len(values))]
    rising = np.empty(min(CHUNK, len(values)), dtype=bool)
    for lo in range(1, len(values), CHUNK):
        hi = min(lo + CHUNK, len(values))
        step = rising[: hi - lo]
        np.greater(values[lo:hi], values[lo - 1 : hi - 1], out=step)
        step[starts[np.searchsorted(starts, lo) : np.searchsorted(starts, hi)] - lo] = True
        _require(step.all(), f"{name}.npy is out of order")


def _bools(values: np.ndarray, name: str) -> None:
    # np.save writes only 0 and 1: any other byte is damage that still reads as true (a
    # live paragraph taken for dead), seen here at the price of one pass.
    _require(not len(values) or int(values.view(np.uint8).max()) <= 1, f"{name}.npy: not bools")


def _text(arrays: Arrays, name: str, n: int) -> None:
    size = _length(arrays, f"{name}_data", "u")
    _require(arrays[f"{name}_data"].dtype.itemsize == 1, f"{name}_data.npy: not bytes")
    offsets = _array(arrays, f"{name}_offsets", "iu", n + 1)
    _rising(offsets, f"{name}_offsets", (0, size), strictly=False)


def _postings(arrays: Arrays, prefix: str, n_docs: int, n_terms: int) -> None:
    """A bm25.Postings: CSR over the terms, dense rows over the documents."""
    doc_ids = _array(arrays, f"{prefix}doc_ids", "iu")
    _array(arrays, f"{prefix}tfs", "iu", len(doc_ids))
    indptr = _array(arrays, f"{prefix}indptr", "iu", n_terms + 1)
    _rising(indptr, f"{prefix}indptr", (0, len(doc_ids)), strictly=False)
    _postings_ids(doc_ids, indptr, n_docs, f"{prefix}doc_ids")
    doc_len = _array(arrays, f"{prefix}doc_len", "f", n_docs)
    lengths = bool(np.isfinite(doc_len).all()) and not (doc_len < 0).any()
    _require(lengths, f"{prefix}doc_len.npy: not lengths")
    dense_terms = _array(arrays, f"{prefix}dense_terms", "iu")
    _rising(dense_terms, f"{prefix}dense_terms", None, strictly=True)
    _ids(dense_terms, n_terms, f"{prefix}dense_terms")
    dense = _array(arrays, f"{prefix}dense", "iu", len(dense_terms), ndim=2)
    _require(dense.shape[1] == n_docs, f"{prefix}dense.npy: {dense.shape}")


def check_segment(arrays: Arrays, meta: Mapping[str, Any], known: Mapping[str, int]) -> None:
    """A segment's arrays agree with each other and with its meta.json (segment_meta)."""
    n = len(_array(arrays, "text_offsets", "iu")) - 1
    _text(arrays, "text", n)
    _text(arrays, "flat", n)
    cols = {c: _array(arrays, f"col_{c}", "b" if c == "damaged" else "iu", n) for c in COLUMNS}
    _rising(cols["rowid"], "col_rowid", None, strictly=True)
    _ids(cols["speech"], len(meta["speech_ids"]), "col_speech")
    _ids(cols["heading"], len(meta["headings"]), "col_heading")
    _bools(cols["damaged"], "col_damaged")
    runs = len(_array(arrays, "bm25_context_doc_len", "f"))
    starts = _array(arrays, "context_starts", "iu", runs + 1)
    _rising(starts, "context_starts", (0, n), strictly=True)
    for field, n_docs in zip(FIELDS, (n, runs), strict=True):
        n_terms = known[field] + len(meta[f"{field}_terms"])
        _postings(arrays, f"bm25_{field}_", n_docs, n_terms)
    grams = _array(arrays, "grams", "u")
    _rising(grams, "grams", None, strictly=True)
    indptr = _array(arrays, "gram_indptr", "iu", len(grams) + 1)
    _rising(indptr, "gram_indptr", (0, _length(arrays, "gram_docs", "u")), strictly=False)


def check_snapshot(
    dead: np.ndarray, segments: Sequence[Segment], speeches: Collection[str]
) -> None:
    """The dead mask covers the segments, and every live paragraph's speech is in the store."""
    total = sum(len(s) for s in segments)
    _require(dead.dtype == np.bool_ and dead.shape == (total,), f"dead.npy: {dead.shape}")
    _bools(dead, "dead")
    first = 0
    for seg in segments:
        unknown = np.array([s not in speeches for s in seg.speech_ids], dtype=bool)
        live = ~dead[first : first + len(seg)]
        orphans = unknown[seg.columns["speech"]] & live
        _require(not orphans.any(), f"{seg.key}: live paragraphs of speeches not in the store")
        first += len(seg)


def check_doc_freqs(
    text_df: np.ndarray, context_df: np.ndarray, segments: Sequence[Segment], dead: np.ndarray
) -> None:
    """One count per word of each field's vocabulary, none above the live paragraphs."""
    live = int(dead.size - dead.sum())
    for name, df in zip(FIELDS, (text_df, context_df), strict=True):
        terms = len(getattr(segments[-1], name).terms) if segments else 0
        _require(df.dtype == np.int64 and df.shape == (terms,), f"df_{name}.npy: {df.shape}")
        _require(not df.size or (df.min() >= 0 and df.max() <= live), f"df_{name}.npy: range")
