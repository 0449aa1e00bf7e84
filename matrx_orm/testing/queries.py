"""``assert_num_queries``: pin how many statements a block of code sends.

An N+1 pattern does not fail a test by itself; a query count does. The
counter is built on ``matrx_orm.core.query_log.capture_queries``, which sees
every statement of both packages (async and sync, any thread), so one helper
serves ``with`` and ``async with`` alike.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from matrx_orm.core.query_log import capture_queries

__all__ = ["QueryCounter", "assert_num_queries"]


class QueryCounter:
    """A block that records the SQL of every statement and checks how many ran.

    Use it as ``with`` or ``async with``; ``queries`` holds the SQL texts (also
    readable while the block runs). The check is skipped when the block raises.
    """

    def __init__(self, expected: int | None) -> None:
        if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 0):
            raise ValueError(f"assert_num_queries() expects a non-negative integer, got {expected!r}")
        self.expected = expected
        self.queries: list[str] = []
        self._capture: Any = None

    def __len__(self) -> int:
        return len(self.queries)

    def __enter__(self) -> QueryCounter:
        self._capture = capture_queries()
        self.queries = self._capture.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        capture, self._capture = self._capture, None
        capture.__exit__(exc_type, exc, tb)
        if exc_type is None and self.expected is not None and len(self.queries) != self.expected:
            raise AssertionError(self.failure_message())

    async def __aenter__(self) -> QueryCounter:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        self.__exit__(exc_type, exc, tb)

    def failure_message(self) -> str:
        """Return the assertion message: expected and actual counts, then each statement."""
        count = len(self.queries)
        lines = [f"expected {self.expected} quer{'y' if self.expected == 1 else 'ies'}, {count} ran"]
        lines += [f"  {index}. {text}" for index, text in enumerate(self.queries, 1)]
        return "\n".join(lines)


def assert_num_queries(expected: int) -> QueryCounter:
    """Return a block (``with`` / ``async with``) that fails unless exactly ``expected`` statements run in it."""
    return QueryCounter(expected)
