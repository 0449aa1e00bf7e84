"""Connection pools: one per registered database (and, in async, per event loop).

Pools are created with ``open=False`` and opened on first use, so importing
models or registering databases never touches the network. Connections run in
autocommit mode: a single statement is its own transaction (one round trip),
and ``transaction()`` issues an explicit BEGIN when the caller asks for one.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from matrx_orm.core.compat_async import call_at_loop_exit, loop_key
from matrx_orm.core.config import DatabaseProjectConfig, get_database_config, resolve_database_name
from matrx_orm.core.db_errors import map_db_error
from matrx_orm.core.exceptions import ConfigurationError
from matrx_orm.core.pool_health import (
    describe_connection_failure,
    exhausted_message,
    socket_has_data,
    unreachable_message,
)

__all__ = ["get_pool", "close_pools", "close_pool", "pool_stats", "get_replica_pools", "OrmPool"]

#: (database as asked: a name, an alias or None for the default; event loop) -> its pool.
_pools: dict[tuple[str | None, Any], AsyncConnectionPool] = {}
#: (database, loop) -> the pools of its read replicas (also listed in ``_pools``).
_replica_sets: dict[tuple[str | None, Any], list[AsyncConnectionPool]] = {}


class OrmPool(AsyncConnectionPool):
    """psycopg's pool, plus two guarantees: no dead connection handed out, and timeouts that say why.

    A connection leaving the pool gets a zero-cost socket poll; only when the
    server has spoken to the idle connection (it does so to say goodbye: a
    restart, a crash, a terminated backend) is it checked with a round trip,
    and then every idle connection is checked, since they usually died together.
    """

    matrx_config: DatabaseProjectConfig

    async def getconn(self, timeout: float | None = None) -> Any:
        """Return a live connection, or raise PoolTimeout explaining why there is none."""
        try:
            conn = await super().getconn(timeout)
        except PoolTimeout as error:
            raise PoolTimeout(await self._explain_timeout(timeout)) from error
        if socket_has_data(conn):
            try:
                await self.check_connection(conn)
            except psycopg.Error:
                await self.putconn(conn)  # broken: the pool discards it and opens a replacement
                await self.check()
                return await self.getconn(timeout)
        return conn

    async def _explain_timeout(self, timeout: float | None) -> str:
        # Failure path only: one direct connection attempt tells "every pooled
        # connection was busy" (the server answers) from "the server cannot be
        # reached or refuses us" (and why: down, wrong password, too many clients).
        config = self.matrx_config
        waited = self.timeout if timeout is None else timeout
        try:
            conn = await AsyncConnection.connect(config.conninfo(), autocommit=True, connect_timeout=3)
        except psycopg.Error as error:
            return unreachable_message(config, waited, str(error).strip())
        await conn.close()
        return exhausted_message(config, waited, self.get_stats().get("requests_waiting", 0))


def _make_pool(config: DatabaseProjectConfig) -> AsyncConnectionPool:
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": config.prepare_threshold}
    pool = OrmPool(
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
    pool.matrx_config = config
    return pool


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
    for replica_key in [k for k in _replica_sets if k[1] is not None and k[1].is_closed()]:
        del _replica_sets[replica_key]


async def close_pool(database: str | None = None) -> None:
    """Close the pool(s) of one database in this loop/process."""
    name = resolve_database_name(database)
    loop = loop_key()
    closing = {
        id(p): p
        for k, p in _pools.items()
        if k[1] is loop and (k[0] == name or k[0] == database or str(k[0]).startswith(f"{name}@replica"))
    }
    for key in [k for k, p in _pools.items() if id(p) in closing]:
        del _pools[key]
    for replica_key in [k for k in _replica_sets if k[1] is loop]:
        del _replica_sets[replica_key]  # rebuilt from _pools' survivors on the next read
    for pool in closing.values():
        await pool.close()


async def close_pools() -> None:
    """Close every pool opened in this event loop (sync: in this process)."""
    loop = loop_key()
    closing = {id(p): p for k, p in _pools.items() if k[1] is loop}
    for key in [k for k, p in _pools.items() if id(p) in closing]:
        del _pools[key]
    for replica_key in [k for k in _replica_sets if k[1] is loop]:
        del _replica_sets[replica_key]  # rebuilt from _pools' survivors on the next read
    for pool in closing.values():
        await pool.close()


def pool_stats(database: str | None = None) -> dict[str, int]:
    """Return psycopg-pool statistics for ``database`` (empty when not open)."""
    name = resolve_database_name(database)
    for key, pool in _pools.items():
        if key[0] == name:
            return dict(pool.get_stats())
    return {}


async def get_replica_pools(database: str | None = None) -> list[AsyncConnectionPool]:
    """Return the open pools of ``database``'s read replicas (empty when it has none)."""
    loop = loop_key()
    pools = _replica_sets.get((database, loop))
    if pools is None:
        name = resolve_database_name(database)
        pools = []
        for replica in get_database_config(name).replica_configs():
            pool = _pools.get((replica.name, loop))
            if pool is None:
                _forget_dead_loops()
                pool = _make_pool(replica)
                call_at_loop_exit(close_pools)
                _pools[(replica.name, loop)] = pool
            pools.append(pool)
        _replica_sets[(database, loop)] = _replica_sets[(name, loop)] = pools
    for pool in pools:
        if pool.closed:
            await pool.open()
    return pools


async def raw_connection(database: str | None = None) -> AsyncConnection[Any]:
    """Open a dedicated (non-pooled) connection, e.g. for LISTEN; caller closes it."""
    config = get_database_config(database)
    target = config.session_config()
    if target is None:
        raise ConfigurationError(
            f"database {config.name!r} goes through PgBouncer (transaction pooling), which has no session for a "
            "migration lock or LISTEN: set direct='host:port' (or a URL) to reach the server itself",
            database=config.name,
        )
    try:
        return await AsyncConnection.connect(target.conninfo(), autocommit=True)
    except psycopg.Error as error:
        mapped = map_db_error(error, operation=f"connecting to {config.name!r}")
        raise describe_connection_failure(mapped, config.name) from error
