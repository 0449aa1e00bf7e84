# WARNING: generated from tests/level2/aio/test_cache.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""The state cache against PostgreSQL: SPEC's "State Caching", every write path, transactions, concurrency."""

from __future__ import annotations

import itertools
import threading
import time
from uuid import uuid4

import pytest

from matrx_orm_sync import BaseManager, CacheError, capture_queries, transaction
from matrx_orm.core.compat_sync import gather, run_in_worker
from matrx_orm.core.query_log import query_hooks
from matrx_orm_sync.state import StateManager
from tests.level2.cache_db import cache_db, clock  # noqa: F401  (fixtures)
from tests.models_sync import Document, Membership, Post, User
from tests.models_cache_sync import (
    CacheChild,
    CacheItem,
    CacheItemAlias,
    CacheItemTag,
    CacheParent,
    CacheSetting,
    CacheTag,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("cache_db")]


def email_in_db(db, user_id):
    row = db.execute('SELECT email FROM "user" WHERE id = %s', [user_id]).fetchone()
    return row[0] if row else None


def cached_user(username="alice", email="old@example.com"):
    """Create a user and load it once, so it is cached."""
    user = User.create(username=username, email=email)
    User.get(id=user.id)
    return user


def assert_served_from_cache(model, **pk):
    with capture_queries() as queries:
        obj = model.get(**pk)
    assert queries == [], f"expected a cache hit, got {queries}"
    return obj


# -- reads -------------------------------------------------------------------------
def test_get_by_pk_populates_the_cache_and_the_next_get_sends_no_query(db):
    user = User.create(username="alice", email="a@example.com")
    with capture_queries() as queries:
        first = User.get(id=user.id)
        second = User.get(id=user.id)
        third = User.get(id=str(user.id))  # the string form of the key hits too
        fourth = User.get_or_none(id=user.id)
    assert len(queries) == 1 and queries[0].startswith("SELECT")
    assert first.email == second.email == third.email == fourth.email == "a@example.com"
    assert second is not first and second.id == user.id
    assert StateManager.count(User) == 1


def test_composite_key_get_is_cached(db):
    user = User.create(username="alice", email="a@x")
    Membership.create(user_id=user.id, group_name="admins", role="owner")
    assert (Membership.get(user_id=user.id, group_name="admins")).role == "owner"
    cached = assert_served_from_cache(Membership, user_id=str(user.id), group_name="admins")
    assert cached.role == "owner"


def test_a_row_changed_behind_the_orms_back_stays_cached_until_ttl_or_use_cache_false(db, clock):
    user = cached_user()
    db.execute('UPDATE "user" SET email = %s WHERE id = %s', ["behind@example.com", user.id])
    # Still the cached row: nothing told this process about the raw UPDATE.
    assert (assert_served_from_cache(User, id=user.id)).email == "old@example.com"
    # use_cache=False always asks the database, and refreshes the cache with what it got.
    with capture_queries() as queries:
        assert (User.get(use_cache=False, id=user.id)).email == "behind@example.com"
    assert len(queries) == 1
    assert (assert_served_from_cache(User, id=user.id)).email == "behind@example.com"
    # SHORT_TERM (the default) lives ten minutes.
    db.execute('UPDATE "user" SET email = %s WHERE id = %s', ["later@example.com", user.id])
    clock.advance(599)
    assert (assert_served_from_cache(User, id=user.id)).email == "behind@example.com"
    clock.advance(2)
    with capture_queries() as queries:
        assert (User.get(id=user.id)).email == "later@example.com"
    assert len(queries) == 1


def test_use_cache_false_queries_every_time(db):
    user = cached_user()
    with capture_queries() as queries:
        for _ in range(3):
            User.get(use_cache=False, id=user.id)
    assert len(queries) == 3


def test_missing_rows_are_not_cached(db):
    new_id = uuid4()
    assert User.get_or_none(id=new_id) is None
    User.create(id=new_id, username="late", email="late@x")
    assert (User.get(id=new_id)).username == "late"
    User.bulk_create([{"id": str(uuid4()), "username": "b", "email": "b@x"}])
    assert User.count() == 2


def test_callers_cannot_corrupt_the_cache_by_mutating_what_they_got(cache_db):
    CacheItem.create(id=1, name="a", data={"tags": ["x"]})
    item = CacheItem.get(id=1)
    item.name = "changed locally"
    item.data["tags"].append("y")
    cached = assert_served_from_cache(CacheItem, id=1)
    assert cached.name == "a" and cached.data == {"tags": ["x"]}


def test_filters_other_than_the_primary_key_are_not_cached(db):
    User.create(username="alice", email="a@x")
    with capture_queries() as queries:
        User.get(username="alice")
        User.get(username="alice")
    assert len(queries) == 2


# -- every write path invalidates -----------------------------------------------------
def _save(user):
    obj = User.get(id=user.id)
    obj.email = "new@example.com"
    obj.save()


def _save_update_fields(user):
    obj = User.get(id=user.id)
    obj.email = "new@example.com"
    obj.save(update_fields=["email"])


def _instance_update(user):
    obj = User.get(id=user.id)
    obj.update(email="new@example.com")


def _instance_delete(user):
    obj = User.get(id=user.id)
    obj.delete()


def _qs_update_by_pk(user):
    assert User.filter(id=user.id).update(email="new@example.com") == 1


def _qs_update_by_other_field(user):
    assert User.filter(username=user.username).update(email="new@example.com") == 1


def _qs_update_returning(user):
    assert len(User.filter(username=user.username).update_returning(email="new@example.com")) == 1


def _qs_delete_by_pk(user):
    assert User.filter(id=user.id).delete() == 1


def _qs_delete_by_other_field(user):
    assert User.filter(username=user.username).delete() == 1


def _qs_delete_returning(user):
    assert len(User.filter(username=user.username).delete_returning()) == 1


def _update_where(user):
    result = User.update_where({"username": user.username}, email="new@example.com")
    assert result["rows_affected"] == 1


def _delete_where(user):
    assert User.delete_where(username=user.username) == 1


def _bulk_update(user):
    obj = User.get(id=user.id)
    obj.email = "new@example.com"
    assert User.bulk_update([obj], ["email"]) == 1


def _bulk_update_batched(user):
    obj = User.get(id=user.id)
    other = User.create(username="third", email="t@x")
    obj.email = "new@example.com"
    assert User.bulk_update([other, obj], ["email"], batch_size=1) == 2


def _bulk_delete_instances(user):
    assert User.bulk_delete([user]) == 1


def _bulk_delete_keys(user):
    assert User.bulk_delete([str(user.id)]) == 1


def _upsert(user):
    User.upsert(
        data={"id": str(user.id), "username": user.username, "email": "new@example.com"}, conflict_fields=["id"]
    )


def _bulk_upsert(user):
    User.bulk_upsert(
        objects_data=[{"username": user.username, "email": "new@example.com"}, {"username": "fresh", "email": "f@x"}],
        conflict_fields=["username"],
        update_fields=["email"],
    )


def _in_transaction(user):
    with transaction("test_db"):
        User.filter(id=user.id).update(email="new@example.com")


def _sync_twin_update(user):
    assert User.sync.filter(id=user.id).update(email="new@example.com") == 1


def _sync_twin_delete(user):
    assert User.sync.delete_where(id=user.id) == 1


def _manager_update_item(user):
    BaseManager(User).update_item(user.id, email="new@example.com")


def _manager_delete_item(user):
    assert BaseManager(User).delete_item(user.id) == 1


# name -> (write, whether it names the rows it touched so other cached rows survive)
WRITE_PATHS = {
    "instance save()": (_save, True),
    "instance save(update_fields=)": (_save_update_fields, True),
    "instance update()": (_instance_update, True),
    "instance delete()": (_instance_delete, True),
    "QuerySet.update() by pk": (_qs_update_by_pk, True),
    "QuerySet.update() by other field": (_qs_update_by_other_field, False),
    "QuerySet.update_returning()": (_qs_update_returning, True),
    "QuerySet.delete() by pk": (_qs_delete_by_pk, True),
    "QuerySet.delete() by other field": (_qs_delete_by_other_field, False),
    "QuerySet.delete_returning()": (_qs_delete_returning, True),
    "update_where()": (_update_where, True),
    "delete_where()": (_delete_where, False),
    "bulk_update()": (_bulk_update, True),
    "bulk_update() in batches": (_bulk_update_batched, True),
    "bulk_delete(instances)": (_bulk_delete_instances, True),
    "bulk_delete(keys)": (_bulk_delete_keys, True),
    "upsert()": (_upsert, True),
    "bulk_upsert()": (_bulk_upsert, True),
    "write inside transaction()": (_in_transaction, True),
    "sync twin update()": (_sync_twin_update, True),
    "sync twin delete_where()": (_sync_twin_delete, True),
    "BaseManager.update_item()": (_manager_update_item, True),
    "BaseManager.delete_item()": (_manager_delete_item, True),
}


@pytest.mark.parametrize("path", list(WRITE_PATHS))
def test_write_path_invalidates_what_it_touched(db, path):
    write, precise = WRITE_PATHS[path]
    user = cached_user(username="target")
    bystander = cached_user(username="bystander", email="by@example.com")
    assert (assert_served_from_cache(User, id=user.id)).email == "old@example.com"

    write(user)

    in_db = email_in_db(db, user.id)
    assert in_db != "old@example.com"  # the write happened (new value, or the row is gone)
    got = User.get_or_none(id=user.id)
    assert (got.email if got is not None else None) == in_db
    # The bystander row is still right; precise writes did not even evict it.
    if precise:
        assert (assert_served_from_cache(User, id=bystander.id)).email == "by@example.com"
    else:
        assert (User.get(id=bystander.id)).email == "by@example.com"


def test_async_write_invalidates_sync_cache_and_reverse(db):
    user = User.create(username="alice", email="a@x")
    SyncUser = User.sync
    # sync read caches; async write; sync read sees it
    assert SyncUser.get(id=user.id).email == "a@x"
    User.filter(id=user.id).update(email="from-async@x")
    assert SyncUser.get(id=user.id).email == "from-async@x"
    # async read caches; sync write; async read sees it
    assert (User.get(id=user.id)).email == "from-async@x"
    SyncUser.filter(id=user.id).update(email="from-sync@x")
    assert (User.get(id=user.id)).email == "from-sync@x"
    # and they share one entry
    assert StateManager.count(User) == 1


def test_two_declarations_of_one_table_share_entries_and_invalidate_each_other(cache_db):
    CacheItem.create(id=1, name="a")
    CacheItem.get(id=1)
    assert (assert_served_from_cache(CacheItemAlias, id=1)).name == "a"
    CacheItemAlias.filter(id=1).update(name="via alias")
    assert (CacheItem.get(id=1)).name == "via alias"


def test_deleting_a_parent_invalidates_rows_changed_by_cascade_and_set_null(db, cache_db):
    author = User.create(username="author", email="a@x")
    post = Post.create(title="p", author_id=author.id)
    Post.get(id=post.id)
    CacheParent.create(id=1, name="parent")
    CacheChild.create(id=1, parent_id=1, name="child")
    assert (CacheChild.get(id=1)).parent_id == 1

    author.delete()  # ON DELETE CASCADE removes the post
    assert Post.get_or_none(id=post.id) is None
    CacheParent.filter(id=1).delete()  # ON DELETE SET NULL rewrites the child
    assert (CacheChild.get(id=1)).parent_id is None
    assert cache_db.execute("SELECT parent_id FROM cache_child WHERE id = 1").fetchone() == (None,)


def test_many_to_many_writes_invalidate_a_junction_table_mapped_as_a_model(cache_db):
    item = CacheItem.create(id=1, name="item")
    CacheTag.create(id=1, name="t1")
    CacheTag.create(id=2, name="t2")
    item.add_m2m("tags", 1)
    assert (CacheItemTag.get(item_id=1, tag_id=1)).note is None
    item.remove_m2m("tags", 1)
    assert CacheItemTag.get_or_none(item_id=1, tag_id=1) is None
    item.set_m2m("tags", [2])
    assert CacheItemTag.get_or_none(item_id=1, tag_id=2) is not None
    item.clear_m2m("tags")
    assert CacheItemTag.get_or_none(item_id=1, tag_id=2) is None
    assert cache_db.execute("SELECT count(*) FROM cache_item_tag").fetchone() == (0,)


def test_optimistic_lock_failure_drops_the_stale_cached_row(db):
    doc = Document.create(title="v1")
    cached = Document.get(id=doc.id)
    db.execute("UPDATE archive.document SET title = 'elsewhere', version = version + 1 WHERE id = %s", [doc.id])
    cached.title = "mine"
    with pytest.raises(Exception, match="changed by someone else"):
        cached.save()
    assert (Document.get(id=doc.id)).title == "elsewhere"


# -- transactions -----------------------------------------------------------------------
def test_reads_inside_a_transaction_bypass_the_cache(db):
    user = cached_user()
    with transaction("test_db"):
        with capture_queries() as queries:
            User.get(id=user.id)
            User.get(id=user.id)
        assert len(queries) == 2
        User.filter(id=user.id).update(email="uncommitted@x")
        assert (User.get(id=user.id)).email == "uncommitted@x"  # sees its own write
    assert (User.get(id=user.id)).email == "uncommitted@x"


def test_rollback_leaves_nothing_stale(db):
    user = cached_user()
    with pytest.raises(RuntimeError):
        with transaction("test_db"):
            User.filter(id=user.id).update(email="rolled-back@x")
            assert (User.get(id=user.id)).email == "rolled-back@x"
            raise RuntimeError("abort")
    assert email_in_db(db, user.id) == "old@example.com"
    assert (User.get(id=user.id)).email == "old@example.com"
    assert (User.get(use_cache=False, id=user.id)).email == "old@example.com"


def test_commit_invalidates_rows_re_cached_by_others_during_the_transaction(db):
    user = cached_user()
    seen_outside: list[str] = []

    def read_from_another_thread() -> None:
        # Another thread is outside the transaction: it reads (and caches) the committed row.
        seen_outside.append(User.sync.get(id=user.id).email)

    with transaction("test_db"):
        User.filter(id=user.id).update(email="committed@x")
        reader = threading.Thread(target=read_from_another_thread)
        reader.start()
        reader.join()
    assert seen_outside == ["old@example.com"]
    assert (User.get(id=user.id)).email == "committed@x"


def test_nested_savepoint_rollback_keeps_the_cache_right(db):
    user = cached_user()
    with transaction("test_db"):
        User.filter(id=user.id).update(email="outer@x")
        with pytest.raises(RuntimeError):
            with transaction("test_db"):
                User.filter(id=user.id).update(email="inner@x")
                raise RuntimeError("inner abort")
    assert (User.get(id=user.id)).email == "outer@x" == email_in_db(db, user.id)


# -- bounds and policies --------------------------------------------------------------------
def test_lru_bound_holds_and_evicted_rows_are_fetched_again(cache_db):
    CacheItem.bulk_create([{"id": i, "name": f"n{i}"} for i in range(1, 9)])
    evicted_before = StateManager.stats(CacheItem)["evictions"]
    for i in range(1, 9):
        CacheItem.get(id=i)
    assert StateManager.count(CacheItem) == 5
    assert StateManager.stats(CacheItem)["evictions"] - evicted_before == 3
    assert_served_from_cache(CacheItem, id=8)
    with capture_queries() as queries:
        assert (CacheItem.get(id=1)).name == "n1"
    assert len(queries) == 1
    assert StateManager.count(CacheItem) == 5


def test_global_switch_and_default_bound(db):
    StateManager.configure(enabled=False)
    user = User.create(username="a", email="a@x")
    with capture_queries() as queries:
        User.get(id=user.id)
        User.get(id=user.id)
    assert len(queries) == 2
    StateManager.configure(enabled=True, max_entries=1)
    other = User.create(username="b", email="b@x")
    User.get(id=user.id)
    User.get(id=other.id)
    assert StateManager.count(User) == 1


def test_permanent_policy_model_never_expires(cache_db, clock):
    CacheTag.create(id=1, name="x")
    CacheSetting.get(id=1)
    clock.advance(365 * 86400)
    assert (assert_served_from_cache(CacheSetting, id=1)).name == "x"
    # The entry belongs to the table: CacheTag (same table) shares it. A row cached
    # through CacheTag itself gets CacheTag's policy (SHORT_TERM, ten minutes).
    assert (assert_served_from_cache(CacheTag, id=1)).name == "x"
    CacheTag.create(id=2, name="y")
    CacheTag.get(id=2)
    clock.advance(601)
    with capture_queries() as queries:
        CacheSetting.get(id=2)
    assert len(queries) == 1


# -- StateManager, as SPEC shows it -------------------------------------------------------------
def test_state_manager_spec_calls(db):
    user = User.create(username="alice", email="a@x")
    assert StateManager.count(User) == 0

    StateManager.cache(User, user)
    assert StateManager.count(User) == 1
    assert (assert_served_from_cache(User, id=user.id)).username == "alice"
    assert (StateManager.get(User, user.id)).email == "a@x"

    StateManager.remove(User, user)
    assert StateManager.count(User) == 0
    assert StateManager.get(User, user.id) is None

    other = User.create(username="bob", email="b@x")
    User.get(id=user.id)
    User.get(id=other.id)
    assert StateManager.count(User) == 2
    StateManager.remove(User, str(other.id))  # a key works as well as an instance
    assert StateManager.count(User) == 1
    StateManager.clear_cache(User)
    assert StateManager.count(User) == 0

    user = User.get(use_cache=False, id=user.id)
    assert user.email == "a@x"


def test_state_manager_rejects_what_it_cannot_cache(db):
    user = User.create(username="alice", email="a@x")
    with pytest.raises(CacheError, match="takes a Post instance"):
        StateManager.cache(Post, user)
    with pytest.raises(CacheError, match="takes a model class"):
        StateManager.count("User")


# -- concurrency ------------------------------------------------------------------------------------
def test_tasks_and_threads_never_see_a_value_older_than_the_last_committed_write(cache_db):
    """Many tasks (async) and threads (sync twin) read and write the same three rows for a while.

    Writes only ever raise a row's ``views``, so "older" is well defined: after a
    write of ``v`` has returned, nobody in this process may read less than ``v``.
    """
    keys = [1, 2, 3]
    CacheItem.bulk_create([{"id": k, "views": 0} for k in keys])
    values = itertools.count(1)
    committed = {k: 0 for k in keys}
    lock = threading.Lock()
    errors: list[str] = []
    counts = {"reads": 0, "writes": 0}
    deadline = time.monotonic() + 1.5

    def record(key: int, value: int) -> None:
        with lock:
            committed[key] = max(committed[key], value)
            counts["writes"] += 1

    def floor(key: int) -> int:
        with lock:
            return committed[key]

    def check(who: str, key: int, before: int, seen: int) -> None:
        with lock:
            counts["reads"] += 1
        if seen < before:
            errors.append(f"{who}: key {key} read {seen} after {before} was committed")

    def task(n: int) -> None:
        step = 0
        while time.monotonic() < deadline:
            step += 1
            key = keys[(n + step) % len(keys)]
            if (n + step) % 4 == 0:
                value = next(values)
                if step % 2:
                    CacheItem.filter(id=key, views__lt=value).update(views=value)
                else:
                    CacheItem.update_where({"id": key, "views__lt": value}, views=value)
                record(key, value)
            else:
                before = floor(key)
                check(f"task {n}", key, before, (CacheItem.get(id=key)).views)

    def thread_worker(n: int) -> None:
        SyncItem = CacheItem.sync
        step = 0
        while time.monotonic() < deadline:
            step += 1
            key = keys[(n + step) % len(keys)]
            if (n + step) % 4 == 0:
                value = next(values)
                SyncItem.filter(id=key, views__lt=value).update(views=value)
                record(key, value)
            else:
                before = floor(key)
                check(f"thread {n}", key, before, SyncItem.get(id=key).views)

    def slow_reads_in_threads(text, params, ms, rows, database):
        # Widen the race window: a worker thread's SELECT has its rows but has not cached them yet.
        if text.startswith("SELECT") and threading.current_thread() is not threading.main_thread():
            time.sleep(0.001)

    query_hooks.callbacks.append(slow_reads_in_threads)
    query_hooks.refresh()
    try:
        threads = [threading.Thread(target=thread_worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        gather(*[task(n) for n in range(12)])
        for t in threads:
            run_in_worker(t.join)
    finally:
        query_hooks.callbacks.remove(slow_reads_in_threads)
        query_hooks.refresh()
    assert errors == []
    assert counts["reads"] > 200 and counts["writes"] > 50
    for key in keys:
        in_db = cache_db.execute("SELECT views FROM cache_item WHERE id = %s", [key]).fetchone()[0]
        assert (CacheItem.get(id=key)).views == in_db == committed[key]
