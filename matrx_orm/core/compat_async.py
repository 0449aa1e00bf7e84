"""Async side of the few constructs that have no mechanical sync mirror.

``tools/unasync.py`` rewrites ``compat_async`` to ``compat_sync``; the two
modules expose the same names with the same shapes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, TypeAlias, TypeVar

__all__ = [
    "MODE",
    "Stream",
    "Lock",
    "Event",
    "sleep",
    "loop_key",
    "gather",
    "run_in_worker",
    "run_coroutine",
    "awaitable_facade",
    "call_with_blocking_facade",
    "spawn",
    "join_background",
    "call_at_loop_exit",
]

MODE = "async"

_T = TypeVar("_T")
#: The type of an async generator yielding ``_T`` (``Stream[Row]``): closable with ``aclosing``/``closing``.
Stream: TypeAlias = AsyncGenerator[_T, None]
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


# -- running user code written as ``async def`` (migration files) ------------
async def run_coroutine(coro: Any) -> Any:
    """Await ``coro`` (the sync twin drives it without an event loop)."""
    return await coro


def awaitable_facade(obj: Any) -> Any:
    """Return ``obj``: in async mode its methods already return awaitables."""
    return obj


class _BlockingFacade:
    """Call an object's coroutine methods from a worker thread, blocking on the loop."""

    def __init__(self, obj: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._obj = obj
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if asyncio.iscoroutine(result):
                return asyncio.run_coroutine_threadsafe(result, self._loop).result()
            return result

        return call


async def call_with_blocking_facade(func: Any, obj: Any) -> Any:
    """Run the plain function ``func(obj)`` in a worker thread where ``obj``'s methods block.

    The event loop stays free while the thread waits, so each call runs on it
    (on ``obj``'s own connection) and returns a plain value to the thread.
    """
    facade = _BlockingFacade(obj, asyncio.get_running_loop())
    return await asyncio.to_thread(func, facade)


def spawn(func: Any, *args: Any, name: str = "matrx-orm") -> Any:
    """Start ``func(*args)`` in the background (a task on the running loop); return its handle."""
    return asyncio.get_running_loop().create_task(func(*args), name=name)


async def join_background(handle: Any, timeout: float) -> None:
    """Wait up to ``timeout`` seconds for a background handle from ``spawn`` to finish (cancel it after)."""
    try:
        await asyncio.wait_for(asyncio.shield(handle), timeout)
    except asyncio.TimeoutError:
        handle.cancel()


_exit_guards: dict[Any, Any] = {}


def call_at_loop_exit(callback: Any) -> None:
    """Await ``callback()`` when the running loop shuts down, before its tasks are cancelled for good.

    psycopg-pool's worker tasks survive a cancellation, so a pool still open
    when ``asyncio.run()`` (or a test runner) cancels every task would hang
    it. A guard task, cancelled with the others, closes the pools first.
    Registered once per loop.
    """
    loop = asyncio.get_running_loop()
    for dead in [k for k in _exit_guards if k.is_closed()]:
        del _exit_guards[dead]
    if loop in _exit_guards:
        return

    async def guard() -> None:
        try:
            await loop.create_future()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            uncancel = getattr(task, "uncancel", None)
            if uncancel is not None:  # Python 3.11+: let the cleanup's own timeouts work
                uncancel()
            await callback()
        finally:
            _exit_guards.pop(loop, None)

    _exit_guards[loop] = loop.create_task(guard(), name="matrx-orm-loop-exit")
