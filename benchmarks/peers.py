"""Optional peer ORMs, measured only when their packages are installed (``pip install -e '.[bench]'``).

Each adapter adds implementations to the workloads it can express in its own
idiomatic way, on the same tables; its ratio is to raw psycopg of the same
mode in the same rounds, like matrx-orm's. Peers manage their own pools (of
the same size) and transactions, as their users would.

Written so far: SQLAlchemy 2 (ORM, sync and asyncio, psycopg 3 driver).
Django, Tortoise and peewee are detected and reported as not written yet.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from benchmarks.schema import N_POSTS, N_USERS, author_of
from benchmarks.workloads import BODY, Impl, Workload

__all__ = ["add_peers", "close_peers"]

_closers: list[Callable[[Any], None]] = []


def add_peers(workloads: list[Workload], ctx: Any, config: Any, wanted: list[str] | None) -> list[str]:
    """Add the installed peers' implementations; return one line per peer saying what happened."""
    lines = []
    for name, module, adapter in _ADAPTERS:
        if wanted is not None and name not in wanted:
            continue
        if importlib.util.find_spec(module) is None:
            lines.append(f"peer {name}: not installed (pip install -e '.[bench]')")
            continue
        if adapter is None:
            lines.append(f"peer {name}: installed, adapter not written yet")
            continue
        try:
            count = adapter(workloads, ctx, config)
        except Exception as exc:  # a broken peer must not stop the run
            lines.append(f"peer {name}: skipped ({type(exc).__name__}: {exc})")
            continue
        lines.append(f"peer {name}: {count} implementations")
    return lines


def close_peers(loop: Any) -> None:
    """Release what the peers opened."""
    for closer in _closers:
        closer(loop)
    _closers.clear()


# ------------------------------------------------------------------------------ SQLAlchemy
def _sqlalchemy(workloads: list[Workload], ctx: Any, config: Any) -> int:
    import asyncio

    from sqlalchemy import (
        BigInteger,
        Boolean,
        Column,
        DateTime,
        ForeignKey,
        Integer,
        String,
        Table,
        Text,
        create_engine,
        insert,
        select,
        update,
    )
    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase, joinedload, mapped_column, relationship, selectinload, sessionmaker

    class Base(DeclarativeBase):
        pass

    post_tag = Table(
        "bench_post_tag", Base.metadata,
        Column("post_id", BigInteger, ForeignKey("bench_post.id"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("bench_tag.id"), primary_key=True),
    )

    class User(Base):
        __tablename__ = "bench_user"
        id = mapped_column(BigInteger, primary_key=True)
        username = mapped_column(String(50))
        email = mapped_column(String(120))
        is_active = mapped_column(Boolean)
        created_at = mapped_column(DateTime(timezone=True))

    class Tag(Base):
        __tablename__ = "bench_tag"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(String(50))

    class Post(Base):
        __tablename__ = "bench_post"
        id = mapped_column(BigInteger, primary_key=True)
        author_id = mapped_column(BigInteger, ForeignKey("bench_user.id"))
        title = mapped_column(String(200))
        body = mapped_column(Text)
        views = mapped_column(Integer, default=0)
        published = mapped_column(Boolean, default=False)
        created_at = mapped_column(DateTime(timezone=True), server_default="now()")
        author = relationship(User)
        tags = relationship(
            Tag, secondary=post_tag, primaryjoin="Post.id == bench_post_tag.c.post_id",
            secondaryjoin="Tag.id == bench_post_tag.c.tag_id", viewonly=True,
        )

    url = URL.create(
        "postgresql+psycopg", username=config.user, password=config.password or None, host=config.host,
        port=int(config.port), database=config.database_name,
    )
    connect_args = {"prepare_threshold": config.prepare_threshold}
    size = config.max_pool_size
    engine = create_engine(url, pool_size=size, max_overflow=0, connect_args=connect_args)
    aengine = create_async_engine(url, pool_size=size, max_overflow=0, connect_args=connect_args)
    S = sessionmaker(engine, expire_on_commit=False)
    A = async_sessionmaker(aengine, expire_on_commit=False, class_=AsyncSession)

    def close(loop: Any) -> None:
        engine.dispose()
        loop.run_until_complete(aengine.dispose())

    _closers.append(close)
    ids = ctx.rng.sample(range(1, N_POSTS + 1), 4096)
    starts10 = [i % (N_POSTS - 10) + 1 for i in ids]
    starts100 = [i % (N_POSTS - 100) + 1 for i in ids]
    authors = [i % N_USERS + 1 for i in ids]
    mask = 4095
    new_rows = [{"author_id": author_of(j + 1), "title": f"bulk post {j}", "body": BODY} for j in range(1000)]
    update_ids = list(range(5001, 6001))
    impls: dict[str, list[Impl]] = {}

    def add(key: str, sync_op: Callable[[int], Any] | None, async_op: Callable[[int], Any] | None) -> None:
        out = impls.setdefault(key, [])
        if sync_op is not None:
            out.append(Impl("sqlalchemy", "sync", sync_op))
        if async_op is not None:
            out.append(Impl("sqlalchemy", "async", async_op))

    # get by primary key: a session per operation, as per request in an application.
    def get_s(i: int) -> Any:
        with S() as s:
            return s.get(Post, ids[i & mask])

    async def get_a(i: int) -> Any:
        async with A() as s:
            return await s.get(Post, ids[i & mask])

    add("get_pk", get_s, get_a)

    def rng_stmt(k: int, n: int) -> Any:
        return select(Post).where(Post.id >= k, Post.id < k + n)

    def f10_s(i: int) -> Any:
        with S() as s:
            return s.scalars(rng_stmt(starts10[i & mask], 10)).all()

    async def f10_a(i: int) -> Any:
        async with A() as s:
            return (await s.scalars(rng_stmt(starts10[i & mask], 10))).all()

    add("filter_10", f10_s, f10_a)

    upto = select(Post).where(Post.id <= 10_000)

    def r10k_s(i: int) -> Any:
        with S() as s:
            return s.scalars(upto).all()

    async def r10k_a(i: int) -> Any:
        async with A() as s:
            return (await s.scalars(upto)).all()

    add("rows_10k", r10k_s, r10k_a)

    upto_cols = select(Post.__table__).where(Post.id <= 10_000)

    def vals_s(i: int) -> Any:
        with S() as s:
            return [dict(m) for m in s.execute(upto_cols).mappings()]

    async def vals_a(i: int) -> Any:
        async with A() as s:
            return [dict(m) for m in (await s.execute(upto_cols)).mappings()]

    add("values_10k", vals_s, vals_a)

    def ins_s(i: int) -> Any:
        with S() as s:
            post = Post(author_id=authors[i & mask], title=f"new post {i}", body=BODY)
            s.add(post)
            s.commit()
            return post

    async def ins_a(i: int) -> Any:
        async with A() as s:
            post = Post(author_id=authors[i & mask], title=f"new post {i}", body=BODY)
            s.add(post)
            await s.commit()
            return post

    add("insert_one", ins_s, ins_a)

    def bulk_s(i: int) -> Any:
        with S() as s:
            out = s.scalars(insert(Post).returning(Post), new_rows).all()
            s.commit()
            return out

    async def bulk_a(i: int) -> Any:
        async with A() as s:
            out = (await s.scalars(insert(Post).returning(Post), new_rows)).all()
            await s.commit()
            return out

    add("bulk_create_1000", bulk_s, bulk_a)

    def upd_rows(i: int) -> list[dict[str, Any]]:
        title = f"edited {i}"
        return [{"id": pk, "title": title, "views": i} for pk in update_ids]

    def bupd_s(i: int) -> Any:
        with S() as s:
            s.execute(update(Post), upd_rows(i))
            s.commit()
        return 1000

    async def bupd_a(i: int) -> Any:
        async with A() as s:
            await s.execute(update(Post), upd_rows(i))
            await s.commit()
        return 1000

    add("bulk_update_1000", bupd_s, bupd_a)

    def rel_ops(option: Any) -> tuple[Callable[[int], Any], Callable[[int], Any]]:
        def sync_op(i: int) -> Any:
            k = starts100[i & mask]
            with S() as s:
                return s.scalars(rng_stmt(k, 100).options(option)).unique().all()

        async def async_op(i: int) -> Any:
            k = starts100[i & mask]
            async with A() as s:
                return (await s.scalars(rng_stmt(k, 100).options(option))).unique().all()

        return sync_op, async_op

    add("posts_authors_join", *rel_ops(joinedload(Post.author)))
    add("posts_authors_prefetch", *rel_ops(selectinload(Post.author)))
    add("posts_tags_m2m", *rel_ops(selectinload(Post.tags)))

    async def conc(i: int) -> Any:
        async def worker(t: int) -> int:
            base = (i * 50 + t) * 20
            async with A() as s:
                for j in range(20):
                    await s.get(Post, ids[(base + j) & mask])
                    s.expunge_all()  # a fresh get each time, not the identity map
            return 20

        return await asyncio.gather(*[worker(t) for t in range(50)])

    add("concurrent_gets", None, conc)

    count = 0
    for w in workloads:
        if w.skipped:
            continue
        for impl in impls.get(w.key, []):
            w.impls.append(impl)
            count += 1
    return count


_ADAPTERS: list[tuple[str, str, Any]] = [
    ("sqlalchemy", "sqlalchemy", _sqlalchemy),
    ("django", "django", None),
    ("tortoise", "tortoise", None),
    ("peewee", "peewee", None),
]
