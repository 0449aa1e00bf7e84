# WARNING: generated from tests/level2/aio/test_streaming.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""``QuerySet.iterator()``: rows streamed over a server-side cursor, one FETCH per chunk.

Written once (async); ``tests/level2/sync`` runs the same bodies with ``for``.
The rows come from ``generate_series``; the statement log shows the
``DECLARE`` and every ``FETCH``, and tracemalloc shows that streaming holds
one chunk where ``all()`` holds every row.
"""

from __future__ import annotations

import tracemalloc
from contextlib import closing

import pytest

from matrx_orm_sync import F, ParameterError, ValidationError, transaction
from matrx_orm.core.query_log import capture_queries
from tests.models_sync import Post, User

pytestmark = pytest.mark.anyio


def _seed(db, count: int, users: int = 1) -> list:
    ids = [
        db.execute(
            'INSERT INTO "user" (id, username, email) VALUES (gen_random_uuid(), %s, %s) RETURNING id',
            [f"u{n}", f"u{n}@example.com"],
        ).fetchone()[0]
        for n in range(users)
    ]
    db.execute(
        "INSERT INTO post (id, title, author_id, views) "
        "SELECT gen_random_uuid(), 'post ' || g, (%s::uuid[])[1 + g %% %s], g FROM generate_series(1, %s) g",
        [ids, users, count],
    )
    return ids


def test_every_row_arrives_in_order_one_fetch_per_chunk(db):
    _seed(db, 10_500)
    with capture_queries() as seen:
        views = [p.views for p in Post.filter(views__gt=0).order_by("views").iterator(chunk_size=1000)]
    assert views == list(range(1, 10_501))
    assert seen[0].startswith('DECLARE "matrx_orm_stream_') and "FROM \"post\" WHERE \"views\" > %s" in seen[0]
    fetches = [q for q in seen[1:] if q.startswith("FETCH FORWARD 1000 FROM")]
    # 10 full chunks and a short one, which says the cursor is exhausted: no extra round trip.
    assert len(fetches) == 11 and len(seen) == 12


def test_an_exact_multiple_of_the_chunk_size_takes_one_empty_fetch(db):
    _seed(db, 30)
    with capture_queries() as seen:
        titles = [p.title for p in Post.filter().order_by("views").iterator(chunk_size=10)]
    assert titles == [f"post {n}" for n in range(1, 31)]
    assert len(seen) == 1 + 4


def test_streaming_holds_one_chunk_in_memory(db):
    _seed(db, 20_000)
    qs = Post.filter().order_by("views")
    total = 0
    tracemalloc.start()
    try:
        for post in qs.iterator(chunk_size=500):
            total += post.views
        streamed_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        everything = qs.all()
        all_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == sum(range(1, 20_001)) and len(everything) == 20_000
    assert streamed_peak * 8 < all_peak, (streamed_peak, all_peak)


def test_inside_a_transaction_it_uses_the_bound_connection_and_sees_its_writes(db):
    _seed(db, 20)
    with transaction("test_db"):
        assert Post.filter(views__lte=5).delete() == 5
        views = [p.views for p in Post.filter().order_by("views").iterator(chunk_size=4)]
        assert views == list(range(6, 21))
    assert db.execute("SELECT count(*) FROM post").fetchone() == (15,)


def test_stopping_early_ends_the_cursor_transaction(db):
    _seed(db, 100)
    with closing(Post.filter().order_by("views").iterator(chunk_size=10)) as posts:
        for post in posts:
            assert post.views == 1
            busy = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction'"
            ).fetchone()
            assert busy == (1,)  # the cursor's transaction, open while we iterate
            break
    idle = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'"
    ).fetchone()
    assert idle == (0,)


def test_select_related_prefetch_and_annotations_per_chunk(db):
    _seed(db, 30, users=3)
    with capture_queries() as seen:
        posts = [
            p for p in Post.filter().select_related("author").annotate(double=F("views") * 2)
            .order_by("views").iterator(chunk_size=10)
        ]
    assert len(seen) == 1 + 4  # one joined SELECT behind the cursor: no query per author
    assert [p.double for p in posts] == [2 * n for n in range(1, 31)]
    assert {p.author.username for p in posts} == {"u0", "u1", "u2"}
    assert all(p.author.id == p.author_id for p in posts)

    with capture_queries() as seen:
        users = [u for u in User.filter().prefetch_related("post_set").order_by("username").iterator(chunk_size=2)]
    # Two chunks (2 users, then 1): DECLARE + 2 FETCHes, and one prefetch query per chunk.
    assert len(seen) == 1 + 2 + 2
    assert [len(u.post_set) for u in users] == [10, 10, 10]
    assert sorted(p.views for u in users for p in u.post_set) == list(range(1, 31))


def test_bad_chunk_size_fails_before_sql(db):
    for bad in (0, -5, 1.5, True, "10"):
        with capture_queries() as seen, pytest.raises(ParameterError, match="positive integer chunk_size"):
            for _post in Post.filter().iterator(chunk_size=bad):
                pass
        assert seen == []


def test_database_errors_are_mapped_with_context(db):
    _seed(db, 3)
    with pytest.raises(ValidationError, match="invalid regular expression") as info:
        for _post in Post.filter(title__regex="(").iterator():
            pass
    assert info.value.operation == "QuerySet.iterator()" and info.value.model == "Post"
    # The failed stream gave its connection back in a usable state.
    assert Post.count() == 3
