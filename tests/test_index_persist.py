"""A saved snapshot, mapped back at start-up, equals the one saved; a damaged one is built
again, old ones are cleared away, and tokens come from the store's cache."""

import sqlite3
from pathlib import Path

import pytest

from bot.config import BUNDLED_CORPUS
from retrieval.index import build as index
from retrieval.index import persist
from retrieval.index.bm25 import BM25
from retrieval.index.columns import DiskArray
from retrieval.library import Library
from tests.helpers import assert_same, write_speeches


def test_start_up_maps_the_saved_snapshot_without_tokenising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "corpus"
    write_speeches(docs, 3, seed=3)
    first = Library.open(docs, tmp_path / "s.db")
    built = first.engine.snapshot
    first.wait_saved()
    assert (tmp_path / "s.db.index" / built.fingerprint / "meta.json").is_file()

    def no_tokenising(*_: object) -> None:
        raise AssertionError("start-up must not tokenise")

    monkeypatch.setattr(index.TokenSource, "tokens", no_tokenising)
    # Nor work out document frequencies: they are saved with the snapshot.
    monkeypatch.setattr(BM25, "_doc_freqs", no_tokenising)
    monkeypatch.setattr(persist, "MAP_BYTES", 0)
    again = Library.open(docs, tmp_path / "s.db")
    loaded = again.engine.snapshot
    segment = loaded.segments[0]
    assert not segment.text.doc_ids.flags.writeable  # mapped from disk, read-only
    assert isinstance(segment.texts.data, DiskArray)  # read a text at a time
    assert isinstance(segment.phrases.docs, DiskArray)
    assert_same(loaded, built)
    for field in ("text", "context"):
        assert (getattr(loaded, field).df == getattr(built, field).df).all()
    assert (
        again.engine.search("全心全意为职工服务").hits
        == first.engine.search("全心全意为职工服务").hits
    )


def test_a_build_keeps_its_big_arrays_on_disk_and_leaves_no_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(persist, "MAP_BYTES", 0)
    docs = tmp_path / "corpus"
    write_speeches(docs, 3, seed=7)
    first = Library.open(docs, tmp_path / "s.db")
    built = first.engine.snapshot
    first.wait_saved()
    segment = built.segments[0]
    # Written to files as they were built, and read from there: never whole in memory.
    assert isinstance(segment.texts.data, DiskArray)
    assert isinstance(segment.phrases.docs, DiskArray)
    assert not list((tmp_path / "s.db.index" / persist.SEGMENT_PREFIX).glob(".*"))
    again = Library.open(docs, tmp_path / "s.db")
    assert_same(again.engine.snapshot, built)
    question = "全心全意为职工服务"
    assert again.engine.search(question).hits == first.engine.search(question).hits


def test_a_damaged_saved_snapshot_is_built_again(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    write_speeches(docs, 2, seed=4)
    first = Library.open(docs, tmp_path / "s.db")
    first.wait_saved()
    folder = tmp_path / "s.db.index" / first.engine.snapshot.fingerprint
    (folder / "meta.json").write_text("{", encoding="utf-8")
    library = Library.open(docs, tmp_path / "s.db")
    assert len(library.engine.snapshot) == library.store.counts()[1]


def test_reloads_keep_only_the_snapshot_in_use(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    write_speeches(docs, 2, seed=5)
    library = Library.open(docs, tmp_path / "s.db")
    write_speeches(docs, 3, seed=6)
    library.reload()
    library.wait_saved()
    root = tmp_path / "s.db.index"
    snapshot = library.engine.snapshot
    assert sorted(f.name for f in root.iterdir()) == [snapshot.fingerprint, "segments"]
    assert sorted(f.name for f in (root / "segments").iterdir()) == sorted(
        s.key for s in snapshot.segments
    )


def test_an_older_store_loses_its_token_cache_and_duplicate_texts(tmp_path: Path) -> None:
    library = Library.open(BUNDLED_CORPUS, tmp_path / "s.db")
    answer = library.search("四季送")
    with sqlite3.connect(tmp_path / "s.db") as db:
        # As stores before 2 December 2026 were: a token cache, every source text kept.
        db.execute("create table tokens (key text primary key, tokens text)")
        db.execute("insert into tokens values ('k', '工会 职工')")
        db.execute("update paragraphs set source_text = text where source_text is null")
    db.close()
    again = Library.open(BUNDLED_CORPUS, tmp_path / "s.db")
    with sqlite3.connect(tmp_path / "s.db") as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master")}
        (same,) = db.execute("select count(*) from paragraphs where source_text = text").fetchone()
        (kept,) = db.execute(
            "select count(*) from paragraphs where source_text is not null"
        ).fetchone()
    db.close()
    assert "tokens" not in tables and same == 0 and kept > 0
    assert again.search("四季送").hits == answer.hits
