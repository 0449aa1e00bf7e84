# WARNING: generated from matrx_orm/_cache_hooks.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""The state cache's hooks into reads and writes: one call per read or write path.

Reads by primary key ask ``cache_read`` first and hand their row to
``cache_fill``. Every write path runs its statement inside
``async with cache_writing(meta, keys)``: before the statement the keys are
marked (not served, not stored), after it they are unmarked and invalidated,
so nobody in this process is handed a row older than a committed write, not
even between the commit and the invalidation.

Inside ``transaction()`` the cache is neither read nor filled -- the
transaction must see its own uncommitted writes, and nobody else may see
them -- and the marks stay until the outermost block ends (committed or rolled
back), so a rollback leaves nothing behind: the cache only ever learns
committed rows. With cross-process invalidation on, the write's NOTIFY is sent
on the same connection (inside the transaction: delivered at commit only).
"""

from __future__ import annotations

from collections.abc import Iterator, Hashable, Sequence
from contextlib import AbstractContextManager, AbstractContextManager, contextmanager, nullcontext
from typing import Any

from matrx_orm_sync._cache_notify import publish_invalidations
from matrx_orm_sync._transaction import in_transaction, on_finish
from matrx_orm.core.cache_messages import is_publishing
from matrx_orm.core.cache_scope import dependent_tables, keys_from_state, metas_of_table
from matrx_orm.core.cache_store import (
    STORE,
    Ticket,
    WriteMark,
    database_identity,
    instance_key,
    pk_key,
    table_key,
    ttl_for,
)
from matrx_orm.core.config import get_database_config
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.query_state import QueryState
from matrx_orm.core.routing import routing, use_primary

__all__ = [
    "cache_read",
    "cache_read_many",
    "cache_fill",
    "cache_fill_source",
    "CacheWrite",
    "cache_writing",
    "cache_writing_state",
    "cache_writing_junction",
    "pk_keys",
]

_new = object.__new__


def _instance(cls: type, values: dict[str, Any]) -> Any:
    obj: Any = _new(cls)
    obj.__dict__ = values
    return obj


# -- reads ---------------------------------------------------------------------------------
def cache_read(cls: type, pk_values: Any, use_cache: bool) -> tuple[Any, Ticket | None]:
    """Return ``(cached instance, None)`` on a hit, else ``(None, ticket to fill with)``.

    ``use_cache=False`` never serves from the cache but still refreshes it with
    what the database returns (not when replicas are in use: such a read may go
    to a lagging replica). Inside a transaction both are skipped.
    """
    meta: ModelMeta = cls._meta  # type: ignore[attr-defined]
    if not STORE.enabled or in_transaction(meta.database) or ttl_for(meta) == 0:
        # TTL 0: the model is not cached, so no key, no lookup, no ticket (the get fast path).
        return None, None
    key = pk_key(meta, pk_values)
    if not use_cache:
        # With replicas the read goes where routing sends it and is not kept (it may lag).
        return None, None if _has_replicas(meta) else STORE.ticket(meta, key)
    values, ticket = STORE.lookup(meta, key)
    if values is not None:
        return _instance(cls, values), None
    return None, ticket


def cache_read_many(cls: type, keys: Sequence[Hashable]) -> tuple[dict[Hashable, Any], dict[Hashable, Ticket]]:
    """Return ``({key: cached instance}, {key: ticket})`` for ``keys`` (tickets for the misses)."""
    meta: ModelMeta = cls._meta  # type: ignore[attr-defined]
    if not STORE.enabled or in_transaction(meta.database):
        return {}, {}
    hits: dict[Hashable, Any] = {}
    tickets: dict[Hashable, Ticket] = {}
    for key in keys:
        values, ticket = STORE.lookup(meta, key)
        if values is not None:
            hits[key] = _instance(cls, values)
        elif ticket is not None:
            tickets[key] = ticket
    return hits, tickets


def cache_fill(ticket: Ticket | None, obj: Any) -> None:
    """Store the row a ticketed read returned (dropped if the key was written meanwhile)."""
    if ticket is not None and obj is not None:
        STORE.store(ticket, obj)


#: nullcontext is reusable and stateless: one instance serves every read that needs no routing.
_NO_CONTEXT: AbstractContextManager[None] = nullcontext()


def cache_fill_source(tickets: Any) -> AbstractContextManager[None]:
    """Return the block to run a cache-filling read in: on the primary when replicas are in use.

    A replica may lag behind a write this process just committed; filling the
    cache from it would turn milliseconds of lag into a TTL of staleness.
    """
    if tickets and routing.enabled:
        meta = next(iter(tickets.values())).meta if isinstance(tickets, dict) else tickets.meta
        if _has_replicas(meta):
            return use_primary()
    return _NO_CONTEXT


def _has_replicas(meta: ModelMeta) -> bool:
    return routing.enabled and bool(getattr(get_database_config(meta.database), "replicas", None))


# -- writes --------------------------------------------------------------------------------
class CacheWrite:
    """One write in flight: what it marked, and what it turned out to touch."""

    __slots__ = ("meta", "keys", "dependents", "marks", "exact")

    def __init__(self, meta: ModelMeta, keys: list[Hashable] | None, dependents: list[ModelMeta], exact: bool) -> None:
        self.meta = meta
        self.keys = keys
        self.dependents = dependents
        self.marks: list[WriteMark] = []
        # False when the write may move rows to other keys: it then always invalidates the whole table.
        self.exact = exact

    def rows(self, objs: Sequence[Any]) -> None:
        """Narrow what the write touched to these instances (from ``RETURNING``)."""
        if not objs:
            self.nothing()
        elif self.exact:
            self.keys = [instance_key(obj) for obj in objs]

    def nothing(self) -> None:
        """Record that the statement changed no row (e.g. a rowcount of 0)."""
        if self.exact:
            self.keys = []
            self.dependents = []

    def items(self) -> list[tuple[ModelMeta, list[Hashable] | None]]:
        """Return ``(model, keys or None)`` for every table the write touched."""
        out: list[tuple[ModelMeta, list[Hashable] | None]] = []
        if self.keys is None or self.keys:
            out.append((self.meta, self.keys))
        out.extend((meta, None) for meta in self.dependents)
        return out

    def release(self) -> None:
        """Unmark every key and invalidate what was touched (idempotent)."""
        marks, self.marks = self.marks, []
        if not marks:
            return
        STORE.end_write(marks[0], self.keys)
        for mark in marks[1:]:
            # Dependent tables: changed by cascades only if the write changed anything.
            STORE.end_write(mark, None if self.dependents else [])


@contextmanager
def cache_writing(
    meta: ModelMeta, keys: Sequence[Hashable] | None = None, *, deleted: bool = False, exact: bool = True
) -> Iterator[CacheWrite]:
    """Run a write of ``keys`` of ``meta`` (every row when None) so no one is served a row it changed.

    ``deleted=True`` also covers the tables whose foreign keys reference this
    one (cascades and SET NULL change their rows); ``exact=False`` ignores
    narrowing (a write that changes key columns).
    """
    if keys is not None and not keys:
        yield CacheWrite(meta, [], [], exact)
        return
    dependents = [other for other, _key in dependent_tables(meta)] if deleted else []
    write = CacheWrite(meta, None if keys is None else list(keys), dependents, exact)
    database = meta.database
    inside = in_transaction(database)
    if STORE.enabled:
        write.marks.append(STORE.begin_write(meta, write.keys))
        write.marks.extend(STORE.begin_write(other, None) for other in dependents)
    try:
        yield write
    except BaseException:
        # The statement failed: invalidate what was marked anyway, but tell no other process.
        if inside:
            on_finish(write.release, database)
        else:
            write.release()
        raise
    if inside:
        # Unmark only when the transaction ends: until its commit, the old row is what others must read.
        on_finish(write.release, database)
    else:
        write.release()
    items = write.items()
    if items and is_publishing(database_identity(database)):
        publish_invalidations(database, [(table_key(m), k) for m, k in items])


def cache_writing_state(
    state: QueryState, *, deleted: bool = False, updated: dict[str, Any] | None = None
) -> AbstractContextManager[CacheWrite]:
    """Return ``cache_writing`` for a queryset UPDATE/DELETE: the keys its filter pins, else the whole table.

    An UPDATE that sets a primary-key column may move rows under other keys
    and cascade: it covers the whole table and its dependents.
    """
    meta = state.meta
    if updated is not None and any(meta.fields[name].primary_key for name in updated if name in meta.fields):
        return cache_writing(meta, None, deleted=True, exact=False)
    return cache_writing(meta, keys_from_state(state), deleted=deleted)


@contextmanager
def cache_writing_junction(rel: Any) -> Iterator[CacheWrite | None]:
    """Cover a many-to-many write: the junction table's rows, when a model maps that table."""
    config = rel.m2m_config
    owner = rel.reverse_of.source if rel.reverse_of is not None else rel.source
    schema = config.get("junction_schema") or owner.db_schema
    metas = metas_of_table(owner.database, schema, config.get("junction_table"))
    if not metas:
        yield None
        return
    with cache_writing(metas[0], None) as write:
        yield write


def pk_keys(meta: ModelMeta, values: Sequence[Any]) -> list[Hashable]:
    """Return the cache keys of instances or primary-key values."""
    return [instance_key(v) if hasattr(v, "_meta") else pk_key(meta, v) for v in values]
