# WARNING: generated from tests/level2/aio/test_spec_examples.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Every example of SPEC's Quick Start, Models and Fields, CRUD Operations and Querying, run as written.

SPEC's ``User``/``Post`` come from ``tests/spec_models_async.py`` (database
``"my_project"``, alias ``"main"``, tables in schema ``spec``). Each example's
code is copied from SPEC unchanged; around it, setup provides the names it uses
(``user_id``, ``cutoff``, ``id1``...) and every result is checked against the
rows PostgreSQL holds, read back with plain psycopg. The generated sync twin
runs the same code without ``await``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from uuid import uuid4

import pytest

from matrx_orm_sync import get_database_config
from tests.level2.foundation_db import empty_cache, spec_db  # noqa: F401  (fixtures)
from tests.spec_models_sync import Post, User

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("spec_db")]


def users_in_db(db):
    return db.execute('SELECT username, email, bio, is_active FROM spec."user" ORDER BY username').fetchall()


# -- Quick Start ----------------------------------------------------------------------------
def test_quick_start_database_is_registered_as_spec_shows():
    config = get_database_config("main")
    assert config.name == "my_project" and config.alias == "main"
    assert User._meta.database == "my_project" and Post._meta.database == "my_project"


def test_quick_start_use_it(db):
    # Create
    user = User.create(id=str(uuid4()), username="alice", email="alice@example.com")
    post = Post.create(id=str(uuid4()), title="Hello World", author_id=user.id)

    assert users_in_db(db) == [("alice", "alice@example.com", None, True)]
    assert db.execute("SELECT title, author_id, is_published FROM spec.post").fetchall() == [
        ("Hello World", user.id, False)
    ]

    # Read
    alice = User.get(username="alice")
    posts = Post.filter(author_id=alice.id, is_published=True).all()

    assert alice.id == user.id and isinstance(alice.id, uuid.UUID)
    assert posts == []

    # Update
    Post.filter(id=post.id).update(is_published=True)

    assert db.execute("SELECT is_published FROM spec.post WHERE id = %s", [post.id]).fetchone() == (True,)
    posts = Post.filter(author_id=alice.id, is_published=True).all()
    assert [p.id for p in posts] == [post.id]

    # Delete
    Post.filter(id=post.id).delete()

    assert db.execute("SELECT count(*) FROM spec.post").fetchone() == (0,)


# -- Models and Fields ------------------------------------------------------------------------
def test_models_and_fields_imports_and_parameters():
    from matrx_orm_sync import (  # noqa: F401, I001  (SPEC's order, as written)
        UUIDField,          # db: TEXT or UUID
        CharField,          # db: VARCHAR(n)
        TextField,          # db: TEXT
        IntegerField,       # db: INTEGER
        BigIntegerField,    # db: BIGINT
        SmallIntegerField,  # db: SMALLINT
        FloatField,         # db: FLOAT
        DecimalField,       # db: NUMERIC(max_digits, decimal_places)
        BooleanField,       # db: BOOLEAN
        DateTimeField,      # db: TIMESTAMP
        DateField,          # db: DATE
        TimeField,          # db: TIME
        JSONField,          # db: JSONB
        JSONBField,         # db: JSONB (alias)
        ArrayField,         # db: item_type[]
        TextArrayField,     # db: TEXT[]
        IntegerArrayField,  # db: INTEGER[]
        BooleanArrayField,  # db: BOOLEAN[]
        UUIDArrayField,     # db: TEXT[]
        JSONBArrayField,    # db: JSONB[]
        EnumField,          # db: VARCHAR (validates against enum_class or choices)
        IPAddressField,     # db: INET
        IPNetworkField,     # db: CIDR
        MacAddressField,    # db: MACADDR
        HStoreField,        # db: HSTORE
        PointField,         # db: POINT
        MoneyField,         # db: MONEY
        BinaryField,        # db: BYTEA
        TimeDeltaField,     # db: INTERVAL
        ForeignKey,         # db: UUID (stores PK of related model)
    )

    field = UUIDField(
        primary_key=False,  # mark as primary key
        null=True,          # allow NULL values
        unique=False,       # add UNIQUE constraint
        default=None,       # default value or callable
        index=False,        # create index
    )
    assert (field.primary_key, field.null, field.unique, field.get_default(), field.index) == (
        False, True, False, None, False,
    )


def test_spec_models_as_declared():
    meta = User._meta
    assert meta.table_name == "user" and meta.pk_names == ("id",)
    assert meta.field_names[:5] == ("id", "username", "email", "bio", "is_active")
    assert meta.fields["username"].max_length == 100 and meta.fields["username"].unique
    assert Post._meta.fields["author_id"].target_meta() is meta
    assert Post._meta.fields["author_id"].db_type == "UUID"


# -- CRUD: Create ---------------------------------------------------------------------------------
def test_crud_create(db):
    # Single create
    user = User.create(id=str(uuid4()), username="alice", email="alice@example.com")

    # Bulk create
    users = User.bulk_create([
        {"id": str(uuid4()), "username": "bob",   "email": "bob@example.com"},
        {"id": str(uuid4()), "username": "carol", "email": "carol@example.com"},
    ])

    assert user.username == "alice" and user.is_active is True
    assert [u.username for u in users] == ["bob", "carol"] and all(isinstance(u, User) for u in users)
    assert users_in_db(db) == [
        ("alice", "alice@example.com", None, True),
        ("bob", "bob@example.com", None, True),
        ("carol", "carol@example.com", None, True),
    ]


# -- CRUD: Read -----------------------------------------------------------------------------------
def test_crud_read(db):
    created = User.create(id=str(uuid4()), username="alice", email="alice@example.com")
    user_id = created.id

    # Get by PK — raises DoesNotExist if not found
    user = User.get(id=user_id)
    assert user.username == "alice"

    # Get or None — returns None if not found
    user = User.get_or_none(id=user_id)
    assert user is not None and user.email == "alice@example.com"

    db.execute('UPDATE spec."user" SET bio = %s WHERE id = %s', ["changed outside", user_id])

    # Skip cache for a fresh DB read
    user = User.get(use_cache=False, id=user_id)
    assert user.bio == "changed outside"

    user_id = uuid4()
    user = User.get_or_none(id=user_id)
    assert user is None


# -- CRUD: Update ---------------------------------------------------------------------------------
def test_crud_update(db):
    users = User.bulk_create([
        {"id": str(uuid4()), "username": "bob", "email": "bob@example.com", "is_active": False},
        {"id": str(uuid4()), "username": "carol", "email": "carol@example.com"},
    ])
    user_id = users[0].id

    # Update matching rows — returns updated row count
    count = User.filter(id=user_id).update(bio="New bio", is_active=True)

    assert count == 1
    assert db.execute('SELECT bio, is_active FROM spec."user" WHERE id = %s', [user_id]).fetchone() == (
        "New bio", True,
    )

    # Bulk update (update specific fields on model instances)
    for u in users:
        u.is_active = False
    updated = User.bulk_update(users, ["is_active"])

    assert updated == 2
    assert db.execute('SELECT username, is_active, bio FROM spec."user" ORDER BY username').fetchall() == [
        ("bob", False, "New bio"),  # bio was not in the field list: the row keeps it
        ("carol", False, None),
    ]


# -- CRUD: Delete ---------------------------------------------------------------------------------
def test_crud_delete(db):
    users = User.bulk_create([
        {"id": str(uuid4()), "username": f"u{i}", "email": f"u{i}@example.com"} for i in range(4)
    ])
    user_id = users[0].id

    # Delete matching rows — returns deleted row count
    count = User.filter(id=user_id).delete()

    assert count == 1
    assert db.execute('SELECT count(*) FROM spec."user" WHERE id = %s', [user_id]).fetchone() == (0,)

    users = users[1:3]

    # Bulk delete
    deleted = User.bulk_delete(users)

    assert deleted == 2
    assert db.execute('SELECT username FROM spec."user"').fetchall() == [("u3",)]


# -- CRUD: Upsert -----------------------------------------------------------------------------------
def test_crud_upsert(db):
    existing = User.create(id=str(uuid4()), username="alice_old", email="alice@example.com")

    # Single upsert — inserts or updates on conflict
    user = User.upsert(
        data={"id": str(uuid4()), "email": "alice@example.com", "username": "alice"},
        conflict_fields=["email"],           # unique constraint columns
        update_fields=["username"],           # columns to SET on conflict (optional — defaults to all non-conflict)
    )

    assert user.id == existing.id and user.username == "alice"
    assert db.execute('SELECT id, username, email FROM spec."user"').fetchall() == [
        (existing.id, "alice", "alice@example.com")
    ]

    User.create(id=str(uuid4()), username="bob", email="bob@example.com")

    # Bulk upsert — same semantics, multiple rows
    users = User.bulk_upsert(
        objects_data=[
            {"email": "bob@example.com",   "username": "bob_v2"},
            {"email": "carol@example.com", "username": "carol_v2"},
        ],
        conflict_fields=["email"],
    )

    assert sorted(u.username for u in users) == ["bob_v2", "carol_v2"]
    assert db.execute('SELECT email, username FROM spec."user" ORDER BY email').fetchall() == [
        ("alice@example.com", "alice"),
        ("bob@example.com", "bob_v2"),
        ("carol@example.com", "carol_v2"),
    ]


# -- CRUD: Count, Exists, Update-Where, Delete-Where --------------------------------------------------
def test_crud_count_exists_update_where_delete_where(db):
    old = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    User.bulk_create([
        {"username": "a", "email": "alice@example.com", "status": "draft", "created_at": old},
        {"username": "b", "email": "b@example.com", "status": "draft", "created_at": old},
        {"username": "c", "email": "c@example.com", "status": "draft"},  # created now
        {"username": "d", "email": "d@example.com", "status": "expired", "is_active": False},
    ])
    cutoff = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

    # Lightweight count — no model hydration
    total  = User.count()
    active = User.count(is_active=True)

    assert (total, active) == (4, 3)

    # Existence check
    found = False
    if User.exists(email="alice@example.com"):
        found = True
    assert found and not User.exists(email="nobody@example.com")

    # Bulk update by filter — no fetch required
    result = User.update_where(
        {"status": "draft", "created_at__lt": cutoff},
        status="archived",
    )
    # result == {"rows_affected": 42, "updated_rows": [...]}

    assert set(result) == {"rows_affected", "updated_rows"}
    assert result["rows_affected"] == 2
    assert sorted(row["username"] for row in result["updated_rows"]) == ["a", "b"]
    assert all(row["status"] == "archived" for row in result["updated_rows"])

    # Bulk delete by filter — no fetch required
    deleted = User.delete_where(status="expired")

    assert deleted == 1
    assert db.execute('SELECT username, status FROM spec."user" ORDER BY username').fetchall() == [
        ("a", "archived"), ("b", "archived"), ("c", "draft"),
    ]


# -- Querying ------------------------------------------------------------------------------------------
def make_people():
    """Seven users covering every lookup of SPEC's Querying section."""
    gone = dt.datetime(2023, 5, 1, tzinfo=dt.timezone.utc)
    rows = [
        ("alice", 30, "active", "admin", None, True),
        ("alicia", 17, "active", "member", None, True),
        ("bob", 18, "banned", "member", gone, False),
        ("carol", 65, "active", None, None, True),
        ("dave", 66, "active", "member", gone, True),
        ("grace", None, None, "member", None, True),
        ("mallory", 40, "banned", "admin", None, False),
    ]
    users = User.bulk_create([
        {"id": str(uuid4()), "username": name, "email": f"{name}@example.com", "age": age,
         "status": status, "role": role, "deleted_at": deleted, "is_active": active}
        for name, age, status, role, deleted, active in rows
    ])
    return {u.username: u for u in users}


def names(users):
    return sorted(u.username for u in users)


def db_names(db, where, params=()):
    return [r[0] for r in db.execute(f'SELECT username FROM spec."user" WHERE {where} ORDER BY 1', params).fetchall()]


def test_querying_filter_and_lookup_operators(db):
    people = make_people()
    id1, id2, id3 = people["alice"].id, people["bob"].id, people["grace"].id

    # Exact match (default)
    r = User.filter(username="alice").all()
    assert names(r) == ["alice"] == db_names(db, "username = 'alice'")

    # Comparison operators
    r = User.filter(age__gt=18).all()
    assert names(r) == db_names(db, "age > 18") == ["alice", "carol", "dave", "mallory"]
    r = User.filter(age__gte=18).all()
    assert names(r) == db_names(db, "age >= 18")
    r = User.filter(age__lt=65).all()
    assert names(r) == db_names(db, "age < 65")
    r = User.filter(age__lte=65).all()
    assert names(r) == db_names(db, "age <= 65")
    r = User.filter(status__ne="banned").all()
    # ne keeps rows whose status is NULL (IS DISTINCT FROM)
    assert names(r) == db_names(db, "status IS DISTINCT FROM 'banned'") == ["alice", "alicia", "carol", "dave", "grace"]

    # IN list
    r = User.filter(id__in=[id1, id2, id3]).all()
    assert names(r) == ["alice", "bob", "grace"]

    # NULL checks
    r = User.filter(deleted_at__isnull=True).all()
    assert names(r) == db_names(db, "deleted_at IS NULL")
    r = User.filter(deleted_at__isnull=False).all()
    assert names(r) == db_names(db, "deleted_at IS NOT NULL") == ["bob", "dave"]

    # String matching
    r = User.filter(username__contains="ali").all()      # LIKE %ali%
    assert names(r) == ["alice", "alicia"]
    r = User.filter(username__icontains="ali").all()     # ILIKE %ali%
    assert names(r) == ["alice", "alicia"]
    r = User.filter(username__startswith="al").all()     # LIKE al%
    assert names(r) == ["alice", "alicia"]
    r = User.filter(username__endswith="ce").all()       # LIKE %ce
    assert names(r) == ["alice", "grace"]


def test_querying_chaining(db):
    make_people()
    User.bulk_create([
        {"id": str(uuid4()), "username": f"user{i:02}", "email": f"user{i:02}@example.com"} for i in range(60)
    ])

    results = (
        User
        .filter(is_active=True)
        .exclude(role="admin")
        .order_by("username")
        .limit(20)
        .offset(40)
        .select("id", "username", "email")
        .all()
    )

    expected = [r[0] for r in db.execute(
        'SELECT username FROM spec."user" WHERE is_active AND role IS DISTINCT FROM %s '
        "ORDER BY username LIMIT 20 OFFSET 40", ["admin"],
    ).fetchall()]
    assert [u.username for u in results] == expected and len(expected) == 20
    first = results[0]
    assert set(first.__dict__) >= {"id", "username", "email"} and first.email == f"{first.username}@example.com"
    assert "bio" not in first.__dict__  # only the selected columns were loaded


def test_querying_terminal_methods(db):
    make_people()

    results  = User.filter(is_active=True).all()       # list[User]
    one      = User.filter(username="alice").get()      # User (raises if 0 or >1)
    first    = User.filter(is_active=True).first()      # User | None
    count    = User.filter(is_active=True).count()      # int
    exists   = User.filter(username="alice").exists()   # bool

    assert names(results) == db_names(db, "is_active")
    assert all(isinstance(u, User) for u in results)
    assert isinstance(one, User) and one.username == "alice"
    smallest_id = db.execute('SELECT min(id::text) FROM spec."user" WHERE is_active').fetchone()[0]
    assert str(first.id) == smallest_id  # first() orders by primary key
    assert count == len(results) == 5
    assert exists is True
    assert User.filter(username="nobody").first() is None
    assert User.filter(username="nobody").exists() is False


def test_querying_values_and_values_list(db):
    make_people()

    # Returns list of dicts
    rows = User.filter(is_active=True).values("id", "username")
    expected = db.execute('SELECT id, username FROM spec."user" WHERE is_active').fetchall()
    assert sorted(rows, key=lambda r: r["username"]) == sorted(
        ({"id": i, "username": n} for i, n in expected), key=lambda r: r["username"]
    )

    # Returns list of tuples
    rows = User.filter(is_active=True).values_list("id", "username")
    assert sorted(rows, key=lambda r: r[1]) == sorted(expected, key=lambda r: r[1])
    assert all(isinstance(r, tuple) for r in rows)

    # Returns flat list when flat=True and one field
    names_ = User.filter(is_active=True).values_list("username", flat=True)
    assert sorted(names_) == sorted(n for _, n in expected)


def test_querying_slicing(db):
    User.bulk_create([
        {"id": str(uuid4()), "username": f"user{i:02}", "email": f"user{i:02}@example.com"} for i in range(40)
    ])

    # Equivalent to .offset(10).limit(20)
    page = User.filter(is_active=True).order_by("username")[10:30].all()

    expected = [r[0] for r in db.execute(
        'SELECT username FROM spec."user" WHERE is_active ORDER BY username OFFSET 10 LIMIT 20'
    ).fetchall()]
    assert [u.username for u in page] == expected == [f"user{i:02}" for i in range(10, 30)]
    same = User.filter(is_active=True).order_by("username").offset(10).limit(20).all()
    assert [u.id for u in same] == [u.id for u in page]
