"""pytest fixtures around the loopback Bot API server."""

from collections.abc import Iterator

import pytest

from tests.botapi.server import BotAPIServer


@pytest.fixture
def botapi() -> Iterator[BotAPIServer]:
    with BotAPIServer() as server:
        yield server
