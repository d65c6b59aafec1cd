"""Shared fixtures: the bundled corpus indexed once per test session into a temporary store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import BUNDLED_CORPUS
from retrieval.index import phrases, pruning
from retrieval.index.build import token_source
from retrieval.library import Library
from retrieval.query.search import SearchEngine

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def compiled() -> None:
    """The search's compiled loops, compiled before any test times an answer (on a clean
    checkout numba compiles them once, in seconds, and caches them)."""
    pruning.warm()
    phrases.warm()


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The bundled corpus, read-only for tests (copy it with `corpus_copy` to change files)."""
    store = tmp_path_factory.mktemp("store") / "speechbot.db"
    return Library.open(BUNDLED_CORPUS, store)


@pytest.fixture(scope="session")
def engine(library: Library) -> SearchEngine:
    return library.engine


@pytest.fixture(scope="session")
def snapshot_tokens(library: Library) -> list[list[str]]:
    texts = [row.text for row in library.engine.snapshot.rows()]
    with token_source(library.store, library.tokenizer) as source:
        return source.tokens(texts)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus directory."""
    target = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, target)
    return target
