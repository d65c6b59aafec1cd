"""Sending that survives a bad moment: a request that failed on the way (a dropped
connection, a 5xx from the Bot API) is sent again before the user sees an error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# Waits before each new try, in seconds: a restarting Bot API or proxy is back within a few.
BACKOFF = (0.5, 1.0, 2.0)


class RetryingLimiter(AIORateLimiter):
    """AIORateLimiter (flood limits, 429 with retry_after) plus retries on network errors
    and server errors. A timeout is not retried: Telegram may have delivered the message,
    and a question answered twice is worse than an error notice."""

    def __init__(self, backoff: tuple[float, ...] = BACKOFF, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._backoff = backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        for wait in self._backoff:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except (BadRequest, TimedOut):
                raise
            except NetworkError as exc:
                log.warning("%s failed (%s), sending again in %.1f s", endpoint, exc, wait)
                await asyncio.sleep(wait)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
