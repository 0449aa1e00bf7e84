"""Run a test inside a transaction that is rolled back at the end, in either mode.

A test that writes leaves nothing behind, and needs no TRUNCATE between tests:
one connection per database is taken from the pool, a transaction is opened on
it with ``force_rollback``, and it is bound to the current task (async) or
thread (sync) with ``bind_transaction``, so every ORM call of the test uses it.
``transaction()`` blocks inside the test become savepoints. ``on_commit``
callbacks are collected, not run (nothing commits); ``run_on_commit()`` runs
them when a test wants to see their effect.

This module is written by hand for both packages (``matrx_orm/testing`` is not
mirrored): ``rollback_transaction`` uses ``matrx_orm``, ``sync_rollback_transaction``
uses ``matrx_orm_sync``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from typing import Any

from matrx_orm.core.config import resolve_database_name

__all__ = ["RollbackTransaction", "rollback_transaction", "sync_rollback_transaction"]


class RollbackTransaction:
    """The open test transaction(s): their connections and the ``on_commit`` callbacks they collected."""

    def __init__(self) -> None:
        self.connections: dict[str, Any] = {}
        self._callbacks: dict[str, list[Callable[[], Any]]] = {}

    def _name(self, database: str | None) -> str:
        name = resolve_database_name(database)
        if name not in self.connections:
            raise KeyError(f"no test transaction is open for database {name!r} (open: {sorted(self.connections)})")
        return name

    def connection(self, database: str | None = None) -> Any:
        """Return the connection the ORM uses for ``database`` during the test."""
        return self.connections[self._name(database)]

    def on_commit_callbacks(self, database: str | None = None) -> list[Callable[[], Any]]:
        """Return the ``on_commit`` callbacks registered so far (they never run by themselves)."""
        return list(self._callbacks[self._name(database)])

    def run_on_commit(self, database: str | None = None) -> int:
        """Run (and forget) the collected ``on_commit`` callbacks, as a commit would; return how many ran."""
        callbacks = self._callbacks[self._name(database)]
        pending, callbacks[:] = list(callbacks), []
        for callback in pending:
            callback()
        return len(pending)


def _names(databases: Iterable[str | None]) -> list[str]:
    names: list[str] = []
    for database in databases or [None]:
        name = resolve_database_name(database)
        if name not in names:
            names.append(name)
    return names


@asynccontextmanager
async def rollback_transaction(*databases: str | None) -> AsyncIterator[RollbackTransaction]:
    """Bind a rolled-back-at-exit transaction for each database (default: the only one) to this task."""
    from matrx_orm._pool import get_pool
    from matrx_orm._transaction import bind_transaction

    handle = RollbackTransaction()
    async with AsyncExitStack() as stack:
        for name in _names(databases):
            pool = await get_pool(name)
            conn = await stack.enter_async_context(pool.connection())
            # Exit order matters: roll back first, then unbind (which runs the cache's finishers).
            handle._callbacks[name] = stack.enter_context(bind_transaction(name, conn))
            await stack.enter_async_context(conn.transaction(force_rollback=True))
            handle.connections[name] = conn
        yield handle


@contextmanager
def sync_rollback_transaction(*databases: str | None) -> Iterator[RollbackTransaction]:
    """Bind a rolled-back-at-exit transaction for each database (default: the only one) to this thread."""
    from matrx_orm_sync._pool import get_pool
    from matrx_orm_sync._transaction import bind_transaction

    handle = RollbackTransaction()
    with ExitStack() as stack:
        for name in _names(databases):
            pool = get_pool(name)
            conn = stack.enter_context(pool.connection())
            handle._callbacks[name] = stack.enter_context(bind_transaction(name, conn))
            stack.enter_context(conn.transaction(force_rollback=True))
            handle.connections[name] = conn
        yield handle
