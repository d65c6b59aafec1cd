"""Parsing and tokenising on every core give exactly what serial work gives."""

from pathlib import Path

import pytest

from retrieval.index import build as index
from retrieval.ingest import sync as corpus
from retrieval.library import Library
from retrieval.store import Store
from tests.helpers import assert_same, write_speeches


def test_parsing_and_tokenising_on_every_core_give_the_serial_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "corpus"
    write_speeches(docs, corpus.PARALLEL_MIN_FILES + 2, seed=7)
    serial = Library(docs, Store(tmp_path / "serial.db"))
    monkeypatch.setattr(corpus, "PARALLEL_MIN_FILES", 10**9)
    monkeypatch.setattr(index, "PARALLEL_MIN_TEXTS", 10**9)
    serial.reload()
    monkeypatch.undo()
    monkeypatch.setattr(index, "PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(index, "BATCH_TEXTS", 7)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    parallel = Library(docs, Store(tmp_path / "parallel.db"))
    parallel.reload()
    assert_same(parallel.engine.snapshot, serial.engine.snapshot)
