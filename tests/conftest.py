"""Shared fixtures: the bundled corpus indexed once per test session into a temporary store,
and the real PTB Application run against the loopback Bot API server."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from bot.config import BUNDLED_CORPUS, Config
from bot.service import BotService
from bot.telegram.app import build_application
from retrieval.index import phrases, pruning
from retrieval.index.build import token_source
from retrieval.library import Library
from retrieval.query.search import SearchEngine
from tests.fakegram.server import TOKEN, BotAPIServer

# Before any test module imports it: a failed check there reports its values, as in a test.
pytest.register_assert_rewrite("tests.helpers")

RunningBot = Callable[[Library, Config], AbstractAsyncContextManager[BotAPIServer]]


@pytest.fixture(scope="session", autouse=True)
def compiled() -> None:
    """The search's compiled loops, compiled before any test times an answer (on a clean
    checkout numba compiles them once, in seconds, and caches them)."""
    pruning.warm()
    phrases.warm()


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The bundled corpus, read-only for tests."""
    store = tmp_path_factory.mktemp("store") / "speechbot.db"
    return Library.open(BUNDLED_CORPUS, store)


@pytest.fixture(scope="session")
def engine(library: Library) -> SearchEngine:
    return library.engine


@pytest.fixture(scope="session")
def snapshot_tokens(library: Library) -> list[list[str]]:
    texts = [row.text for row in library.engine.snapshot.rows()]
    with token_source(library.tokenizer) as source:
        return source.tokens(texts)


@contextlib.asynccontextmanager
async def _running_bot(library: Library, config: Config) -> AsyncIterator[BotAPIServer]:
    """The Application polls a fresh loopback server; `config.telegram` is pointed at it
    here, since the server's port is known only once it runs. The server carries what
    tests inspect besides the HTTP traffic: `application`, `service`, `journal`, `library`."""
    with BotAPIServer() as server:
        settings = dataclasses.replace(
            config.telegram,
            token=TOKEN,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
        )
        config = dataclasses.replace(config, telegram=settings)
        service = BotService(library, config)
        application = build_application(config, service)
        await application.initialize()
        # run_polling() would call post_init itself; the test drives the steps one by one.
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        server.application = application
        server.service = service
        server.journal = service.journal
        server.library = library
        try:
            yield server
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()


@pytest.fixture(scope="session")
def running_bot() -> RunningBot:
    """`async with running_bot(library, config) as server:` in a (module-scoped) fixture."""
    return _running_bot
