"""The state cache store without a database: TTL, LRU, generation fencing, sharing, threads, messages."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from matrx_orm import (
    CacheError,
    CharField,
    DatabaseProjectConfig,
    ForeignKey,
    IntegerField,
    JSONField,
    Model,
    UUIDField,
    register_database,
    unregister_database,
)
from matrx_orm.core.cache_messages import apply_message, decode_message, encode_message
from matrx_orm.core.cache_scope import dependent_tables, keys_from_state
from matrx_orm.core.cache_store import CachePolicy, CacheStore, pk_key, table_key, ttl_for
from matrx_orm.core.query_state import Q, QueryState, build_where
from matrx_orm.state import CachePolicy as PublicCachePolicy
from matrx_orm_sync.state import CachePolicy as SyncCachePolicy

DB = "cache_l1"
ALIAS_DB = "cache_l1_alias"


@pytest.fixture(autouse=True, scope="module")
def fake_databases() -> Iterator[None]:
    """Two registered names for one (never contacted) database, one for another."""
    register_database(DatabaseProjectConfig(name=DB, host="db.invalid", database_name="app"))
    register_database(DatabaseProjectConfig(name=ALIAS_DB, host="db.invalid", database_name="app"))
    register_database(DatabaseProjectConfig(name="cache_l1_other", host="db.invalid", database_name="other"))
    yield
    for name in (DB, ALIAS_DB, "cache_l1_other"):
        unregister_database(name)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CacheL1Item(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=50, null=True)
    data = JSONField(null=True)
    _table_name = "cache_l1_item"
    _database = DB


class CacheL1ItemAgain(Model):
    """A second declaration of the same table, through another registered name of the same database."""

    id = UUIDField(primary_key=True)
    name = CharField(max_length=50, null=True)
    data = JSONField(null=True)
    _table_name = "cache_l1_item"
    _database = ALIAS_DB


class CacheL1Elsewhere(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=50, null=True)
    _table_name = "cache_l1_item"
    _database = "cache_l1_other"


class CacheL1Config(Model):
    id = IntegerField(primary_key=True)
    value = CharField(max_length=50, null=True)
    _cache_policy = CachePolicy.PERMANENT
    _table_name = "cache_l1_config"
    _database = DB


class CacheL1Long(Model):
    id = IntegerField(primary_key=True)
    _cache_policy = CachePolicy.LONG_TERM
    _table_name = "cache_l1_long"
    _database = DB


class CacheL1Instant(Model):
    id = IntegerField(primary_key=True)
    _cache_policy = CachePolicy.INSTANT
    _table_name = "cache_l1_instant"
    _database = DB


class CacheL1Session(Model):
    id = IntegerField(primary_key=True)
    _cache_timeout = 300
    _cache_policy = CachePolicy.PERMANENT  # the explicit timeout wins
    _table_name = "cache_l1_session"
    _database = DB


class CacheL1Never(Model):
    id = IntegerField(primary_key=True)
    _cache_timeout = 0
    _table_name = "cache_l1_never"
    _database = DB


class CacheL1Small(Model):
    id = IntegerField(primary_key=True)
    value = CharField(max_length=50, null=True)
    _cache_max_entries = 3
    _table_name = "cache_l1_small"
    _database = DB


class CacheL1Pair(Model):
    a = IntegerField()
    b = CharField(max_length=10)
    value = IntegerField(null=True)
    _primary_keys = ["a", "b"]
    _table_name = "cache_l1_pair"
    _database = DB


class CacheL1Parent(Model):
    id = IntegerField(primary_key=True)
    _table_name = "cache_l1_parent"
    _database = DB


class CacheL1Child(Model):
    id = IntegerField(primary_key=True)
    parent_id = ForeignKey("CacheL1Parent", "id")
    _table_name = "cache_l1_child"
    _database = DB


class CacheL1Grandchild(Model):
    id = IntegerField(primary_key=True)
    child_id = ForeignKey("CacheL1Child", "id")
    _table_name = "cache_l1_grandchild"
    _database = DB


def item(model: type = CacheL1Item, **values: object) -> object:
    obj = model(**values)
    obj._persisted = True
    return obj


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> CacheStore:
    return CacheStore(clock=clock)


def read(store: CacheStore, model: type, key: object) -> dict | None:
    return store.get(model._meta, pk_key(model._meta, key))


def fill(store: CacheStore, model: type, obj: object) -> bool:
    """Simulate a read by primary key that missed and stores what the database returned."""
    values, ticket = store.lookup(model._meta, obj.pk)
    assert values is None
    return store.store(ticket, obj)


# -- policies and TTL --------------------------------------------------------
def test_cache_policy_is_importable_from_both_packages():
    assert PublicCachePolicy is CachePolicy is SyncCachePolicy
    assert [p.name for p in CachePolicy] == ["PERMANENT", "LONG_TERM", "SHORT_TERM", "INSTANT"]


def test_ttl_of_each_policy_and_timeout_override():
    assert ttl_for(CacheL1Config._meta) is None
    assert ttl_for(CacheL1Long._meta) == 4 * 3600
    assert ttl_for(CacheL1Item._meta) == 600  # SHORT_TERM is the default
    assert ttl_for(CacheL1Instant._meta) == 60
    assert ttl_for(CacheL1Session._meta) == 300
    assert ttl_for(CacheL1Never._meta) == 0


def test_bad_policy_and_timeout_are_rejected_with_the_model_named():
    class BadPolicy(Model):
        id = IntegerField(primary_key=True)
        _cache_policy = "forever"
        _table_name = "cache_l1_bad"
        _database = DB

    class BadTimeout(Model):
        id = IntegerField(primary_key=True)
        _cache_timeout = -5
        _table_name = "cache_l1_bad2"
        _database = DB

    with pytest.raises(CacheError, match="BadPolicy._cache_policy"):
        ttl_for(BadPolicy._meta)
    with pytest.raises(CacheError, match="BadTimeout._cache_timeout"):
        ttl_for(BadTimeout._meta)


def test_short_term_entry_expires_after_ten_minutes(store, clock):
    obj = item(id=uuid.uuid4(), name="a")
    assert fill(store, CacheL1Item, obj)
    clock.now += 599
    assert read(store, CacheL1Item, obj.pk)["name"] == "a"
    clock.now += 2
    assert read(store, CacheL1Item, obj.pk) is None
    assert store.count(CacheL1Item._meta) == 0


def test_permanent_entry_never_expires_and_instant_expires_after_a_minute(store, clock):
    store.put(CacheL1Config._meta, item(CacheL1Config, id=1, value="x"))
    store.put(CacheL1Instant._meta, item(CacheL1Instant, id=1))
    clock.now += 61
    assert read(store, CacheL1Instant, 1) is None
    clock.now += 10 * 365 * 86400
    assert read(store, CacheL1Config, 1) == {"id": 1, "value": "x"}


def test_explicit_timeout_overrides_policy(store, clock):
    store.put(CacheL1Session._meta, item(CacheL1Session, id=7))
    clock.now += 299
    assert read(store, CacheL1Session, 7) is not None
    clock.now += 2
    assert read(store, CacheL1Session, 7) is None


def test_timeout_zero_disables_caching(store):
    assert store.put(CacheL1Never._meta, item(CacheL1Never, id=1)) is False
    assert fill(store, CacheL1Never, item(CacheL1Never, id=2)) is False
    assert store.count(CacheL1Never._meta) == 0


def test_count_ignores_expired_entries(store, clock):
    store.put(CacheL1Instant._meta, item(CacheL1Instant, id=1))
    clock.now += 30
    store.put(CacheL1Instant._meta, item(CacheL1Instant, id=2))
    assert store.count(CacheL1Instant._meta) == 2
    clock.now += 31
    assert store.count(CacheL1Instant._meta) == 1


# -- LRU -----------------------------------------------------------------------
def test_lru_bound_evicts_least_recently_used(store):
    meta = CacheL1Small._meta
    for i in range(1, 4):
        store.put(meta, item(CacheL1Small, id=i))
    assert read(store, CacheL1Small, 1) is not None  # 1 becomes most recently used
    store.put(meta, item(CacheL1Small, id=4))
    assert store.keys(meta) == [3, 1, 4]
    assert read(store, CacheL1Small, 2) is None
    assert store.stats(meta)["evictions"] == 1
    for i in range(5, 50):
        store.put(meta, item(CacheL1Small, id=i))
    assert store.count(meta) == 3


def test_global_default_bound_is_configurable(clock):
    store = CacheStore(clock=clock, max_entries=5)
    for i in range(20):
        store.put(CacheL1Config._meta, item(CacheL1Config, id=i))
    assert store.count(CacheL1Config._meta) == 5
    store.configure(max_entries=2)
    assert store.keys(CacheL1Config._meta) == [18, 19]
    with pytest.raises(CacheError):
        store.configure(max_entries=0)


def test_disabled_store_caches_nothing(store):
    store.configure(enabled=False)
    assert store.put(CacheL1Config._meta, item(CacheL1Config, id=1)) is False
    assert store.lookup(CacheL1Config._meta, 1) == (None, None)
    store.configure(enabled=True)
    assert store.put(CacheL1Config._meta, item(CacheL1Config, id=1)) is True


# -- identity: twins, aliases, keys ---------------------------------------------
def test_twins_and_two_declarations_of_one_table_share_entries(store):
    obj = item(id=uuid.uuid4(), name="shared")
    store.put(CacheL1Item._meta, obj)
    assert CacheL1Item.sync._meta is CacheL1Item._meta
    assert table_key(CacheL1ItemAgain._meta) == table_key(CacheL1Item._meta)
    assert read(store, CacheL1ItemAgain, obj.pk)["name"] == "shared"
    store.invalidate(CacheL1ItemAgain._meta, [obj.pk])
    assert read(store, CacheL1Item, obj.pk) is None


def test_same_table_in_another_database_is_separate(store):
    obj = item(id=uuid.uuid4(), name="here")
    store.put(CacheL1Item._meta, obj)
    assert read(store, CacheL1Elsewhere, obj.pk) is None
    assert table_key(CacheL1Elsewhere._meta) != table_key(CacheL1Item._meta)


def test_key_forms_are_canonical(store):
    pk = uuid.uuid4()
    store.put(CacheL1Item._meta, item(id=pk, name="a"))
    assert read(store, CacheL1Item, str(pk))["name"] == "a"
    assert read(store, CacheL1Item, {"id": str(pk)})["name"] == "a"
    store.put(CacheL1Pair._meta, item(CacheL1Pair, a=1, b="x", value=5))
    assert read(store, CacheL1Pair, (1, "x"))["value"] == 5
    assert read(store, CacheL1Pair, {"b": "x", "a": "1"})["value"] == 5


def test_cached_values_are_isolated_from_callers(store):
    pk = uuid.uuid4()
    obj = item(id=pk, data={"tags": ["a"]})
    store.put(CacheL1Item._meta, obj)
    obj.data["tags"].append("mutated after caching")
    first = read(store, CacheL1Item, pk)
    assert first["data"] == {"tags": ["a"]}
    first["data"]["tags"].append("mutated by a reader")
    assert read(store, CacheL1Item, pk)["data"] == {"tags": ["a"]}


def test_put_requires_a_primary_key_value(store):
    with pytest.raises(CacheError, match="without a primary key"):
        store.put(CacheL1Config._meta, item(CacheL1Config, id=None))


# -- generation fencing ----------------------------------------------------------
def test_read_overlapping_an_invalidation_of_its_key_does_not_store(store):
    pk = uuid.uuid4()
    _values, ticket = store.lookup(CacheL1Item._meta, pk)  # read starts, queries: sees the old row
    store.invalidate(CacheL1Item._meta, [pk])  # a write commits and invalidates
    assert store.store(ticket, item(id=pk, name="old")) is False
    assert read(store, CacheL1Item, pk) is None


def test_read_overlapping_a_whole_table_invalidation_does_not_store(store):
    pk = uuid.uuid4()
    _values, ticket = store.lookup(CacheL1Item._meta, pk)
    store.clear(CacheL1Item._meta)
    assert store.store(ticket, item(id=pk, name="old")) is False


def test_invalidation_of_another_key_does_not_block_a_read(store):
    pk, other = uuid.uuid4(), uuid.uuid4()
    _values, ticket = store.lookup(CacheL1Item._meta, pk)
    store.invalidate(CacheL1Item._meta, [other])
    assert store.store(ticket, item(id=pk, name="fresh")) is True


def test_read_started_after_the_invalidation_stores(store):
    pk = uuid.uuid4()
    store.invalidate(CacheL1Item._meta, [pk])
    assert fill(store, CacheL1Item, item(id=pk, name="new")) is True


def test_invalidation_bookkeeping_stays_bounded_and_still_fences(store):
    pk = uuid.uuid4()
    _values, ticket = store.lookup(CacheL1Item._meta, pk)
    for _ in range(5000):
        store.invalidate(CacheL1Item._meta, [uuid.uuid4()])
    table = store._tables[table_key(CacheL1Item._meta)]
    assert len(table.invalidated) <= 4096
    # Folding the bookkeeping into the floor errs on the safe side: old tickets no longer store.
    assert store.store(ticket, item(id=pk)) is False


def test_a_write_in_flight_hides_its_keys_until_it_ends(store):
    pk, other = uuid.uuid4(), uuid.uuid4()
    store.put(CacheL1Item._meta, item(id=pk, name="old"))
    store.put(CacheL1Item._meta, item(id=other, name="other"))
    mark = store.begin_write(CacheL1Item._meta, [pk])
    # Between the commit and the end of the write nobody may be handed the old row...
    assert read(store, CacheL1Item, pk) is None
    # ...nor store what it read meanwhile.
    _values, ticket = store.lookup(CacheL1Item._meta, pk)
    assert store.store(ticket, item(id=pk, name="read during the write")) is False
    assert read(store, CacheL1Item, other)["name"] == "other"
    store.end_write(mark, [pk])
    assert store.store(ticket, item(id=pk, name="read during the write")) is False
    assert fill(store, CacheL1Item, item(id=pk, name="new")) is True
    assert read(store, CacheL1Item, pk)["name"] == "new"


def test_a_whole_table_write_hides_every_key_then_invalidates_only_what_it_touched(store):
    pk, other = uuid.uuid4(), uuid.uuid4()
    store.put(CacheL1Item._meta, item(id=pk, name="old"))
    store.put(CacheL1Item._meta, item(id=other, name="other"))
    third = uuid.uuid4()
    _values, early = store.lookup(CacheL1Item._meta, third)
    mark = store.begin_write(CacheL1Item._meta, None)
    assert read(store, CacheL1Item, pk) is None and read(store, CacheL1Item, other) is None
    assert store.store(early, item(id=third)) is False  # the table is marked: nothing is stored
    store.end_write(mark, [pk])  # RETURNING said only pk changed
    assert read(store, CacheL1Item, pk) is None
    assert read(store, CacheL1Item, other)["name"] == "other"
    _values, late = store.lookup(CacheL1Item._meta, third)
    assert store.store(late, item(id=third)) is True


def test_overlapping_writes_keep_the_key_hidden_until_the_last_ends(store):
    pk = uuid.uuid4()
    first = store.begin_write(CacheL1Item._meta, [pk])
    second = store.begin_write(CacheL1Item._meta, [pk])
    store.end_write(first, [pk])
    _values, ticket = store.lookup(CacheL1Item._meta, pk)
    assert store.store(ticket, item(id=pk)) is False
    store.end_write(second, [pk])
    assert fill(store, CacheL1Item, item(id=pk, name="after both")) is True


def test_invalidate_database_clears_only_that_database(store):
    a = item(id=uuid.uuid4(), name="a")
    b = item(CacheL1Elsewhere, id=uuid.uuid4(), name="b")
    store.put(CacheL1Item._meta, a)
    store.put(CacheL1Elsewhere._meta, b)
    store.invalidate_database(table_key(CacheL1Item._meta)[:3])
    assert read(store, CacheL1Item, a.pk) is None
    assert read(store, CacheL1Elsewhere, b.pk) is not None


# -- threads ---------------------------------------------------------------------
def test_threads_never_see_a_value_older_than_the_last_completed_write(store):
    """Simulate the ORM protocol on a fake table: writers commit then invalidate; readers fill."""
    meta = CacheL1Small._meta
    db: dict[int, int] = {k: 0 for k in range(3)}
    committed: dict[int, int] = {k: 0 for k in range(3)}
    db_lock = threading.Lock()
    writing = threading.Event()
    writing.set()
    errors: list[str] = []

    def writer(seed: int) -> None:
        for n in range(1, 300):
            key = (seed + n) % 3
            with db_lock:  # the write commits
                value = db[key] + 1
                db[key] = value
            store.invalidate(meta, [key])  # ...and then invalidates
            with db_lock:
                committed[key] = max(committed[key], value)
            time.sleep(0.0005)

    def reader(seed: int) -> None:
        n = 0
        while writing.is_set() or n < 100:
            n += 1
            key = (seed + n) % 3
            with db_lock:
                floor = committed[key]
            values, ticket = store.lookup(meta, key)
            if values is None:
                with db_lock:
                    seen = db[key]
                time.sleep(0.0002)  # a query takes time: writes commit meanwhile
                store.store(ticket, item(CacheL1Small, id=key, value=str(seen)))
            else:
                seen = int(values["value"])
            if seen < floor:
                errors.append(f"key {key}: saw {seen} after {floor} was committed")

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    readers = [threading.Thread(target=reader, args=(i,)) for i in range(6)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    writing.clear()
    for t in readers:
        t.join()
    assert errors == []
    assert store.count(meta) <= 3
    for key, value in db.items():
        cached = read(store, CacheL1Small, key)
        assert cached is None or int(cached["value"]) == value


# -- what writes touch -------------------------------------------------------------
def state(model: type, *args: object, negated: bool = False, **kwargs: object) -> QueryState:
    meta = model._meta
    return QueryState(meta).add_where(build_where(meta, args, kwargs, negated=negated))


def test_keys_from_a_filter_that_pins_the_primary_key():
    pk = uuid.uuid4()
    assert keys_from_state(state(CacheL1Item, id=str(pk))) == [pk]
    assert keys_from_state(state(CacheL1Item, id=pk, name="x")) == [pk]
    assert keys_from_state(state(CacheL1Config, id__in=[1, 2])) == [1, 2]
    assert keys_from_state(state(CacheL1Pair, a=1, b="x")) == [(1, "x")]


def test_filters_that_do_not_pin_the_key_touch_the_whole_table():
    assert keys_from_state(state(CacheL1Item, name="x")) is None
    assert keys_from_state(state(CacheL1Config, id__gt=3)) is None
    assert keys_from_state(state(CacheL1Config, Q(id=1) | Q(value="x"))) is None
    assert keys_from_state(state(CacheL1Config, negated=True, id=1)) is None
    assert keys_from_state(state(CacheL1Pair, a=1)) is None
    assert keys_from_state(QueryState(CacheL1Config._meta)) is None


def test_deletes_reach_tables_that_reference_the_deleted_one_transitively():
    found = {m.name for m, _key in dependent_tables(CacheL1Parent._meta)}
    assert found == {"CacheL1Child", "CacheL1Grandchild"}
    assert dependent_tables(CacheL1Grandchild._meta) == []


# -- cross-process messages ----------------------------------------------------------
def test_message_round_trip_and_application(store):
    pk = uuid.uuid4()
    store.put(CacheL1Item._meta, item(id=pk, name="a"))
    store.put(CacheL1Pair._meta, item(CacheL1Pair, a=1, b="x"))
    store.put(CacheL1Config._meta, item(CacheL1Config, id=1))
    payload = encode_message(
        [(table_key(CacheL1Item._meta), [pk]), (table_key(CacheL1Pair._meta), [(1, "x")]), (table_key(CacheL1Config._meta), None)]
    )
    origin, items = decode_message(payload)
    assert items[0] == ("public", "cache_l1_item", [str(pk)])
    # Our own messages are ignored...
    assert apply_message(table_key(CacheL1Item._meta)[:3], payload, store) == 0
    assert read(store, CacheL1Item, pk) is not None
    # ...another process's are applied, with keys canonicalised back (str -> UUID).
    foreign = json.dumps({**json.loads(payload), "o": "another-process"})
    assert apply_message(table_key(CacheL1Item._meta)[:3], foreign, store) == 3
    assert read(store, CacheL1Item, pk) is None
    assert read(store, CacheL1Pair, (1, "x")) is None
    assert store.count(CacheL1Config._meta) == 0


def test_oversized_message_degrades_to_whole_table():
    keys = [uuid.uuid4() for _ in range(500)]
    payload = encode_message([(table_key(CacheL1Item._meta), keys)])
    assert len(payload.encode()) < 8000
    assert decode_message(payload)[1] == [("public", "cache_l1_item", None)]


def test_malformed_messages_are_rejected():
    for bad in ('{"o": "x"}', "[1, 2]", '{"o": "x", "i": [[1, 2]]}', '{"o": "x", "i": [["s", "t", 5]]}'):
        with pytest.raises(ValueError):
            decode_message(bad)
