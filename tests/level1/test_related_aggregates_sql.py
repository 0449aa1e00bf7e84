"""Where relations meet expressions, without a database: the SQL of aggregates across relations,
filters by instance, relation paths inside aliased subqueries and wrapped queries, deferred fields.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from matrx_orm import (
    CTE,
    ArrayAgg,
    AutoField,
    Avg,
    Case,
    Count,
    Exists,
    F,
    ForeignKey,
    IntegerField,
    Max,
    Min,
    Model,
    OuterRef,
    ParameterError,
    Q,
    RowNumber,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from matrx_orm.core.compiler import compile_count, compile_delete, compile_exists, compile_select, compile_update
from matrx_orm.core.extended_query import compile_aggregate, compile_rows, values_state
from matrx_orm.core.hydrate import hydrate_rows
from tests.models_relations_async import RelCategory, RelComment, RelPost, RelTag, RelUser

UID = uuid.UUID("6f1e7f0e-8f63-4a51-9d0c-5d7bd2b1e2a1")
USER = 'SELECT "id", "username", "email"'
POST = 'SELECT "id", "title", "author_id", "views"'
POSTS_OF_USER = 'FROM "rel_post" AS "_m1" WHERE "_m1"."author_id" = "rel_user"."id"'


def sql(query: Any) -> tuple[str, list[Any]]:
    text, params = query.sql() if hasattr(query, "sql") else query
    text % tuple(f"${i + 1}" for i in range(len(params)))  # binds cleanly
    return text, params


def values_sql(qs: Any, *fields: str, **exprs: Any) -> tuple[str, list[Any]]:
    state, names = values_state(qs.state, fields, exprs)
    return sql(compile_rows(state, names))


def aggregate_sql(qs: Any, **aggregates: Any) -> tuple[str, list[Any]]:
    text, params, _resolved = compile_aggregate(qs.state, aggregates)
    return sql((text, params))


# -- aggregates across multi-valued relations: one subquery per row ------------------------------------
def test_count_inverse_fk_is_a_correlated_subquery():
    assert sql(RelUser.annotate(n=Count("posts"))) == (
        f'{USER}, (SELECT COUNT("_m1"."id") {POSTS_OF_USER}) AS "n" FROM "rel_user"',
        [],
    )
    # The relation's key spelled out is the same aggregate.
    assert sql(RelUser.annotate(n=Count("posts__id")))[0] == sql(RelUser.annotate(n=Count("posts")))[0]


def test_count_many_to_many_reads_only_the_junction():
    assert sql(RelPost.annotate(n=Count("tags"))) == (
        f'{POST}, (SELECT COUNT("_mj1"."tag_id") FROM "rel_post_tag" AS "_mj1" '
        'WHERE "_mj1"."post_id" = "rel_post"."id") AS "n" FROM "rel_post"',
        [],
    )
    # The reverse side reads the other junction column.
    text, _ = sql(RelTag.annotate(n=Count("rel_post_set")))
    assert '(SELECT COUNT("_mj1"."post_id") FROM "rel_post_tag" AS "_mj1" WHERE "_mj1"."tag_id" = "rel_tag"."id")' in text


def test_several_aggregates_are_independent_subqueries_never_a_fan_out():
    text, _ = sql(RelUser.annotate(n=Count("posts"), t=Count("posts__tags", distinct=True), v=Sum("posts__views")))
    assert text == (
        f'{USER}, (SELECT COUNT("_m1"."id") {POSTS_OF_USER}) AS "n", '
        '(SELECT COUNT(DISTINCT "_mj2"."tag_id") FROM "rel_post" AS "_m1" '
        'JOIN "rel_post_tag" AS "_mj2" ON "_mj2"."post_id" = "_m1"."id" WHERE "_m1"."author_id" = "rel_user"."id") AS "t", '
        f'(SELECT SUM("_m1"."views") {POSTS_OF_USER}) AS "v" FROM "rel_user"'
    )
    assert " JOIN " not in text.split(' FROM "rel_user"')[-1]


def test_avg_min_max_and_other_aggregates():
    text, _ = sql(RelUser.annotate(a=Avg("posts__views"), lo=Min("posts__views"), hi=Max("posts__views")))
    assert f'(SELECT AVG("_m1"."views") {POSTS_OF_USER}) AS "a"' in text
    assert f'(SELECT MIN("_m1"."views") {POSTS_OF_USER}) AS "lo"' in text
    assert f'(SELECT MAX("_m1"."views") {POSTS_OF_USER}) AS "hi"' in text
    text, _ = sql(RelPost.annotate(names=ArrayAgg("tags__name", ordering="-tags__name")))
    assert text == (
        f'{POST}, (SELECT ARRAY_AGG("_m1"."name" ORDER BY "_m1"."name" DESC) FROM "rel_post_tag" AS "_mj1" '
        'JOIN "rel_tag" AS "_m1" ON "_m1"."id" = "_mj1"."tag_id" WHERE "_mj1"."post_id" = "rel_post"."id") AS "names" '
        'FROM "rel_post"'
    )


def test_filter_q_refers_to_the_aggregated_row_and_outer_fields_to_the_outer_row():
    qs = RelUser.annotate(v=Sum("posts__views", filter=Q(posts__views__gt=3, email__isnull=False)))
    assert sql(qs) == (
        f'{USER}, (SELECT SUM("_m1"."views") FILTER (WHERE "rel_user"."email" IS NOT NULL AND "_m1"."views" > %s) '
        f'{POSTS_OF_USER}) AS "v" FROM "rel_user"',
        [3],
    )
    # A path going further than the aggregated relation is an EXISTS from the aggregated row.
    text, params = sql(RelUser.annotate(s=Count("posts", filter=Q(posts__tags__name="sql"))))
    assert (
        'COUNT("_m1"."id") FILTER (WHERE EXISTS (SELECT 1 FROM "rel_post_tag" AS "_j1" JOIN "rel_tag" AS "_r1" '
        'ON "_r1"."id" = "_j1"."tag_id" WHERE "_j1"."post_id" = "_m1"."id" AND "_r1"."name" = %s))'
    ) in text
    assert params == ["sql"]
    # Case/When conditions inside the aggregate read the aggregated row too.
    text, params = sql(RelUser.annotate(s=Sum(Case(When(posts__views__gt=3, then=Value(1)), default=Value(0)))))
    assert f'(SELECT SUM(CASE WHEN "_m1"."views" > %s THEN %s ELSE %s END) {POSTS_OF_USER}) AS "s"' in text
    assert params == [3, 1, 0]


def test_outer_ref_inside_an_aggregate_filter_reads_the_aggregated_row():
    qs = RelUser.annotate(n=Count("posts", filter=Q(Exists(RelComment.filter(post_id=OuterRef("posts__id"))))))
    text, _ = sql(qs)
    assert 'FILTER (WHERE EXISTS (SELECT 1 FROM "rel_comment" WHERE "post_id" = "_m1"."id"))' in text


def test_filter_and_order_on_the_annotation_stay_per_row():
    text, params = sql(RelUser.annotate(n=Count("posts")).filter(n__gte=2).order_by("-n"))
    count = f'(SELECT COUNT("_m1"."id") {POSTS_OF_USER})'
    assert text == f'{USER}, {count} AS "n" FROM "rel_user" WHERE {count} >= %s ORDER BY "n" DESC'
    assert params == [2]
    assert "GROUP BY" not in text and "HAVING" not in text
    # Mixed freely with plain filters in one Q.
    text, _ = sql(RelUser.annotate(n=Count("posts")).filter(Q(n__gte=2) | Q(username="carol")))
    assert text.endswith(f'WHERE (({count} >= %s) OR ("username" = %s))')
    # Ordering by the aggregate itself, without naming it.
    text, _ = sql(RelUser.query().order_by(Count("posts").desc()))
    assert text == f'{USER} FROM "rel_user" ORDER BY {count} DESC'


def test_paths_starting_elsewhere_and_chains_through_a_foreign_key():
    text, _ = sql(RelComment.annotate(n=Count("post__tags")))
    assert (
        '(SELECT COUNT("_mj2"."tag_id") FROM "rel_post" AS "_m1" JOIN "rel_post_tag" AS "_mj2" '
        'ON "_mj2"."post_id" = "_m1"."id" WHERE "_m1"."id" = "rel_comment"."post_id") AS "n"'
    ) in text
    text, _ = sql(RelCategory.annotate(n=Count("children")))
    assert '(SELECT COUNT("_m1"."id") FROM "rel_category" AS "_m1" WHERE "_m1"."parent_id" = "rel_category"."id")' in text


def test_count_exists_update_delete_on_annotated_querysets():
    qs = RelUser.annotate(n=Count("posts")).filter(n__gte=1)
    count = f'(SELECT COUNT("_m1"."id") {POSTS_OF_USER})'
    text, params = sql(compile_exists(qs.state))
    assert text == f'SELECT EXISTS (SELECT 1 FROM "rel_user" WHERE {count} >= %s)' and params == [1]
    text, params = sql(compile_count(qs.state))
    assert text.startswith("SELECT COUNT(*) FROM (") and f"WHERE {count} >= %s" in text and params == [1]
    text, params = sql(compile_update(RelPost.annotate(n=Count("tags")).filter(n=0).state, {"views": 0}))
    assert text == (
        'UPDATE "rel_post" SET "views" = %s WHERE "id" IN (SELECT "id" FROM "rel_post" WHERE '
        '(SELECT COUNT("_mj1"."tag_id") FROM "rel_post_tag" AS "_mj1" WHERE "_mj1"."post_id" = "rel_post"."id") = %s)'
    )
    assert params == [0, 0]
    text, _ = sql(compile_delete(RelPost.annotate(n=Count("tags")).filter(n=0).state))
    assert text.startswith('DELETE FROM "rel_post" WHERE "id" IN (SELECT "id" FROM "rel_post" WHERE (SELECT COUNT(')


def test_select_related_with_an_aggregate_across_a_relation():
    text, _ = sql(RelPost.select_related("author").annotate(n=Count("tags")))
    assert text == (
        'SELECT "rel_post"."id", "rel_post"."title", "rel_post"."author_id", "rel_post"."views", '
        '"_s0"."id", "_s0"."username", "_s0"."email", (SELECT COUNT("_mj1"."tag_id") FROM "rel_post_tag" AS "_mj1" '
        'WHERE "_mj1"."post_id" = "rel_post"."id") AS "n" FROM "rel_post" '
        'LEFT JOIN "rel_user" AS "_s0" ON "_s0"."id" = "rel_post"."author_id"'
    )


def test_select_related_with_a_plain_aggregate_groups_by_the_joined_keys_too():
    text, _ = sql(RelPost.select_related("author").annotate(c=Count("*")))
    assert text.endswith('GROUP BY "rel_post"."id", "_s0"."id"')


# -- per group: grouped querysets, aggregate(), Subquery ----------------------------------------------
GROUP_TAGS = (
    'FROM unnest(ARRAY_AGG("rel_post"."id")) AS "_k" JOIN "rel_post" AS "_g" ON "_g"."id" = "_k" '
    'JOIN "rel_post_tag" AS "_mj1" ON "_mj1"."post_id" = "_g"."id"'
)


def test_values_grouping_aggregates_the_related_rows_of_each_group():
    assert values_sql(RelPost.query(), "author__username", n=Count("tags", distinct=True)) == (
        'SELECT (SELECT "_r1"."username" FROM "rel_user" AS "_r1" WHERE "_r1"."id" = "rel_post"."author_id") '
        f'AS "author__username", (SELECT COUNT(DISTINCT "_mj1"."tag_id") {GROUP_TAGS}) AS "n" FROM "rel_post" GROUP BY 1',
        [],
    )


def test_group_by_having_and_ordering_on_a_grouped_aggregate():
    qs = RelPost.group_by("author_id").annotate(n=Count("tags")).filter(n__gte=2).order_by("-n")
    agg = f'(SELECT COUNT("_mj1"."tag_id") {GROUP_TAGS})'
    assert values_sql(qs) == (
        f'SELECT "author_id", {agg} AS "n" FROM "rel_post" GROUP BY 1 HAVING {agg} >= %s ORDER BY "n" DESC',
        [2],
    )
    text, _ = values_sql(RelPost.group_by("author_id").annotate(n=Count()).order_by(Count("tags").desc()))
    assert text.endswith(f"ORDER BY {agg} DESC")


def test_aggregate_counts_the_related_rows_of_every_matching_row():
    assert aggregate_sql(RelUser.filter(email__isnull=False), n=Count("posts"), users=Count()) == (
        'SELECT (SELECT COUNT("_m1"."id") FROM unnest(ARRAY_AGG("rel_user"."id")) AS "_k" '
        'JOIN "rel_user" AS "_g" ON "_g"."id" = "_k" JOIN "rel_post" AS "_m1" ON "_m1"."author_id" = "_g"."id") AS "n", '
        'COUNT(*) AS "users" FROM "rel_user" WHERE "email" IS NOT NULL',
        [],
    )
    # Over a wrapped queryset the keys come from the wrapper.
    text, _ = aggregate_sql(RelUser.query()[:10], n=Count("posts", filter=Q(username="x")))
    assert 'unnest(ARRAY_AGG("_a"."id"))' in text and 'FILTER (WHERE "_g"."username" = %s)' in text


def test_aggregate_over_a_per_row_annotation_wraps_the_query():
    assert aggregate_sql(RelUser.annotate(n=Count("posts")), avg=Avg("n")) == (
        f'SELECT AVG("n") AS "avg" FROM ({USER}, (SELECT COUNT("_m1"."id") {POSTS_OF_USER}) AS "n" FROM "rel_user") AS "_a"',
        [],
    )


def test_subquery_with_an_aggregate_across_a_relation_aggregates_every_inner_row():
    text, _ = sql(RelUser.annotate(nt=Subquery(RelPost.filter(author=OuterRef("id")), Count("tags"))))
    assert text == (
        f'{USER}, (SELECT (SELECT COUNT("_mj1"."tag_id") {GROUP_TAGS}) AS "subquery_value" FROM "rel_post" '
        'WHERE "author_id" = "rel_user"."id") AS "nt" FROM "rel_user"'
    )


# -- what stays refused ---------------------------------------------------------------------------
def test_multi_valued_values_without_an_aggregate_are_refused():
    with pytest.raises(ParameterError, match=r"'tags__name' crosses the multi-valued relation RelPost.tags"):
        sql(RelPost.annotate(tag=F("tags__name")))
    with pytest.raises(ParameterError, match=r"'posts__id' crosses the multi-valued relation RelUser.posts"):
        sql(RelUser.annotate(p=F("posts")))


def test_one_aggregate_follows_one_chain_of_relations():
    with pytest.raises(ParameterError, match="one aggregate follows one chain of relations"):
        RelUser.annotate(x=Sum(F("posts__views") + F("rel_comment_set__id")))


def test_a_window_cannot_be_an_aggregate_across_a_relation():
    with pytest.raises(ParameterError, match="not a window function"):
        RelUser.annotate(r=Window(Count("posts")))


class L1Pair(Model):
    a = IntegerField()
    b = IntegerField()

    _primary_keys = ["a", "b"]
    _table_name = "pair"
    _database = "level1_related_aggregates"


class L1PairItem(Model):
    id = AutoField()
    pair_a = ForeignKey("L1Pair", "a")

    _table_name = "pair_item"
    _database = "level1_related_aggregates"


def test_grouped_form_needs_a_single_column_key():
    # Per row, a composite key is fine (the subquery correlates on the relation's column)...
    text, _ = sql(L1Pair.annotate(n=Count("l1_pair_item_set")))
    assert '(SELECT COUNT("_m1"."id") FROM "pair_item" AS "_m1" WHERE "_m1"."pair_a" = "pair"."a")' in text
    # ...per group, the rows of a group are collected by their key, which must be one column.
    with pytest.raises(ParameterError, match="needs a single-column primary key on L1Pair"):
        values_sql(L1Pair.query(), "b", n=Count("l1_pair_item_set"))


# -- filtering by instances ---------------------------------------------------------------------
def test_filter_by_instances_through_fk_inverse_fk_and_m2m():
    user = RelUser(id=UID, username="u")
    tag = RelTag(id=UID, name="t")
    post = RelPost(id=UID, title="p")
    assert sql(RelPost.filter(author=user)) == (f'{POST} FROM "rel_post" WHERE "author_id" = %s', [UID])
    assert sql(RelPost.filter(tags=tag)) == (
        f'{POST} FROM "rel_post" WHERE EXISTS (SELECT 1 FROM "rel_post_tag" AS "_j1" '
        'WHERE "_j1"."post_id" = "rel_post"."id" AND "_j1"."tag_id" = %s)',
        [UID],
    )
    other = uuid.uuid4()
    assert sql(RelPost.filter(tags__in=[tag, other]))[1] == [[UID, other]]
    assert sql(RelPost.exclude(tags=tag))[0].startswith(f'{POST} FROM "rel_post" WHERE NOT (EXISTS (')
    # An inverse relation ending on its name compares the related row's key, not the FK pointing back.
    assert sql(RelUser.filter(posts=post)) == (
        f'{USER} FROM "rel_user" WHERE EXISTS (SELECT 1 FROM "rel_post" AS "_r1" '
        'WHERE "_r1"."author_id" = "rel_user"."id" AND "_r1"."id" = %s)',
        [UID],
    )
    assert sql(RelUser.filter(posts__in=[post]))[1] == [[UID]]
    assert sql(RelPost.filter(pk__in=[post]))[1] == [[UID]]


def test_filter_by_an_instance_of_another_model_is_refused_before_sql():
    user = RelUser(id=UID, username="u")
    with pytest.raises(ParameterError, match="filter 'tags' takes RelTag instances or keys, got a RelUser instance"):
        RelPost.filter(tags=user)
    with pytest.raises(ParameterError, match="filter 'author_id' takes RelUser instances or keys, got a RelTag"):
        RelPost.filter(author_id=RelTag(id=UID, name="t"))
    with pytest.raises(ParameterError, match="without id"):
        RelPost.filter(tags__in=[RelTag.__new__(RelTag)])


# -- relation paths inside aliased subqueries and wrapped queries ----------------------------------
def test_relation_filters_in_a_subquery_on_the_same_table_use_its_alias():
    inner = RelPost.filter(author=OuterRef("author"), tags__name="x").order_by("author__username")[:1]
    text, params = sql(RelPost.annotate(o=Subquery(inner, "author__email")))
    assert text == (
        f'{POST}, (SELECT (SELECT "_r1"."email" FROM "rel_user" AS "_r1" WHERE "_r1"."id" = "_s1"."author_id") '
        'AS "subquery_value" FROM "rel_post" AS "_s1" WHERE "_s1"."author_id" = "rel_post"."author_id" '
        'AND EXISTS (SELECT 1 FROM "rel_post_tag" AS "_j1" JOIN "rel_tag" AS "_r1" ON "_r1"."id" = "_j1"."tag_id" '
        'WHERE "_j1"."post_id" = "_s1"."id" AND "_r1"."name" = %s) '
        'ORDER BY (SELECT "_r1"."username" FROM "rel_user" AS "_r1" WHERE "_r1"."id" = "_s1"."author_id") LIMIT %s) '
        'AS "o" FROM "rel_post"'
    )
    assert params == ["x", 1]
    text, _ = sql(RelPost.filter(Exists(RelPost.filter(author_id=OuterRef("author_id"), author__username="x"))))
    assert 'WHERE "_r1"."id" = "_s1"."author_id" AND "_r1"."username" = %s' in text


def test_outer_ref_to_a_relation_name_or_path():
    text, _ = sql(RelComment.filter(Exists(RelUser.filter(username=OuterRef("post__author__username")))))
    assert text.endswith(
        'WHERE EXISTS (SELECT 1 FROM "rel_user" WHERE "username" = (SELECT "_r2"."username" FROM "rel_post" AS "_r1" '
        'JOIN "rel_user" AS "_r2" ON "_r2"."id" = "_r1"."author_id" WHERE "_r1"."id" = "rel_comment"."post_id"))'
    )
    assert sql(RelPost.annotate(a=F("author")))[0] == f'{POST}, "author_id" AS "a" FROM "rel_post"'


def test_window_filter_with_relation_ordering_select_related_and_cte():
    ranked = RelPost.annotate(r=Window(RowNumber(), order_by=F("views").desc())).filter(r__lte=2)
    text, _ = sql(ranked.order_by("author__username"))
    assert text.endswith(
        'AS "_w" WHERE "r" <= %s ORDER BY (SELECT "_r1"."username" FROM "rel_user" AS "_r1" '
        'WHERE "_r1"."id" = "_w"."author_id")'
    )
    text, _ = sql(ranked.select_related("author"))
    assert text == (
        'SELECT "_w"."id", "_w"."title", "_w"."author_id", "_w"."views", "_s0"."id", "_s0"."username", "_s0"."email", '
        '"_w"."r" FROM (SELECT "id", "title", "author_id", "views", ROW_NUMBER() OVER (ORDER BY "views" DESC) AS "r" '
        'FROM "rel_post") AS "_w" LEFT JOIN "rel_user" AS "_s0" ON "_s0"."id" = "_w"."author_id" WHERE "_w"."r" <= %s'
    )
    popular = CTE("popular", RelPost.filter(views__gte=5))
    text, params = sql(ranked.with_cte(popular).filter(id__in=popular.select("id")))
    assert text.startswith('WITH "popular" AS (')
    assert 'WHERE "id" IN (SELECT "id" FROM "popular")) AS "_w"' in text
    assert params == [5, 2]


def test_relation_paths_in_aggregate_over_a_wrapped_queryset():
    assert aggregate_sql(RelPost.annotate(x=F("views")), m=Max("author__username"))[0] == (
        'SELECT MAX((SELECT "_r1"."username" FROM "rel_user" AS "_r1" WHERE "_r1"."id" = "_a"."author_id")) AS "m" '
        f'FROM ({POST}, "views" AS "x" FROM "rel_post") AS "_a"'
    )


# -- deferred fields ----------------------------------------------------------------------------
def test_reading_a_deferred_field_names_model_field_and_what_was_loaded():
    (post,) = hydrate_rows(RelPost, ("id", "title"), [(UID, "t")])
    with pytest.raises(AttributeError, match=r"RelPost\.views was deferred: .*loaded id, title.*refresh\(\)"):
        _ = post.views
    assert not hasattr(post, "author_id")
    assert post.title == "t"
    # Relations and unknown names keep their own errors.
    with pytest.raises(AttributeError, match="not loaded"):
        _ = post.author
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = post.nothing


def test_compile_select_of_instances_filters_is_cached_per_shape():
    first = compile_select(RelPost.filter(tags=RelTag(id=UID, name="a")).state)
    second = compile_select(RelPost.filter(tags=RelTag(id=uuid.uuid4(), name="b")).state)
    assert first[0] is second[0]


def test_prefetch_related_keeps_the_key_columns_it_matches_on():
    assert RelPost.query().only("title").prefetch_related("author", "tags").state.fields == ("id", "title", "author_id")
    assert RelPost.prefetch_related("author").defer("author_id").state.fields == ("id", "title", "views", "author_id")
    assert RelPost.query().only("title").state.fields == ("id", "title")
