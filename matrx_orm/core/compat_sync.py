"""Sync side of ``compat_async``: the same names and shapes, no event loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
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

MODE = "sync"

_T = TypeVar("_T")
#: The type of a generator yielding ``_T`` (``Stream[Row]``): closable with ``aclosing``/``closing``.
Stream: TypeAlias = Generator[_T, None, None]
Lock = threading.Lock
Event = threading.Event
sleep = time.sleep


def loop_key() -> Any:
    """Return None: sync pools are shared by every thread of the process."""
    return None


def gather(*results: Any) -> list[Any]:
    """Return already-computed results in order (calls ran one after another)."""
    return list(results)


def run_in_worker(func: Any, *args: Any) -> Any:
    """Call a blocking function directly."""
    return func(*args)


# -- running user code written as ``async def`` (migration files) ------------
def run_coroutine(coro: Any) -> Any:
    """Drive ``coro`` to completion without an event loop.

    Works when everything it awaits is already done (``awaitable_facade``
    results); a coroutine that truly suspends needs an event loop, so it is
    closed and RuntimeError is raised.
    """
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError(
        f"the coroutine suspended (it awaited something yielding {yielded!r}); in the sync package an "
        "async function may only await the object it was given (for example the migration's db)"
    )


class _Ready:
    """An awaitable whose value is already known: ``await`` returns it without suspending."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        if False:  # pragma: no cover - makes this a generator that never yields
            yield None
        return self.value


class _AwaitableFacade:
    """Wrap a sync object so ``await obj.method()`` works: calls run now, results are awaitable."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> _Ready:
            return _Ready(attr(*args, **kwargs))

        return call


def awaitable_facade(obj: Any) -> Any:
    """Return ``obj`` with awaitable method results, for ``async def`` code run by the sync package."""
    return _AwaitableFacade(obj)


def call_with_blocking_facade(func: Any, obj: Any) -> Any:
    """Call the plain function ``func(obj)``: sync methods already block."""
    return func(obj)


def spawn(func: Any, *args: Any, name: str = "matrx-orm") -> Any:
    """Start ``func(*args)`` in the background (a daemon thread); return its handle."""
    thread = threading.Thread(target=func, args=args, name=name, daemon=True)
    thread.start()
    return thread


def join_background(handle: Any, timeout: float) -> None:
    """Wait up to ``timeout`` seconds for a background handle from ``spawn`` to finish."""
    handle.join(timeout)


_exit_registered: list[Any] = []


def call_at_loop_exit(callback: Any) -> None:
    """Call ``callback()`` at interpreter exit (once per process): sync pools close cleanly."""
    if not _exit_registered:
        import atexit

        atexit.register(callback)
        _exit_registered.append(callback)
