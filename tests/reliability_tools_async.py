"""Concurrency and interruption helpers for the async reliability tests.

``tests/reliability_tools_sync.py`` has the same names with the sync meaning
(threads instead of tasks, ``KeyboardInterrupt`` instead of cancellation);
the generator maps one module to the other, so a test is written once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["MODE", "run_concurrently", "interrupt_after", "INTERRUPTED", "sleep"]

MODE = "async"
sleep = asyncio.sleep

#: What an interrupted call raises: the task was cancelled by a timeout.
INTERRUPTED: tuple[type[BaseException], ...] = (TimeoutError, asyncio.TimeoutError, asyncio.CancelledError)


async def run_concurrently(workers: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run every worker at the same time (one task each) and return their results in order."""
    return list(await asyncio.gather(*(asyncio.ensure_future(w()) for w in workers)))


async def interrupt_after(seconds: float, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work`` and cancel it after ``seconds`` (raises ``TimeoutError``), as a task timeout does."""
    return await asyncio.wait_for(work(), seconds)
