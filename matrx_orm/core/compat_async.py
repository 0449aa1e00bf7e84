"""Async side of the few constructs that have no mechanical sync mirror.

``tools/unasync.py`` rewrites ``compat_async`` to ``compat_sync``; the two
modules expose the same names with the same shapes.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["MODE", "Lock", "Event", "sleep", "loop_key", "gather", "run_in_worker"]

MODE = "async"
Lock = asyncio.Lock
Event = asyncio.Event
sleep = asyncio.sleep


def loop_key() -> Any:
    """Return the running event loop: pools and locks belong to one loop."""
    return asyncio.get_running_loop()


async def gather(*aws: Any) -> list[Any]:
    """Run awaitables concurrently and return their results in order."""
    return list(await asyncio.gather(*aws))


async def run_in_worker(func: Any, *args: Any) -> Any:
    """Run a blocking function without blocking the event loop."""
    return await asyncio.to_thread(func, *args)
