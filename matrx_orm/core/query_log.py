"""Statement logging and query hooks (``capture_queries`` counts statements for tests).

Every statement the executor sends is reported here when something listens:
a DEBUG record on the ``matrx_orm`` logger (duration, row count, SQL, the
parameters masked unless ``set_query_log_params(True)``), a WARNING when it
is slower than ``set_slow_query_threshold(ms)``, and the registered hooks.

The executor checks one boolean (``query_hooks.active``) before it takes any
timing, so a silent logger costs one attribute read per statement. That flag
follows the logger's level on its own: ``logging`` clears its level cache on
every ``setLevel``/``disable``/``dictConfig``, and that is hooked to recompute
the flag, so ``logging.getLogger("matrx_orm").setLevel(logging.DEBUG)`` at any
time is enough.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = [
    "query_hooks",
    "log_query",
    "capture_queries",
    "set_slow_query_threshold",
    "set_query_log_params",
    "enable_debug_logging",
    "QueryHook",
]

logger = logging.getLogger("matrx_orm")

#: ``hook(sql, params, duration_ms, rows, database)``; rows is -1 for a statement that failed.
QueryHook = Callable[[str, Sequence[Any], float, int, "str | None"], None]


class _Hooks:
    """Registered callbacks and settings, plus the flag the executor checks."""

    def __init__(self) -> None:
        self.callbacks: list[QueryHook] = []
        self.slow_ms: float | None = None
        self.show_params = False
        self.active = False
        self.refresh()

    def refresh(self) -> None:
        """Recompute ``active`` (called on every logging level change and hook change)."""
        self.active = bool(self.callbacks) or self.slow_ms is not None or logger.isEnabledFor(logging.DEBUG)


query_hooks = _Hooks()


def _follow_logging_levels() -> bool:
    """Recompute ``query_hooks.active`` whenever ``logging`` levels change; return False if that cannot be hooked."""
    manager = logging.Logger.manager
    clear_cache = getattr(manager, "_clear_cache", None)
    if clear_cache is None:
        return False
    if getattr(clear_cache, "matrx_orm_hook", False):
        return True

    def clear_cache_and_refresh() -> None:
        clear_cache()
        query_hooks.refresh()

    clear_cache_and_refresh.matrx_orm_hook = True  # type: ignore[attr-defined]
    manager._clear_cache = clear_cache_and_refresh  # type: ignore[attr-defined]
    return True


if not _follow_logging_levels():  # pragma: no cover - a Python whose logging has no level cache
    # Without the hook, stay active: log_query re-checks the level itself (a timing call per statement).
    query_hooks.refresh = lambda: setattr(query_hooks, "active", True)  # type: ignore[method-assign]
    query_hooks.active = True


def set_slow_query_threshold(ms: float | None) -> None:
    """Log statements slower than ``ms`` milliseconds at WARNING (None disables)."""
    query_hooks.slow_ms = ms
    query_hooks.refresh()


def set_query_log_params(show: bool) -> None:
    """Show parameter values in query logs (off by default: they may hold secrets)."""
    query_hooks.show_params = bool(show)


def enable_debug_logging() -> None:
    """Re-check the logger level (kept for compatibility: level changes are now followed automatically)."""
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


def _params_text(params: Sequence[Any] | None) -> str:
    if not params:
        return "[]"
    if query_hooks.show_params:
        return repr(list(params))
    return "[" + ", ".join("?" * len(params)) + "]"


def log_query(query: Any, params: Sequence[Any] | None, started: float, rows: int, database: str | None) -> None:
    """Record one finished statement: hooks, DEBUG log, slow-query WARNING."""
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    text = _text(query)
    for callback in list(query_hooks.callbacks):
        callback(text, params or [], elapsed_ms, rows, database)
    slow = query_hooks.slow_ms is not None and elapsed_ms >= query_hooks.slow_ms and rows >= 0
    level = logging.WARNING if slow else logging.DEBUG
    if not logger.isEnabledFor(level):
        return
    outcome = "failed" if rows < 0 else f"{rows} row{'' if rows == 1 else 's'}"
    extra = {"sql": text, "duration_ms": elapsed_ms, "rows": rows, "database": database}
    logger.log(
        level,
        "%s%s: %.2f ms, %s: %s params=%s",
        "slow query on " if slow else "",
        database or "default",
        elapsed_ms,
        outcome,
        text,
        _params_text(params),
        extra=extra,
    )


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
