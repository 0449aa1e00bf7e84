"""Row locks under real concurrency: many tasks (async) or threads (sync) at once.

Workers increment counters under ``select_for_update()`` (no lost update) and
claim jobs with ``select_for_update(skip_locked=True)`` (no job claimed
twice). ``nowait`` and ``of`` are checked against locks held by a separate
connection.
"""

from __future__ import annotations

import psycopg
import pytest

from matrx_orm import ConnectionError, DatabaseError, F, ParameterError, transaction
from tests.level2.reliability_db import rb_db  # noqa: F401  (fixture)
from tests.models_async import Post, User
from tests.models_reliability_async import Counter, Job
from tests.reliability_tools_async import run_concurrently, sleep

pytestmark = pytest.mark.anyio

WORKERS = 8


async def test_locked_read_modify_write_loses_no_update(rb_db):
    await Counter.bulk_create([{"name": "a"}, {"name": "b"}])
    rounds = 20

    async def worker(i):
        for n in range(rounds):
            name = "a" if (i + n) % 2 else "b"
            async with transaction("test_db"):
                counter = await Counter.filter(name=name).select_for_update().get()
                await sleep(0)  # let the others pile up on the lock
                counter.value += 1
                await counter.save()

    await run_concurrently([lambda i=i: worker(i) for i in range(WORKERS)])
    total = rb_db.execute("SELECT sum(value) FROM rb_counter").fetchone()[0]
    assert total == WORKERS * rounds


async def test_atomic_expression_updates_lose_nothing(rb_db):
    await Counter.create(name="hits")

    async def worker():
        for _ in range(25):
            await Counter.filter(name="hits").update(value=F("value") + 1)

    await run_concurrently([worker for _ in range(WORKERS)])
    assert rb_db.execute("SELECT value FROM rb_counter WHERE name = 'hits'").fetchone() == (WORKERS * 25,)


async def test_skip_locked_job_queue_never_claims_a_job_twice(rb_db):
    total = 60
    await Job.bulk_create([{"payload": f"job {i}"} for i in range(total)])

    async def worker(name):
        mine = []
        while True:
            async with transaction("test_db"):
                job = await Job.filter(claimed_by__isnull=True).order_by("id").select_for_update(skip_locked=True).first()
                if job is None:
                    return mine
                await sleep(0.001)  # hold the lock while others look for work
                await Job.filter(id=job.id).update(claimed_by=name)
                mine.append(job.id)

    results = await run_concurrently([lambda i=i: worker(f"w{i}") for i in range(WORKERS)])
    claimed = [job_id for ids in results for job_id in ids]
    assert sorted(claimed) == sorted(set(claimed)), "a job was claimed twice"
    assert len(claimed) == total
    rows = rb_db.execute("SELECT claimed_by, count(*) FROM rb_job GROUP BY claimed_by").fetchall()
    assert sum(n for _, n in rows) == total and all(who is not None for who, _ in rows)
    for i, ids in enumerate(results):
        db_ids = [r[0] for r in rb_db.execute("SELECT id FROM rb_job WHERE claimed_by = %s ORDER BY id", [f"w{i}"])]
        assert db_ids == sorted(ids)
    assert len([ids for ids in results if ids]) > 1, "only one worker ever got a job: no concurrency happened"


async def test_nowait_and_skip_locked_against_a_lock_held_elsewhere(rb_db, registered_db):
    jobs = await Job.bulk_create([{"payload": "locked"}, {"payload": "free"}])
    with psycopg.connect(registered_db.conninfo()) as locker:
        locker.execute("SELECT 1 FROM rb_job WHERE id = %s FOR UPDATE", [jobs[0].id])
        with pytest.raises(DatabaseError) as info:
            async with transaction("test_db"):
                await Job.filter(id=jobs[0].id).select_for_update(nowait=True).get()
        assert not isinstance(info.value, ConnectionError)
        assert info.value.details["sqlstate"] == "55P03"
        async with transaction("test_db"):
            free = await Job.query().order_by("id").select_for_update(skip_locked=True).all()
        assert [j.payload for j in free] == ["free"]
        locker.rollback()
    with pytest.raises(ParameterError):
        Job.query().select_for_update(nowait=True, skip_locked=True)


async def test_for_update_of_locks_only_the_named_tables(db, registered_db):
    author = await User.create(username="author", email="a@x")
    post = await Post.create(title="p", author_id=author.id)
    qs = Post.filter(id=post.id).select_related("author").select_for_update(of=("self",), nowait=True)
    assert qs.sql()[0].endswith('FOR UPDATE OF "post" NOWAIT')
    with pytest.raises(ParameterError, match="nullable side"):
        Post.query().select_related("author").select_for_update(of=("self", "author")).sql()
    with pytest.raises(ParameterError):
        Post.query().select_for_update(of=("nope",)).sql()
    with psycopg.connect(registered_db.conninfo(), autocommit=True) as other:
        async with transaction("test_db"):
            [locked] = await qs.all()
            assert locked.author.username == "author"
            other.execute('SELECT 1 FROM "user" WHERE id = %s FOR UPDATE NOWAIT', [author.id])  # author is free
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM post WHERE id = %s FOR UPDATE NOWAIT", [post.id])
        async with transaction("test_db"):
            await Post.filter(id=post.id).select_for_update(of="self").all()  # a plain string works too
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM post WHERE id = %s FOR UPDATE NOWAIT", [post.id])
