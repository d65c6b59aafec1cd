"""A snapshot on disk: numpy arrays memory-mapped back, so start-up re-reads nothing.

Each snapshot lives in a folder named by its fingerprint (the store's content, the
tokenizer's rules, the BM25 parameters). A folder is written under a temporary name and
renamed when complete, so a crash never leaves half an index that looks whole. Old folders
are removed after a swap; a process still serving from one keeps its mapping (POSIX).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from retrieval.bm25 import BM25, BM25Params
from retrieval.columns import TextColumn
from retrieval.index import Snapshot
from retrieval.phrases import PhraseIndex
from retrieval.store import SpeechRow

log = logging.getLogger(__name__)

FORMAT = "1"
# Smaller arrays are read whole: mapping them saves nothing.
MAP_BYTES = 1 << 20


def fingerprint(store_fingerprint: str, tokenizer_version: str, params: BM25Params) -> str:
    return "-".join([FORMAT, store_fingerprint, tokenizer_version, _params_key(params)])


def _params_key(params: BM25Params) -> str:
    return "_".join(f"{v}" for v in asdict(params).values())


def save(snapshot: Snapshot, folder: Path) -> None:
    if folder.exists():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    arrays = {
        **{f"col_{k}": v for k, v in snapshot.columns.items()},
        **snapshot.texts.arrays("text"),
        **{f"bm25_text_{k}": v for k, v in snapshot.text.arrays().items()},
        **{f"bm25_context_{k}": v for k, v in snapshot.context.arrays().items()},
        **snapshot.phrases.arrays(),
    }
    for name, array in arrays.items():
        np.save(scratch / f"{name}.npy", np.ascontiguousarray(array))
    meta = {
        "fingerprint": snapshot.fingerprint,
        "documents": len(snapshot),
        "speech_ids": snapshot.speech_ids,
        "headings": snapshot.headings,
        "text_terms": snapshot.text.terms,
        "context_terms": snapshot.context.terms,
    }
    (scratch / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    try:
        scratch.rename(folder)
    except OSError:
        # Another process saved the same snapshot first; theirs is as good.
        shutil.rmtree(scratch, ignore_errors=True)


def load(folder: Path, speeches: list[SpeechRow], params: BM25Params) -> Snapshot:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    arrays = {p.stem: _load_array(p) for p in folder.glob("*.npy")}

    def prefixed(prefix: str) -> dict[str, np.ndarray]:
        return {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}

    return Snapshot(
        fingerprint=meta["fingerprint"],
        speeches={s.id: s for s in speeches},
        speech_ids=tuple(meta["speech_ids"]),
        headings=tuple(meta["headings"]),
        columns=prefixed("col_"),
        texts=TextColumn.from_arrays("text", arrays),
        text=BM25.from_arrays(meta["text_terms"], prefixed("bm25_text_"), params),
        context=BM25.from_arrays(meta["context_terms"], prefixed("bm25_context_"), params),
        phrases=PhraseIndex.from_arrays(arrays),
    )


def _load_array(path: Path) -> np.ndarray:
    if path.stat().st_size <= MAP_BYTES:
        return np.load(path)
    # A plain read-only view of the mapping: np.memmap's own slicing is several times slower.
    return np.asarray(np.load(path, mmap_mode="r"))


def prune(root: Path, keep: str) -> None:
    """Remove every snapshot folder but the one in use (and those still being written)."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.name != keep and not folder.name.startswith("."):
            shutil.rmtree(folder, ignore_errors=True)
