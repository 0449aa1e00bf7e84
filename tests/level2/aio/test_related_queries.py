"""Where relations meet expressions, against PostgreSQL: aggregates across relations, filters by
instance, relation paths in subqueries and wrapped queries, annotations with select/prefetch_related,
deferred fields.

Every answer is compared with the same question asked in plain SQL on the reader connection.
"""

from __future__ import annotations

import pytest

from matrx_orm import (
    CTE,
    ArrayAgg,
    Avg,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    ParameterError,
    Q,
    RowNumber,
    Subquery,
    Sum,
    Window,
    capture_queries,
)
from tests.level2.relations_db import rel_db  # noqa: F401  (fixture)
from tests.models_relations_async import RelComment, RelPost, RelTag, RelUser

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("rel_db")]


async def make_blog():
    """alice: p1 (python, sql; 2 comments), p2 (python); bob: p3 (no tag), p4 (python, sql, rust; 1 comment); carol: none."""
    alice = await RelUser.create(username="alice", email="a@example.com")
    bob = await RelUser.create(username="bob", email="b@example.com")
    carol = await RelUser.create(username="carol")
    py = await RelTag.create(name="python")
    sq = await RelTag.create(name="sql")
    rust = await RelTag.create(name="rust")
    p1 = await RelPost.create(title="p1", author_id=alice.id, views=10)
    p2 = await RelPost.create(title="p2", author_id=alice.id, views=5)
    p3 = await RelPost.create(title="p3", author_id=bob.id, views=1)
    p4 = await RelPost.create(title="p4", author_id=bob.id, views=7)
    await p1.add_m2m("tags", py, sq)
    await p2.add_m2m("tags", py)
    await p4.add_m2m("tags", py, sq, rust)
    await RelComment.create(post_id=p1.id, author_id=bob.id, body="nice")
    await RelComment.create(post_id=p1.id, author_id=carol.id, body="great")
    await RelComment.create(post_id=p4.id, author_id=alice.id, body="wow")
    return {"alice": alice, "bob": bob, "carol": carol, "py": py, "sql": sq, "rust": rust,
            "p1": p1, "p2": p2, "p3": p3, "p4": p4}


# -- aggregates across multi-valued relations -------------------------------------------------
async def test_annotate_count_sum_avg_min_max_across_an_inverse_fk(db):
    await make_blog()
    rows = await RelUser.annotate(
        n=Count("posts"),
        links=Count("posts__tags"),
        tags=Count("posts__tags", distinct=True),
        views=Sum("posts__views"),
        avg=Avg("posts__views"),
        low=Min("posts__views"),
        high=Max("posts__views"),
        comments=Count("posts__rel_comment_set"),
    ).order_by("username").values_list("username", "n", "links", "tags", "views", "avg", "low", "high", "comments")
    expected = db.execute(
        """
        SELECT u.username,
               (SELECT count(*) FROM rel_post p WHERE p.author_id = u.id),
               (SELECT count(*) FROM rel_post p JOIN rel_post_tag pt ON pt.post_id = p.id WHERE p.author_id = u.id),
               (SELECT count(DISTINCT pt.tag_id) FROM rel_post p JOIN rel_post_tag pt ON pt.post_id = p.id
                 WHERE p.author_id = u.id),
               (SELECT sum(views) FROM rel_post p WHERE p.author_id = u.id),
               (SELECT avg(views) FROM rel_post p WHERE p.author_id = u.id),
               (SELECT min(views) FROM rel_post p WHERE p.author_id = u.id),
               (SELECT max(views) FROM rel_post p WHERE p.author_id = u.id),
               (SELECT count(*) FROM rel_post p JOIN rel_comment c ON c.post_id = p.id WHERE p.author_id = u.id)
        FROM rel_user u ORDER BY u.username
        """
    ).fetchall()
    assert rows == expected
    assert rows[0][:5] == ("alice", 2, 3, 2, 15) and rows[2][:5] == ("carol", 0, 0, 0, None)


async def test_several_aggregates_never_multiply_each_other(db):
    await make_blog()
    # Over joins, posts x tags x comments would inflate every count; each aggregate is its own subquery.
    rows = await RelUser.annotate(n=Count("posts"), c=Count("rel_comment_set")).order_by("username").values_list(
        "username", "n", "c"
    )
    posts = dict(db.execute("SELECT u.username, count(p.id) FROM rel_user u LEFT JOIN rel_post p ON p.author_id = u.id "
                            "GROUP BY u.username").fetchall())
    comments = dict(db.execute("SELECT u.username, count(c.id) FROM rel_user u LEFT JOIN rel_comment c "
                               "ON c.author_id = u.id GROUP BY u.username").fetchall())
    assert rows == [(name, posts[name], comments[name]) for name in sorted(posts)]
    assert rows == [("alice", 2, 1), ("bob", 2, 1), ("carol", 0, 1)]
    # Each user is returned once, with a count on it, not once per related row.
    users = await RelUser.annotate(n=Count("posts__tags")).all()
    assert sorted(u.username for u in users) == ["alice", "bob", "carol"]


async def test_count_across_many_to_many_both_ways_and_array_agg(db):
    await make_blog()
    per_post = await RelPost.annotate(n=Count("tags")).order_by("-n", "title").values_list("title", "n")
    assert per_post == db.execute(
        "SELECT p.title, count(pt.tag_id) AS n FROM rel_post p LEFT JOIN rel_post_tag pt ON pt.post_id = p.id "
        "GROUP BY p.id, p.title ORDER BY n DESC, p.title"
    ).fetchall()
    per_tag = await RelTag.annotate(n=Count("rel_post_set")).order_by("name").values_list("name", "n")
    assert per_tag == [("python", 3), ("rust", 1), ("sql", 2)]
    names = await RelPost.annotate(names=ArrayAgg("tags__name", ordering="tags__name")).order_by("title").values_list(
        "title", "names"
    )
    assert names == db.execute(
        "SELECT p.title, (SELECT array_agg(t.name ORDER BY t.name) FROM rel_post_tag pt JOIN rel_tag t ON t.id = pt.tag_id "
        "WHERE pt.post_id = p.id) FROM rel_post p ORDER BY p.title"
    ).fetchall()
    assert names[0] == ("p1", ["python", "sql"]) and names[2] == ("p3", None)


async def test_filter_q_inside_the_aggregate_reads_the_related_row(db):
    await make_blog()
    rows = await RelUser.annotate(
        busy=Count("posts", filter=Q(posts__views__gt=6)),
        tagged_sql=Count("posts", filter=Q(posts__tags__name="sql")),
        if_emailed=Sum("posts__views", filter=Q(email__isnull=False)),
    ).order_by("username").values_list("username", "busy", "tagged_sql", "if_emailed")
    assert rows == db.execute(
        """
        SELECT u.username,
               (SELECT count(*) FROM rel_post p WHERE p.author_id = u.id AND p.views > 6),
               (SELECT count(*) FROM rel_post p WHERE p.author_id = u.id AND EXISTS (
                    SELECT 1 FROM rel_post_tag pt JOIN rel_tag t ON t.id = pt.tag_id
                    WHERE pt.post_id = p.id AND t.name = 'sql')),
               (SELECT sum(p.views) FROM rel_post p WHERE p.author_id = u.id AND u.email IS NOT NULL)
        FROM rel_user u ORDER BY u.username
        """
    ).fetchall()
    assert rows[0] == ("alice", 1, 1, 15)


async def test_filter_order_count_and_exists_on_the_annotation(db):
    await make_blog()
    qs = RelUser.annotate(n=Count("posts")).filter(n__gte=2)
    assert await qs.order_by("username").values_list("username", flat=True) == ["alice", "bob"]
    assert await qs.count() == 2
    assert await qs.exists() is True
    assert await RelUser.annotate(n=Count("posts")).filter(n__gte=3).exists() is False
    ranked = await RelUser.annotate(n=Count("posts__tags")).order_by("-n", "username").all()
    assert [(u.username, u.n) for u in ranked] == sorted(
        db.execute("SELECT u.username, count(pt.tag_id) FROM rel_user u LEFT JOIN rel_post p ON p.author_id = u.id "
                   "LEFT JOIN rel_post_tag pt ON pt.post_id = p.id GROUP BY u.username").fetchall(),
        key=lambda r: (-r[1], r[0]),
    )
    first = await RelUser.query().order_by(Count("posts").desc(), "username").first()
    assert first.username == "alice"


async def test_update_and_delete_through_an_annotation_filter(db):
    b = await make_blog()
    untagged = await RelPost.annotate(n=Count("tags")).filter(n=0).update(views=100)
    assert untagged == 1
    assert db.execute("SELECT title FROM rel_post WHERE views = 100").fetchall() == [("p3",)]
    removed = await RelComment.annotate(n=Count("post__tags")).filter(n__gte=3).delete()
    assert removed == 1
    assert db.execute("SELECT body FROM rel_comment ORDER BY body").fetchall() == [("great",), ("nice",)]
    assert b["p4"].id not in [r[0] for r in db.execute("SELECT post_id FROM rel_comment").fetchall()]


# -- per group: values(), group_by(), aggregate(), Subquery ------------------------------------
async def test_values_grouping_counts_each_groups_related_rows(db):
    await make_blog()
    rows = await RelPost.query().values("author__username", n=Count("tags"), d=Count("tags", distinct=True))
    expected = db.execute(
        "SELECT u.username, count(pt.tag_id), count(DISTINCT pt.tag_id) FROM rel_post p "
        "JOIN rel_user u ON u.id = p.author_id LEFT JOIN rel_post_tag pt ON pt.post_id = p.id GROUP BY u.username"
    ).fetchall()
    assert sorted((r["author__username"], r["n"], r["d"]) for r in rows) == sorted(expected)
    assert sorted((r["author__username"], r["n"], r["d"]) for r in rows) == [("alice", 3, 2), ("bob", 3, 3)]
    # Join semantics per row of the group: two comments on p1 count p1's tags twice.
    per_post = await RelComment.query().values("post__title", n=Count("post__tags"))
    assert sorted((r["post__title"], r["n"]) for r in per_post) == [("p1", 4), ("p4", 3)]


async def test_group_by_having_and_ordering_on_aggregates_across_relations(db):
    await make_blog()
    rows = await (RelPost.group_by("author_id").annotate(n=Count("tags", distinct=True), posts=Count())
                  .filter(n__gte=3).order_by("-n").values())
    bob_id = db.execute("SELECT id FROM rel_user WHERE username = 'bob'").fetchone()[0]
    assert rows == [{"author_id": bob_id, "n": 3, "posts": 2}]


async def test_aggregate_over_the_related_rows_of_every_matching_row(db):
    await make_blog()
    totals = await RelUser.aggregate(
        posts=Count("posts"), links=Count("posts__tags"), tags=Count("posts__tags", distinct=True),
        views=Sum("posts__views"), users=Count(),
    )
    expected = db.execute(
        "SELECT count(*), (SELECT count(*) FROM rel_post_tag), (SELECT count(DISTINCT tag_id) FROM rel_post_tag), "
        "(SELECT sum(views) FROM rel_post), (SELECT count(*) FROM rel_user) FROM rel_post"
    ).fetchone()
    assert (totals["posts"], totals["links"], totals["tags"], totals["views"], totals["users"]) == expected
    assert totals == {"posts": 4, "links": 6, "tags": 3, "views": 23, "users": 3}
    some = await RelUser.filter(username__in=["alice", "carol"]).aggregate(n=Count("posts"), hi=Max("posts__views"))
    assert some == {"n": 2, "hi": 10}
    sliced = await RelUser.query().order_by("username")[1:].aggregate(n=Count("posts"))
    assert sliced == {"n": 2}  # bob's two posts, carol's none
    per_author = await RelUser.annotate(n=Count("posts")).aggregate(avg=Avg("n"), top=Max("n"))
    assert (float(per_author["avg"]), per_author["top"]) == (4 / 3, 2)


async def test_subquery_aggregating_across_a_relation(db):
    await make_blog()
    rows = await RelUser.annotate(
        tag_links=Subquery(RelPost.filter(author=OuterRef("id")), Count("tags")),
    ).order_by("username").values_list("username", "tag_links")
    assert rows == [("alice", 3), ("bob", 3), ("carol", 0)]


# -- annotations with select_related / prefetch_related ------------------------------------------
async def test_prefetch_related_with_an_annotation_is_two_queries(db):
    await make_blog()
    with capture_queries() as queries:
        users = await RelUser.annotate(n=Count("posts")).prefetch_related("posts").order_by("username").all()
    assert len(queries) == 2
    assert [(u.username, u.n, sorted(p.title for p in u.posts)) for u in users] == [
        ("alice", 2, ["p1", "p2"]), ("bob", 2, ["p3", "p4"]), ("carol", 0, [])]


async def test_select_related_with_an_annotation_is_one_query(db):
    await make_blog()
    with capture_queries() as queries:
        posts = await RelPost.select_related("author").annotate(n=Count("tags")).order_by("title").all()
    assert len(queries) == 1
    assert [(p.title, p.author.username, p.n) for p in posts] == [
        ("p1", "alice", 2), ("p2", "alice", 1), ("p3", "bob", 0), ("p4", "bob", 3)]
    counted = await RelPost.select_related("author").annotate(c=Count("*")).order_by("title").all()
    assert [(p.author.username, p.c) for p in counted] == [("alice", 1), ("alice", 1), ("bob", 1), ("bob", 1)]


async def test_values_and_values_list_ignore_select_related(db):
    await make_blog()
    qs = RelPost.select_related("author").order_by("title")
    assert await qs.values_list("title", "views") == [("p1", 10), ("p2", 5), ("p3", 1), ("p4", 7)]
    assert (await qs.values("title"))[0] == {"title": "p1"}
    assert await qs.values_list("title", "author__username") == [("p1", "alice"), ("p2", "alice"), ("p3", "bob"),
                                                                 ("p4", "bob")]


async def test_window_filter_with_select_related_relation_ordering_and_cte(db):
    await make_blog()
    top = RelPost.annotate(r=Window(RowNumber(), order_by=F("views").desc())).filter(r__lte=2)
    posts = await top.select_related("author").order_by("r").all()
    assert [(p.title, p.author.username, p.r) for p in posts] == [("p1", "alice", 1), ("p4", "bob", 2)]
    by_author = await top.order_by("-author__username").values_list("title", flat=True)
    assert by_author == ["p4", "p1"]
    popular = CTE("popular", RelPost.filter(views__gte=5))
    ranked = await (RelPost.query().with_cte(popular).filter(id__in=popular.select("id"))
                    .annotate(r=Window(RowNumber(), order_by=F("views"))).filter(r__lte=2).order_by("r")
                    .values_list("title", flat=True))
    assert ranked == [t for (t,) in db.execute("SELECT title FROM rel_post WHERE views >= 5 ORDER BY views LIMIT 2")]


# -- filtering by instances ------------------------------------------------------------------
async def test_filter_by_instances_and_keys_through_every_kind_of_relation(db):
    b = await make_blog()
    titles = lambda qs: qs.order_by("title").values_list("title", flat=True)  # noqa: E731
    assert await titles(RelPost.filter(author=b["alice"])) == ["p1", "p2"]
    assert await titles(RelPost.filter(author__in=[b["bob"], b["carol"].id])) == ["p3", "p4"]
    assert await titles(RelPost.filter(tags=b["rust"])) == ["p4"]
    assert await titles(RelPost.filter(tags__in=[b["rust"], b["sql"].id])) == ["p1", "p4"]
    assert await titles(RelPost.exclude(tags=b["py"])) == ["p3"]
    assert await titles(RelPost.filter(rel_comment_set__author=b["carol"])) == ["p1"]
    users = await RelUser.filter(posts=b["p3"]).values_list("username", flat=True)
    assert users == ["bob"]
    assert await RelUser.filter(posts__in=[b["p1"], b["p4"]]).order_by("username").values_list(
        "username", flat=True) == ["alice", "bob"]
    assert await RelTag.filter(rel_post_set=b["p2"]).values_list("name", flat=True) == ["python"]
    assert await RelPost.filter(tags=b["sql"]).count() == db.execute(
        "SELECT count(*) FROM rel_post_tag WHERE tag_id = %s", [b["sql"].id]).fetchone()[0]
    with capture_queries() as queries, pytest.raises(ParameterError, match="takes RelTag instances or keys"):
        await RelPost.filter(tags=b["alice"]).all()
    assert queries == []


async def test_update_and_delete_with_relation_filters_by_instance(db):
    b = await make_blog()
    assert await RelPost.filter(tags=b["sql"]).update(views=F("views") + 100) == 2
    assert db.execute("SELECT title, views FROM rel_post WHERE views > 100 ORDER BY title").fetchall() == [
        ("p1", 110), ("p4", 107)]
    assert await RelComment.filter(post__author=b["bob"]).delete() == 1
    assert db.execute("SELECT count(*) FROM rel_comment").fetchone() == (2,)


async def test_get_or_create_and_update_or_create_with_a_relation_name(db):
    b = await make_blog()
    found, created = await RelPost.get_or_create(author=b["alice"], title="p2")
    assert (found.id, created) == (b["p2"].id, False)
    made, created = await RelPost.get_or_create(author=b["carol"], title="fresh", defaults={"views": 3})
    assert created
    assert db.execute("SELECT u.username, p.views FROM rel_post p JOIN rel_user u ON u.id = p.author_id "
                      "WHERE p.title = 'fresh'").fetchone() == ("carol", 3)
    moved, created = await RelPost.update_or_create(title="fresh", defaults={"author": b["bob"], "views": 4})
    assert not created and moved.author_id == b["bob"].id
    assert db.execute("SELECT author_id, views FROM rel_post WHERE title = 'fresh'").fetchone() == (b["bob"].id, 4)


# -- relation paths in subqueries on the same table -----------------------------------------------
async def test_relation_filters_in_a_self_subquery_refer_to_the_inner_row(db):
    await make_blog()
    # Posts whose author wrote a post tagged "rust": every post of bob, not only the rust one.
    siblings = await RelPost.filter(
        Exists(RelPost.filter(author=OuterRef("author"), tags__name="rust"))
    ).order_by("title").values_list("title", flat=True)
    assert siblings == [t for (t,) in db.execute(
        "SELECT p.title FROM rel_post p WHERE EXISTS (SELECT 1 FROM rel_post q JOIN rel_post_tag pt ON pt.post_id = q.id "
        "JOIN rel_tag t ON t.id = pt.tag_id WHERE q.author_id = p.author_id AND t.name = 'rust') ORDER BY p.title")]
    assert siblings == ["p3", "p4"]
    best_sql = Subquery(
        RelPost.filter(author=OuterRef("author"), tags__name="sql").order_by("-views")[:1], "title"
    )
    rows = await RelPost.annotate(best=best_sql).order_by("title").values_list("title", "best")
    assert rows == [("p1", "p1"), ("p2", "p1"), ("p3", "p4"), ("p4", "p4")]


async def test_outer_ref_through_relations(db):
    await make_blog()
    n = await RelComment.filter(Exists(RelUser.filter(username=OuterRef("post__author__username"), email__isnull=False))).count()
    assert n == db.execute("SELECT count(*) FROM rel_comment c JOIN rel_post p ON p.id = c.post_id "
                           "JOIN rel_user u ON u.id = p.author_id WHERE u.email IS NOT NULL").fetchone()[0] == 3


# -- deferred fields ---------------------------------------------------------------------------
async def test_deferred_fields_raise_a_clear_error_and_relations_still_load(db):
    await make_blog()
    post = await RelPost.query().only("title").order_by("title").first()
    with pytest.raises(AttributeError, match=r"RelPost\.views was deferred"):
        _ = post.views
    with pytest.raises(AttributeError, match=r"RelPost\.author_id was deferred"):
        await post.fetch_fk("author")
    await post.refresh()
    assert post.views == db.execute("SELECT views FROM rel_post WHERE title = 'p1'").fetchone()[0]
    with capture_queries() as queries:
        posts = await RelPost.query().only("title").prefetch_related("author").order_by("title").all()
    assert len(queries) == 2
    assert [(p.title, p.author.username) for p in posts] == [("p1", "alice"), ("p2", "alice"), ("p3", "bob"),
                                                             ("p4", "bob")]
    joined = await RelPost.query().only("title").select_related("author").order_by("title").all()
    assert [p.author.username for p in joined] == ["alice", "alice", "bob", "bob"]
    # Either order of the calls; the streaming iterator too.
    later = RelPost.prefetch_related("author").defer("author_id", "views").order_by("title")
    assert [(p.title, p.author.username) async for p in later.iterator(chunk_size=3)] == [
        ("p1", "alice"), ("p2", "alice"), ("p3", "bob"), ("p4", "bob")]
