"""Worker processes that end with the process that started them.

A pool's workers are shut down by the pool; but a parent killed outright (kill -9, the OOM
killer) shuts nothing down, and a spawned worker blocked in a read would wait forever, a
stray process a month of restarts multiplies. So each worker watches its parent.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

# prctl(2): the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
# Where the kernel cannot tell, how often a worker looks whether its parent is alive.
WATCH_SECONDS = 1.0


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned, not forked (the bot's event loop and reload threads are running), and tied
    to this process. Linux ties them to the thread that starts them: make and shut a pool
    down in one thread."""
    return ProcessPoolExecutor(
        workers,
        mp_context=get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


def die_with_parent(parent: int) -> None:
    """A worker's initializer: on Linux the kernel kills the worker when the parent goes;
    elsewhere a thread looks every second."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
            # The parent may have died before the call, and no signal will come for it.
            if os.getppid() != parent:
                os._exit(1)
            return
    threading.Thread(target=_watch, args=(parent,), name="watch-parent", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)
