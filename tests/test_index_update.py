"""An updated snapshot (a new segment, dead documents) equals a fresh build of the same
corpus."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.index.bm25 import BM25Params
from retrieval.index.build import build_snapshot
from retrieval.library import Library
from retrieval.query.search import SearchEngine
from retrieval.store import Store
from tests.helpers import assert_same, write_speeches


@pytest.mark.parametrize("kept_maxima_df", [BM25Params().kept_maxima_df, 0.0, np.inf])
def test_an_updated_snapshot_equals_a_fresh_build(tmp_path: Path, kept_maxima_df: float) -> None:
    # Block bounds from kept maxima for every word (0), for none (inf), across segments
    # and dead documents.
    docs = tmp_path / "corpus"
    write_speeches(docs, 16, seed=1)
    params = BM25Params(kept_maxima_df=kept_maxima_df)
    library = Library(docs, Store(tmp_path / "s.db"), params=params)
    library.reload()
    (docs / "s001.txt").unlink()
    write_speeches(tmp_path / "other", 20, seed=2)
    shutil.copy(tmp_path / "other" / "s003.txt", docs / "s003.txt")
    shutil.copy(tmp_path / "other" / "s017.txt", docs / "s017.txt")
    report = library.reload()
    assert report.removed == ["s001.txt"]
    assert report.changed == ["s003.txt"] and report.added == ["s017.txt"]
    updated = library.engine.snapshot
    assert len(updated.segments) == 2 and updated.dead.any()
    fresh = build_snapshot(library.store, library.tokenizer, library.params)
    assert_same(updated, fresh)
    tokenizer = library.tokenizer
    for question in ("全心全意为职工服务", "工会工作怎么做", "“代表大会”", "职工群众"):
        got = SearchEngine(updated, tokenizer).search(question, k=10)
        want = SearchEngine(fresh, tokenizer).search(question, k=10)
        assert got.hits == want.hits and got.phrase_count == want.phrase_count
    (docs / "s017.txt").unlink()  # its paragraphs live in the newer segment
    library.reload()
    assert library.engine.snapshot.dead[len(updated.segments[0]) :].any()
    assert_same(library.engine.snapshot, build_snapshot(library.store, tokenizer, library.params))
