"""Statement logging and query hooks (used by tests to count queries).

Logging is off the hot path unless a DEBUG logger or a hook is active: the
executor checks one boolean before taking any timing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["query_hooks", "log_query", "capture_queries", "set_slow_query_threshold"]

logger = logging.getLogger("matrx_orm")


class _Hooks:
    """Registered callbacks, plus the flag the executor checks."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[str, Sequence[Any], float, int, str | None], None]] = []
        self.slow_ms: float | None = None
        self.active = False
        self.refresh()

    def refresh(self) -> None:
        self.active = bool(self.callbacks) or self.slow_ms is not None or logger.isEnabledFor(logging.DEBUG)


query_hooks = _Hooks()


def set_slow_query_threshold(ms: float | None) -> None:
    """Log statements slower than ``ms`` milliseconds at WARNING (None disables)."""
    query_hooks.slow_ms = ms
    query_hooks.refresh()


def enable_debug_logging() -> None:
    """Re-check the logger level (call after changing the ``matrx_orm`` logger's level)."""
    query_hooks.refresh()


def _text(query: Any) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode("utf-8", "replace")
    try:
        return str(query.as_string())
    except Exception:
        return repr(query)


def log_query(query: Any, params: Sequence[Any] | None, started: float, rows: int, database: str | None) -> None:
    """Record one finished statement: hooks, DEBUG log, slow-query WARNING."""
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    text = _text(query)
    for callback in list(query_hooks.callbacks):
        callback(text, params or [], elapsed_ms, rows, database)
    if query_hooks.slow_ms is not None and elapsed_ms >= query_hooks.slow_ms:
        logger.warning("slow query (%.1f ms, %d rows): %s", elapsed_ms, rows, text)
    elif logger.isEnabledFor(logging.DEBUG):
        masked = ["?" for _ in (params or [])]
        logger.debug("%.2f ms, %d rows: %s params=%s", elapsed_ms, rows, text, masked)


@contextmanager
def capture_queries() -> Iterator[list[str]]:
    """Collect the SQL text of every statement run inside the block (any mode, any thread)."""
    seen: list[str] = []

    def hook(text: str, params: Sequence[Any], ms: float, rows: int, database: str | None) -> None:
        seen.append(text)

    query_hooks.callbacks.append(hook)
    query_hooks.refresh()
    try:
        yield seen
    finally:
        query_hooks.callbacks.remove(hook)
        query_hooks.refresh()
