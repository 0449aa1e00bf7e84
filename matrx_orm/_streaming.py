"""Stream a query's rows in chunks over a server-side cursor, so a huge result never sits in memory.

``QuerySet.iterator(chunk_size=...)`` reads through a named (server-side)
cursor: PostgreSQL keeps the result and sends ``chunk_size`` rows per
``FETCH``; each chunk is hydrated (select_related, annotations, prefetch per
chunk) and handed out before the next one is asked for. A named cursor lives
in a transaction: inside ``transaction()`` it uses the bound connection,
otherwise it opens a transaction on a pool connection of its own, held until
the iteration ends.

Every round trip (the ``DECLARE`` and each ``FETCH``) is reported to the query
log like any other statement, so ``capture_queries`` and DEBUG logging show
how the rows arrived. Stop early with ``aclosing`` (sync: ``closing``) to
return the connection at once rather than when the iterator is collected.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from psycopg import AsyncConnection

from matrx_orm._pool import get_pool
from matrx_orm._relations import prefetch_related_objects
from matrx_orm._routing import read_pool
from matrx_orm._transaction import bound_connection
from matrx_orm.core.compat_async import Stream
from matrx_orm.core.compiler import compile_select
from matrx_orm.core.db_errors import DRIVER_ERRORS, map_db_error
from matrx_orm.core.exceptions import ConnectionError, ParameterError
from matrx_orm.core.extended_query import annotation_names, attach_annotations, split_annotation_values
from matrx_orm.core.hydrate import hydrate_rows
from matrx_orm.core.pool_health import describe_connection_failure
from matrx_orm.core.query_log import log_query, query_hooks
from matrx_orm.core.relations import hydrate_select_related
from matrx_orm.core.routing import routing

if TYPE_CHECKING:
    from matrx_orm.core.query_state import QueryState

__all__ = ["stream_rows", "QuerySetStreaming", "DEFAULT_CHUNK_SIZE"]

#: Rows per FETCH when ``iterator()`` is given no ``chunk_size``.
DEFAULT_CHUNK_SIZE = 2000

M = TypeVar("M")

_cursor_ids = itertools.count(1)


def _fail(error: BaseException, query: Any, params: Any, model: Any, operation: str, database: str | None) -> Exception:
    mapped = map_db_error(error, model=model, operation=operation, query=query, params=params)
    if isinstance(mapped, ConnectionError):
        describe_connection_failure(mapped, database)
    return mapped


async def _chunks(
    conn: AsyncConnection[Any],
    database: str | None,
    query: Any,
    params: Sequence[Any],
    chunk_size: int,
    model: Any,
    operation: str,
) -> Stream[list[tuple[Any, ...]]]:
    name = f"matrx_orm_stream_{next(_cursor_ids)}"
    fetch_text = f'FETCH FORWARD {chunk_size} FROM "{name}"'
    current: tuple[Any, Any] = (query, params)
    try:
        async with conn.cursor(name=name) as cur:
            started = time.perf_counter() if query_hooks.active else 0.0
            await cur.execute(query, params)
            if started:
                log_query(f'DECLARE "{name}" NO SCROLL CURSOR FOR {query}', params, started, 0, database)
            current = (fetch_text, [])
            while True:
                started = time.perf_counter() if query_hooks.active else 0.0
                rows = await cur.fetchmany(chunk_size)
                if started:
                    log_query(fetch_text, [], started, len(rows), database)
                if rows:
                    yield rows
                if len(rows) < chunk_size:
                    return
    except DRIVER_ERRORS as error:
        raise _fail(error, current[0], current[1], model, operation, database) from error


async def stream_rows(
    database: str | None,
    query: Any,
    params: Sequence[Any],
    chunk_size: int,
    *,
    model: Any = None,
    operation: str = "stream",
) -> Stream[list[tuple[Any, ...]]]:
    """Yield the rows of ``query`` in lists of at most ``chunk_size``, read through a server-side cursor."""
    # aclosing: an iteration stopped early must close the cursor (and end its transaction) now, not at GC.
    conn = bound_connection(database)
    if conn is not None:
        async with aclosing(_chunks(conn, database, query, params, chunk_size, model, operation)) as chunks:
            async for rows in chunks:
                yield rows
        return
    try:
        pool = await (read_pool(database, query) if routing.enabled else get_pool(database))
    except DRIVER_ERRORS as error:
        raise _fail(error, query, params, model, operation, database) from error
    try:
        async with pool.connection() as conn:
            async with conn.transaction():
                async with aclosing(_chunks(conn, database, query, params, chunk_size, model, operation)) as chunks:
                    async for rows in chunks:
                        yield rows
    except DRIVER_ERRORS as error:  # taking the connection or BEGIN/COMMIT failed
        raise _fail(error, query, params, model, operation, database) from error


class QuerySetStreaming(Generic[M]):
    """``QuerySet.iterator()``: the matching rows as instances, a chunk at a time."""

    __slots__ = ()

    if TYPE_CHECKING:
        model: type[M]
        _state: QueryState

    async def iterator(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Stream[M]:
        """Yield every matching row as an instance, reading ``chunk_size`` rows at a time from a server-side cursor."""
        state = self._state
        meta = state.meta
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ParameterError(
                f"{meta.name}.iterator() expects a positive integer chunk_size, got {chunk_size!r}", model=meta.name
            )
        query, params = compile_select(state)
        annotated = annotation_names(state)
        names = meta.field_names if state.fields is None else state.fields
        chunks = stream_rows(meta.database, query, params, chunk_size, model=meta.name, operation="QuerySet.iterator()")
        async with aclosing(chunks):
            async for rows in chunks:
                objs = await self._objects_from_chunk(rows, names, annotated)
                for obj in objs:
                    yield obj

    async def _objects_from_chunk(self, rows: list[tuple[Any, ...]], names: Any, annotated: Any) -> list[M]:
        """Return one chunk's rows as instances, like ``all()`` does for its rows."""
        state = self._state
        extras: Any = None
        if annotated:
            rows, extras = split_annotation_values(state, annotated, rows)
        if state.select_related:
            objs: list[M] = hydrate_select_related(self.model, state, rows)
        else:
            objs = hydrate_rows(self.model, names, rows)
        if annotated:
            attach_annotations(objs, annotated, extras)
        if state.prefetch_related:
            await prefetch_related_objects(objs, *state.prefetch_related)  # one query per relation per chunk
        return objs
