"""``MigrationDB``: the ``db`` object a migration's ``up(db)`` / ``down(db)`` receives.

It offers ``execute``, ``fetch``, ``fetch_one``, ``fetch_val`` and
``execute_many``. Inside the runner it is bound to the runner's connection, so
every statement of a migration runs in that migration's transaction; created
on its own (``MigrationDB("my_project")``) it borrows pooled connections like
any ORM call. Placeholders are psycopg's ``%s``; a statement without
arguments may hold several commands separated by semicolons.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from matrx_orm._pool import get_pool
from matrx_orm._transaction import bound_connection
from matrx_orm.core.config import resolve_database_name
from matrx_orm.core.db_errors import DRIVER_ERRORS, map_db_error
from matrx_orm.core.query_log import log_query, query_hooks

__all__ = ["MigrationDB", "RecordingDB"]


class MigrationDB:
    """Run SQL for migrations on one database (or one connection)."""

    def __init__(self, database: str | None = None, *, connection: AsyncConnection[Any] | None = None) -> None:
        self.database = resolve_database_name(database)
        self._connection = connection

    def __repr__(self) -> str:
        bound = ", bound to a migration transaction" if self._connection is not None else ""
        return f"<MigrationDB {self.database!r}{bound}>"

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[AsyncConnection[Any]]:
        if self._connection is not None:
            yield self._connection
            return
        conn = bound_connection(self.database)
        if conn is not None:
            yield conn
            return
        pool = await get_pool(self.database)
        async with pool.connection() as conn:
            yield conn

    async def _run(self, query: Any, args: Sequence[Any], fetch: str) -> Any:
        params = list(args) if args else None
        started = time.perf_counter() if query_hooks.active else 0.0
        try:
            async with self._conn() as conn:
                async with conn.cursor(row_factory=dict_row) as cur:
                    await cur.execute(query, params)
                    if fetch == "all":
                        result: Any = await cur.fetchall()
                    elif fetch == "one":
                        result = await cur.fetchone()
                    elif fetch == "val":
                        row = await cur.fetchone()
                        result = None if row is None else next(iter(row.values()), None)
                    else:
                        result = cur.rowcount
        except DRIVER_ERRORS as error:
            raise map_db_error(error, operation="migration", query=query, params=params) from error
        if started:
            log_query(query, params or [], started, result if isinstance(result, int) else 0, self.database)
        return result

    async def execute(self, query: Any, *args: Any) -> int:
        """Run one statement (or several, when there are no arguments); return the affected row count."""
        return await self._run(query, args, "none")  # type: ignore[no-any-return]

    async def fetch(self, query: Any, *args: Any) -> list[dict[str, Any]]:
        """Return every row as a dict."""
        return await self._run(query, args, "all")  # type: ignore[no-any-return]

    async def fetch_one(self, query: Any, *args: Any) -> dict[str, Any] | None:
        """Return the first row as a dict, or None."""
        return await self._run(query, args, "one")  # type: ignore[no-any-return]

    async def fetch_val(self, query: Any, *args: Any) -> Any:
        """Return the first column of the first row, or None."""
        return await self._run(query, args, "val")

    async def execute_many(self, statements: Iterable[Any]) -> int:
        """Run statements in order: each is SQL text or a ``(sql, args)`` pair; return how many ran.

        Outside a migration they run in one transaction, all or nothing.
        """
        items = [s if isinstance(s, tuple) else (s, ()) for s in statements]
        if self._connection is not None or bound_connection(self.database) is not None:
            for query, args in items:
                await self._run(query, args, "none")
            return len(items)
        pool = await get_pool(self.database)
        async with pool.connection() as conn:
            async with conn.transaction():
                inner = MigrationDB(self.database, connection=conn)
                for query, args in items:
                    await inner._run(query, args, "none")
        return len(items)


class RecordingDB:
    """A ``db`` that records the statements a migration would run, without running them.

    Reads return nothing (``fetch`` -> ``[]``, ``fetch_one``/``fetch_val`` -> None),
    so a migration whose statements depend on data it reads is shown as far as
    it gets without that data.
    """

    def __init__(self, database: str | None = None) -> None:
        self.database = database
        self.statements: list[tuple[str, list[Any]]] = []

    def _record(self, query: Any, args: Sequence[Any]) -> None:
        text = query if isinstance(query, str) else query.as_string()
        self.statements.append((text, list(args)))

    async def execute(self, query: Any, *args: Any) -> int:
        """Record a statement; return 0."""
        self._record(query, args)
        return 0

    async def fetch(self, query: Any, *args: Any) -> list[dict[str, Any]]:
        """Record a query; return no rows."""
        self._record(query, args)
        return []

    async def fetch_one(self, query: Any, *args: Any) -> dict[str, Any] | None:
        """Record a query; return None."""
        self._record(query, args)
        return None

    async def fetch_val(self, query: Any, *args: Any) -> Any:
        """Record a query; return None."""
        self._record(query, args)
        return None

    async def execute_many(self, statements: Iterable[Any]) -> int:
        """Record every statement; return how many there were."""
        items = [s if isinstance(s, tuple) else (s, ()) for s in statements]
        for query, args in items:
            self._record(query, args)
        return len(items)
