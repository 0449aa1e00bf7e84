"""Sync side of ``tests/reliability_tools_async.py``: threads, and Ctrl-C instead of cancellation."""

from __future__ import annotations

import _thread
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["MODE", "run_concurrently", "interrupt_after", "INTERRUPTED", "sleep"]

MODE = "sync"
sleep = time.sleep

#: What an interrupted call raises: the main thread got a (simulated) Ctrl-C.
INTERRUPTED: tuple[type[BaseException], ...] = (KeyboardInterrupt,)


def run_concurrently(workers: list[Callable[[], Any]]) -> list[Any]:
    """Run every worker at the same time (one thread each) and return their results in order."""
    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        futures = [pool.submit(w) for w in workers]
        return [f.result() for f in futures]


def interrupt_after(seconds: float, work: Callable[[], Any]) -> Any:
    """Run ``work`` in the main thread and deliver ``KeyboardInterrupt`` to it after ``seconds``."""
    done = threading.Event()

    def fire() -> None:
        if not done.wait(seconds):
            _thread.interrupt_main()

    timer = threading.Thread(target=fire, daemon=True)
    timer.start()
    try:
        return work()
    finally:
        done.set()
        timer.join()
