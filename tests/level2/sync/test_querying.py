# WARNING: generated from tests/level2/aio/test_querying.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Querying in depth against real rows: every lookup, chaining, ordering, slicing, select, values, terminals.

Each result is compared with what the same question asked in plain SQL (through
the raw ``db`` connection) returns, so the ORM is checked against PostgreSQL
itself rather than against expectations written by hand only.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from matrx_orm_sync import DoesNotExist, MultipleObjectsReturned, ParameterError, Q
from tests.level2.foundation_db import empty_cache  # noqa: F401  (fixture)
from tests.models_sync import Post, User

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("empty_cache")]

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

PEOPLE = [
    # username, email, age, status, bio, is_active, created (days after T0)
    ("alice", "alice@example.com", 30, "active", "likes 50% off", True, 0),
    ("alicia", "alicia@example.com", 17, "active", None, True, 1),
    ("bob", "bob@example.com", 18, "banned", "a_b", False, 2),
    ("carol", "CAROL@EXAMPLE.COM", 65, "draft", "axb", True, 3),
    ("dave", "dave@example.com", None, "active", "back\\slash", True, 4),
    ("50%_off", "promo@example.com", 1, "archived", "", False, 5),
    ("under_score", "u@example.com", 2, "active", None, True, 6),
]


def seed():
    users = User.bulk_create([
        {"username": u, "email": e, "age": a, "status": s, "bio": b, "is_active": act,
         "created_at": T0 + dt.timedelta(days=d)}
        for u, e, a, s, b, act, d in PEOPLE
    ])
    return {u.username: u for u in users}


def names(objs):
    return sorted(o.username for o in objs)


def sql_names(db, where="true", params=()):
    return sorted(r[0] for r in db.execute(f'SELECT username FROM "user" WHERE {where}', params).fetchall())


@pytest.mark.parametrize(
    ("filters", "where", "params"),
    [
        ({"username": "alice"}, "username = %s", ["alice"]),
        ({"bio": None}, "bio IS NULL", []),
        ({"bio__ne": "axb"}, "bio IS DISTINCT FROM %s", ["axb"]),
        ({"bio__ne": None}, "bio IS NOT NULL", []),
        ({"age__gt": 18}, "age > %s", [18]),
        ({"age__gte": 18}, "age >= %s", [18]),
        ({"age__lt": 18}, "age < %s", [18]),
        ({"age__lte": "18"}, "age <= %s", [18]),
        ({"username__gt": "bob"}, "username > %s", ["bob"]),
        ({"created_at__gte": "2024-01-04T00:00:00Z"}, "created_at >= %s", [T0 + dt.timedelta(days=3)]),
        ({"created_at__lt": T0 + dt.timedelta(days=2)}, "created_at < %s", [T0 + dt.timedelta(days=2)]),
        ({"age__in": [17, 18, 99]}, "age = ANY(%s)", [[17, 18, 99]]),
        ({"age__in": []}, "false", []),
        ({"age__in": [1, None]}, "age = 1 OR age IS NULL", []),
        ({"status__in": ("draft", "archived")}, "status IN ('draft', 'archived')", []),
        ({"bio__isnull": True}, "bio IS NULL", []),
        ({"bio__isnull": False}, "bio IS NOT NULL", []),
        ({"username__contains": "li"}, "username LIKE '%%li%%'", []),
        ({"email__icontains": "example.com"}, "email ILIKE '%%example.com%%'", []),
        ({"email__contains": "EXAMPLE"}, "email LIKE '%%EXAMPLE%%'", []),
        ({"username__startswith": "al"}, "username LIKE 'al%%'", []),
        ({"username__endswith": "e"}, "username LIKE '%%e'", []),
        ({"is_active": False}, "NOT is_active", []),
        ({"pk__in": []}, "false", []),
    ],
)
def test_each_lookup_matches_postgresql(db, filters, where, params):
    seed()
    got = User.filter(**filters).all()
    assert names(got) == sql_names(db, where, params)


def test_like_wildcards_in_values_match_literally(db):
    seed()
    # Unescaped, "%" and "_" would match almost everything; escaped they match themselves.
    assert names(User.filter(username__contains="%").all()) == ["50%_off"]
    assert names(User.filter(username__contains="_").all()) == ["50%_off", "under_score"]
    assert names(User.filter(username__startswith="50%").all()) == ["50%_off"]
    assert names(User.filter(username__endswith="_off").all()) == ["50%_off"]
    assert names(User.filter(bio__contains="50%").all()) == ["alice"]
    assert names(User.filter(bio__contains="a_b").all()) == ["bob"]  # not "axb"
    assert names(User.filter(bio__contains="\\").all()) == ["dave"]
    assert names(User.filter(bio__icontains="BACK\\S").all()) == ["dave"]
    assert names(User.filter(bio__contains="").all()) == sql_names(db, "bio IS NOT NULL")


def test_uuid_lookups_accept_strings_and_uuids(db):
    people = seed()
    ids = [people["alice"].id, str(people["bob"].id)]
    assert names(User.filter(id__in=ids).all()) == ["alice", "bob"]
    assert (User.filter(id=str(people["carol"].id)).get()).username == "carol"
    assert names(User.filter(pk=people["dave"].id).all()) == ["dave"]


def test_exclude_is_the_complement_of_filter_even_with_nulls(db):
    seed()
    everyone = sql_names(db)
    for filters in ({"bio": "axb"}, {"age__gt": 17}, {"bio__contains": "a"}, {"age__in": [1, 2]}, {"bio": None}):
        kept = names(User.filter(**filters).all())
        dropped = names(User.exclude(**filters).all())
        assert sorted(kept + dropped) == everyone, filters
        assert not set(kept) & set(dropped)
    # The NULL-bio and NULL-age rows stay when excluding on those columns.
    assert "dave" in names(User.exclude(age__lt=18).all())
    assert {"alicia", "under_score"} <= set(names(User.exclude(bio="axb").all()))


def test_filter_exclude_chaining_and_q(db):
    seed()
    got = User.filter(is_active=True).exclude(status="draft").filter(age__gte=2).all()
    assert names(got) == sql_names(db, "is_active AND status IS DISTINCT FROM 'draft' AND age >= 2")
    got = User.filter(Q(age__lt=18) | Q(status="banned")).all()
    assert names(got) == sql_names(db, "age < 18 OR status = 'banned'")
    got = User.filter(Q(age__lt=18) | Q(status="banned"), is_active=True).all()
    assert names(got) == sql_names(db, "(age < 18 OR status = 'banned') AND is_active")
    got = User.filter(~Q(status="active") & Q(is_active=True)).all()
    assert names(got) == sql_names(db, "status IS DISTINCT FROM 'active' AND is_active")
    got = User.filter(~(Q(age__gt=20) | Q(bio=None))).all()
    assert names(got) == sql_names(db, "NOT COALESCE(age > 20 OR bio IS NULL, false)")


def test_order_by_ascending_descending_and_nulls(db):
    seed()
    got = User.order_by("age", "username").all()
    assert [u.username for u in got] == [r[0] for r in db.execute(
        'SELECT username FROM "user" ORDER BY age, username').fetchall()]
    assert got[-1].username == "dave"  # NULL sorts last ascending, as in PostgreSQL
    got = User.order_by("-age", "username").all()
    assert [u.username for u in got] == [r[0] for r in db.execute(
        'SELECT username FROM "user" ORDER BY age DESC, username').fetchall()]
    assert got[0].username == "dave"
    got = User.filter(is_active=True).order_by("-created_at").all()
    assert [u.username for u in got] == ["under_score", "dave", "carol", "alicia", "alice"]


def test_limit_offset_and_slicing(db):
    seed()
    ordered = [r[0] for r in db.execute('SELECT username FROM "user" ORDER BY username').fetchall()]
    qs = User.order_by("username")
    assert [u.username for u in qs.limit(3).all()] == ordered[:3]
    assert [u.username for u in qs.offset(5).all()] == ordered[5:]
    assert [u.username for u in qs[2:5].all()] == ordered[2:5]
    assert [u.username for u in qs[2:5][1:].all()] == ordered[3:5]
    assert [u.username for u in qs[4:].all()] == ordered[4:]
    assert qs[3:3].all() == []
    assert qs.limit(0).all() == []
    assert qs[2:5].count() == 3
    assert qs[6:].count() == 1
    assert qs[6:].exists() is True
    assert qs[7:].exists() is False
    assert qs.limit(0).exists() is False


def test_select_loads_only_the_chosen_columns(db):
    people = seed()
    got = User.filter(username="alice").select("email").all()
    assert got[0].__dict__ == {"id": people["alice"].id, "email": "alice@example.com"}


def test_values_and_values_list(db):
    seed()
    rows = User.filter(username="carol").values()
    assert len(rows) == 1 and set(rows[0]) == set(User._meta.field_names)
    raw = db.execute('SELECT id, username, email, bio, is_active, age, status, created_at FROM "user" '
                     "WHERE username = 'carol'").fetchone()
    assert tuple(rows[0][n] for n in User._meta.field_names) == raw
    assert User.filter(username="carol").values_list() == [raw]
    assert User.order_by("-username").values_list("username", flat=True) == sorted(sql_names(db), reverse=True)
    assert User.filter(age__gt=100).values("username") == []
    pairs = User.order_by("username").values_list("username", "age")
    assert pairs == db.execute('SELECT username, age FROM "user" ORDER BY username').fetchall()
    with pytest.raises(ParameterError):
        User.query().values_list("username", "age", flat=True)


def test_terminal_methods(db):
    people = seed()
    assert (User.filter(username="bob").get()).id == people["bob"].id
    with pytest.raises(DoesNotExist) as missing:
        User.filter(username="nobody").get()
    assert missing.value.model == "User" and missing.value.details["filters"] == {"username": "nobody"}
    with pytest.raises(MultipleObjectsReturned) as several:
        User.filter(status="active").get()
    assert several.value.model == "User" and several.value.details["filters"] == {"status": "active"}
    first_by_pk = db.execute('SELECT username FROM "user" ORDER BY id LIMIT 1').fetchone()[0]
    assert (User.query().first()).username == first_by_pk
    assert (User.order_by("-age").first()).username == "dave"
    assert (User.order_by("username").last()).username == "under_score"
    assert User.filter(username="nobody").first() is None
    assert User.filter(is_active=True).count() == len(sql_names(db, "is_active"))
    assert User.count() == len(PEOPLE)
    assert User.filter(username="bob").exists() is True
    assert User.filter(username="bobby").exists() is False
    seen = [u.username for u in User.order_by("username").limit(2)]
    assert seen == sorted(sql_names(db))[:2]


def test_get_first_last_respect_slices(db):
    seed()
    ordered = [r[0] for r in db.execute('SELECT username FROM "user" ORDER BY username').fetchall()]
    qs = User.order_by("username")
    assert (qs[3:4].get()).username == ordered[3]  # one row in the slice: no MultipleObjectsReturned
    with pytest.raises(MultipleObjectsReturned):
        qs[3:5].get()
    with pytest.raises(DoesNotExist):
        qs[3:3].get()
    assert (qs[2:5].first()).username == ordered[2]
    assert qs[2:2].first() is None
    assert qs.limit(0).first() is None
    with pytest.raises(ParameterError):
        qs[2:5].last()


def test_update_and_delete_return_row_counts(db):
    seed()
    assert User.filter(status="active").update(bio="updated") == 4
    assert sql_names(db, "bio = 'updated'") == sql_names(db, "status = 'active'")
    assert User.filter(username="nobody").update(bio="x") == 0
    assert User.exclude(age=None).filter(age__lt=18).delete() == 3
    assert sql_names(db, "age < 18") == []
    assert User.filter(username="nobody").delete() == 0
    assert User.count() == len(PEOPLE) - 3


def test_foreign_key_filters_take_keys_strings_or_instances(db):
    people = seed()
    alice = people["alice"]
    posts = Post.bulk_create([
        {"id": uuid.uuid4(), "title": f"p{i}", "author_id": alice if i % 2 else alice.id} for i in range(4)
    ])
    assert db.execute("SELECT count(*) FROM post WHERE author_id = %s", [alice.id]).fetchone() == (4,)
    for value in (alice, alice.id, str(alice.id)):
        assert sorted(p.title for p in Post.filter(author_id=value).all()) == ["p0", "p1", "p2", "p3"]
    assert Post.filter(author_id__in=[people["bob"].id]).count() == 0
    assert {p.author_id for p in posts} == {alice.id}
