# WARNING: generated from tests/level2/aio/test_threads.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Sync calls from threads: the notebook case and many threads at once.

In the async suite each test body runs inside the event loop, so the blocking
``User.sync`` calls below are made from a thread whose event loop is running,
which is what a Jupyter cell does. The generated sync suite runs the same
bodies from a plain thread. Either way the sync package needs no event loop
and must not mind one. Results are read back from the database.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from matrx_orm.core.compat_sync import MODE, gather, loop_key, run_in_worker
from matrx_orm_sync import transaction as sync_transaction
from tests.models_sync import Post, User

pytestmark = pytest.mark.anyio

THREADS = 8


class Boom(Exception):
    """Raised on purpose to roll a transaction back."""


def test_sync_calls_work_in_a_thread_whose_event_loop_is_running(db):
    if MODE == "async":
        assert loop_key() is not None  # a running loop in this very thread, as in a notebook cell
    SyncUser, SyncPost = User.sync, Post.sync
    alice = SyncUser.create(username="alice", email="alice@example.com")
    SyncPost.bulk_create([SyncPost(title=f"p{i}", author_id=alice.id, views=i) for i in range(3)])
    assert SyncUser.get(username="alice").id == alice.id
    assert SyncPost.filter(views__gte=1).order_by("-views").values_list("title", flat=True) == ["p2", "p1"]
    assert SyncPost.filter(author_id=alice.id).update(is_published=True) == 3
    with pytest.raises(Boom), sync_transaction("test_db"):
        SyncUser.create(username="rolled-back", email="r@example.com")
        raise Boom
    # The async API keeps working in the same loop, on the same tables.
    assert User.count() == 1
    assert Post.filter(is_published=True).count() == 3
    assert db.execute('SELECT username FROM "user"').fetchall() == [("alice",)]
    assert db.execute("SELECT count(*) FROM post WHERE is_published").fetchone() == (3,)


def _sync_job(name: str) -> int:
    SyncUser = User.sync
    user = SyncUser.create(username=name, email=f"{name}@example.com")
    SyncUser.filter(id=user.id).update(age=42)
    return SyncUser.filter(age=42).count()


def test_sync_calls_in_a_worker_thread_while_the_loop_runs_async_calls(db):
    # async: the sync job runs in a worker thread while this loop awaits an async create; sync: one after the other.
    results = gather(run_in_worker(_sync_job, "worker"), User.create(username="looper", email="l@example.com"))
    assert results[0] >= 1 and results[1].username == "looper"
    rows = db.execute('SELECT username, age FROM "user" ORDER BY username').fetchall()
    assert rows == [("looper", None), ("worker", 42)]


def _thread_work(index: int, barrier: threading.Barrier) -> tuple[int, int]:
    SyncUser, SyncPost = User.sync, Post.sync
    barrier.wait(timeout=30)  # every thread hits the pool at the same moment
    user = SyncUser.create(username=f"t{index}", email=f"t{index}@example.com")
    SyncPost.bulk_create([SyncPost(title=f"t{index}-{n}", author_id=user.id) for n in range(5)])
    with sync_transaction("test_db"):
        SyncPost.filter(author_id=user.id).update(views=index)
        SyncUser.filter(id=user.id).update(age=index)
    try:
        # Each thread has its own transaction (contextvars): this rollback touches only this thread's rows.
        with sync_transaction("test_db"):
            SyncPost.filter(author_id=user.id).delete()
            if index % 2 == 0:
                raise Boom
    except Boom:
        pass
    return index, SyncPost.filter(author_id=user.id).count()


def test_sync_calls_from_many_threads_at_once(db):
    barrier = threading.Barrier(THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as executor:
        futures = [executor.submit(_thread_work, i, barrier) for i in range(THREADS)]
        results = sorted(f.result(timeout=120) for f in futures)
    # Even threads rolled their delete back, odd ones committed it.
    assert results == [(i, 5 if i % 2 == 0 else 0) for i in range(THREADS)]
    users = db.execute('SELECT username, age FROM "user" ORDER BY age').fetchall()
    assert users == [(f"t{i}", i) for i in range(THREADS)]
    posts = db.execute(
        'SELECT u.age, count(*), min(p.views), max(p.views) FROM post p JOIN "user" u ON u.id = p.author_id '
        "GROUP BY u.age ORDER BY u.age"
    ).fetchall()
    assert posts == [(i, 5, i, i) for i in range(0, THREADS, 2)]
    assert User.count() == THREADS
