"""CRUD against PostgreSQL: SPEC's "CRUD Operations" examples, read back from the database."""

from __future__ import annotations

import uuid
from uuid import uuid4

import pytest

from matrx_orm import DoesNotExist, FieldError, IntegrityError, ParameterError, ValidationError
from tests.models_async import Membership, Post, User

pytestmark = pytest.mark.anyio


async def test_create_returns_row_with_database_defaults(db):
    user = await User.create(id=str(uuid4()), username="alice", email="alice@example.com")
    assert isinstance(user.id, uuid.UUID)
    assert user.is_active is True and user.created_at is not None
    row = db.execute('SELECT username, email, is_active FROM "user" WHERE id = %s', [user.id]).fetchone()
    assert row == ("alice", "alice@example.com", True)


async def test_create_without_id_generates_uuid(db):
    user = await User.create(username="nobody", email="n@example.com")
    assert db.execute('SELECT count(*) FROM "user" WHERE id = %s', [user.id]).fetchone() == (1,)


async def test_bulk_create_one_statement(db):
    users = await User.bulk_create([
        {"id": str(uuid4()), "username": "bob", "email": "bob@example.com"},
        {"id": str(uuid4()), "username": "carol", "email": "carol@example.com"},
    ])
    assert [u.username for u in users] == ["bob", "carol"]
    assert db.execute('SELECT username FROM "user" ORDER BY username').fetchall() == [("bob",), ("carol",)]


async def test_bulk_create_is_atomic(db):
    with pytest.raises(IntegrityError):
        await User.bulk_create([
            {"username": "dup", "email": "a@x"},
            {"username": "dup", "email": "b@x"},
        ])
    assert db.execute('SELECT count(*) FROM "user"').fetchone() == (0,)


async def test_get_and_get_or_none(db):
    user = await User.create(username="alice", email="a@x")
    assert (await User.get(id=user.id)).username == "alice"
    assert (await User.get(id=str(user.id))).id == user.id
    assert (await User.get(use_cache=False, id=user.id)).email == "a@x"
    assert await User.get_or_none(id=uuid4()) is None
    with pytest.raises(DoesNotExist) as info:
        await User.get(id=str(uuid4()))
    assert info.value.model == "User"
    assert "id" in info.value.details["filters"]


async def test_update_via_queryset_returns_count(db):
    user = await User.create(username="alice", email="a@x")
    count = await User.filter(id=user.id).update(bio="New bio", is_active=False)
    assert count == 1
    assert db.execute('SELECT bio, is_active FROM "user" WHERE id = %s', [user.id]).fetchone() == ("New bio", False)


async def test_bulk_update(db):
    users = await User.bulk_create([{"username": f"u{i}", "email": f"{i}@x"} for i in range(5)])
    for u in users:
        u.is_active = False
        u.age = 30
    updated = await User.bulk_update(users, ["is_active", "age"])
    assert updated == 5
    assert db.execute('SELECT DISTINCT is_active, age FROM "user"').fetchall() == [(False, 30)]


async def test_delete_and_bulk_delete(db):
    users = await User.bulk_create([{"username": f"u{i}", "email": f"{i}@x"} for i in range(4)])
    assert await User.filter(id=users[0].id).delete() == 1
    assert await User.bulk_delete(users[1:3]) == 2
    assert await User.bulk_delete([users[3].id]) == 1
    assert db.execute('SELECT count(*) FROM "user"').fetchone() == (0,)


async def test_upsert_inserts_then_updates(db):
    first = await User.upsert(
        data={"id": str(uuid4()), "email": "alice@example.com", "username": "alice"},
        conflict_fields=["username"],
        update_fields=["email"],
    )
    second = await User.upsert(
        data={"id": str(uuid4()), "email": "new@example.com", "username": "alice"},
        conflict_fields=["username"],
        update_fields=["email"],
    )
    assert second.id == first.id and second.email == "new@example.com"
    assert db.execute('SELECT count(*), max(email) FROM "user"').fetchone() == (1, "new@example.com")


async def test_bulk_upsert(db):
    await User.create(username="bob", email="bob@example.com")
    users = await User.bulk_upsert(
        objects_data=[
            {"email": "bob2@example.com", "username": "bob"},
            {"email": "carol@example.com", "username": "carol"},
        ],
        conflict_fields=["username"],
        update_fields=["email"],
    )
    assert sorted(u.email for u in users) == ["bob2@example.com", "carol@example.com"]
    assert db.execute('SELECT username, email FROM "user" ORDER BY username').fetchall() == [
        ("bob", "bob2@example.com"),
        ("carol", "carol@example.com"),
    ]


async def test_count_exists_update_where_delete_where(db):
    await User.bulk_create([
        {"username": "a", "email": "a@x", "status": "draft"},
        {"username": "b", "email": "b@x", "status": "draft"},
        {"username": "c", "email": "c@x", "status": "expired", "is_active": False},
    ])
    assert await User.count() == 3
    assert await User.count(is_active=True) == 2
    assert await User.exists(email="a@x") is True
    assert await User.exists(email="zzz") is False
    result = await User.update_where({"status": "draft"}, status="archived")
    assert result["rows_affected"] == 2
    assert {row["username"] for row in result["updated_rows"]} == {"a", "b"}
    assert all(row["status"] == "archived" for row in result["updated_rows"])
    assert await User.delete_where(status="expired") == 1
    assert db.execute('SELECT username, status FROM "user" ORDER BY username').fetchall() == [
        ("a", "archived"),
        ("b", "archived"),
    ]


async def test_instance_save_refresh_delete(db):
    user = User(username="zed", email="z@x")
    await user.save()
    assert db.execute('SELECT email FROM "user" WHERE id = %s', [user.id]).fetchone() == ("z@x",)
    user.email = "zz@x"
    await user.save()
    assert db.execute('SELECT email FROM "user" WHERE id = %s', [user.id]).fetchone() == ("zz@x",)
    db.execute('UPDATE "user" SET bio = %s WHERE id = %s', ["outside", user.id])
    await user.refresh()
    assert user.bio == "outside"
    assert await user.delete() == 1
    assert db.execute('SELECT count(*) FROM "user"').fetchone() == (0,)


async def test_composite_primary_key(db):
    user = await User.create(username="m", email="m@x")
    await Membership.create(user_id=user.id, group_name="admins")
    await Membership.create(user_id=user, group_name="staff", role="owner")
    member = await Membership.get(user_id=user.id, group_name="staff")
    assert member.role == "owner"
    member.role = "member"
    await member.save()
    assert db.execute("SELECT role FROM membership WHERE group_name = 'staff'").fetchone() == ("member",)
    assert await Membership.bulk_delete([(user.id, "admins")]) == 1
    assert db.execute("SELECT group_name FROM membership").fetchall() == [("staff",)]


async def test_bad_input_fails_before_sql(db):
    with pytest.raises(FieldError) as info:
        await User.create(username="x", email="x", nope=1)
    assert "User" in str(info.value) and "nope" in str(info.value)
    with pytest.raises(ValidationError) as vinfo:
        await User.create(username="x" * 101, email="x")
    assert "User.username" in vinfo.value.message
    with pytest.raises(ValidationError):
        await User.create(username="x", email="x", status="unknown-status")
    with pytest.raises(ValidationError):
        await User.create(username="x", email=None)
    with pytest.raises(ParameterError):
        await User.filter(age__between=3).all()
    assert db.execute('SELECT count(*) FROM "user"').fetchone() == (0,)


async def test_integrity_error_is_mapped_and_chained(db):
    await User.create(username="alice", email="a@x")
    with pytest.raises(IntegrityError) as info:
        await User.create(username="alice", email="b@x")
    assert info.value.__cause__ is not None
    assert info.value.model == "User"
    assert "INSERT INTO" in (info.value.query or "")


async def test_foreign_key_stores_and_filters_like_target_pk(db):
    user = await User.create(username="alice", email="a@x")
    post = await Post.create(id=str(uuid4()), title="Hello World", author_id=user.id)
    assert post.author_id == user.id
    posts = await Post.filter(author_id=str(user.id), is_published=False).all()
    assert [p.id for p in posts] == [post.id]
