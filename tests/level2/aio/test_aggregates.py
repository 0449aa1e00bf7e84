"""Aggregation, grouping, HAVING, DISTINCT [ON], window functions, subqueries and CTEs, against PostgreSQL.

Each result is compared with the same question asked in plain SQL on the
reader connection.
"""

from __future__ import annotations

import decimal

import pytest

from matrx_orm import (
    CTE,
    ArrayAgg,
    Avg,
    BoolAnd,
    BoolOr,
    Case,
    Count,
    DenseRank,
    Exists,
    F,
    JSONBAgg,
    Lag,
    Max,
    Min,
    OuterRef,
    ParameterError,
    Q,
    Rank,
    RowNumber,
    RowRange,
    StringAgg,
    Subquery,
    Sum,
    Trunc,
    Value,
    When,
    Window,
    capture_queries,
)
from tests.level2.query_db import q_db  # noqa: F401  (fixture)
from tests.level2.query_seed import seed_articles
from tests.models_query_async import QArticle, QAuthor, QCategory

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("q_db")]


async def test_aggregate_over_the_table_and_a_filter(q_db):
    seed_articles(q_db)
    result = await QArticle.aggregate(
        n=Count(), total=Sum("views"), avg=Avg("views"), top=Max("views"), low=Min("rating"), rated=Count("rating")
    )
    expected = q_db.execute(
        "SELECT count(*), sum(views), avg(views), max(views), min(rating), count(rating) FROM q_article"
    ).fetchone()
    assert (result["n"], result["total"], result["avg"], result["top"], result["low"], result["rated"]) == expected
    published = await QArticle.filter(status="published").aggregate(Sum("views"), Count())
    assert published == {"views__sum": 90, "count": 3}
    empty = await QArticle.filter(views__gt=1000).aggregate(total=Sum("views"), safe=Sum("views", default=0), n=Count())
    assert empty == {"total": None, "safe": 0, "n": 0}


async def test_aggregate_with_filter_clause_and_distinct(q_db):
    seed_articles(q_db)
    result = await QArticle.aggregate(
        drafts=Count("id", filter=Q(status="draft")),
        authors=Count("author_id", distinct=True),
        popular_views=Sum("views", filter=Q(views__gte=30)),
    )
    assert result == {"drafts": 2, "authors": 2, "popular_views": 80}


async def test_aggregate_over_sliced_and_annotated_querysets(q_db):
    seed_articles(q_db)
    top_two = await QArticle.query().order_by("-views")[:2].aggregate(total=Sum("views"))
    assert top_two == {"total": 80}
    result = await QArticle.query().annotate(doubled=F("views") * 2).aggregate(total=Sum("doubled"))
    assert result == {"total": 190}
    with pytest.raises(ParameterError):
        await QArticle.aggregate(x=F("views"))
    with pytest.raises(ParameterError):
        await QArticle.aggregate(Sum(F("views") + 1))  # positional needs a name


async def test_group_by_with_annotate_and_having(q_db):
    ids = seed_articles(q_db)
    rows = await QArticle.group_by("author_id").annotate(n=Count(), total=Sum("views")).order_by("author_id").values()
    expected = q_db.execute(
        "SELECT author_id, count(*), sum(views) FROM q_article GROUP BY author_id ORDER BY author_id"
    ).fetchall()
    assert [(r["author_id"], r["n"], r["total"]) for r in rows] == expected
    rows = await QArticle.group_by("author_id").annotate(n=Count()).filter(n__gte=2).values_list("author_id", flat=True)
    assert sorted(rows) == sorted([ids["alice"], ids["bob"]])
    # values() with aggregates groups by the plain names (Django's values().annotate()).
    rows = await QArticle.query().order_by("status").values("status", n=Count(), top=Max("views"))
    assert rows == [{"status": "draft", "n": 2, "top": 5}, {"status": "published", "n": 3, "top": 50}]
    assert await QArticle.group_by("status").annotate(n=Count()).count() == 2
    with pytest.raises(ParameterError):
        await QArticle.group_by("status").all()  # grouped rows are not model instances


async def test_group_by_transform_and_expression(q_db):
    seed_articles(q_db)
    rows = await QArticle.group_by("created_at__year").annotate(n=Count()).order_by("created_at__year").values_list(
        "created_at__year", "n")
    expected = q_db.execute(
        "SELECT extract(year FROM created_at)::int AS y, count(*) FROM q_article GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == expected
    rows = await QArticle.query().values(month=Trunc("created_at", "year"), n=Count())
    assert sorted((r["month"].year, r["n"]) for r in rows) == [(2022, 1), (2023, 1), (2024, 3)]


async def test_annotate_aggregate_per_row_via_subquery_and_having(q_db):
    ids = seed_articles(q_db)
    per_author = Subquery(QArticle.filter(author_id=OuterRef("id")), Count())
    rows = await QAuthor.query().annotate(n=per_author).order_by("name").values_list("name", "n")
    assert rows == [("alice", 2), ("bob", 2), ("carol", 0)]
    busy = await QAuthor.query().annotate(n=per_author).filter(n__gte=2).order_by("name").all()
    assert [a.name for a in busy] == ["alice", "bob"] and busy[0].n == 2
    top_title = Subquery(QArticle.filter(author_id=OuterRef("id")).order_by("-views")[:1], "title")
    rows = await QAuthor.query().annotate(top=top_title).order_by("name").values_list("top", flat=True)
    assert rows == ["Advanced SQL", "Cheese guide", None]
    # An aggregate annotation without explicit grouping groups by primary key (one row per instance).
    rows = await QArticle.query().annotate(n=Count("id")).filter(n=1).count()
    assert rows == 5
    assert ids["carol"] in await QAuthor.filter(~Exists(QArticle.filter(author_id=OuterRef("id")))).values_list("id", flat=True)


async def test_exists_and_in_subqueries(q_db):
    ids = seed_articles(q_db)
    writers = await QAuthor.filter(Exists(QArticle.filter(author_id=OuterRef("id"), status="draft"))).all()
    assert sorted(a.name for a in writers) == ["bob"]
    silent = await QAuthor.filter(~Exists(QArticle.filter(author_id=OuterRef("id")))).all()
    assert [a.name for a in silent] == ["carol"]
    either = await QAuthor.filter(Exists(QArticle.filter(author_id=OuterRef("id"), views__gt=40)) | Q(name="carol")).all()
    assert sorted(a.name for a in either) == ["bob", "carol"]
    popular = await QAuthor.filter(id__in=Subquery(QArticle.filter(views__gte=30), "author_id")).all()
    assert sorted(a.name for a in popular) == ["alice", "bob"]
    articles = await QArticle.filter(id__in=QArticle.filter(status="draft")).all()
    assert sorted(a.title for a in articles) == ["Orphan", "Python tips"]
    flagged = await QAuthor.query().annotate(
        has_drafts=Exists(QArticle.filter(author_id=OuterRef("id"), status="draft"))
    ).order_by("name").values_list("name", "has_drafts")
    assert flagged == [("alice", False), ("bob", True), ("carol", False)]
    # A self-referencing subquery gets its own alias.
    above_avg = await QArticle.filter(
        author_id__isnull=False,
        views__gt=Subquery(QArticle.filter(author_id=OuterRef("author_id")), Avg("views")),
    ).all()
    expected = q_db.execute(
        "SELECT title FROM q_article a WHERE views > (SELECT avg(views) FROM q_article b WHERE b.author_id = a.author_id)"
    ).fetchall()
    assert sorted(a.title for a in above_avg) == sorted(t for (t,) in expected)
    assert ids


async def test_window_functions(q_db):
    seed_articles(q_db)
    rows = await QArticle.filter(author_id__isnull=False).annotate(
        rank=Window(Rank(), partition_by="author_id", order_by="-views"),
        running=Window(Sum("views"), partition_by="author_id", order_by="created_at", frame=RowRange(None, 0)),
        previous=Window(Lag("views"), order_by="created_at"),
        row=Window(RowNumber(), order_by=F("views").desc()),
        dense=Window(DenseRank(), order_by="status"),
    ).order_by("id").values("title", "rank", "running", "previous", "row", "dense")
    expected = q_db.execute(
        "SELECT title, rank() OVER (PARTITION BY author_id ORDER BY views DESC),"
        " sum(views) OVER (PARTITION BY author_id ORDER BY created_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),"
        " lag(views) OVER (ORDER BY created_at), row_number() OVER (ORDER BY views DESC),"
        " dense_rank() OVER (ORDER BY status)"
        " FROM q_article WHERE author_id IS NOT NULL ORDER BY id"
    ).fetchall()
    assert [tuple(r.values()) for r in rows] == expected


async def test_filter_on_window_annotation_top_n_per_group(q_db):
    seed_articles(q_db)
    qs = QArticle.filter(author_id__isnull=False).annotate(
        rn=Window(RowNumber(), partition_by="author_id", order_by="-views")
    ).filter(rn=1).order_by("title")
    best = await qs.all()
    assert [(a.title, a.rn) for a in best] == [("Advanced SQL", 1), ("Cheese guide", 1)]
    assert await qs.count() == 2
    assert await qs.values_list("title", flat=True) == ["Advanced SQL", "Cheese guide"]


async def test_distinct_and_distinct_on(q_db):
    seed_articles(q_db)
    statuses = await QArticle.query().distinct().order_by("status").values_list("status", flat=True)
    assert statuses == ["draft", "published"]
    latest = await QArticle.filter(author_id__isnull=False).distinct("author_id").order_by("author_id", "-created_at").all()
    expected = q_db.execute(
        "SELECT DISTINCT ON (author_id) title FROM q_article WHERE author_id IS NOT NULL ORDER BY author_id, created_at DESC"
    ).fetchall()
    assert [(a.title,) for a in latest] == expected
    assert await QArticle.query().distinct("status").count() == 2


async def test_array_string_jsonb_bool_aggregates(q_db):
    ids = seed_articles(q_db)
    rows = await QArticle.filter(author_id=ids["alice"]).aggregate(
        titles=ArrayAgg("title", ordering="title"),
        joined=StringAgg("title", ", ", ordering="-title"),
        docs=JSONBAgg("views", ordering="views"),
        any_hot=BoolOr(Case(When(views__gt=20, then=Value(True)), default=Value(False))),
        all_hot=BoolAnd(Case(When(views__gt=20, then=Value(True)), default=Value(False))),
    )
    assert (rows["any_hot"], rows["all_hot"]) == (True, False)
    assert rows["titles"] == ["Advanced SQL", "Intro to SQL"]
    assert rows["joined"] == "Intro to SQL, Advanced SQL"
    assert rows["docs"] == [10, 30]


async def test_ctes(q_db):
    seed_articles(q_db)
    popular = CTE("popular", QArticle.filter(views__gte=30))
    authors = await QAuthor.with_cte(popular).filter(id__in=popular.select("author_id")).order_by("name").all()
    assert [a.name for a in authors] == ["alice", "bob"]
    rows = await QArticle.query().with_cte(popular).from_cte(popular).order_by("views").values_list("title", flat=True)
    assert rows == ["Advanced SQL", "Cheese guide"]
    with pytest.raises(ParameterError):
        await QAuthor.filter(id__in=popular.select("author_id")).all()  # not attached


async def test_recursive_cte_walks_a_tree(q_db):
    root = await QCategory.create(name="root")
    a = await QCategory.create(name="a", parent_id=root.id)
    b = await QCategory.create(name="b", parent_id=root.id)
    await QCategory.create(name="a1", parent_id=a.id)
    await QCategory.create(name="b1", parent_id=b.id)
    await QCategory.create(name="other")
    tree = CTE("subtree", QCategory.filter(id=a.id), recursive_on=("parent_id", "id"))
    with capture_queries() as queries:
        names = await QCategory.query().with_cte(tree).from_cte(tree).order_by("name").values_list("name", flat=True)
    assert names == ["a", "a1"]
    assert len(queries) == 1
    everything = CTE("everything", QCategory.filter(parent_id=None, name="root"), recursive_on=("parent_id", "id"))
    count = await QCategory.query().with_cte(everything).filter(id__in=everything.select("id")).count()
    assert count == q_db.execute("SELECT count(*) FROM q_category WHERE name <> 'other'").fetchone()[0]


async def test_update_and_delete_on_annotated_querysets(q_db):
    seed_articles(q_db)
    per_author = Subquery(QArticle.filter(author_id=OuterRef("author_id")), Count())
    changed = await QArticle.query().annotate(siblings=per_author).filter(siblings__gte=2).update(views=0)
    assert changed == 4
    assert q_db.execute("SELECT count(*) FROM q_article WHERE views = 0").fetchone() == (5,)
    gone = await QArticle.query().annotate(n=Count("id")).filter(n=1, title__startswith="Python").delete()
    assert gone == 1
    assert q_db.execute("SELECT count(*) FROM q_article WHERE title = 'Python tips'").fetchone() == (0,)


async def test_aggregates_take_one_query(q_db):
    seed_articles(q_db)
    with capture_queries() as queries:
        await QArticle.group_by("status").annotate(n=Count(), v=Sum("views"), r=Avg("rating")).values()
        await QArticle.aggregate(n=Count(), v=Sum("views"))
    assert len(queries) == 2
    assert isinstance((await QArticle.aggregate(r=Avg("rating")))["r"], decimal.Decimal)
