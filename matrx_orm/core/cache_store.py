"""The per-process state cache: rows by primary key, per table, with TTL and LRU.

One ``CacheStore`` (``STORE``) serves both packages. Entries are keyed by the
*table* a model maps to -- the physical database (host, port, name), the schema
and the table -- not by the class, so an async model and its sync twin, or two
declarations of one table, share entries and invalidate each other.

What is stored is a snapshot of the row's field values, never an instance:
every hit builds a fresh instance of the class that asked, so a caller that
mutates what it got cannot corrupt the cache (mutable values such as JSON dicts
and arrays are deep-copied in and out).

Staleness is prevented in two ways. First, a write *marks* the keys it is
about to change (or the whole table when it cannot name them) before it sends
its statement and unmarks them once it has committed: while a key is marked,
the cache neither serves it nor stores it, so between the commit and the
invalidation nobody can be handed the old row. Second, a generation counter
per table fences reads that started earlier: a read takes a *ticket* (the
table's current generation) before it queries; every invalidation bumps the
generation and records it against the keys it touched (or raises the table's
floor when it touched the whole table). When the read comes back it may only
store its row if nothing touching that key happened since its ticket, so a
read that overlapped a write can never put the old row back afterwards.

This module is pure: a ``threading.Lock`` guards every operation (each is a
few dict operations, no I/O), so tasks and threads can share the store.
"""

from __future__ import annotations

import copy
import enum
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

from matrx_orm.core.config import DatabaseProjectConfig, get_database_config
from matrx_orm.core.exceptions import CacheError

if TYPE_CHECKING:
    from matrx_orm.core.model_meta import ModelMeta

__all__ = [
    "CachePolicy",
    "CacheStore",
    "STORE",
    "TableKey",
    "table_key",
    "ttl_for",
    "pk_key",
    "instance_key",
    "DEFAULT_MAX_ENTRIES",
    "Ticket",
    "WriteMark",
]

#: ``(host, port, database name, schema, table)``: the identity every twin of a table shares.
TableKey = tuple[str, str, str, str, str]

DEFAULT_MAX_ENTRIES = 10_000

# A table keeps the generation of at most this many recently invalidated keys;
# past it the record is folded into the table's floor (in-flight reads of the
# table then simply do not store), so memory stays bounded under heavy writes.
_MAX_TRACKED_INVALIDATIONS = 4096

_MUTABLE = (dict, list, set, bytearray)


class CachePolicy(enum.Enum):
    """How long a model's cached rows live: ``PERMANENT`` never expires."""

    PERMANENT = "permanent"
    LONG_TERM = "long_term"
    SHORT_TERM = "short_term"
    INSTANT = "instant"

    @property
    def ttl(self) -> float | None:
        """Return the lifetime in seconds (None: never expires)."""
        return _POLICY_TTL[self]


_POLICY_TTL: dict[CachePolicy, float | None] = {
    CachePolicy.PERMANENT: None,
    CachePolicy.LONG_TERM: 4 * 3600.0,
    CachePolicy.SHORT_TERM: 10 * 60.0,
    CachePolicy.INSTANT: 60.0,
}


def ttl_for(meta: ModelMeta) -> float | None:
    """Return the TTL of ``meta``'s rows: ``_cache_timeout`` if set, else its policy's (0 disables caching)."""
    timeout = meta.cache_timeout
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise CacheError(
                f"{meta.name}._cache_timeout must be a number of seconds >= 0 (got {timeout!r})", model=meta.name
            )
        return float(timeout)
    policy = meta.cache_policy
    if policy is None:
        return _POLICY_TTL[CachePolicy.SHORT_TERM]
    if isinstance(policy, CachePolicy):
        return policy.ttl
    if isinstance(policy, str):
        try:
            return CachePolicy[policy.upper()].ttl
        except KeyError:
            pass
    raise CacheError(
        f"{meta.name}._cache_policy must be a CachePolicy (PERMANENT, LONG_TERM, SHORT_TERM, INSTANT), got {policy!r}",
        model=meta.name,
    )


def _database_identity(config: DatabaseProjectConfig) -> tuple[str, str, str]:
    return (str(config.host), str(config.port), str(config.database_name))


def table_key(meta: ModelMeta) -> TableKey:
    """Return the cache identity of ``meta``'s table (shared by twins and aliases of one database)."""
    config = get_database_config(meta.database)
    memo = meta.__dict__.get("_cache_table_key")
    if memo is not None and memo[0] is config:
        return memo[1]  # type: ignore[no-any-return]
    key: TableKey = (*_database_identity(config), meta.db_schema or "public", meta.table_name)
    meta.__dict__["_cache_table_key"] = (config, key)
    return key


def database_identity(database: str | None) -> tuple[str, str, str]:
    """Return ``(host, port, database name)`` of a registered database."""
    return _database_identity(get_database_config(database))


def _canonical(field: Any, value: Any) -> Any:
    if value is None:
        return None
    try:
        return field.clean(value)
    except Exception:
        # A value the field rejects cannot be a key we cached; keep it as given.
        return value


def pk_key(meta: ModelMeta, values: Any) -> Hashable:
    """Return the canonical cache key of a primary-key value (a tuple for composite keys).

    ``values`` is the bare value for a one-column key, or a sequence/dict of the
    key columns for a composite key. Strings and UUIDs (``"1f..."`` vs
    ``UUID("1f...")``) give the same key.
    """
    fields = meta.pk_fields
    if len(fields) == 1:
        if isinstance(values, dict):
            values = values[fields[0].name]
        return _canonical(fields[0], values)  # type: ignore[no-any-return]
    if isinstance(values, dict):
        return tuple(_canonical(f, values.get(f.name)) for f in fields)
    return tuple(_canonical(f, v) for f, v in zip(fields, values))


def instance_key(obj: Any) -> Hashable:
    """Return the cache key of a model instance (its primary key)."""
    meta = obj._meta
    data = obj.__dict__
    fields = meta.pk_fields
    if len(fields) == 1:
        return _canonical(fields[0], data.get(fields[0].name))  # type: ignore[no-any-return]
    return tuple(_canonical(f, data.get(f.name)) for f in fields)


class _Entry:
    __slots__ = ("values", "mutable", "expires")

    def __init__(self, values: dict[str, Any], mutable: tuple[str, ...], expires: float | None) -> None:
        self.values = values
        self.mutable = mutable
        self.expires = expires


class _Table:
    """One table's entries (in LRU order) and its invalidation bookkeeping."""

    __slots__ = (
        "meta", "entries", "generation", "floor", "invalidated", "pending", "pending_all",
        "hits", "misses", "evictions", "max_entries",
    )

    def __init__(self, meta: ModelMeta) -> None:
        self.meta = meta
        self.entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.generation = 0
        # Tickets older than the floor may not store (whole-table invalidation).
        self.floor = 0
        # key -> generation of its last invalidation.
        self.invalidated: dict[Hashable, int] = {}
        # Keys (or, with pending_all, every key) that a write in flight is changing.
        self.pending: dict[Hashable, int] = {}
        self.pending_all = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.max_entries: int | None = None


class Ticket:
    """What a read took before querying: where and when it may store its row."""

    __slots__ = ("table", "key", "generation", "meta")

    def __init__(self, table: _Table, key: Hashable, generation: int, meta: ModelMeta) -> None:
        self.table = table
        self.key = key
        self.generation = generation
        self.meta = meta


class WriteMark:
    """Keys a write in flight has marked (None: the whole table); give it back to ``end_write``."""

    __slots__ = ("table", "keys")

    def __init__(self, table: _Table, keys: tuple[Hashable, ...] | None) -> None:
        self.table = table
        self.keys = keys


def _snapshot(obj: Any, names: Iterable[str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    data = obj.__dict__
    values = {name: data.get(name) for name in names}
    mutable = tuple(name for name, value in values.items() if isinstance(value, _MUTABLE))
    for name in mutable:
        values[name] = copy.deepcopy(values[name])
    return values, mutable


class CacheStore:
    """Rows by primary key, per table; thread-safe; TTL and LRU bounded.

    Keys are canonical primary keys, as ``pk_key`` / ``instance_key`` return them.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.clock = clock
        self.default_max_entries = max_entries
        self.enabled = True
        self._lock = threading.Lock()
        self._tables: dict[TableKey, _Table] = {}

    # -- configuration ----------------------------------------------------
    def configure(self, *, enabled: bool | None = None, max_entries: int | None = None) -> None:
        """Turn caching on or off for the process, or change the default per-model bound."""
        if max_entries is not None:
            if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
                raise CacheError(f"max_entries must be a positive integer (got {max_entries!r})")
            with self._lock:
                self.default_max_entries = max_entries
                for table in self._tables.values():
                    self._evict(table, self._bound(table))
        if enabled is not None:
            self.enabled = bool(enabled)
            if not enabled:
                self.clear_all()

    def _bound(self, table: _Table) -> int:
        if table.max_entries is not None:
            return table.max_entries
        return self.default_max_entries

    def _table(self, key: TableKey, meta: ModelMeta) -> _Table:
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = _Table(meta)
        bound = meta.cache_max_entries
        if bound is not None:
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
                raise CacheError(
                    f"{meta.name}._cache_max_entries must be a positive integer (got {bound!r})", model=meta.name
                )
            table.max_entries = bound
        return table

    # -- reading ----------------------------------------------------------
    def lookup(self, meta: ModelMeta, key: Hashable) -> tuple[dict[str, Any] | None, Ticket | None]:
        """Return ``(values, None)`` on a hit, or ``(None, ticket)`` for the read that must follow.

        The ticket is None when ``meta`` is not cached (disabled, TTL 0, no key).
        """
        if not self.enabled or not meta.pk_fields:
            return None, None
        tkey = table_key(meta)
        with self._lock:
            table = self._table(tkey, meta)
            entry = table.entries.get(key)
            if entry is not None and not (table.pending_all or key in table.pending):
                if entry.expires is None or entry.expires > self.clock():
                    table.entries.move_to_end(key)
                    table.hits += 1
                    values = dict(entry.values)
                    for name in entry.mutable:
                        values[name] = copy.deepcopy(values[name])
                    return values, None
                del table.entries[key]
            table.misses += 1
            return None, Ticket(table, key, table.generation, meta)

    def ticket(self, meta: ModelMeta, key: Hashable) -> Ticket | None:
        """Return a ticket for a read that bypasses lookups but may refresh the entry."""
        if not self.enabled or not meta.pk_fields:
            return None
        tkey = table_key(meta)
        with self._lock:
            table = self._table(tkey, meta)
            return Ticket(table, key, table.generation, meta)

    def get(self, meta: ModelMeta, key: Hashable) -> dict[str, Any] | None:
        """Return a copy of the cached values of ``key`` (None when absent or expired)."""
        values, _ticket = self.lookup(meta, key)
        return values

    # -- storing ----------------------------------------------------------
    def store(self, ticket: Ticket, obj: Any) -> bool:
        """Store ``obj`` for the read that took ``ticket``, unless the key was invalidated since; return True if stored."""
        meta = ticket.meta
        ttl = ttl_for(meta)
        if ttl == 0:
            return False
        values, mutable = _snapshot(obj, meta.field_names)
        table = ticket.table
        key = ticket.key
        with self._lock:
            if not self.enabled:
                return False
            if ticket.generation < table.floor or table.invalidated.get(key, -1) > ticket.generation:
                return False
            if table.pending_all or key in table.pending:
                return False
            self._put(table, key, _Entry(values, mutable, None if ttl is None else self.clock() + ttl))
            return True

    def put(self, meta: ModelMeta, obj: Any) -> bool:
        """Store ``obj`` unconditionally (``StateManager.cache``); return True if stored."""
        if not self.enabled:
            return False
        meta.require_pk("caching")
        ttl = ttl_for(meta)
        if ttl == 0:
            return False
        key = instance_key(obj)
        if key is None or (isinstance(key, tuple) and None in key):
            raise CacheError(f"{meta.name}: cannot cache an instance without a primary key", model=meta.name)
        values, mutable = _snapshot(obj, meta.field_names)
        tkey = table_key(meta)
        with self._lock:
            table = self._table(tkey, meta)
            self._put(table, key, _Entry(values, mutable, None if ttl is None else self.clock() + ttl))
        return True

    def _put(self, table: _Table, key: Hashable, entry: _Entry) -> None:
        entries = table.entries
        entries[key] = entry
        entries.move_to_end(key)
        self._evict(table, self._bound(table))

    def _evict(self, table: _Table, bound: int) -> None:
        entries = table.entries
        while len(entries) > bound:
            entries.popitem(last=False)
            table.evictions += 1

    # -- writes -----------------------------------------------------------
    def begin_write(self, meta: ModelMeta, keys: Iterable[Hashable] | None) -> WriteMark:
        """Mark ``keys`` of ``meta``'s table (every key when None) as being written: not served, not stored."""
        tkey = table_key(meta)
        with self._lock:
            table = self._table(tkey, meta)
            table.generation += 1
            if keys is None:
                table.pending_all += 1
                return WriteMark(table, None)
            marked = tuple(keys)
            pending = table.pending
            for key in marked:
                pending[key] = pending.get(key, 0) + 1
                table.entries.pop(key, None)
            return WriteMark(table, marked)

    def end_write(self, mark: WriteMark, keys: Iterable[Hashable] | None) -> None:
        """Unmark a write once it committed (or failed), invalidating the keys it touched (None: all)."""
        table = mark.table
        with self._lock:
            if mark.keys is None:
                table.pending_all -= 1
            else:
                pending = table.pending
                for key in mark.keys:
                    left = pending.get(key, 0) - 1
                    if left > 0:
                        pending[key] = left
                    else:
                        pending.pop(key, None)
            self._invalidate_locked(table, keys)

    # -- invalidating -----------------------------------------------------
    def invalidate(self, meta: ModelMeta, keys: Iterable[Hashable] | None = None) -> None:
        """Forget ``keys`` of ``meta``'s table (every row when None) and fence off in-flight reads."""
        self.invalidate_table(table_key(meta), keys)

    def invalidate_table(self, tkey: TableKey, keys: Iterable[Hashable] | None = None) -> None:
        """Forget ``keys`` of the table ``tkey`` (every row when None)."""
        with self._lock:
            table = self._tables.get(tkey)
            if table is None:
                # Nothing cached and no read ticketed for this table: nothing to fence.
                return
            self._invalidate_locked(table, keys)

    def _invalidate_locked(self, table: _Table, keys: Iterable[Hashable] | None) -> None:
        table.generation += 1
        generation = table.generation
        if keys is None:
            table.entries.clear()
            table.invalidated.clear()
            table.floor = generation
            return
        entries = table.entries
        invalidated = table.invalidated
        for key in keys:
            entries.pop(key, None)
            invalidated[key] = generation
        if len(invalidated) > _MAX_TRACKED_INVALIDATIONS:
            invalidated.clear()
            table.floor = generation

    def invalidate_database(self, identity: tuple[str, str, str]) -> None:
        """Forget every row cached for the database ``(host, port, name)``."""
        with self._lock:
            tkeys = [k for k in self._tables if k[:3] == identity]
        for tkey in tkeys:
            self.invalidate_table(tkey, None)

    def clear(self, meta: ModelMeta) -> None:
        """Forget every cached row of ``meta``'s table."""
        self.invalidate(meta, None)

    def clear_all(self) -> None:
        """Forget every cached row of every table."""
        with self._lock:
            tkeys = list(self._tables)
        for tkey in tkeys:
            self.invalidate_table(tkey, None)

    # -- inspecting -------------------------------------------------------
    def has_table(self, tkey: TableKey) -> bool:
        """Return True when the store has ever cached (or ticketed a read of) ``tkey``."""
        return tkey in self._tables

    def table_meta(self, tkey: TableKey) -> ModelMeta | None:
        """Return the metadata the store uses for ``tkey`` (to canonicalise keys), if known."""
        table = self._tables.get(tkey)
        return table.meta if table is not None else None

    def count(self, meta: ModelMeta) -> int:
        """Return the number of live (unexpired) rows cached for ``meta``'s table."""
        tkey = table_key(meta)
        with self._lock:
            table = self._tables.get(tkey)
            if table is None:
                return 0
            self._purge_expired(table)
            return len(table.entries)

    def keys(self, meta: ModelMeta) -> list[Hashable]:
        """Return the keys of the live rows cached for ``meta``'s table, least recently used first."""
        tkey = table_key(meta)
        with self._lock:
            table = self._tables.get(tkey)
            if table is None:
                return []
            self._purge_expired(table)
            return list(table.entries)

    def stats(self, meta: ModelMeta) -> dict[str, int]:
        """Return ``{"entries", "hits", "misses", "evictions", "max_entries"}`` for ``meta``'s table."""
        tkey = table_key(meta)
        with self._lock:
            table = self._tables.get(tkey)
            if table is None:
                return {"entries": 0, "hits": 0, "misses": 0, "evictions": 0, "max_entries": self.default_max_entries}
            self._purge_expired(table)
            return {
                "entries": len(table.entries),
                "hits": table.hits,
                "misses": table.misses,
                "evictions": table.evictions,
                "max_entries": self._bound(table),
            }

    def _purge_expired(self, table: _Table) -> None:
        now = self.clock()
        dead = [k for k, e in table.entries.items() if e.expires is not None and e.expires <= now]
        for key in dead:
            del table.entries[key]


#: The process-wide store used by both packages.
STORE = CacheStore()
