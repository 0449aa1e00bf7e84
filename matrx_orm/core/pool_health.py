"""Cheap connection health signals and pool-timeout explanations (no I/O round trips).

An idle pooled connection should have nothing to read: PostgreSQL only talks
to an idle client to say goodbye (``FATAL: terminating connection``) or when
the socket was closed (restart, crash, ``pg_terminate_backend``). So a
zero-timeout poll of the socket when a connection leaves the pool tells, for
the price of one system call, whether it needs a real check: a healthy
connection costs no extra round trip.
"""

from __future__ import annotations

import select
from typing import Any

from matrx_orm.core.config import DatabaseProjectConfig, get_database_config
from matrx_orm.core.exceptions import ORMException

__all__ = ["socket_has_data", "exhausted_message", "unreachable_message", "scrub_secret", "describe_connection_failure"]

_POLL = getattr(select, "poll", None)


def socket_has_data(conn: Any) -> bool:
    """Return True when an idle connection's socket is readable (or unusable): it may be dead."""
    try:
        fd = conn.pgconn.socket
    except Exception:
        return True  # no socket any more: certainly not usable
    if _POLL is not None:
        poller = _POLL()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    readable, _, errored = select.select([fd], [], [fd], 0)
    return bool(readable or errored)


def scrub_secret(text: str, config: DatabaseProjectConfig) -> str:
    """Return ``text`` with the config's password masked, should a driver ever echo it."""
    password = config.password
    if password and len(password) >= 3 and password in text:
        return text.replace(password, "***")
    return text


def exhausted_message(config: DatabaseProjectConfig, timeout: float, waiting: int) -> str:
    """Explain a timeout on a pool whose every connection was busy."""
    return (
        f"pool of database {config.name!r} ({config.masked_dsn()}) is exhausted: all max_pool_size="
        f"{config.max_pool_size} connections stayed busy for {timeout:g}s ({waiting} requests waiting); "
        "raise max_pool_size or pool_timeout, or hold connections for less time"
    )


def unreachable_message(config: DatabaseProjectConfig, timeout: float, reason: str) -> str:
    """Explain a timeout on a pool that could not open connections."""
    return (
        f"no connection to database {config.name!r} ({config.masked_dsn()}) within {timeout:g}s "
        f"(max_pool_size={config.max_pool_size}): {scrub_secret(reason, config)}"
    )


def describe_connection_failure(error: ORMException, database: str | None) -> ORMException:
    """Add the database name and its masked DSN to a connection error (and mask any echoed password)."""
    try:
        config = get_database_config(database)
    except ORMException:
        return error
    error.details.setdefault("database", config.name)
    error.details.setdefault("dsn", config.masked_dsn())
    error.message = scrub_secret(error.message, config)
    error.args = (error.message,)
    return error
