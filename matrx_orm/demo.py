"""``matrx-orm demo``: a guided tour that runs against a real PostgreSQL.

It finds a server the way the tests do (``matrx_orm.devdb.find_server``: the
environment, localhost:5432, else an embedded PostgreSQL in a temporary
directory), creates a throwaway database, creates the tables of the models
below from their metadata, then shows CRUD and queries with the async package
(``matrx_orm``) and with the sync package (``matrx_orm_sync``) on the *same*
model classes, and finally drops the database. Each step prints the call it
makes and what came back, so the output reads like a short tutorial.

The demo is tooling: it is not mirrored into ``matrx_orm_sync``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import psycopg

from matrx_orm import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKey,
    IntegerField,
    Model,
    TextArrayField,
    UUIDField,
    register_database,
    transaction,
    unregister_database,
)
from matrx_orm.core.config import DatabaseProjectConfig
from matrx_orm.core.ddl import model_ddl
from matrx_orm.core.exceptions import ConfigurationError, ConnectionError, DoesNotExist, IntegrityError
from matrx_orm.devdb import ServerInfo, create_database, drop_database, find_server, start_embedded

__all__ = ["DEMO_DATABASE", "User", "Post", "run_demo"]

#: The name the demo's models use in ``_database``.
DEMO_DATABASE = "matrx_demo"

Echo = Callable[[str], None]


class User(Model):
    id = UUIDField(primary_key=True, default=uuid.uuid4)
    username = CharField(max_length=100, unique=True)
    email = CharField(max_length=255)
    is_active = BooleanField(default=True)
    joined_at = DateTimeField(auto_now_add=True)

    _table_name = "user"
    _database = DEMO_DATABASE


class Post(Model):
    id = UUIDField(primary_key=True, default=uuid.uuid4)
    title = CharField(max_length=200)
    author_id = ForeignKey("User", "id")
    views = IntegerField(default=0)
    is_published = BooleanField(default=False)
    tags = TextArrayField(null=True)

    _table_name = "post"
    _database = DEMO_DATABASE


class _Printer:
    """Print steps as ``call  ->  result`` lines under section headings."""

    def __init__(self, echo: Echo) -> None:
        self.echo = echo

    def heading(self, text: str) -> None:
        self.echo("")
        self.echo(text)
        self.echo("-" * len(text))

    def note(self, text: str) -> None:
        self.echo(f"  # {text}")

    def step(self, call: str, result: Any) -> Any:
        self.echo(f"  {call}")
        shown = result if isinstance(result, str) else repr(result)
        for line in shown.splitlines() or [""]:
            self.echo(f"      -> {line}")
        return result


# ---------------------------------------------------------------- async tour
async def _async_tour(out: _Printer) -> None:
    out.heading("Async: from matrx_orm import Model  (every call is awaited)")
    alice = out.step(
        'await User.create(username="alice", email="alice@example.com")',
        await User.create(username="alice", email="alice@example.com"),
    )
    bob = await User.create(username="bob", email="bob@example.com")
    out.step('await User.create(username="bob", email="bob@example.com")', bob)
    posts = [
        Post(title="Hello World", author_id=alice.id, views=120, is_published=True, tags=["intro"]),
        Post(title="Async tips", author_id=alice.id, views=45, tags=["python", "async"]),
        Post(title="Why PostgreSQL", author_id=bob.id, views=300, is_published=True, tags=["postgres"]),
    ]
    created = await Post.bulk_create(posts)
    out.step("await Post.bulk_create([Post(...), Post(...), Post(...)])  # one round trip", f"{len(created)} posts")

    out.step('await User.get(username="alice")', await User.get(username="alice"))
    out.step('await User.get_or_none(username="nobody")', await User.get_or_none(username="nobody"))
    try:
        await User.get(username="nobody")
    except DoesNotExist as exc:
        out.step('await User.get(username="nobody")', f"raises {type(exc).__name__}")

    published = await Post.filter(is_published=True).order_by("-views").all()
    out.step(
        'await Post.filter(is_published=True).order_by("-views").all()',
        [p.title for p in published],
    )
    out.step(
        "await Post.filter(views__gte=100).count()",
        await Post.filter(views__gte=100).count(),
    )
    out.step(
        'await Post.filter(title__icontains="tips").exists()',
        await Post.filter(title__icontains="tips").exists(),
    )
    out.step(
        'await Post.exclude(author_id=bob.id).values_list("title", flat=True)',
        sorted(await Post.exclude(author_id=bob.id).values_list("title", flat=True)),
    )
    out.step(
        'await Post.filter(author_id=alice.id).order_by("title").values("title", "views")',
        await Post.filter(author_id=alice.id).order_by("title").values("title", "views"),
    )

    out.step(
        'await Post.filter(title="Async tips").update(is_published=True)  # rows updated',
        await Post.filter(title="Async tips").update(is_published=True),
    )
    bob.email = "bob@example.org"
    await bob.save()
    await bob.refresh()
    out.step('bob.email = "bob@example.org"; await bob.save(); await bob.refresh(); bob.email', bob.email)

    try:
        async with transaction():
            await User.create(username="carol", email="carol@example.com")
            await User.create(username="alice", email="duplicate@example.com")
    except IntegrityError as exc:
        out.step(
            "async with transaction(): create carol, then a second alice",
            f"raises {type(exc).__name__}; rolled back, carol exists: {await User.exists(username='carol')}",
        )


# ---------------------------------------------------------------- sync tour
def _sync_tour(out: _Printer) -> None:
    out.heading("Sync: the same models through matrx_orm_sync  (no await)")
    SyncUser = User.sync
    SyncPost = Post.sync
    out.note("User.sync is User's sync twin: same fields, same table, same metadata")
    out.step(
        "SyncUser = User.sync; SyncUser._meta is User._meta, SyncUser.aio is User",
        (SyncUser._meta is User._meta, SyncUser.aio is User),
    )
    out.step("SyncUser.count()  # rows written by the async code", SyncUser.count())

    dave = SyncUser.create(username="dave", email="dave@example.com", is_active=False)
    out.step('SyncUser.create(username="dave", email="dave@example.com", is_active=False)', dave)
    SyncPost.create(title="Sync is fine too", author_id=dave.id, views=7, tags=["sync"])
    out.step(
        "SyncPost.filter(views__lt=50).order_by(\"views\").values_list(\"title\", flat=True)",
        SyncPost.filter(views__lt=50).order_by("views").values_list("title", flat=True),
    )
    out.step(
        'SyncPost.filter(title__startswith="Async").first().tags',
        SyncPost.filter(title__startswith="Async").first().tags,
    )
    out.step(
        'SyncUser.filter(username__in=["alice", "dave"]).order_by("username").values_list("username", flat=True)',
        SyncUser.filter(username__in=["alice", "dave"]).order_by("username").values_list("username", flat=True),
    )
    result = SyncUser.update_where({"is_active": False}, is_active=True)
    out.step(
        'SyncUser.update_where({"is_active": False}, is_active=True)["rows_affected"]',
        result["rows_affected"],
    )
    out.step(
        "SyncPost.filter(author_id=dave.id).delete()  # rows deleted",
        SyncPost.filter(author_id=dave.id).delete(),
    )
    out.step("dave.delete()", dave.delete())
    out.step(
        'SyncUser.order_by("username").values_list("username", flat=True)',
        SyncUser.order_by("username").values_list("username", flat=True),
    )
    out.step("SyncPost.count()", SyncPost.count())


# ---------------------------------------------------------------- plumbing
def _create_tables(config: DatabaseProjectConfig, out: _Printer) -> None:
    statements = model_ddl([User._meta, Post._meta])
    out.heading("Tables, created from the models' metadata (matrx_orm.core.ddl.model_ddl)")
    with psycopg.connect(config.conninfo(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # DDL from our own generator; identifiers already quoted
            out.echo(f"  {statement.splitlines()[0].rstrip(' (')}")


def _pick_server(embedded: bool) -> ServerInfo:
    if embedded:
        return ServerInfo(start_embedded().config(DEMO_DATABASE), "embedded", owned_database=True)
    return find_server(DEMO_DATABASE)


def run_demo(echo: Echo = print, *, embedded: bool = False) -> None:
    """Run the tour: throwaway database, tables, async and sync CRUD, cleanup."""
    out = _Printer(echo)
    echo("matrx-orm demo")
    echo("==============")
    info = _pick_server(embedded)
    echo(f"Server:   {info.describe()}")
    name = f"matrx_demo_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        created = create_database(info.config, name, drop_existing=False)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ConfigurationError(
            f"the demo creates a throwaway database, and {info.describe()} does not allow CREATE DATABASE; "
            "use a server where it may (or pass --embedded)"
        ) from exc
    except psycopg.OperationalError as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
        raise ConnectionError(f"cannot reach {info.describe()}: {reason}") from exc
    config = replace(created, name=DEMO_DATABASE, alias="")
    echo(f"Database: {name} (created for this demo, dropped at the end)")
    register_database(config)
    try:
        _create_tables(config, out)
        asyncio.run(_run_async(out))
        _sync_tour(out)
    finally:
        from matrx_orm_sync import close_pools

        close_pools()
        unregister_database(DEMO_DATABASE)
        drop_database(info.config, name)
    echo("")
    echo(f"Dropped database {name}. Done.")


async def _run_async(out: _Printer) -> None:
    from matrx_orm import close_pools

    try:
        await _async_tour(out)
    finally:
        await close_pools()
