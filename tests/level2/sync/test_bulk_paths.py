# WARNING: generated from tests/level2/aio/test_bulk_paths.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Bulk writes through ``unnest`` (and the ``VALUES`` fallback), read back from PostgreSQL.

Also the round-trip guard of the hot paths: each call below must send exactly
the statements listed, so a regression to N+1 or to extra statements fails here.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

from matrx_orm_sync import IntegrityError, ValidationError
from matrx_orm.core.query_log import capture_queries
from tests.models_sync import Color, Document, Everything, Membership, Post, User

pytestmark = pytest.mark.anyio

TRICKY = ["NULL", 'quote"d', "comma,ma", "{braces}", "back\\slash", "", "  spaced  ", "naïve ☃"]


def test_bulk_create_uses_one_unnest_statement_and_keeps_order(db):
    data = [{"username": f"user{i:04d}", "email": f"u{i}@x", "age": i} for i in range(1200)]
    with capture_queries() as seen:
        users = User.bulk_create(data)
    assert len(seen) == 1 and "unnest(" in seen[0]
    assert [u.username for u in users] == [d["username"] for d in data]
    # Python defaults (uuid4 id, status, auto_now_add) and database values came back per row.
    assert all(isinstance(u.id, uuid.UUID) and u.status == "active" and u.created_at is not None for u in users)
    rows = dict(db.execute('SELECT username, age FROM "user"').fetchall())
    assert len(rows) == 1200 and rows["user0007"] == 7 and rows["user1199"] == 1199
    by_id = dict(db.execute('SELECT id, username FROM "user"').fetchall())
    assert all(by_id[u.id] == u.username for u in users)


def test_bulk_create_nulls_and_tricky_text(db):
    data = [{"username": text or "empty", "email": text, "bio": None if i % 2 else text, "age": None}
            for i, text in enumerate(TRICKY)]
    users = User.bulk_create(data)
    assert [u.email for u in users] == TRICKY
    rows = db.execute('SELECT username, email, bio, age FROM "user" ORDER BY email').fetchall()
    assert sorted(r[1] for r in rows) == sorted(TRICKY)
    got = {r[1]: (r[2], r[3]) for r in rows}
    for i, text in enumerate(TRICKY):
        assert got[text] == (None if i % 2 else text, None)


def test_bulk_create_all_null_column(db):
    users = User.bulk_create([{"username": "a", "email": "a@x", "age": None, "bio": None},
                                    {"username": "b", "email": "b@x", "age": None, "bio": None}])
    assert [u.age for u in users] == [None, None]
    assert db.execute('SELECT count(*) FROM "user" WHERE age IS NULL AND bio IS NULL').fetchone() == (2,)


def test_bulk_create_applies_python_defaults_per_row(db):
    # Rows without a version get the field's Python default before the rows are sent.
    docs = Document.bulk_create([{"title": "a"}, {"title": "b", "version": 5}, {"title": "c"}])
    assert [d.title for d in docs] == ["a", "b", "c"]
    rows = db.execute("SELECT title, version FROM archive.document ORDER BY title").fetchall()
    assert rows == [("a", 1), ("b", 5), ("c", 1)]


def test_bulk_create_every_scalar_type_round_trips(db):
    when = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)
    data = [
        {
            "f_char": "x", "f_text": "long text", "f_int": -5, "f_bigint": 2**40, "f_smallint": 7, "f_float": 1.5,
            "f_decimal": decimal.Decimal("12.34"), "f_bool": False, "f_datetime": when,
            "f_naive": dt.datetime(2024, 1, 2, 3, 4, 5), "f_date": dt.date(2024, 2, 29), "f_time": dt.time(23, 59, 1),
            "f_enum": Color.GREEN, "f_uuid": uuid.UUID(int=5),
        },
        {"f_char": None, "f_int": None, "f_decimal": None, "f_datetime": None, "f_enum": None, "f_uuid": None},
    ]
    # Both rows name different columns: two unnest statements, atomically.
    with capture_queries() as seen:
        objs = Everything.bulk_create(data)
    assert sum("unnest(" in q for q in seen) == 2
    assert objs[0].f_enum is Color.GREEN and objs[0].f_datetime == when and objs[1].f_int is None
    row = db.execute(
        "SELECT f_char, f_text, f_int, f_bigint, f_smallint, f_float, f_decimal, f_bool, f_datetime, f_naive, "
        "f_date, f_time, f_enum, f_uuid FROM everything WHERE f_char = 'x'"
    ).fetchone()
    assert row == (
        "x", "long text", -5, 2**40, 7, 1.5, decimal.Decimal("12.34"), False, when, dt.datetime(2024, 1, 2, 3, 4, 5),
        dt.date(2024, 2, 29), dt.time(23, 59, 1), "green", uuid.UUID(int=5),
    )
    assert db.execute("SELECT count(*) FROM everything WHERE f_char IS NULL AND f_uuid IS NULL").fetchone() == (1,)


def test_bulk_create_mixed_naive_and_aware_datetimes(db):
    aware = dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    naive = dt.datetime(2024, 3, 4, 5, 6, 7)
    with capture_queries() as seen:
        objs = Everything.bulk_create([{"f_int": 1, "f_datetime": aware}, {"f_int": 2, "f_datetime": naive}])
    assert [o.f_int for o in objs] == [1, 2]
    assert len(seen) == 1 and "unnest(" not in seen[0]  # one array cannot hold both flavours
    # The naive value means what it means in a VALUES row: the session's time zone.
    expected_naive = db.execute("SELECT %s::timestamptz", [naive]).fetchone()[0]
    rows = db.execute("SELECT f_datetime FROM everything ORDER BY f_int").fetchall()
    assert rows == [(aware,), (expected_naive,)]


def test_bulk_create_arrays_and_json_fall_back_to_values(db):
    data = [
        {"f_int_array": [1, 2, 3], "f_text_array": ["a", None], "f_jsonb": {"k": [1, 2]}, "f_int": 1},
        {"f_int_array": [], "f_text_array": None, "f_jsonb": None, "f_int": 2},
    ]
    with capture_queries() as seen:
        objs = Everything.bulk_create(data)
    assert len(seen) == 1 and "unnest(" not in seen[0] and "VALUES" in seen[0]
    assert objs[0].f_int_array == [1, 2, 3] and objs[0].f_jsonb == {"k": [1, 2]}
    rows = db.execute("SELECT f_int, f_int_array, f_text_array, f_jsonb FROM everything ORDER BY f_int").fetchall()
    assert rows == [(1, [1, 2, 3], ["a", None], {"k": [1, 2]}), (2, [], None, None)]


def test_bulk_create_batches_are_atomic(db):
    data = [{"username": f"u{i}", "email": "e"} for i in range(10)] + [{"username": "u3", "email": "dup"}]
    with pytest.raises(IntegrityError):
        User.bulk_create(data, batch_size=4)
    assert db.execute('SELECT count(*) FROM "user"').fetchone() == (0,)
    with capture_queries() as seen:
        users = User.bulk_create(data[:10], batch_size=4)
    assert sum("unnest(" in q for q in seen) == 3 and len({q for q in seen if "unnest(" in q}) == 1
    assert [u.username for u in users] == [f"u{i}" for i in range(10)]


def test_bulk_create_ignore_conflicts_returns_only_inserted(db):
    User.create(username="taken", email="t@x")
    users = User.bulk_create(
        [{"username": "new1", "email": "a"}, {"username": "taken", "email": "b"}, {"username": "new2", "email": "c"}],
        ignore_conflicts=True,
    )
    assert [u.username for u in users] == ["new1", "new2"]
    assert db.execute('SELECT email FROM "user" WHERE username = %s', ["taken"]).fetchone() == ("t@x",)


def test_bulk_create_validates_before_sql(db):
    with capture_queries() as seen, pytest.raises(ValidationError):
        User.bulk_create([{"username": "ok", "email": "e"}, {"username": "x" * 101, "email": "e"}])
    assert seen == []


def test_bulk_update_unnest_sets_values_and_nulls(db):
    users = User.bulk_create([{"username": f"u{i}", "email": "e", "age": i, "bio": "b"} for i in range(300)])
    for i, user in enumerate(users):
        user.age = None if i % 3 == 0 else i * 10
        user.bio = TRICKY[i % len(TRICKY)]
    with capture_queries() as seen:
        count = User.bulk_update(users, ["age", "bio"])
    assert count == 300
    assert len(seen) == 1 and "unnest(" in seen[0]
    rows = {r[0]: (r[1], r[2]) for r in db.execute('SELECT username, age, bio FROM "user"').fetchall()}
    for i in range(300):
        assert rows[f"u{i}"] == (None if i % 3 == 0 else i * 10, TRICKY[i % len(TRICKY)])


def test_bulk_update_composite_key(db):
    alice = User.create(username="alice", email="a@x")
    bob = User.create(username="bob", email="b@x")
    members = Membership.bulk_create([
        {"user_id": alice.id, "group_name": "admins"},
        {"user_id": alice.id, "group_name": "staff"},
        {"user_id": bob.id, "group_name": "admins"},
    ])
    members[0].role = "owner"
    members[2].role = "guest"
    assert Membership.bulk_update([members[0], members[2]], ["role"]) == 2
    rows = db.execute("SELECT u.username, m.group_name, m.role FROM membership m JOIN \"user\" u ON u.id = m.user_id "
                      "ORDER BY 1, 2").fetchall()
    assert rows == [("alice", "admins", "owner"), ("alice", "staff", "member"), ("bob", "admins", "guest")]


def test_bulk_update_non_scalar_field_uses_values_path(db):
    objs = Everything.bulk_create([{"f_int": 1}, {"f_int": 2}])
    objs[0].f_jsonb = {"a": 1}
    objs[1].f_jsonb = [1, "two"]
    with capture_queries() as seen:
        assert Everything.bulk_update(objs, ["f_jsonb"]) == 2
    assert "unnest(" not in seen[0]
    assert db.execute("SELECT f_jsonb FROM everything ORDER BY f_int").fetchall() == [({"a": 1},), ([1, "two"],)]


def test_bulk_update_batches(db):
    users = User.bulk_create([{"username": f"u{i}", "email": "e"} for i in range(7)])
    for user in users:
        user.email = f"{user.username}@new"
    with capture_queries() as seen:
        assert User.bulk_update(users, ["email"], batch_size=3) == 7
    assert sum("unnest(" in q for q in seen) == 3
    assert db.execute('SELECT count(*) FROM "user" WHERE email = username || %s', ["@new"]).fetchone() == (7,)


# -- round trips of the hot paths ---------------------------------------------------------
def test_hot_paths_send_one_statement_each(db):
    author = User.create(username="alice", email="a@x")
    posts = Post.bulk_create([{"title": f"p{i}", "author_id": author.id} for i in range(25)])
    checks = [
        (lambda: User.get(id=author.id, use_cache=False), 1),
        (lambda: Post.filter(author_id=author.id).order_by("title").limit(10).all(), 1),
        (lambda: Post.filter(author_id=author.id).values("title"), 1),
        (lambda: Post.create(title="one more", author_id=author.id), 1),
        (lambda: Post.bulk_create([{"title": f"q{i}", "author_id": author.id} for i in range(50)]), 1),
        (lambda: Post.bulk_update(posts, ["views"]), 1),
        (lambda: Post.bulk_delete(posts[:5]), 1),
        (lambda: Post.filter(author_id=author.id).count(), 1),
        (lambda: Post.select_related("author").filter(author_id=author.id).all(), 1),
        (lambda: Post.filter(author_id=author.id).prefetch_related("author").all(), 2),
    ]
    for call, expected in checks:
        with capture_queries() as seen:
            call()
        assert len(seen) == expected, seen
    assert db.execute("SELECT count(*) FROM post").fetchone() == (25 + 1 + 50 - 5,)
