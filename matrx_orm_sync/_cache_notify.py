# WARNING: generated from matrx_orm/_cache_notify.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Cross-process cache invalidation over PostgreSQL ``LISTEN``/``NOTIFY`` (opt-in).

Each process caches rows in its own memory, so a write in one app server does
not, by itself, reach the caches of the others. Once a process calls
``enable_cross_process_invalidation(database)``:

* every write it makes through the ORM to that database also runs
  ``SELECT pg_notify('matrx_orm_cache', <payload>)`` -- inside the write's
  transaction when there is one, so PostgreSQL delivers it only on commit and
  drops it on rollback;
* a listener (a task on the current event loop; in the sync package a daemon
  thread) holds a dedicated connection that ``LISTEN``s on the channel and
  applies every other process's invalidations to the local cache.

Delivery takes about one network round trip after the commit (milliseconds),
plus however long the listener waits to be scheduled. If the listening
connection drops, the listener reconnects with backoff (0.1 s doubling to 5 s)
and clears that database's cache when it is back, since messages sent while it
was away are lost.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from psycopg import Connection, sql

from matrx_orm_sync._executor import execute
from matrx_orm_sync._pool import raw_connection
from matrx_orm.core.cache_messages import CHANNEL, apply_message, encode_message, set_publishing
from matrx_orm.core.cache_store import STORE, TableKey, database_identity
from matrx_orm.core.compat_sync import join_background, loop_key, sleep, spawn
from matrx_orm.core.config import resolve_database_name

__all__ = [
    "enable_cross_process_invalidation",
    "disable_cross_process_invalidation",
    "cross_process_listening",
    "publish_invalidations",
]

logger = logging.getLogger("matrx_orm")

#: How often the listener wakes to check whether it was asked to stop (seconds).
POLL_INTERVAL = 0.5
_MAX_BACKOFF = 5.0

_listeners: dict[tuple[str, Any], _Listener] = {}


def publish_invalidations(database: str | None, items: Sequence[tuple[TableKey, Iterable[Hashable] | None]]) -> None:
    """Send one NOTIFY invalidating ``items`` (inside the open transaction, if any)."""
    payload = encode_message(items)
    execute(
        database, "SELECT pg_notify(%s, %s)", [CHANNEL, payload], operation="cache invalidation (NOTIFY)"
    )


def _listen_connection(database: str) -> Connection[Any]:
    conn = raw_connection(database)
    try:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
    except BaseException:
        conn.close()
        raise
    return conn


class _Listener:
    """One LISTEN connection applying other processes' invalidations to the local store."""

    def __init__(self, database: str, identity: tuple[str, str, str], conn: Connection[Any]) -> None:
        self.database = database
        self.identity = identity
        self.conn: Connection[Any] | None = conn
        self.stopping = False
        self.handle: Any = None
        self.received = 0
        self.reconnects = 0

    def run(self) -> None:
        delay = 0.1
        while not self.stopping:
            try:
                if self.conn is None:
                    self.conn = _listen_connection(self.database)
                    self.reconnects += 1
                    # Whatever was sent while we were away is lost: start clean.
                    STORE.invalidate_database(self.identity)
                    delay = 0.1
                for note in self.conn.notifies(timeout=POLL_INTERVAL):
                    if note.channel == CHANNEL:
                        self._apply(note.payload)
            except Exception as error:
                if self.stopping:
                    break
                logger.warning(
                    "cache invalidation listener for %r lost its connection (%s: %s); reconnecting in %.1f s",
                    self.database, type(error).__name__, error, delay,
                )
                self._close()
                sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF)
        self._close()

    def _apply(self, payload: str) -> None:
        self.received += 1
        try:
            apply_message(self.identity, payload)
        except (ValueError, TypeError) as error:
            logger.warning("ignored a malformed cache invalidation message: %s", error)

    def _close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection may fail; nothing to do
                pass


def enable_cross_process_invalidation(database: str | None = None, *, listen: bool = True) -> None:
    """Publish this process's invalidations for ``database`` and apply everyone else's.

    Returns once the listener is ``LISTEN``ing (so nothing committed after this
    call is missed). ``listen=False`` only publishes (a writer-only process).
    Call it in every process that caches rows of the database.
    """
    name = resolve_database_name(database)
    identity = database_identity(name)
    set_publishing(identity, True)
    if not listen:
        return
    key = (name, loop_key())
    current = _listeners.get(key)
    if current is not None and not current.stopping:
        return
    conn = _listen_connection(name)
    listener = _Listener(name, identity, conn)
    listener.handle = spawn(listener.run, name=f"matrx-orm cache listener ({name})")
    _listeners[key] = listener


def disable_cross_process_invalidation(database: str | None = None) -> None:
    """Stop publishing invalidations for ``database`` and stop this context's listener."""
    name = resolve_database_name(database)
    set_publishing(database_identity(name), False)
    listener = _listeners.pop((name, loop_key()), None)
    if listener is not None:
        listener.stopping = True
        join_background(listener.handle, POLL_INTERVAL * 4)


def cross_process_listening(database: str | None = None) -> bool:
    """Return True when a listener is applying other processes' invalidations for ``database`` here."""
    listener = _listeners.get((resolve_database_name(database), loop_key()))
    return listener is not None and not listener.stopping
