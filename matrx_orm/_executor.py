"""Run SQL on the right connection and turn driver errors into ORM errors.

Every statement the ORM sends goes through here: inside a ``transaction()``
block it uses the bound connection, otherwise it borrows one from the pool for
that single statement. Errors are mapped (``UniqueViolation`` ->
``IntegrityError`` ...) with model, operation, SQL, params and filters attached.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from matrx_orm._pool import get_pool
from matrx_orm._routing import read_pool, retry_read, retryable_read
from matrx_orm._transaction import bound_connection, transaction
from matrx_orm.core.db_errors import DRIVER_ERRORS, map_db_error
from matrx_orm.core.exceptions import ConnectionError
from matrx_orm.core.pool_health import describe_connection_failure
from matrx_orm.core.query_log import log_query, query_hooks
from matrx_orm.core.routing import routing

__all__ = ["fetch_all", "fetch_one", "execute", "execute_many", "run_statements"]

logger = logging.getLogger("matrx_orm")


def _fail(
    error: BaseException, query: Any, params: Any, model: Any, operation: str, filters: Any, database: str | None = None
) -> BaseException:
    if callable(filters):
        filters = filters()  # computed only when an error needs it
    if query_hooks.active and query is not None:
        # Failed statements are reported too (rows=-1): capture_queries() sees every statement sent.
        log_query(query, params, time.perf_counter(), -1, database)
    mapped = map_db_error(error, model=model, operation=operation, query=query, params=params, filters=filters)
    if isinstance(mapped, ConnectionError):
        describe_connection_failure(mapped, database)  # which database, masked DSN
    return mapped


# fetch_all, fetch_one and execute repeat the same connection handling on purpose:
# they are the hot path, and a shared inner coroutine or context manager would add a
# frame (and, in async, an await) to every statement the ORM sends.
async def fetch_all(
    database: str | None,
    query: Any,
    params: Sequence[Any],
    *,
    model: Any = None,
    operation: str = "query",
    filters: Any = None,
) -> list[tuple[Any, ...]]:
    """Return every row of ``query``."""
    started = time.perf_counter() if query_hooks.active else 0.0
    pool = None
    try:
        conn = bound_connection(database)
        if conn is not None:
            cur = await conn.execute(query, params)
            rows = await cur.fetchall()
        else:
            pool = await (read_pool(database, query) if routing.enabled else get_pool(database))
            async with pool.connection() as conn:
                cur = await conn.execute(query, params)
                rows = await cur.fetchall()
    except DRIVER_ERRORS as error:
        # Outside a transaction a read whose connection died gets one retry; writes never do.
        if not retryable_read(pool, error, query):
            raise _fail(error, query, params, model, operation, filters, database) from error
        rows = await retry_read(
            database, pool, query, params, False, lambda e: _fail(e, query, params, model, operation, filters, database)
        )
    if started:
        log_query(query, params, started, len(rows), database)
    return rows


async def fetch_one(
    database: str | None,
    query: Any,
    params: Sequence[Any],
    *,
    model: Any = None,
    operation: str = "query",
    filters: Any = None,
) -> tuple[Any, ...] | None:
    """Return the first row of ``query`` (or None)."""
    started = time.perf_counter() if query_hooks.active else 0.0
    pool = None
    try:
        conn = bound_connection(database)
        if conn is not None:
            cur = await conn.execute(query, params)
            row = await cur.fetchone()
        else:
            pool = await (read_pool(database, query) if routing.enabled else get_pool(database))
            async with pool.connection() as conn:
                cur = await conn.execute(query, params)
                row = await cur.fetchone()
    except DRIVER_ERRORS as error:
        # Outside a transaction a read whose connection died gets one retry; writes never do.
        if not retryable_read(pool, error, query):
            raise _fail(error, query, params, model, operation, filters, database) from error
        row = await retry_read(
            database, pool, query, params, True, lambda e: _fail(e, query, params, model, operation, filters, database)
        )
    if started:
        log_query(query, params, started, 0 if row is None else 1, database)
    return row


async def execute(
    database: str | None,
    query: Any,
    params: Sequence[Any],
    *,
    model: Any = None,
    operation: str = "execute",
    filters: Any = None,
) -> int:
    """Run ``query`` and return the affected row count."""
    started = time.perf_counter() if query_hooks.active else 0.0
    try:
        conn = bound_connection(database)
        if conn is not None:
            cur = await conn.execute(query, params)
            count = cur.rowcount
        else:
            pool = await get_pool(database)
            async with pool.connection() as conn:
                cur = await conn.execute(query, params)
                count = cur.rowcount
    except DRIVER_ERRORS as error:
        raise _fail(error, query, params, model, operation, filters, database) from error
    if started:
        log_query(query, params, started, count, database)
    return count


async def execute_many(
    database: str | None,
    query: Any,
    params_seq: Sequence[Sequence[Any]],
    *,
    model: Any = None,
    operation: str = "execute_many",
) -> int:
    """Run ``query`` once per parameter set in one transaction (pipelined by psycopg)."""
    started = time.perf_counter() if query_hooks.active else 0.0
    try:
        async with transaction(database) as conn:
            async with conn.cursor() as cur:
                await cur.executemany(query, params_seq)
                count = cur.rowcount
    except DRIVER_ERRORS as error:
        raise _fail(error, query, None, model, operation, None, database) from error
    if started:
        log_query(query, [f"<{len(params_seq)} parameter sets>"], started, count, database)
    return count


async def run_statements(
    database: str | None,
    statements: Sequence[tuple[Any, Sequence[Any]]],
    *,
    model: Any = None,
    operation: str = "batch",
    fetch: bool = False,
) -> list[list[tuple[Any, ...]]] | list[int]:
    """Run several statements in one transaction; return rows (``fetch``) or rowcounts.

    All or nothing: an error in any statement rolls back the ones before it.
    """
    results: list[Any] = []
    current: Any = None
    try:
        async with transaction(database) as conn:
            for query, params in statements:
                current = (query, params)
                started = time.perf_counter() if query_hooks.active else 0.0
                cur = await conn.execute(query, params)
                if fetch:
                    rows = await cur.fetchall()
                    results.append(rows)
                    count = len(rows)
                else:
                    count = cur.rowcount
                    results.append(count)
                if started:
                    log_query(query, params, started, count, database)
    except DRIVER_ERRORS as error:
        failed_query, failed_params = current if current else (None, None)
        raise _fail(error, failed_query, failed_params, model, operation, None, database) from error
    return results
