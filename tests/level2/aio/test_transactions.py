"""Transactions: commit, rollback on exception, savepoints, on_commit, and one connection for every ORM call.

Isolation is proved from outside: the raw ``db`` connection (another session)
must not see uncommitted rows, while every ORM call inside the block must see
them, which only the transaction's own connection can.
"""

from __future__ import annotations

import uuid

import pytest

from matrx_orm import (
    ConfigurationError,
    IntegrityError,
    TransactionError,
    in_transaction,
    on_commit,
    transaction,
)
from tests.level2.foundation_db import empty_cache  # noqa: F401  (fixture)
from tests.models_async import Everything, Membership, Post, User

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("empty_cache")]

DB = "test_db"


def count_users(db):
    return db.execute('SELECT count(*) FROM "user"').fetchone()[0]


class Boom(Exception):
    pass


async def test_commit_makes_rows_visible_only_at_the_end(db):
    async with transaction(DB) as conn:
        assert in_transaction(DB)
        await User.create(username="alice", email="a@x")
        await User.create(username="bob", email="b@x")
        assert count_users(db) == 0  # another session sees nothing yet
        cur = await conn.execute('SELECT count(*) FROM "user"')
        assert (await cur.fetchone())[0] == 2  # the yielded connection is the ORM's
    assert not in_transaction(DB)
    assert count_users(db) == 2


async def test_exception_rolls_back_and_propagates_unchanged(db):
    with pytest.raises(Boom):
        async with transaction(DB):
            await User.create(username="alice", email="a@x")
            raise Boom()
    assert count_users(db) == 0
    assert not in_transaction(DB)


async def test_every_orm_call_inside_uses_the_transaction_connection(db):
    async with transaction(DB):
        alice = await User.create(username="alice", email="a@x")
        bob_and_carol = await User.bulk_create([{"username": "bob", "email": "b@x"}, {"username": "carol", "email": "c@x"}])
        await Post.create(id=uuid.uuid4(), title="t", author_id=alice.id)
        await Membership.create(user_id=alice.id, group_name="g")
        assert count_users(db) == 0
        # Reads see the uncommitted rows: they ran on the transaction's connection.
        assert (await User.get(id=alice.id)).username == "alice"
        assert (await User.get(use_cache=False, username="bob")).id == bob_and_carol[0].id
        assert await User.get_or_none(id=alice.id) is not None
        assert await User.count() == 3
        assert await User.exists(username="carol")
        assert await User.filter(username__startswith="b").values_list("username", flat=True) == ["bob"]
        assert [u.username for u in await User.order_by("username").all()] == ["alice", "bob", "carol"]
        assert await Post.filter(author_id=alice.id).count() == 1
        # Writes too.
        assert await User.filter(username="bob").update(age=40) == 1
        bob = await User.get(username="bob")
        assert bob.age == 40
        bob.bio = "saved"
        await bob.save()
        await bob.refresh()
        assert bob.bio == "saved"
        assert await User.bulk_update(bob_and_carol, ["is_active"]) == 2
        upserted = await User.upsert({"username": "alice", "email": "new@x"}, conflict_fields=["username"])
        assert upserted.id == alice.id and upserted.email == "new@x"
        assert (await User.update_where({"username": "carol"}, bio="c"))["rows_affected"] == 1
        assert await User.bulk_delete([bob_and_carol[1]]) == 1
        assert await User.delete_where(username="nobody") == 0
        assert await Membership.filter(user_id=alice.id).delete() == 1
        await Everything.create(f_text="x")
        assert count_users(db) == 0 and db.execute("SELECT count(*) FROM everything").fetchone() == (0,)
    assert db.execute('SELECT username, email, age, bio FROM "user" ORDER BY username').fetchall() == [
        ("alice", "new@x", None, None),
        ("bob", "b@x", 40, "saved"),
    ]
    assert db.execute("SELECT count(*) FROM post").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM membership").fetchone() == (0,)


async def test_everything_rolls_back_together(db):
    await User.create(username="keep", email="k@x")
    with pytest.raises(Boom):
        async with transaction(DB):
            await User.bulk_create([{"username": f"u{i}", "email": f"{i}@x"} for i in range(5)])
            await User.filter(username="keep").update(bio="changed")
            await User.filter(username="keep").delete()
            raise Boom()
    assert db.execute('SELECT username, bio FROM "user"').fetchall() == [("keep", None)]


async def test_nested_savepoint_rollback_keeps_outer_work(db):
    async with transaction(DB):
        await User.create(username="outer", email="o@x")
        with pytest.raises(Boom):
            async with transaction(DB):
                await User.create(username="inner", email="i@x")
                assert await User.count() == 2
                raise Boom()
        assert await User.count() == 1  # the savepoint's row is gone, the outer one stays
        async with transaction(DB):
            await User.create(username="inner2", email="i2@x")
        await User.create(username="after", email="a@x")
        assert count_users(db) == 0
    assert db.execute('SELECT username FROM "user" ORDER BY username').fetchall() == [
        ("after",), ("inner2",), ("outer",),
    ]


async def test_integrity_error_in_a_savepoint_can_be_recovered(db):
    async with transaction(DB):
        await User.create(username="alice", email="a@x")
        with pytest.raises(IntegrityError):
            async with transaction(DB):
                await User.create(username="alice", email="dup@x")
        await User.create(username="bob", email="b@x")
    assert db.execute('SELECT username FROM "user" ORDER BY 1').fetchall() == [("alice",), ("bob",)]


async def test_integrity_error_without_savepoint_aborts_the_transaction(db):
    with pytest.raises(TransactionError) as info:
        async with transaction(DB):
            await User.create(username="alice", email="a@x")
            with pytest.raises(IntegrityError):
                await User.create(username="alice", email="dup@x")
            await User.count()  # the transaction is aborted: PostgreSQL refuses
    assert info.value.__cause__ is not None
    assert count_users(db) == 0


async def test_on_commit_runs_only_after_commit(db):
    seen = []

    def record(label):
        def callback():
            seen.append((label, count_users(db)))  # what another session sees when it runs
        return callback

    async with transaction(DB):
        await User.create(username="alice", email="a@x")
        on_commit(record("outer"), DB)
        async with transaction(DB):
            on_commit(record("savepoint kept"), DB)
        with pytest.raises(Boom):
            async with transaction(DB):
                on_commit(record("savepoint rolled back"), DB)
                raise Boom()
        assert seen == []
    assert seen == [("outer", 1), ("savepoint kept", 1)]

    seen.clear()
    with pytest.raises(Boom):
        async with transaction(DB):
            on_commit(record("never"), DB)
            raise Boom()
    assert seen == []

    on_commit(record("no transaction: now"), DB)
    assert seen == [("no transaction: now", 1)]


async def test_transaction_needs_a_known_database():
    with pytest.raises(ConfigurationError):
        async with transaction("no_such_database"):
            pass


async def test_alias_opens_the_same_transaction_as_the_name(db):
    async with transaction("main"):
        assert in_transaction("my_project") and in_transaction("main")
        assert not in_transaction(DB)
