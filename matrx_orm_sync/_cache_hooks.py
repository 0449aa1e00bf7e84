# WARNING: generated from matrx_orm/_cache_hooks.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""The state cache's hooks into reads and writes: one call per read or write path.

Reads by primary key ask ``cache_read`` first and hand their row to
``cache_fill``; every write path calls ``rows_changed`` with the keys it
touched (None: maybe any row). Inside ``transaction()`` the cache is neither
read nor filled -- the transaction must see its own uncommitted writes, and
nobody else may see them -- and invalidations run twice: immediately (so no
one keeps serving the old row) and again after commit (so a row re-read by
another task between the write and the commit, which was still the old
committed row, is dropped). A rollback leaves nothing behind: the cache only
ever learned committed rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from matrx_orm_sync._cache_notify import publish_invalidations
from matrx_orm_sync._transaction import in_transaction, on_commit
from matrx_orm.core.cache_messages import is_publishing
from matrx_orm.core.cache_scope import dependent_tables, keys_from_state, metas_of_table
from matrx_orm.core.cache_store import STORE, Ticket, database_identity, pk_key, table_key
from matrx_orm.core.cache_store import ttl_for
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.query_state import QueryState

__all__ = [
    "cache_read",
    "cache_read_many",
    "cache_fill",
    "rows_changed",
    "state_rows_changed",
    "returned_rows_changed",
    "instances_changed",
    "junction_changed",
]

_new = object.__new__


def _instance(cls: type, values: dict[str, Any]) -> Any:
    obj = _new(cls)
    obj.__dict__ = values
    return obj


def cache_read(cls: type, pk_values: Any, use_cache: bool) -> tuple[Any, Ticket | None]:
    """Return ``(cached instance, None)`` on a hit, else ``(None, ticket to fill with)``.

    ``use_cache=False`` never serves from the cache but still refreshes it with
    what the database returns. Inside a transaction both are skipped.
    """
    meta: ModelMeta = cls._meta  # type: ignore[attr-defined]
    if not STORE.enabled or in_transaction(meta.database) or ttl_for(meta) == 0:
        # TTL 0: the model is not cached, so no key, no lookup, no ticket (the get fast path).
        return None, None
    key = pk_key(meta, pk_values)
    if not use_cache:
        return None, STORE.ticket(meta, key)
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
    """Store the row a ticketed read returned (dropped if the key was invalidated meanwhile)."""
    if ticket is not None and obj is not None:
        STORE.store(ticket, obj)


def _invalidate(items: list[tuple[ModelMeta, list[Hashable] | None]]) -> None:
    for meta, keys in items:
        STORE.invalidate(meta, keys)


def rows_changed(meta: ModelMeta, keys: Sequence[Hashable] | None = None, *, deleted: bool = False) -> None:
    """Invalidate the rows ``keys`` of ``meta`` (every row when None) after a write.

    ``deleted=True`` also invalidates the tables whose foreign keys reference
    this one (cascades and SET NULL change their rows too).
    """
    if keys is not None and not keys:
        return
    items: list[tuple[ModelMeta, list[Hashable] | None]] = [(meta, None if keys is None else list(keys))]
    if deleted:
        items.extend((other, None) for other, _key in dependent_tables(meta))
    _invalidate(items)
    database = meta.database
    if in_transaction(database):
        on_commit(lambda: _invalidate(items), database)
    if is_publishing(database_identity(database)):
        publish_invalidations(database, [(table_key(m), k) for m, k in items])


def state_rows_changed(state: QueryState, *, deleted: bool = False, updated: dict[str, Any] | None = None) -> None:
    """Invalidate what a queryset UPDATE/DELETE touched (the pinned keys, else the whole table).

    An UPDATE that changes a primary-key column may move rows under other keys
    and cascade: it invalidates the whole table and its dependents.
    """
    meta = state.meta
    if updated is not None and any(meta.fields[name].primary_key for name in updated if name in meta.fields):
        rows_changed(meta, None, deleted=True)
        return
    rows_changed(meta, keys_from_state(state), deleted=deleted)


def returned_rows_changed(
    state: QueryState, objs: Sequence[Any], *, deleted: bool = False, updated: dict[str, Any] | None = None
) -> None:
    """Invalidate the rows an ``UPDATE/DELETE ... RETURNING`` reported (whole table if a key column changed)."""
    meta = state.meta
    if updated is not None and any(meta.fields[name].primary_key for name in updated if name in meta.fields):
        rows_changed(meta, None, deleted=True)
        return
    if objs:
        rows_changed(meta, [pk_key(meta, obj.pk_filter()) for obj in objs], deleted=deleted)


def instances_changed(cls: type, objs: Sequence[Any], *, deleted: bool = False) -> None:
    """Invalidate the rows of ``objs`` (instances, or primary-key values) of ``cls``."""
    meta: ModelMeta = cls._meta  # type: ignore[attr-defined]
    if not objs:
        return
    keys = [pk_key(meta, obj.pk_filter()) if hasattr(obj, "pk_filter") else pk_key(meta, obj) for obj in objs]
    rows_changed(meta, keys, deleted=deleted)


def junction_changed(rel: Any) -> None:
    """Invalidate the junction table of a many-to-many relation when a model maps it."""
    config = rel.m2m_config
    owner = rel.reverse_of.source if rel.reverse_of is not None else rel.source
    schema = config.get("junction_schema") or owner.db_schema
    metas = metas_of_table(owner.database, schema, config.get("junction_table"))
    if metas:
        rows_changed(metas[0], None)
