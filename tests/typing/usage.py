"""What the public API promises a type checker: checked with ``mypy --strict`` by ``tests/level1/test_typing.py``.

Never imported or run. ``assert_type`` fails the check when an inferred type
drifts; each ``# type: ignore[code]`` marks a mistake the checker must keep
catching (``--strict`` warns about an ignore that is no longer needed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import Any

from typing_extensions import assert_type

import matrx_orm
import matrx_orm_sync
from matrx_orm import CharField, DateTimeField, ForeignKey, IntegerField, Model, Q, QuerySet, UUIDField
from matrx_orm.testing import assert_num_queries


class User(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100)
    age = IntegerField(null=True)
    joined = DateTimeField(auto_now_add=True)

    _database = "typing"


class Post(Model):
    id = UUIDField(primary_key=True)
    author_id = ForeignKey("User", "id")
    title = CharField(max_length=200)


class SyncUser(matrx_orm_sync.Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100)


async def async_api() -> None:
    qs = User.filter(Q(age__gt=3) | Q(age__isnull=True), username__startswith="a")
    assert_type(qs, QuerySet[User])
    assert_type(qs.exclude(age=4).order_by("-age").limit(3).offset(1)[0:2], QuerySet[User])
    assert_type(User.query(), QuerySet[User])
    assert_type(await qs.all(), list[User])
    assert_type(await User.all(), list[User])
    assert_type(await qs.first(), User | None)
    assert_type(await qs.last(), User | None)
    assert_type(await qs.get(), User)
    assert_type(await User.get(id=uuid.uuid4()), User)
    assert_type(await User.get_or_none(username="x"), User | None)
    assert_type(await User.create(username="ann"), User)
    assert_type(await qs.values("id", "username"), list[dict[str, Any]])
    assert_type(await qs.values_list("username", flat=True), list[Any])
    assert_type(await qs.count(), int)
    assert_type(await qs.exists(), bool)
    assert_type(await qs.update(age=5), int)
    assert_type(await qs.delete(), int)
    assert_type(qs.sql(), tuple[str, list[Any]])
    assert_type(await qs.explain(analyze=True), str)
    async for user in qs:
        assert_type(user, User)
    async for user in qs.iterator(chunk_size=500):
        assert_type(user, User)
    async with contextlib.aclosing(qs.iterator()) as users:
        async for user in users:
            assert_type(user, User)
    posts = await Post.filter(author_id=uuid.uuid4()).select_related("author").all()
    assert_type(posts, list[Post])

    async with matrx_orm.transaction():
        await User.filter(username="ann").update(age=6)
    async with assert_num_queries(1):
        await User.count()

    user = await User.get(username="ann")
    # Field values read from an instance are plain values to the checker (not Field objects).
    name: str = user.username
    joined: dt.datetime = user.joined
    assert_type(User.username, CharField)

    # Mistakes the checker catches.
    one: User = await qs.first()  # type: ignore[assignment]
    many: list[Post] = await qs.all()  # type: ignore[assignment]
    await qs.no_such_method()  # type: ignore[attr-defined]
    print(name, joined, one, many)


def sync_api() -> None:
    qs = SyncUser.filter(username="ann")
    assert_type(qs, matrx_orm_sync.QuerySet[SyncUser])
    assert_type(qs.all(), list[SyncUser])
    assert_type(qs.first(), SyncUser | None)
    assert_type(SyncUser.get(username="ann"), SyncUser)
    assert_type(qs.values(), list[dict[str, Any]])
    assert_type(qs.count(), int)
    for user in qs:
        assert_type(user, SyncUser)
    for user in qs.iterator(chunk_size=100):
        assert_type(user, SyncUser)
    with contextlib.closing(qs.iterator()) as users:
        for user in users:
            assert_type(user, SyncUser)
    with matrx_orm_sync.transaction(), assert_num_queries(1):
        SyncUser.create(username="bob")
    one: SyncUser = qs.first()  # type: ignore[assignment]
    print(one)
