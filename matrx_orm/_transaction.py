"""Transactions bound to the current task (async) or thread (sync) via contextvars.

Inside ``async with transaction():`` every ORM call for that database uses the
transaction's connection; a nested block is a savepoint; an exception rolls
back. Callbacks registered with ``on_commit`` run only after the outermost
block commits, so caches never learn data that was rolled back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from psycopg import AsyncConnection

from matrx_orm._pool import get_pool
from matrx_orm.core.config import resolve_database_name
from matrx_orm.core.db_errors import DRIVER_ERRORS, map_db_error

__all__ = ["transaction", "bound_connection", "on_commit", "on_finish", "in_transaction", "bind_transaction"]


class _TxState:
    __slots__ = ("conn", "depth", "callbacks", "finishers")

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn
        self.depth = 0
        self.callbacks: list[Callable[[], Any]] = []
        # Run when the outermost block ends, committed or rolled back (the state cache's write marks).
        self.finishers: list[Callable[[], Any]] = []


_active: ContextVar[dict[str, _TxState] | None] = ContextVar("matrx_orm_tx", default=None)


def bound_connection(database: str | None) -> AsyncConnection[Any] | None:
    """Return the connection of the transaction open for ``database`` in this context."""
    active = _active.get()
    if not active:
        return None
    state = active.get(database or "") or active.get(resolve_database_name(database))
    return state.conn if state is not None else None


def in_transaction(database: str | None = None) -> bool:
    """Return True when a ``transaction()`` block is open for ``database`` here."""
    return bound_connection(database) is not None


def on_commit(callback: Callable[[], Any], database: str | None = None) -> None:
    """Run ``callback`` after the outermost transaction commits (now if none is open)."""
    active = _active.get()
    state = None
    if active:
        state = active.get(resolve_database_name(database))
    if state is None:
        callback()
    else:
        state.callbacks.append(callback)


def on_finish(callback: Callable[[], Any], database: str | None = None) -> None:
    """Run ``callback`` when the outermost transaction ends, committed or rolled back (now if none is open)."""
    active = _active.get()
    state = None
    if active:
        state = active.get(resolve_database_name(database))
    if state is None:
        callback()
    else:
        state.finishers.append(callback)


def _run_finishers(state: _TxState | None) -> None:
    if state is not None:
        finishers, state.finishers = state.finishers, []
        for callback in finishers:
            callback()


@asynccontextmanager
async def transaction(database: str | None = None) -> AsyncIterator[AsyncConnection[Any]]:
    """Open a transaction (or a savepoint when one is already open) and yield its connection."""
    name = resolve_database_name(database)
    active = _active.get() or {}
    state = active.get(name)
    if state is not None:
        state.depth += 1
        mark = len(state.callbacks)
        try:
            async with state.conn.transaction():
                yield state.conn
        except BaseException:
            # The savepoint rolled back: the on_commit callbacks it registered must not run.
            del state.callbacks[mark:]
            raise
        finally:
            state.depth -= 1
        return
    pool = await get_pool(name)
    state = None
    try:
        async with pool.connection() as conn:
            state = _TxState(conn)
            token = _active.set({**active, name: state, "": state} if database is None else {**active, name: state})
            try:
                async with conn.transaction():
                    yield conn
            finally:
                _active.reset(token)
    except DRIVER_ERRORS as error:
        raise map_db_error(error, operation="transaction") from error
    finally:
        _run_finishers(state)
    for callback in state.callbacks:
        callback()


@contextmanager
def bind_transaction(database: str | None, conn: AsyncConnection[Any]) -> Iterator[list[Callable[[], Any]]]:
    """Make ORM calls for ``database`` in this context use ``conn``, whose transaction the caller owns.

    Used by the migration runner so a data migration's ORM calls join the
    migration's transaction. Yields the list of ``on_commit`` callbacks
    registered meanwhile; the caller runs them once it has committed.
    ``on_finish`` callbacks run when this block exits, so commit (or roll
    back) inside it.
    """
    name = resolve_database_name(database)
    state = _TxState(conn)
    token = _active.set({**(_active.get() or {}), name: state})
    try:
        yield state.callbacks
    finally:
        _active.reset(token)
        _run_finishers(state)
