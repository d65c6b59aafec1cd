"""A snapshot on disk: numpy arrays memory-mapped back, so start-up re-reads nothing.

Each snapshot has a folder named by its fingerprint (the store's content, the tokenizer's
rules, the BM25 parameters) with its dead-document mask and the names of its segments;
each segment has a folder of its own under `segments/`, so a reload writes only its new
segment. Folders are written under a temporary name and renamed when complete, so a crash
never leaves half an index that looks whole; the scratch folders a killed save leaves are
removed by the next prune. Every folder carries the checksums of its small files, and a
load checks what it maps (integrity.py): a damaged snapshot raises DamagedIndex, to be
built again. Unused folders are removed after a swap; a process still serving from one
keeps its mapping (POSIX).

Exactness-critical: a loaded snapshot must answer as the saved one did.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import cast

import numpy as np

from retrieval.index import integrity
from retrieval.index.bm25 import BM25Params
from retrieval.index.columns import DiskArray, TextColumn
from retrieval.index.integrity import DamagedIndex
from retrieval.index.phrases import PhraseIndex
from retrieval.index.postings import Postings
from retrieval.index.snapshot import Segment, Snapshot
from retrieval.model import SpeechRow

log = logging.getLogger(__name__)

FORMAT = "7"
SEGMENT_PREFIX = "segments"
# Smaller arrays are read whole: mapping them saves nothing.
MAP_BYTES = 1 << 20
# Arrays only ever read a slice at a time (a paragraph's text, a bigram's documents), and
# big enough to matter: read from the file as needed, not mapped (see DiskArray).
READ_BY_SLICES = ("text_data", "gram_docs")


def fingerprint(store_fingerprint: str, tokenizer_version: str, params: BM25Params) -> str:
    return "-".join([FORMAT, store_fingerprint, tokenizer_version, _params_key(params)])


def _params_key(params: BM25Params) -> str:
    """The scoring parameters (routing ones change nothing that is saved)."""
    p = params
    return "_".join(f"{v}" for v in (p.variant, p.k1, p.b, p.epsilon, p.delta))


def save(snapshot: Snapshot, folder: Path) -> None:
    """The snapshot's folder holds its dead-document mask and the names of its segments;
    each segment has a folder of its own, shared by the snapshots that use it."""
    with _saving(folder.parent):
        for i, segment in enumerate(snapshot.segments):
            previous = snapshot.segments[i - 1] if i else None
            _write(
                folder.parent / SEGMENT_PREFIX / segment.key,
                partial(_save_segment, segment, previous),
            )

        def write_snapshot(scratch: Path) -> None:
            np.save(scratch / "dead.npy", snapshot.dead)
            for name in integrity.FIELDS:
                np.save(scratch / f"df_{name}.npy", getattr(snapshot, name).df.astype(np.int64))
            keys = [s.key for s in snapshot.segments]
            meta = {"fingerprint": snapshot.fingerprint, "segments": keys}
            (scratch / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

        _write(folder, write_snapshot)


@contextmanager
def _locked(root: Path, how: int) -> Iterator[bool]:
    """The index folder locked (flock: the lock goes with the process, however it ends);
    whether it could be."""
    fd = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, how)
        except OSError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def _saving(root: Path) -> AbstractContextManager[bool]:
    """Every save holds the index folder's lock shared while it writes (other savers, in
    this process or another, go on side by side); a file system without locks still
    saves, and the sweep, unable to lock it either, then removes nothing."""
    root.mkdir(parents=True, exist_ok=True)
    return _locked(root, fcntl.LOCK_SH)


def _write(folder: Path, fill: Callable[[Path], None]) -> None:
    """Write a folder under a temporary name, sign it and rename it when complete."""
    if folder.exists():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: two savers of the same snapshot (two processes, or two libraries
    # over one store) must not write into each other's folder.
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        fill(scratch)
        integrity.sign(scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    try:
        scratch.rename(folder)
    except OSError:
        # Another process saved the same thing first; theirs is as good.
        shutil.rmtree(scratch, ignore_errors=True)


def _save_segment(segment: Segment, previous: Segment | None, scratch: Path) -> None:
    arrays = {
        **{f"col_{k}": v for k, v in segment.columns.items()},
        **segment.texts.arrays("text"),
        **{f"bm25_text_{k}": v for k, v in segment.text.arrays().items()},
        **{f"bm25_context_{k}": v for k, v in segment.context.arrays().items()},
        "context_starts": segment.context_starts,
        **segment.phrases.arrays(),
    }
    for name, array in arrays.items():
        _save_array(scratch / f"{name}.npy", array)
    # A segment's vocabulary extends the previous one's; only the new words are written.
    known = {
        "text": len(previous.text.terms) if previous else 0,
        "context": len(previous.context.terms) if previous else 0,
    }
    meta = {
        "key": segment.key,
        "speech_ids": segment.speech_ids,
        "headings": segment.headings,
        "known_terms": known,
        "text_terms": segment.text.terms[known["text"] :],
        "context_terms": segment.context.terms[known["context"] :],
    }
    (scratch / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def _save_array(path: Path, array: np.ndarray | DiskArray) -> None:
    """An array a build wrote to a file of its own (the big ones, see build_folder) is
    linked, not written again; any other is saved."""
    source = _file_of(array)
    if source is not None and source.exists():
        try:
            os.link(source, path)
        except OSError:
            # A file system without hard links: copied by the kernel, not through memory.
            shutil.copyfile(source, path)
        return
    # Not in a file of its own, or its file swept away meanwhile: saved from the array.
    np.save(path, np.ascontiguousarray(array))


def _file_of(array: np.ndarray | DiskArray) -> Path | None:
    """The .npy file holding exactly this array, if it is read from one."""
    if isinstance(array, DiskArray):
        return array.path
    base = array.base
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    if isinstance(base, np.memmap) and base.filename and base.shape == array.shape:
        return Path(base.filename)
    return None


@contextmanager
def build_folder(root: Path | None) -> Iterator[Path]:
    """A folder for the big arrays of a segment being built, written as they are built and
    linked into the segment's own folder when it is saved.

    Under the index folder it is named like a save's scratch folder, so that a killed
    build's is swept, and is written under the save lock, so that no sweep takes it
    meanwhile; without an index folder it is a temporary one. The segment built keeps
    its files open, so the folder may go any time after: it is the caller's to remove.
    """
    if root is None:
        yield Path(tempfile.mkdtemp(prefix="speechbot-build-"))
        return
    parent = root / SEGMENT_PREFIX
    with _saving(root):
        parent.mkdir(parents=True, exist_ok=True)
        yield Path(tempfile.mkdtemp(prefix=".build.", suffix=".tmp", dir=parent))


def load(folder: Path, speeches: list[SpeechRow], params: BM25Params) -> Snapshot:
    """The saved snapshot, checked (integrity.py) before anything reads it.

    Raises DamagedIndex (a ValueError) or OSError when it cannot be used. The segment
    named like the snapshot goes with it: a full build writes its segment under that name,
    and the save would keep a damaged folder found there.
    """
    try:
        return _load(folder, speeches, params)
    except (OSError, LookupError, TypeError, ValueError) as exc:
        shutil.rmtree(folder.parent / SEGMENT_PREFIX / folder.name, ignore_errors=True)
        if isinstance(exc, OSError | DamagedIndex):
            raise
        # What numpy or json raise on a damaged file the checks did not foresee.
        raise DamagedIndex(f"{type(exc).__name__}: {exc}") from exc


def _load(folder: Path, speeches: list[SpeechRow], params: BM25Params) -> Snapshot:
    meta = integrity.snapshot_meta(integrity.read_meta(folder), folder)
    segments: list[Segment] = []
    for key in meta["segments"]:
        previous = segments[-1] if segments else None
        segments.append(_load_segment(folder.parent / SEGMENT_PREFIX / key, previous))
    dead = np.array(np.load(folder / "dead.npy", mmap_mode="r"))  # mapped first: open_array
    integrity.check_snapshot(dead, segments, {s.id for s in speeches})
    # Saved before 3 Dec without them: worked out at start-up, as then.
    saved = [folder / f"df_{name}.npy" for name in integrity.FIELDS]
    doc_freqs = None
    if all(p.exists() for p in saved):
        text_df, context_df = (np.load(p) for p in saved)
        integrity.check_doc_freqs(text_df, context_df, segments, dead)
        doc_freqs = (text_df, context_df)
    return Snapshot(
        fingerprint=meta["fingerprint"],
        speeches={s.id: s for s in speeches},
        segments=tuple(segments),
        dead=dead,
        params=params,
        doc_freqs=doc_freqs,
    )


def _load_segment(folder: Path, previous: Segment | None) -> Segment:
    known = {f: len(getattr(previous, f).terms) if previous else 0 for f in integrity.FIELDS}
    meta = integrity.segment_meta(integrity.read_meta(folder), folder, known)
    arrays = {p.stem: open_array(p) for p in folder.glob("*.npy")}
    integrity.check_segment(arrays, meta, known)

    # Only READ_BY_SLICES come back as DiskArray; the prefixed arrays and context_starts
    # are never among them.
    def prefixed(prefix: str) -> dict[str, np.ndarray]:
        return {
            k.removeprefix(prefix): cast(np.ndarray, v)
            for k, v in arrays.items()
            if k.startswith(prefix)
        }

    def terms(field: str) -> list[str]:
        return (getattr(previous, field).terms if previous else []) + meta[f"{field}_terms"]

    return Segment(
        key=meta["key"],
        speech_ids=tuple(meta["speech_ids"]),
        headings=tuple(meta["headings"]),
        columns=prefixed("col_"),
        texts=TextColumn.from_arrays("text", arrays),
        text=Postings.from_arrays(terms("text"), prefixed("bm25_text_")),
        context=Postings.from_arrays(terms("context"), prefixed("bm25_context_")),
        context_starts=cast(np.ndarray, arrays["context_starts"]),
        phrases=PhraseIndex.from_arrays(arrays),
    )


def open_array(path: Path) -> np.ndarray | DiskArray:
    """A saved array as a snapshot reads it: whole, mapped, or by slices (DiskArray)."""
    small = path.stat().st_size <= MAP_BYTES
    if not small and path.stem in READ_BY_SLICES:
        return DiskArray(path)
    # Mapped even when read whole: a header promising more than the file holds is then an
    # error, where np.load would first try to allocate that much.
    mapped = np.load(path, mmap_mode="r")
    # Else a plain read-only view of the mapping: np.memmap's own slicing is several times
    # slower.
    return np.array(mapped) if small else np.asarray(mapped)


def prune(root: Path, keep: Snapshot) -> None:
    """Remove every saved snapshot and segment but those in use (and those being written),
    and the scratch folders of saves that never finished."""
    if not root.is_dir():
        return
    _sweep(root)
    used = {keep.fingerprint, SEGMENT_PREFIX}
    for folder in root.iterdir():
        if folder.name not in used and not folder.name.startswith("."):
            shutil.rmtree(folder, ignore_errors=True)
    segments = root / SEGMENT_PREFIX
    if segments.is_dir():
        wanted = {s.key for s in keep.segments}
        for folder in segments.iterdir():
            if folder.name not in wanted and not folder.name.startswith("."):
                shutil.rmtree(folder, ignore_errors=True)


def _sweep(root: Path) -> None:
    """Remove the scratch folders (`.….tmp`) of saves killed before they finished: the
    lock taken exclusively says no save is under way (see _saving); when it is not free,
    the next prune sweeps."""
    with _locked(root, fcntl.LOCK_EX | fcntl.LOCK_NB) as alone:
        for parent in (root, root / SEGMENT_PREFIX) if alone else ():
            for scratch in parent.glob(".*.tmp"):
                shutil.rmtree(scratch, ignore_errors=True)
