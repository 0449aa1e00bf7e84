"""Connection pools: one per registered database (and, in async, per event loop).

Pools are created with ``open=False`` and opened on first use, so importing
models or registering databases never touches the network. Connections run in
autocommit mode: a single statement is its own transaction (one round trip),
and ``transaction()`` issues an explicit BEGIN when the caller asks for one.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from matrx_orm.core.compat_async import call_at_loop_exit, loop_key
from matrx_orm.core.config import DatabaseProjectConfig, get_database_config, resolve_database_name

__all__ = ["get_pool", "close_pools", "close_pool", "pool_stats"]

_pools: dict[tuple[str, Any], AsyncConnectionPool] = {}


def _make_pool(config: DatabaseProjectConfig) -> AsyncConnectionPool:
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": config.prepare_threshold}
    return AsyncConnectionPool(
        config.conninfo(),
        min_size=config.min_pool_size,
        max_size=config.max_pool_size,
        timeout=config.pool_timeout,
        max_idle=config.max_idle,
        max_lifetime=config.max_lifetime,
        kwargs=kwargs,
        check=AsyncConnectionPool.check_connection if config.check_connections else None,
        name=f"matrx-orm:{config.name}",
        open=False,
    )


async def get_pool(database: str | None = None) -> AsyncConnectionPool:
    """Return the open pool of ``database`` (the only registered one by default)."""
    loop = loop_key()
    key = (database, loop)
    pool = _pools.get(key)
    if pool is None:
        name = resolve_database_name(database)
        key = (name, loop)
        pool = _pools.get(key)
        if pool is None:
            _forget_dead_loops()
            pool = _make_pool(get_database_config(name))
            # An open pool would hang the loop's shutdown: close it first.
            call_at_loop_exit(close_pools)
            _pools[key] = pool
            if database != name:
                _pools[(database, loop)] = pool
    if pool.closed:
        await pool.open()
    return pool


def _forget_dead_loops() -> None:
    for key in [k for k in _pools if k[1] is not None and k[1].is_closed()]:
        del _pools[key]


async def close_pool(database: str | None = None) -> None:
    """Close the pool(s) of one database in this loop/process."""
    name = resolve_database_name(database)
    loop = loop_key()
    closing = {id(p): p for k, p in _pools.items() if k[1] is loop and (k[0] == name or k[0] == database)}
    for key in [k for k, p in _pools.items() if id(p) in closing]:
        del _pools[key]
    for pool in closing.values():
        await pool.close()


async def close_pools() -> None:
    """Close every pool opened in this event loop (sync: in this process)."""
    loop = loop_key()
    closing = {id(p): p for k, p in _pools.items() if k[1] is loop}
    for key in [k for k, p in _pools.items() if id(p) in closing]:
        del _pools[key]
    for pool in closing.values():
        await pool.close()


def pool_stats(database: str | None = None) -> dict[str, int]:
    """Return psycopg-pool statistics for ``database`` (empty when not open)."""
    name = resolve_database_name(database)
    for key, pool in _pools.items():
        if key[0] == name:
            return dict(pool.get_stats())
    return {}


async def raw_connection(database: str | None = None) -> AsyncConnection[Any]:
    """Open a dedicated (non-pooled) connection, e.g. for LISTEN; caller closes it."""
    config = get_database_config(database)
    return await AsyncConnection.connect(config.conninfo(), autocommit=True)
