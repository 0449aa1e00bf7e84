"""The workloads: one operation each, written for every system that can run it.

Each workload is measured for the async ORM (``matrx_orm``), the sync ORM
(``matrx_orm_sync``), and raw psycopg (sync and async) sending the same SQL on
an identically configured pool (same factory, autocommit, same
``prepare_threshold``). The raw SQL is written out here by hand, the way a
psycopg user would write it; before timing, the harness captures the ORM's
statements for one operation and reports whether they are the same text.

The two bulk writes are the exception, on purpose: their raw baseline is what
a psycopg user writes for many rows, ``executemany`` of the one-row statement
inside one transaction (pipelined by psycopg), without ``RETURNING`` -- the
ORM must beat it while also returning the rows (bulk_create).

Relation workloads are built only when the ORM exposes ``select_related`` /
``prefetch_related``; otherwise they are listed as skipped with the reason.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg.rows import dict_row

from benchmarks.schema import N_POSTS, N_USERS, TAGS_PER_POST, author_of

__all__ = ["Impl", "Workload", "Context", "build_workloads", "WORKLOAD_KEYS"]


@dataclass
class Impl:
    """One system's implementation of a workload's operation."""

    system: str  # "matrx_orm", "raw psycopg", or a peer's name
    mode: str  # "sync" | "async"
    op: Callable[[int], Any]  # op(i) for sync, async op(i) for async; i = operation counter
    sql: list[str] | None = None  # statements sent by one operation (raw side), for the same-SQL check

    @property
    def id(self) -> str:
        """Return a unique label, e.g. ``matrx_orm/async``."""
        return f"{self.system}/{self.mode}"

    @property
    def is_raw(self) -> bool:
        """Return True for the raw psycopg baseline."""
        return self.system == RAW


@dataclass
class Workload:
    """A named operation, its unit, its target ratio and its implementations."""

    key: str
    title: str
    unit: str  # what the rate counts: "ops", "rows", "gets"
    per_op: int  # units per operation
    target: float | None
    impls: list[Impl] = field(default_factory=list)
    check: Callable[[Any], str | None] | None = None  # returns an error message for a wrong result
    after_slice: Callable[[], None] | None = None  # cleanup between timed slices (untimed)
    prepare: Callable[[], Any] | None = None  # untimed setup, run once before warm-up
    slice_factor: float = 1.0  # long operations get longer slices
    note: str = ""
    skipped: str | None = None  # why the workload cannot run here


RAW = "raw psycopg"
ORM = "matrx_orm"


@dataclass
class Context:
    """What the workloads need: models, raw pools, a cleanup connection."""

    aio_models: Any  # module-like: BenchUser, BenchPost, BenchTag (async)
    sync_models: Any  # SyncUser, SyncPost, SyncTag
    raw_apool: Any  # psycopg_pool.AsyncConnectionPool
    raw_pool: Any  # psycopg_pool.ConnectionPool
    admin: Any  # psycopg.Connection (autocommit) for untimed cleanup
    loop: Any  # asyncio loop of the async systems
    rng: random.Random = field(default_factory=lambda: random.Random(1234))


# ---------------------------------------------------------------------------------------------- SQL
POST_COLS = '"id", "author_id", "title", "body", "views", "published", "created_at"'
USER_COLS = '"id", "username", "email", "is_active", "created_at"'
TAG_COLS = '"id", "name"'
POST_QCOLS = ", ".join(f'"bench_post".{c.strip()}' for c in POST_COLS.split(","))
USER_S0COLS = ", ".join(f'"_s0".{c.strip()}' for c in USER_COLS.split(","))

SQL_GET = f'SELECT {POST_COLS} FROM "bench_post" WHERE "id" = %s'
SQL_RANGE = f'SELECT {POST_COLS} FROM "bench_post" WHERE "id" >= %s AND "id" < %s'
SQL_UPTO = f'SELECT {POST_COLS} FROM "bench_post" WHERE "id" <= %s'
SQL_INSERT = (
    'INSERT INTO "bench_post" ("author_id", "title", "body", "views", "published") '
    f"VALUES (%s, %s, %s, %s, %s) RETURNING {POST_COLS}"
)
SQL_INSERT_PLAIN = 'INSERT INTO "bench_post" ("author_id", "title", "body", "views", "published") VALUES (%s, %s, %s, %s, %s)'
SQL_UPDATE_ONE = 'UPDATE "bench_post" SET "title" = %s, "views" = %s WHERE "id" = %s'
SQL_JOIN_AUTHOR = (
    f'SELECT {POST_QCOLS}, {USER_S0COLS} FROM "bench_post" '
    'LEFT JOIN "bench_user" AS "_s0" ON "_s0"."id" = "bench_post"."author_id" '
    'WHERE "bench_post"."id" >= %s AND "bench_post"."id" < %s'
)
SQL_USERS_IN = f'SELECT {USER_COLS} FROM "bench_user" WHERE "id" = ANY(%s::BIGINT[])'
SQL_TAGS_OF = (
    'SELECT "_j"."post_id", "_t"."id", "_t"."name" FROM "bench_post_tag" AS "_j" '
    'JOIN "bench_tag" AS "_t" ON "_t"."id" = "_j"."tag_id" '
    'WHERE "_j"."post_id" = ANY(%s::BIGINT[]) ORDER BY "_j"."post_id", "_t"."id"'
)

BODY = "A benchmark post body: short, but not empty, like most rows in a real table."
N_IDS = 4096  # pre-drawn random keys, cycled: both systems see the same sequence


def _expect_len(n: int) -> Callable[[Any], str | None]:
    def check(result: Any) -> str | None:
        return None if len(result) == n else f"expected {n} rows, got {len(result)}"

    return check


def _check_one(result: Any) -> str | None:
    return None if result is not None else "no row"


def build_workloads(ctx: Context, *, only: list[str] | None = None) -> list[Workload]:
    """Return every workload (relation ones marked skipped when the ORM lacks the API)."""
    A = ctx.aio_models
    S = ctx.sync_models
    apool = ctx.raw_apool
    pool = ctx.raw_pool
    rng = ctx.rng
    ids = [rng.randint(1, N_POSTS) for _ in range(N_IDS)]
    starts10 = [rng.randint(1, N_POSTS - 10) for _ in range(N_IDS)]
    starts100 = [rng.randint(1, N_POSTS - 100) for _ in range(N_IDS)]
    authors = [rng.randint(1, N_USERS) for _ in range(N_IDS)]
    mask = N_IDS - 1
    out: list[Workload] = []

    # -- get by primary key ----------------------------------------------------------------
    async def orm_get_a(i: int) -> Any:
        return await A.BenchPost.get(id=ids[i & mask])

    def orm_get_s(i: int) -> Any:
        return S.SyncPost.get(id=ids[i & mask])

    async def raw_get_a(i: int) -> Any:
        async with apool.connection() as conn:
            cur = await conn.execute(SQL_GET, (ids[i & mask],))
            return await cur.fetchone()

    def raw_get_s(i: int) -> Any:
        with pool.connection() as conn:
            return conn.execute(SQL_GET, (ids[i & mask],)).fetchone()

    out.append(
        Workload(
            "get_pk", "get by primary key, hydrated", "ops", 1, 0.85,
            [Impl(ORM, "async", orm_get_a), Impl(RAW, "async", raw_get_a, [SQL_GET]),
             Impl(ORM, "sync", orm_get_s), Impl(RAW, "sync", raw_get_s, [SQL_GET])],
            check=_check_one,
        )
    )

    # -- get by primary key, served by the state cache (raw psycopg still queries) --------------
    from benchmarks.models import BenchPostCached, SyncPostCached

    async def orm_cget_a(i: int) -> Any:
        return await BenchPostCached.get(id=ids[i & mask])

    def orm_cget_s(i: int) -> Any:
        return SyncPostCached.get(id=ids[i & mask])

    out.append(
        Workload(
            "get_pk_cached", "get by primary key, state cache warm", "ops", 1, None,
            # No same-SQL check: a cache hit sends no statement at all.
            [Impl(ORM, "async", orm_cget_a), Impl(RAW, "async", raw_get_a),
             Impl(ORM, "sync", orm_cget_s), Impl(RAW, "sync", raw_get_s)],
            check=_check_one,
            note="the ORM answers from its per-process cache after the first pass over the 4096 keys; raw psycopg queries",
        )
    )

    # -- filter returning 10 rows ------------------------------------------------------------
    async def orm_f10_a(i: int) -> Any:
        k = starts10[i & mask]
        return await A.BenchPost.filter(id__gte=k, id__lt=k + 10).all()

    def orm_f10_s(i: int) -> Any:
        k = starts10[i & mask]
        return S.SyncPost.filter(id__gte=k, id__lt=k + 10).all()

    async def raw_f10_a(i: int) -> Any:
        k = starts10[i & mask]
        async with apool.connection() as conn:
            cur = await conn.execute(SQL_RANGE, (k, k + 10))
            return await cur.fetchall()

    def raw_f10_s(i: int) -> Any:
        k = starts10[i & mask]
        with pool.connection() as conn:
            return conn.execute(SQL_RANGE, (k, k + 10)).fetchall()

    out.append(
        Workload(
            "filter_10", "filter returning 10 rows, hydrated", "ops", 1, 0.80,
            [Impl(ORM, "async", orm_f10_a), Impl(RAW, "async", raw_f10_a, [SQL_RANGE]),
             Impl(ORM, "sync", orm_f10_s), Impl(RAW, "sync", raw_f10_s, [SQL_RANGE])],
            check=_expect_len(10),
        )
    )

    # -- 10,000 rows hydrated / as dicts ----------------------------------------------------------
    async def orm_10k_a(i: int) -> Any:
        return await A.BenchPost.filter(id__lte=10_000).all()

    def orm_10k_s(i: int) -> Any:
        return S.SyncPost.filter(id__lte=10_000).all()

    async def raw_10k_a(i: int) -> Any:
        async with apool.connection() as conn:
            cur = await conn.execute(SQL_UPTO, (10_000,))
            return await cur.fetchall()

    def raw_10k_s(i: int) -> Any:
        with pool.connection() as conn:
            return conn.execute(SQL_UPTO, (10_000,)).fetchall()

    out.append(
        Workload(
            "rows_10k", "10,000 rows hydrated into models", "rows", 10_000, 0.60,
            [Impl(ORM, "async", orm_10k_a), Impl(RAW, "async", raw_10k_a, [SQL_UPTO]),
             Impl(ORM, "sync", orm_10k_s), Impl(RAW, "sync", raw_10k_s, [SQL_UPTO])],
            check=_expect_len(10_000), slice_factor=1.5,
        )
    )

    async def orm_vals_a(i: int) -> Any:
        return await A.BenchPost.filter(id__lte=10_000).values()

    def orm_vals_s(i: int) -> Any:
        return S.SyncPost.filter(id__lte=10_000).values()

    async def raw_vals_a(i: int) -> Any:
        async with apool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SQL_UPTO, (10_000,))
            return await cur.fetchall()

    def raw_vals_s(i: int) -> Any:
        with pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            cur.execute(SQL_UPTO, (10_000,))
            return cur.fetchall()

    def check_dicts(result: Any) -> str | None:
        if len(result) != 10_000 or not isinstance(result[0], dict) or "title" not in result[0]:
            return "expected 10,000 dicts"
        return None

    out.append(
        Workload(
            "values_10k", "10,000 rows as dicts (values)", "rows", 10_000, 0.95,
            [Impl(ORM, "async", orm_vals_a), Impl(RAW, "async", raw_vals_a, [SQL_UPTO]),
             Impl(ORM, "sync", orm_vals_s), Impl(RAW, "sync", raw_vals_s, [SQL_UPTO])],
            check=check_dicts, slice_factor=1.5, note="raw uses psycopg's dict_row",
        )
    )

    # -- insert one row ---------------------------------------------------------------------------
    def cleanup() -> None:
        ctx.admin.execute("DELETE FROM bench_post WHERE id > %s", [N_POSTS])

    async def orm_ins_a(i: int) -> Any:
        return await A.BenchPost.create(author_id=authors[i & mask], title=f"new post {i}", body=BODY)

    def orm_ins_s(i: int) -> Any:
        return S.SyncPost.create(author_id=authors[i & mask], title=f"new post {i}", body=BODY)

    async def raw_ins_a(i: int) -> Any:
        async with apool.connection() as conn:
            cur = await conn.execute(SQL_INSERT, (authors[i & mask], f"new post {i}", BODY, 0, False))
            return await cur.fetchone()

    def raw_ins_s(i: int) -> Any:
        with pool.connection() as conn:
            return conn.execute(SQL_INSERT, (authors[i & mask], f"new post {i}", BODY, 0, False)).fetchone()

    out.append(
        Workload(
            "insert_one", "insert one row (returning it)", "ops", 1, 0.80,
            [Impl(ORM, "async", orm_ins_a), Impl(RAW, "async", raw_ins_a, [SQL_INSERT]),
             Impl(ORM, "sync", orm_ins_s), Impl(RAW, "sync", raw_ins_s, [SQL_INSERT])],
            check=_check_one, after_slice=cleanup,
        )
    )

    # -- bulk_create 1,000 ------------------------------------------------------------------------
    new_dicts = [{"author_id": author_of(j + 1), "title": f"bulk post {j}", "body": BODY} for j in range(1000)]
    new_tuples = [(d["author_id"], d["title"], d["body"], 0, False) for d in new_dicts]

    async def orm_bulk_a(i: int) -> Any:
        return await A.BenchPost.bulk_create(new_dicts)

    def orm_bulk_s(i: int) -> Any:
        return S.SyncPost.bulk_create(new_dicts)

    async def raw_bulk_a(i: int) -> Any:
        async with apool.connection() as conn:
            async with conn.transaction():
                async with conn.cursor() as cur:
                    await cur.executemany(SQL_INSERT_PLAIN, new_tuples)
        return new_tuples

    def raw_bulk_s(i: int) -> Any:
        with pool.connection() as conn:
            with conn.transaction():
                with conn.cursor() as cur:
                    cur.executemany(SQL_INSERT_PLAIN, new_tuples)
        return new_tuples

    out.append(
        Workload(
            "bulk_create_1000", "bulk_create 1,000 rows", "rows", 1000, 1.00,
            [Impl(ORM, "async", orm_bulk_a), Impl(RAW, "async", raw_bulk_a),
             Impl(ORM, "sync", orm_bulk_s), Impl(RAW, "sync", raw_bulk_s)],
            check=_expect_len(1000), after_slice=cleanup,
            note="raw: executemany of the one-row INSERT in a transaction, no RETURNING; the ORM returns the rows",
        )
    )

    # -- bulk_update 1,000 ------------------------------------------------------------------------
    update_ids = list(range(5001, 6001))
    holder: dict[str, Any] = {}

    def objects(mode: str) -> list[Any]:
        # Loaded once, untimed (the ORM needs instances; raw needs only keys and values).
        if mode not in holder:
            if mode == "sync":
                holder[mode] = S.SyncPost.filter(id__gte=5001, id__lte=6000).order_by("id").all()
            else:
                holder[mode] = ctx.loop.run_until_complete(
                    A.BenchPost.filter(id__gte=5001, id__lte=6000).order_by("id").all()
                )
        return holder[mode]  # type: ignore[no-any-return]

    async def orm_bupd_a(i: int) -> Any:
        objs = holder["async"]
        title = f"edited {i}"
        for obj in objs:
            obj.title = title
            obj.views = i
        return await A.BenchPost.bulk_update(objs, ["title", "views"])

    def orm_bupd_s(i: int) -> Any:
        objs = holder["sync"]
        title = f"edited {i}"
        for obj in objs:
            obj.title = title
            obj.views = i
        return S.SyncPost.bulk_update(objs, ["title", "views"])

    async def raw_bupd_a(i: int) -> Any:
        title = f"edited {i}"
        params = [(title, i, pk) for pk in update_ids]
        async with apool.connection() as conn:
            async with conn.transaction():
                async with conn.cursor() as cur:
                    await cur.executemany(SQL_UPDATE_ONE, params)
        return len(params)

    def raw_bupd_s(i: int) -> Any:
        title = f"edited {i}"
        params = [(title, i, pk) for pk in update_ids]
        with pool.connection() as conn:
            with conn.transaction():
                with conn.cursor() as cur:
                    cur.executemany(SQL_UPDATE_ONE, params)
        return len(params)

    def check_1000(result: Any) -> str | None:
        return None if result == 1000 else f"expected 1000 rows updated, got {result!r}"

    out.append(
        Workload(
            "bulk_update_1000", "bulk_update 1,000 rows (2 fields)", "rows", 1000, 0.80,
            [Impl(ORM, "async", orm_bupd_a), Impl(RAW, "async", raw_bupd_a),
             Impl(ORM, "sync", orm_bupd_s), Impl(RAW, "sync", raw_bupd_s)],
            check=check_1000, prepare=lambda: (objects("sync"), objects("async")),
            note="raw: executemany of the one-row UPDATE in a transaction",
        )
    )

    # -- relations --------------------------------------------------------------------------------
    qs_cls = type(A.BenchPost.query())
    has_sr = hasattr(qs_cls, "select_related")
    has_pf = hasattr(qs_cls, "prefetch_related")

    def check_authors(result: Any) -> str | None:
        if len(result) != 100:
            return f"expected 100 posts, got {len(result)}"
        first = result[0]
        if isinstance(first, tuple):
            return None
        author = first.author
        return None if author is not None and author.id == first.author_id else "author not attached"

    if has_sr:
        async def orm_join_a(i: int) -> Any:
            k = starts100[i & mask]
            return await A.BenchPost.select_related("author").filter(id__gte=k, id__lt=k + 100).all()

        def orm_join_s(i: int) -> Any:
            k = starts100[i & mask]
            return S.SyncPost.select_related("author").filter(id__gte=k, id__lt=k + 100).all()

        async def raw_join_a(i: int) -> Any:
            k = starts100[i & mask]
            async with apool.connection() as conn:
                cur = await conn.execute(SQL_JOIN_AUTHOR, (k, k + 100))
                return await cur.fetchall()

        def raw_join_s(i: int) -> Any:
            k = starts100[i & mask]
            with pool.connection() as conn:
                return conn.execute(SQL_JOIN_AUTHOR, (k, k + 100)).fetchall()

        out.append(
            Workload(
                "posts_authors_join", "100 posts with authors (select_related, 1 query)", "ops", 1, 0.75,
                [Impl(ORM, "async", orm_join_a), Impl(RAW, "async", raw_join_a, [SQL_JOIN_AUTHOR]),
                 Impl(ORM, "sync", orm_join_s), Impl(RAW, "sync", raw_join_s, [SQL_JOIN_AUTHOR])],
                check=check_authors,
            )
        )
    else:
        out.append(Workload("posts_authors_join", "100 posts with authors (select_related)", "ops", 1, 0.75,
                            skipped="QuerySet.select_related does not exist yet"))

    if has_pf:
        async def orm_pf_a(i: int) -> Any:
            k = starts100[i & mask]
            return await A.BenchPost.filter(id__gte=k, id__lt=k + 100).prefetch_related("author").all()

        def orm_pf_s(i: int) -> Any:
            k = starts100[i & mask]
            return S.SyncPost.filter(id__gte=k, id__lt=k + 100).prefetch_related("author").all()

        async def raw_pf_a(i: int) -> Any:
            k = starts100[i & mask]
            async with apool.connection() as conn:
                cur = await conn.execute(SQL_RANGE, (k, k + 100))
                posts = await cur.fetchall()
                keys = list(dict.fromkeys(p[1] for p in posts))
                cur = await conn.execute(SQL_USERS_IN, (keys,))
                await cur.fetchall()
            return posts

        def raw_pf_s(i: int) -> Any:
            k = starts100[i & mask]
            with pool.connection() as conn:
                posts = conn.execute(SQL_RANGE, (k, k + 100)).fetchall()
                keys = list(dict.fromkeys(p[1] for p in posts))
                conn.execute(SQL_USERS_IN, (keys,)).fetchall()
            return posts

        out.append(
            Workload(
                "posts_authors_prefetch", "100 posts with authors (prefetch_related, 2 queries)", "ops", 1, 0.75,
                [Impl(ORM, "async", orm_pf_a), Impl(RAW, "async", raw_pf_a, [SQL_RANGE, SQL_USERS_IN]),
                 Impl(ORM, "sync", orm_pf_s), Impl(RAW, "sync", raw_pf_s, [SQL_RANGE, SQL_USERS_IN])],
                check=check_authors,
            )
        )

        def check_tags(result: Any) -> str | None:
            if len(result) != 100:
                return f"expected 100 posts, got {len(result)}"
            first = result[0]
            if isinstance(first, tuple):
                return None
            return None if len(first.tags) == TAGS_PER_POST else f"expected {TAGS_PER_POST} tags, got {len(first.tags)}"

        async def orm_tags_a(i: int) -> Any:
            k = starts100[i & mask]
            return await A.BenchPost.filter(id__gte=k, id__lt=k + 100).prefetch_related("tags").all()

        def orm_tags_s(i: int) -> Any:
            k = starts100[i & mask]
            return S.SyncPost.filter(id__gte=k, id__lt=k + 100).prefetch_related("tags").all()

        async def raw_tags_a(i: int) -> Any:
            k = starts100[i & mask]
            async with apool.connection() as conn:
                cur = await conn.execute(SQL_RANGE, (k, k + 100))
                posts = await cur.fetchall()
                cur = await conn.execute(SQL_TAGS_OF, ([p[0] for p in posts],))
                await cur.fetchall()
            return posts

        def raw_tags_s(i: int) -> Any:
            k = starts100[i & mask]
            with pool.connection() as conn:
                posts = conn.execute(SQL_RANGE, (k, k + 100)).fetchall()
                conn.execute(SQL_TAGS_OF, ([p[0] for p in posts],)).fetchall()
            return posts

        out.append(
            Workload(
                "posts_tags_m2m", "tags of 100 posts (M2M prefetch, 2 queries)", "ops", 1, 0.75,
                [Impl(ORM, "async", orm_tags_a), Impl(RAW, "async", raw_tags_a, [SQL_RANGE, SQL_TAGS_OF]),
                 Impl(ORM, "sync", orm_tags_s), Impl(RAW, "sync", raw_tags_s, [SQL_RANGE, SQL_TAGS_OF])],
                check=check_tags,
            )
        )
    else:
        for key, title in (("posts_authors_prefetch", "100 posts with authors (prefetch_related)"),
                           ("posts_tags_m2m", "tags of 100 posts (M2M prefetch)")):
            out.append(Workload(key, title, "ops", 1, 0.75, skipped="QuerySet.prefetch_related does not exist yet"))

    # -- concurrency: 50 tasks x 20 gets on a pool of 10 (async only) ----------------------------
    import asyncio

    async def orm_conc(i: int) -> Any:
        async def worker(t: int) -> int:
            base = (i * 50 + t) * 20
            for j in range(20):
                await A.BenchPost.get(id=ids[(base + j) & mask])
            return 20

        return await asyncio.gather(*[worker(t) for t in range(50)])

    async def raw_conc(i: int) -> Any:
        async def worker(t: int) -> int:
            base = (i * 50 + t) * 20
            for j in range(20):
                async with apool.connection() as conn:
                    cur = await conn.execute(SQL_GET, (ids[(base + j) & mask],))
                    await cur.fetchone()
            return 20

        return await asyncio.gather(*[worker(t) for t in range(50)])

    def check_conc(result: Any) -> str | None:
        return None if sum(result) == 1000 else "expected 1000 gets"

    out.append(
        Workload(
            "concurrent_gets", "50 tasks x 20 gets on a pool of 10", "gets", 1000, 0.85,
            [Impl(ORM, "async", orm_conc), Impl(RAW, "async", raw_conc, [SQL_GET] * 1000)],
            check=check_conc, slice_factor=2.0, note="async only",
        )
    )

    if only:
        wanted = set(only)
        out = [w for w in out if w.key in wanted]
    return out


WORKLOAD_KEYS = [
    "get_pk", "get_pk_cached", "filter_10", "rows_10k", "values_10k", "insert_one", "bulk_create_1000", "bulk_update_1000",
    "posts_authors_join", "posts_authors_prefetch", "posts_tags_m2m", "concurrent_gets",
]
