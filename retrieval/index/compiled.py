"""Whether the index's loops run compiled (numba), as bm25s's backend choice.

numba is optional (`pip install -e '.[scale]'` brings it): without it, or with
SPEECHBOT_NUMBA=0 in the environment, every caller takes its numpy path, which gives the
same answers (tests/test_compiled.py) and is fast enough for a corpus of some thousands of
paragraphs; a million want the compiled loops (docs/scale.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar, cast

# Declared first: the name is bound to the module, or to None without the [scale] extra.
numba: ModuleType | None
try:
    import numba
except ImportError:  # pragma: no cover - the [scale] extra is not installed
    numba = None

F = TypeVar("F", bound=Callable[..., Any])
_enabled = numba is not None and os.environ.get("SPEECHBOT_NUMBA", "1") != "0"


def enabled() -> bool:
    return _enabled


def jit(function: F) -> F:
    """Compiled and cached on disk with numba when it is installed; the plain function
    otherwise (callers check `enabled()` and take their numpy path instead)."""
    if numba is None:
        return function
    # The dispatcher numba returns is called with the function's arguments, as the function.
    return cast(F, numba.njit(cache=True, nogil=True)(function))


@contextmanager
def disabled() -> Iterator[None]:
    """The numpy paths for what is built and asked within the block (tests compare them)."""
    global _enabled
    saved, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = saved
