"""Models in a non-public schema (``_db_schema``) and models with composite primary keys, against PostgreSQL."""

from __future__ import annotations

import pytest

from matrx_orm import DoesNotExist, IntegrityError, capture_queries
from tests.level2.foundation_db import empty_cache  # noqa: F401  (fixture)
from tests.models_async import Document, Membership, User

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("empty_cache")]


# -- _db_schema ----------------------------------------------------------------------------------
async def test_db_schema_model_crud(db):
    assert Document._meta.quoted_table == '"archive"."document"'
    doc = await Document.create(title="first")
    docs = await Document.bulk_create([{"title": "second"}, {"title": "third"}])
    assert db.execute("SELECT id, title FROM archive.document ORDER BY id").fetchall() == [
        (doc.id, "first"), (docs[0].id, "second"), (docs[1].id, "third"),
    ]
    assert db.execute("SELECT to_regclass('public.document')").fetchone() == (None,)
    assert (await Document.get(id=doc.id)).title == "first"
    assert [d.title for d in await Document.filter(title__startswith="t").all()] == ["third"]
    assert await Document.filter(id__in=[doc.id, docs[0].id]).update(title="renamed") == 2
    assert await Document.count(title="renamed") == 2
    assert await Document.bulk_delete([docs[1]]) == 1
    assert await Document.filter(id=doc.id).delete() == 1
    assert db.execute("SELECT title FROM archive.document").fetchall() == [("renamed",)]


async def test_db_schema_statements_are_schema_qualified(db):
    with capture_queries() as queries:
        await Document.create(title="x")
        await Document.filter(title="x").values_list("id", flat=True)
    assert all('"archive"."document"' in q for q in queries)


# -- composite primary keys ---------------------------------------------------------------------------
async def make_members():
    alice = await User.create(username="alice", email="a@x")
    bob = await User.create(username="bob", email="b@x")
    rows = await Membership.bulk_create([
        {"user_id": alice.id, "group_name": "admins", "role": "owner"},
        {"user_id": alice.id, "group_name": "staff"},
        {"user_id": bob.id, "group_name": "staff"},
    ])
    return alice, bob, rows


async def test_composite_key_create_and_get(db):
    alice, bob, rows = await make_members()
    assert [m.pk for m in rows] == [(alice.id, "admins"), (alice.id, "staff"), (bob.id, "staff")]
    assert db.execute("SELECT user_id, group_name, role FROM membership ORDER BY 2, 1").fetchall() == sorted(
        [(alice.id, "admins", "owner"), (alice.id, "staff", "member"), (bob.id, "staff", "member")],
        key=lambda r: (r[1], str(r[0])),
    )
    member = await Membership.get(user_id=alice.id, group_name="staff")
    assert member.pk == (alice.id, "staff") and member.role == "member"
    assert await Membership.get_or_none(user_id=bob.id, group_name="admins") is None
    with pytest.raises(IntegrityError):
        await Membership.create(user_id=bob.id, group_name="staff")
    assert await Membership.count(group_name="staff") == 2


async def test_composite_key_save_refresh_delete(db):
    alice, bob, _rows = await make_members()
    member = await Membership.get(user_id=bob.id, group_name="staff")
    member.role = "lead"
    await member.save()
    assert db.execute("SELECT user_id, role FROM membership WHERE group_name = 'staff' ORDER BY role").fetchall() == [
        (bob.id, "lead"), (alice.id, "member"),
    ]
    db.execute("UPDATE membership SET role = 'changed' WHERE user_id = %s AND group_name = 'staff'", [bob.id])
    await member.refresh()
    assert member.role == "changed"
    assert await member.delete() == 1
    assert db.execute("SELECT count(*) FROM membership WHERE user_id = %s", [bob.id]).fetchone() == (0,)
    with pytest.raises(DoesNotExist):
        await Membership.get(user_id=bob.id, group_name="staff")


async def test_composite_key_bulk_update_and_bulk_delete(db):
    alice, bob, rows = await make_members()
    for m in rows:
        m.role = f"r-{m.group_name}"
    with capture_queries() as queries:
        assert await Membership.bulk_update(rows, ["role"]) == 3
    assert len(queries) == 1
    assert db.execute("SELECT DISTINCT role FROM membership ORDER BY 1").fetchall() == [("r-admins",), ("r-staff",)]
    with capture_queries() as queries:
        assert await Membership.bulk_delete([rows[0], (bob.id, "staff")]) == 2
    assert len(queries) == 1
    assert db.execute("SELECT user_id, group_name FROM membership").fetchall() == [(alice.id, "staff")]


async def test_composite_key_upsert(db):
    alice, _bob, _rows = await make_members()
    row = await Membership.upsert(
        {"user_id": alice.id, "group_name": "staff", "role": "boss"}, conflict_fields=["user_id", "group_name"]
    )
    assert row.role == "boss"
    assert db.execute("SELECT role FROM membership WHERE user_id = %s AND group_name = 'staff'",
                      [alice.id]).fetchone() == ("boss",)
    assert db.execute("SELECT count(*) FROM membership").fetchone() == (3,)
