"""Read routing (replicas) and the one retry a read gets after losing its connection.

The executor calls ``read_pool`` only when some registered database has
replicas (one flag check otherwise), and ``retry_read`` only on the failure
path. Writes never come here: they always use the primary and are never
retried, because a write whose connection died may or may not have happened.
"""

from __future__ import annotations

import inspect
import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool, PoolTimeout

from matrx_orm._pool import get_pool, get_replica_pools
from matrx_orm.core.db_errors import DRIVER_ERRORS, is_connection_error
from matrx_orm.core.routing import is_read_only, primary_forced, use_primary

__all__ = ["read_pool", "retryable_read", "retry_read", "primary_queryset", "REPLICA_QUARANTINE"]

#: Seconds a replica that failed a read is left out of the rotation.
REPLICA_QUARANTINE = 5.0

_turns = itertools.count()
_down_until: dict[int, float] = {}


async def read_pool(database: str | None, query: Any) -> AsyncConnectionPool:
    """Return a replica's pool for a read outside a transaction (round robin), else the primary's."""
    if not primary_forced() and is_read_only(query):
        replicas = await get_replica_pools(database)
        if replicas:
            if _down_until:
                now = time.monotonic()
                replicas = [p for p in replicas if _down_until.get(id(p), 0.0) <= now]
            if replicas:
                return replicas[next(_turns) % len(replicas)]
    return await get_pool(database)


def retryable_read(pool: AsyncConnectionPool | None, error: BaseException, query: Any) -> bool:
    """Return True when a statement that failed outside a transaction may run once more.

    Only reads, and only when the connection died (or, on a replica, when no
    connection came in time: the primary answers instead).
    """
    if pool is None or not is_read_only(query):
        return False
    if is_connection_error(error):
        return True
    config = getattr(pool, "matrx_config", None)
    return isinstance(error, PoolTimeout) and config is not None and "@replica" in config.name


async def retry_read(
    database: str | None,
    failed_pool: AsyncConnectionPool | None,
    query: Any,
    params: Sequence[Any],
    one: bool,
    fail: Callable[[BaseException], BaseException],
) -> Any:
    """Run a read once more after its connection died; return its rows (or row, with ``one``).

    The failed pool first drops every dead idle connection (a restart kills
    them all). A read that failed on a replica is retried on the primary.
    """
    primary = await get_pool(database)
    if failed_pool is primary or failed_pool is None:
        failed_pool = primary
        await failed_pool.check()
        pool = failed_pool
    else:
        _down_until[id(failed_pool)] = time.monotonic() + REPLICA_QUARANTINE
        pool = primary
    try:
        async with pool.connection() as conn:
            cur = await conn.execute(query, params)
            return await (cur.fetchone() if one else cur.fetchall())
    except DRIVER_ERRORS as error:  # the retry's own error is the one to report
        raise fail(error) from error


def _on_primary(method: Any) -> Any:
    async def call_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        with use_primary():
            return await method(self, *args, **kwargs)

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        with use_primary():
            return method(self, *args, **kwargs)

    wrapper: Any = call_async if inspect.iscoroutinefunction(method) else call
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


_primary_classes: dict[type, type] = {}


def primary_queryset(queryset: Any) -> Any:
    """Return a copy of ``queryset`` whose every call runs inside ``use_primary()``."""
    cls = type(queryset)
    if getattr(cls, "_matrx_on_primary", False):
        return queryset
    routed = _primary_classes.get(cls)
    if routed is None:
        namespace: dict[str, Any] = {"__slots__": (), "_matrx_on_primary": True}
        for name in dir(cls):
            if name.startswith("_") and name not in ("__aiter__", "__iter__", "__getitem__"):
                continue
            attr = inspect.getattr_static(cls, name)
            if inspect.isfunction(attr):
                namespace[name] = _on_primary(getattr(cls, name))
        routed = type(f"Primary{cls.__name__}", (cls,), namespace)
        _primary_classes[cls] = routed
    return routed(queryset.model, queryset.state)
