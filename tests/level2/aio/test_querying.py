"""Querying in depth against real rows: every lookup, chaining, ordering, slicing, select, values, terminals.

Each result is compared with what the same question asked in plain SQL (through
the raw ``db`` connection) returns, so the ORM is checked against PostgreSQL
itself rather than against expectations written by hand only.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from matrx_orm import DoesNotExist, MultipleObjectsReturned, ParameterError, Q
from tests.level2.foundation_db import empty_cache  # noqa: F401  (fixture)
from tests.models_async import Post, User

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


async def seed():
    users = await User.bulk_create([
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
async def test_each_lookup_matches_postgresql(db, filters, where, params):
    await seed()
    got = await User.filter(**filters).all()
    assert names(got) == sql_names(db, where, params)


async def test_like_wildcards_in_values_match_literally(db):
    await seed()
    # Unescaped, "%" and "_" would match almost everything; escaped they match themselves.
    assert names(await User.filter(username__contains="%").all()) == ["50%_off"]
    assert names(await User.filter(username__contains="_").all()) == ["50%_off", "under_score"]
    assert names(await User.filter(username__startswith="50%").all()) == ["50%_off"]
    assert names(await User.filter(username__endswith="_off").all()) == ["50%_off"]
    assert names(await User.filter(bio__contains="50%").all()) == ["alice"]
    assert names(await User.filter(bio__contains="a_b").all()) == ["bob"]  # not "axb"
    assert names(await User.filter(bio__contains="\\").all()) == ["dave"]
    assert names(await User.filter(bio__icontains="BACK\\S").all()) == ["dave"]
    assert names(await User.filter(bio__contains="").all()) == sql_names(db, "bio IS NOT NULL")


async def test_uuid_lookups_accept_strings_and_uuids(db):
    people = await seed()
    ids = [people["alice"].id, str(people["bob"].id)]
    assert names(await User.filter(id__in=ids).all()) == ["alice", "bob"]
    assert (await User.filter(id=str(people["carol"].id)).get()).username == "carol"
    assert names(await User.filter(pk=people["dave"].id).all()) == ["dave"]


async def test_exclude_is_the_complement_of_filter_even_with_nulls(db):
    await seed()
    everyone = sql_names(db)
    for filters in ({"bio": "axb"}, {"age__gt": 17}, {"bio__contains": "a"}, {"age__in": [1, 2]}, {"bio": None}):
        kept = names(await User.filter(**filters).all())
        dropped = names(await User.exclude(**filters).all())
        assert sorted(kept + dropped) == everyone, filters
        assert not set(kept) & set(dropped)
    # The NULL-bio and NULL-age rows stay when excluding on those columns.
    assert "dave" in names(await User.exclude(age__lt=18).all())
    assert {"alicia", "under_score"} <= set(names(await User.exclude(bio="axb").all()))


async def test_filter_exclude_chaining_and_q(db):
    await seed()
    got = await User.filter(is_active=True).exclude(status="draft").filter(age__gte=2).all()
    assert names(got) == sql_names(db, "is_active AND status IS DISTINCT FROM 'draft' AND age >= 2")
    got = await User.filter(Q(age__lt=18) | Q(status="banned")).all()
    assert names(got) == sql_names(db, "age < 18 OR status = 'banned'")
    got = await User.filter(Q(age__lt=18) | Q(status="banned"), is_active=True).all()
    assert names(got) == sql_names(db, "(age < 18 OR status = 'banned') AND is_active")
    got = await User.filter(~Q(status="active") & Q(is_active=True)).all()
    assert names(got) == sql_names(db, "status IS DISTINCT FROM 'active' AND is_active")
    got = await User.filter(~(Q(age__gt=20) | Q(bio=None))).all()
    assert names(got) == sql_names(db, "NOT COALESCE(age > 20 OR bio IS NULL, false)")


async def test_order_by_ascending_descending_and_nulls(db):
    await seed()
    got = await User.order_by("age", "username").all()
    assert [u.username for u in got] == [r[0] for r in db.execute(
        'SELECT username FROM "user" ORDER BY age, username').fetchall()]
    assert got[-1].username == "dave"  # NULL sorts last ascending, as in PostgreSQL
    got = await User.order_by("-age", "username").all()
    assert [u.username for u in got] == [r[0] for r in db.execute(
        'SELECT username FROM "user" ORDER BY age DESC, username').fetchall()]
    assert got[0].username == "dave"
    got = await User.filter(is_active=True).order_by("-created_at").all()
    assert [u.username for u in got] == ["under_score", "dave", "carol", "alicia", "alice"]


async def test_limit_offset_and_slicing(db):
    await seed()
    ordered = [r[0] for r in db.execute('SELECT username FROM "user" ORDER BY username').fetchall()]
    qs = User.order_by("username")
    assert [u.username for u in await qs.limit(3).all()] == ordered[:3]
    assert [u.username for u in await qs.offset(5).all()] == ordered[5:]
    assert [u.username for u in await qs[2:5].all()] == ordered[2:5]
    assert [u.username for u in await qs[2:5][1:].all()] == ordered[3:5]
    assert [u.username for u in await qs[4:].all()] == ordered[4:]
    assert await qs[3:3].all() == []
    assert await qs.limit(0).all() == []
    assert await qs[2:5].count() == 3
    assert await qs[6:].count() == 1
    assert await qs[6:].exists() is True
    assert await qs[7:].exists() is False
    assert await qs.limit(0).exists() is False


async def test_select_loads_only_the_chosen_columns(db):
    people = await seed()
    got = await User.filter(username="alice").select("email").all()
    assert got[0].__dict__ == {"id": people["alice"].id, "email": "alice@example.com"}


async def test_values_and_values_list(db):
    await seed()
    rows = await User.filter(username="carol").values()
    assert len(rows) == 1 and set(rows[0]) == set(User._meta.field_names)
    raw = db.execute('SELECT id, username, email, bio, is_active, age, status, created_at FROM "user" '
                     "WHERE username = 'carol'").fetchone()
    assert tuple(rows[0][n] for n in User._meta.field_names) == raw
    assert await User.filter(username="carol").values_list() == [raw]
    assert await User.order_by("-username").values_list("username", flat=True) == sorted(sql_names(db), reverse=True)
    assert await User.filter(age__gt=100).values("username") == []
    pairs = await User.order_by("username").values_list("username", "age")
    assert pairs == db.execute('SELECT username, age FROM "user" ORDER BY username').fetchall()
    with pytest.raises(ParameterError):
        await User.query().values_list("username", "age", flat=True)


async def test_terminal_methods(db):
    people = await seed()
    assert (await User.filter(username="bob").get()).id == people["bob"].id
    with pytest.raises(DoesNotExist) as missing:
        await User.filter(username="nobody").get()
    assert missing.value.model == "User" and missing.value.details["filters"] == {"username": "nobody"}
    with pytest.raises(MultipleObjectsReturned) as several:
        await User.filter(status="active").get()
    assert several.value.model == "User" and several.value.details["filters"] == {"status": "active"}
    first_by_pk = db.execute('SELECT username FROM "user" ORDER BY id LIMIT 1').fetchone()[0]
    assert (await User.query().first()).username == first_by_pk
    assert (await User.order_by("-age").first()).username == "dave"
    assert (await User.order_by("username").last()).username == "under_score"
    assert await User.filter(username="nobody").first() is None
    assert await User.filter(is_active=True).count() == len(sql_names(db, "is_active"))
    assert await User.count() == len(PEOPLE)
    assert await User.filter(username="bob").exists() is True
    assert await User.filter(username="bobby").exists() is False
    seen = [u.username async for u in User.order_by("username").limit(2)]
    assert seen == sorted(sql_names(db))[:2]


async def test_get_first_last_respect_slices(db):
    await seed()
    ordered = [r[0] for r in db.execute('SELECT username FROM "user" ORDER BY username').fetchall()]
    qs = User.order_by("username")
    assert (await qs[3:4].get()).username == ordered[3]  # one row in the slice: no MultipleObjectsReturned
    with pytest.raises(MultipleObjectsReturned):
        await qs[3:5].get()
    with pytest.raises(DoesNotExist):
        await qs[3:3].get()
    assert (await qs[2:5].first()).username == ordered[2]
    assert await qs[2:2].first() is None
    assert await qs.limit(0).first() is None
    with pytest.raises(ParameterError):
        await qs[2:5].last()


async def test_update_and_delete_return_row_counts(db):
    await seed()
    assert await User.filter(status="active").update(bio="updated") == 4
    assert sql_names(db, "bio = 'updated'") == sql_names(db, "status = 'active'")
    assert await User.filter(username="nobody").update(bio="x") == 0
    assert await User.exclude(age=None).filter(age__lt=18).delete() == 3
    assert sql_names(db, "age < 18") == []
    assert await User.filter(username="nobody").delete() == 0
    assert await User.count() == len(PEOPLE) - 3


async def test_foreign_key_filters_take_keys_strings_or_instances(db):
    people = await seed()
    alice = people["alice"]
    posts = await Post.bulk_create([
        {"id": uuid.uuid4(), "title": f"p{i}", "author_id": alice if i % 2 else alice.id} for i in range(4)
    ])
    assert db.execute("SELECT count(*) FROM post WHERE author_id = %s", [alice.id]).fetchone() == (4,)
    for value in (alice, alice.id, str(alice.id)):
        assert sorted(p.title for p in await Post.filter(author_id=value).all()) == ["p0", "p1", "p2", "p3"]
    assert await Post.filter(author_id__in=[people["bob"].id]).count() == 0
    assert {p.author_id for p in posts} == {alice.id}
