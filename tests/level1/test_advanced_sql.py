"""Advanced querying without a database: exact SQL and parameters.

Expressions, transforms, PostgreSQL lookups, annotations, grouping, HAVING,
DISTINCT ON, window functions (and filters on them), subqueries, CTEs,
aggregates and writes on extended querysets. ``assert_sql`` also checks the
text binds (one ``%s`` per parameter, ``%%`` for a literal ``%``).
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from matrx_orm import (
    CTE,
    AutoField,
    Avg,
    Case,
    CharField,
    Coalesce,
    ConfigurationError,
    Count,
    DateField,
    DateTimeField,
    DateTimeRangeField,
    DecimalField,
    Exists,
    F,
    FieldError,
    ForeignKey,
    IntegerArrayField,
    IntegerField,
    IntegerRangeField,
    JSONBField,
    Lower,
    Max,
    Model,
    OuterRef,
    ParameterError,
    Q,
    Range,
    RawSQL,
    RowNumber,
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
    Subquery,
    Sum,
    TextArrayField,
    TextField,
    Trunc,
    Upper,
    ValidationError,
    Value,
    When,
    Window,
)
from matrx_orm.core.compiler import compile_count, compile_delete, compile_exists, compile_update
from matrx_orm.core.extended_query import compile_aggregate, compile_rows, values_state
from matrx_orm.core.pagination import decode_cursor, encode_cursor, keyset_filter, keyset_ordering
from matrx_orm.core.signals import Signal
from matrx_orm.core.write_prep import prepare_update_values


class AqWriter(Model):
    id = AutoField()
    name = CharField(max_length=50, null=False)

    _table_name = "aq_writer"
    _database = "level1"


class AqArt(Model):
    id = AutoField()
    author_id = ForeignKey("AqWriter", null=True)
    title = CharField(max_length=100, null=False)
    body = TextField(null=True)
    views = IntegerField(null=False, default=0)
    rating = DecimalField(max_digits=4, decimal_places=2, null=True)
    tags = TextArrayField(null=True)
    scores = IntegerArrayField(null=True)
    data = JSONBField(null=True)
    created = DateTimeField(null=True)
    day = DateField(null=True)
    during = DateTimeRangeField(null=True)
    seats = IntegerRangeField(null=True)
    search = SearchVectorField(null=True)

    _table_name = "aq_art"
    _database = "level1"


COLS = (
    '"id", "author_id", "title", "body", "views", "rating", "tags", "scores", "data", "created", "day", "during", '
    '"seats", "search"'
)
SELECT = f'SELECT {COLS} FROM "aq_art"'


def binds(text: str, params: list[Any]) -> str:
    """Format ``text`` like psycopg does (``%s`` placeholders, ``%%`` for a literal %)."""
    return text % tuple(f"${i + 1}" for i in range(len(params)))


def assert_sql(query: Any, sql: str, params: list[Any]) -> None:
    """Assert the query compiles to exactly ``sql`` and ``params``, and binds cleanly."""
    text, got = query.sql() if hasattr(query, "sql") else query[:2]
    assert text == sql
    assert got == params
    binds(text, got)


def plain(params: list[Any]) -> list[Any]:
    """Return the parameters with ``Jsonb`` wrappers unwrapped (they do not compare by value)."""
    return [("jsonb", p.obj) if isinstance(p, Jsonb) else p for p in params]


def where(qs: Any) -> tuple[str, list[Any]]:
    text, params = qs.sql()
    assert text.startswith(SELECT + " WHERE "), text
    binds(text, params)
    return text[len(SELECT + " WHERE "):], plain(params)


# -- expressions -----------------------------------------------------------------------------
def test_f_and_arithmetic_in_filters() -> None:
    assert where(AqArt.filter(views__gt=F("rating"))) == ('"views" > "rating"', [])
    assert where(AqArt.filter(views__gte=F("rating") * 2 + 1)) == ('"views" >= (("rating" * %s) + %s)', [2, 1])
    assert where(AqArt.filter(views=10 - F("views"))) == ('"views" = (%s - "views")', [10])
    assert where(AqArt.filter(views__lt=-F("views") % 7)) == ('"views" < ((%s - "views") %% %s)', [0, 7])
    assert where(AqArt.filter(views__in=F("scores"))) == ('"views" = ANY("scores")', [])


def test_update_with_expressions_is_one_statement() -> None:
    state = AqArt.filter(title="x").state
    values = prepare_update_values(AqArt._meta, {"views": F("views") + 1, "title": Upper("title"), "body": "b"})
    assert_sql(
        compile_update(state, values),
        'UPDATE "aq_art" SET "views" = ("views" + %s), "title" = UPPER("title"), "body" = %s WHERE "title" = %s',
        [1, "b", "x"],
    )
    values = prepare_update_values(AqArt._meta, {"views": Case(When(rating__gt=4, then=Value(1)), default=F("views"))})
    assert_sql(
        compile_update(AqArt.query().state, values),
        'UPDATE "aq_art" SET "views" = CASE WHEN "rating" > %s THEN %s ELSE "views" END',
        [decimal.Decimal("4"), 1],
    )
    with pytest.raises(FieldError) as info:
        prepare_update_values(AqArt._meta, {"views": F("nope") + 1})
    assert info.value.model == "AqArt" and "nope" in info.value.message


def test_q_objects_combine_and_negate() -> None:
    assert where(AqArt.filter(Q(views=1) | ~Q(title="a"), body=None)) == (
        '((("views" = %s) OR (NOT ("title" = %s)))) AND "body" IS NULL', [1, "a"])
    assert where(AqArt.filter(~(Q(views=1) & Q(views=2)))) == ('NOT (("views" = %s) AND ("views" = %s))', [1, 2])
    assert AqArt.filter(Q()).sql() == (SELECT, [])


def test_functions_case_coalesce_rawsql_in_annotations() -> None:
    qs = AqArt.query().annotate(
        t=Lower("title"),
        r=Coalesce("rating", Value(decimal.Decimal("0"))),
        k=Case(When(views__gte=10, then=Value("hot")), default=Value("cold")),
        raw=RawSQL("%s || title", ["> "]),
        m=Trunc("created", "month"),
    )
    assert_sql(
        qs,
        f'SELECT {COLS}, LOWER("title") AS "t", COALESCE("rating", %s) AS "r", '
        'CASE WHEN "views" >= %s THEN %s::TEXT ELSE %s::TEXT END AS "k", (%s || title) AS "raw", '
        'DATE_TRUNC(%s, "created") AS "m" FROM "aq_art"',
        [decimal.Decimal("0"), 10, "hot", "cold", "> ", "month"],
    )


def test_expression_ordering() -> None:
    assert_sql(
        AqArt.query().order_by(F("rating").desc(nulls_last=True), Lower("title"), "-created__year"),
        f'{SELECT} ORDER BY "rating" DESC NULLS LAST, LOWER("title"), EXTRACT(YEAR FROM "created")::integer DESC',
        [],
    )


# -- transforms and PostgreSQL lookups --------------------------------------------------------
def test_date_part_transforms() -> None:
    assert where(AqArt.filter(created__year__gte=2024, day__month=3)) == (
        'EXTRACT(YEAR FROM "created")::integer >= %s AND EXTRACT(MONTH FROM "day")::integer = %s', [2024, 3])
    assert where(AqArt.filter(created__date=dt.date(2024, 1, 2))) == ('("created")::date = %s', [dt.date(2024, 1, 2)])
    assert where(AqArt.filter(day__week_day=1)) == ('(EXTRACT(DOW FROM "day")::integer + 1) = %s', [1])
    assert where(AqArt.filter(created__year__in=[2023, 2024])) == (
        'EXTRACT(YEAR FROM "created")::integer = ANY(%s::INTEGER[])', [[2023, 2024]])
    with pytest.raises(ValidationError):
        AqArt.filter(created__year="x")
    with pytest.raises(ParameterError) as info:
        AqArt.filter(day__hour=1)
    assert info.value.model == "AqArt" and "hour" in info.value.message


def test_json_key_path_and_containment() -> None:
    assert where(AqArt.filter(data__owner__name="ann")) == (
        '(("data" -> %s::text) -> %s::text) = %s', ["owner", "name", ("jsonb", "ann")])
    assert where(AqArt.filter(data__items__0__gt=3)) == (
        '(("data" -> %s::text) -> %s::integer) > %s', ["items", 0, ("jsonb", 3)])
    # Text lookups read the value as text (->>).
    assert where(AqArt.filter(data__owner__name__icontains="An")) == (
        '(("data" -> %s::text) ->> %s::text) ILIKE %s', ["owner", "name", "%An%"])
    assert where(AqArt.filter(data__contains={"a": 1})) == ('"data" @> %s::JSONB', [("jsonb", {"a": 1})])
    assert where(AqArt.filter(data__contained_by={"a": 1})) == ('"data" <@ %s::JSONB', [("jsonb", {"a": 1})])
    assert where(AqArt.filter(data__has_key="a")) == ('"data" ? %s::text', ["a"])
    assert where(AqArt.filter(data__has_keys=["a", "b"])) == ('"data" ?& %s::text[]', [["a", "b"]])
    assert where(AqArt.filter(data__has_any_keys=("a",))) == ('"data" ?| %s::text[]', [["a"]])
    # A hostile key is a bound parameter, never SQL.
    assert where(AqArt.filter(**{"data__x'); DROP TABLE t; --": 1})) == (
        '("data" -> %s::text) = %s', ["x'); DROP TABLE t; --", ("jsonb", 1)])


def test_same_shape_same_sql_different_transforms_different_sql() -> None:
    a = AqArt.filter(data__a="x").sql()
    b = AqArt.filter(data__b="y").sql()
    assert a[0] == b[0] and a[1] != b[1]
    assert AqArt.filter(data__a__b="x").sql()[0] != a[0]
    assert AqArt.filter(data__a__0="x").sql()[0] != AqArt.filter(data__a__b="x").sql()[0]
    assert AqArt.filter(created__year=1).state.shape() != AqArt.filter(created__month=1).state.shape()


def test_array_lookups_cast_to_the_column_type() -> None:
    assert where(AqArt.filter(tags__contains=["a"])) == ('"tags" @> %s::TEXT[]', [["a"]])
    assert where(AqArt.filter(scores__contained_by=[1, 2])) == ('"scores" <@ %s::INTEGER[]', [[1, 2]])
    assert where(AqArt.filter(scores__overlap=[3])) == ('"scores" && %s::INTEGER[]', [[3]])
    assert where(AqArt.filter(tags__len__gt=1)) == ('cardinality("tags") > %s', [1])
    assert where(AqArt.filter(tags__0="a")) == ('("tags")[%s::integer] = %s', [1, "a"])
    assert where(AqArt.filter(scores__1__lte=5)) == ('("scores")[%s::integer] <= %s', [2, 5])
    # contains on text keeps LIKE semantics.
    assert where(AqArt.filter(title__contains="50%")) == ('"title" LIKE %s', ["%50\\%%"])
    with pytest.raises(ValidationError):
        AqArt.filter(scores__contains=["x"])
    with pytest.raises(ParameterError) as info:
        AqArt.filter(title__overlap=["a"])
    assert "AqArt.title__overlap" in info.value.message


def test_range_lookups() -> None:
    moment = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    span = Range(moment, moment + dt.timedelta(hours=1))
    assert where(AqArt.filter(during__contains=moment)) == ('"during" @> %s::TIMESTAMPTZ', [moment])
    text, params = where(AqArt.filter(during__overlap=span))
    assert text == '"during" && %s::TSTZRANGE' and params[0].lower == moment
    assert where(AqArt.filter(seats__contains=Range(1, 3)))[0] == '"seats" @> %s::INT4RANGE'
    assert where(AqArt.filter(seats__fully_lt=(5, 9)))[0] == '"seats" << %s::INT4RANGE'
    assert where(AqArt.filter(seats__adjacent_to=(5, 9)))[0] == '"seats" -|- %s::INT4RANGE'
    assert where(AqArt.filter(seats__isempty=True)) == ('isempty("seats")', [])
    assert where(AqArt.filter(seats__upper__gt=3)) == ('upper("seats") > %s', [3])
    text, params = where(AqArt.filter(views__contained_by=Range(1, 9)))
    assert text == '"views" <@ %s::INT4RANGE' and (params[0].lower, params[0].upper) == (1, 9)
    assert where(AqArt.filter(views__range=(1, "9"))) == ('"views" BETWEEN %s AND %s', [1, 9])
    with pytest.raises(ParameterError):
        AqArt.filter(seats__fully_lt=3)


def test_text_lookups() -> None:
    assert where(AqArt.filter(title__iexact="A")) == ('UPPER("title") = UPPER(%s::text)', ["A"])
    assert where(AqArt.filter(title__istartswith="a_")) == ('"title" ILIKE %s', ["a\\_%"])
    assert where(AqArt.filter(title__iendswith="z")) == ('"title" ILIKE %s', ["%z"])
    assert where(AqArt.filter(title__regex="^a")) == ('"title" ~ %s::text', ["^a"])
    assert where(AqArt.filter(title__iregex="^a")) == ('"title" ~* %s::text', ["^a"])
    assert where(AqArt.exclude(body__regex="x")) == ('NOT (("body" ~ %s::text AND "body" IS NOT NULL))', ["x"])


def test_full_text_search() -> None:
    assert where(AqArt.filter(body__search="cheese")) == (
        "to_tsvector(COALESCE(\"body\"::text, '')) @@ plainto_tsquery(%s::text)", ["cheese"])
    assert where(AqArt.filter(search__search=SearchQuery("a b", search_type="websearch", config="english"))) == (
        '"search" @@ websearch_to_tsquery(%s::regconfig, %s::text)', ["english", "a b"])
    qs = AqArt.query().annotate(v=SearchVector("title", weight="A")).filter(v=SearchQuery("x") & ~SearchQuery("y"))
    vector = "setweight(to_tsvector(COALESCE((\"title\")::text, '')), %s::\"char\")"
    assert_sql(
        qs,
        f'SELECT {COLS}, {vector} AS "v" FROM "aq_art" WHERE {vector} @@ (plainto_tsquery(%s::text) && '
        "(!!plainto_tsquery(%s::text)))",
        ["A", "A", "x", "y"],
    )
    rank = AqArt.query().annotate(r=SearchRank("search", "q")).order_by("-r")
    assert_sql(rank, f'SELECT {COLS}, ts_rank("search", plainto_tsquery(%s::text)) AS "r" FROM "aq_art" ORDER BY "r" DESC', ["q"])


# -- annotations, grouping, HAVING, DISTINCT ON -------------------------------------------------
def test_annotation_filters_go_to_where_or_having() -> None:
    qs = AqArt.query().annotate(t=Lower("title"), n=Count("id")).filter(t="x").filter(n__gt=1).order_by("-n")
    assert_sql(
        qs,
        f'SELECT {COLS}, LOWER("title") AS "t", COUNT("id") AS "n" FROM "aq_art" WHERE LOWER("title") = %s '
        'GROUP BY "id" HAVING COUNT("id") > %s ORDER BY "n" DESC',
        ["x", 1],
    )
    # alias(): usable, not selected; ordering then repeats the expression.
    assert_sql(
        AqArt.query().alias(t=Lower("title")).order_by("t"),
        f'{SELECT} ORDER BY LOWER("title")',
        [],
    )


def test_group_by_and_values_with_aggregates() -> None:
    qs = AqArt.query().group_by("author_id", "created__year").annotate(n=Count(), v=Sum("views")).filter(v__gt=3)
    assert_sql(
        compile_rows(qs.state),
        'SELECT "author_id", EXTRACT(YEAR FROM "created")::integer AS "created__year", COUNT(*) AS "n", '
        'SUM("views") AS "v" FROM "aq_art" GROUP BY 1, 2 HAVING SUM("views") > %s',
        [3],
    )
    state, names = values_state(AqArt.filter(views__gt=0).state, ("author_id",), {"top": Max("views")})
    assert names == ("author_id", "top")
    assert_sql(
        compile_rows(state, names),
        'SELECT "author_id", MAX("views") AS "top" FROM "aq_art" WHERE "views" > %s GROUP BY 1',
        [0],
    )
    state, names = values_state(AqArt.query().state, (), {"n": Count()})
    assert_sql(compile_rows(state, names), 'SELECT COUNT(*) AS "n" FROM "aq_art"', [])
    assert_sql(
        compile_count(qs.state),
        'SELECT COUNT(*) FROM (SELECT "author_id", EXTRACT(YEAR FROM "created")::integer AS "created__year", '
        'COUNT(*) AS "n", SUM("views") AS "v" FROM "aq_art" GROUP BY 1, 2 HAVING SUM("views") > %s) AS "_c"',
        [3],
    )


def test_distinct_and_distinct_on() -> None:
    assert_sql(AqArt.query().distinct("author_id"), f'SELECT DISTINCT ON ("author_id") {COLS} FROM "aq_art" ORDER BY "author_id"', [])
    assert_sql(
        AqArt.query().distinct("author_id").order_by("author_id", "-created"),
        f'SELECT DISTINCT ON ("author_id") {COLS} FROM "aq_art" ORDER BY "author_id", "created" DESC',
        [],
    )


def test_aggregate_sql_plain_and_wrapped() -> None:
    text, params, _ = compile_aggregate(AqArt.filter(views__gt=1).state, {"n": Count(), "a": Avg("views", filter=Q(rating__gt=1))})
    assert (text, params) == (
        'SELECT COUNT(*) AS "n", AVG("views") FILTER (WHERE "rating" > %s) AS "a" FROM "aq_art" WHERE "views" > %s',
        [decimal.Decimal("1"), 1],
    )
    text, params, _ = compile_aggregate(AqArt.query().order_by("-views")[:5].state, {"s": Sum("views", default=0)})
    assert (text, params) == (
        f'SELECT COALESCE(SUM("views"), %s) AS "s" FROM ({SELECT} ORDER BY "views" DESC LIMIT %s) AS "_a"', [0, 5])
    binds(text, params)
    with pytest.raises(ParameterError):
        compile_aggregate(AqArt.query().state, {"x": F("views")})


# -- windows ---------------------------------------------------------------------------------------
def test_window_annotation_and_filter_wraps_the_query() -> None:
    qs = AqArt.filter(views__gt=0).annotate(rn=Window(RowNumber(), partition_by="author_id", order_by="-views"))
    assert_sql(
        qs,
        f'SELECT {COLS}, ROW_NUMBER() OVER (PARTITION BY "author_id" ORDER BY "views" DESC) AS "rn" FROM "aq_art" '
        'WHERE "views" > %s',
        [0],
    )
    assert_sql(
        qs.filter(rn__lte=3).order_by("rn")[:10],
        f'SELECT {COLS}, "rn" FROM (SELECT {COLS}, ROW_NUMBER() OVER (PARTITION BY "author_id" ORDER BY "views" DESC) '
        'AS "rn" FROM "aq_art" WHERE "views" > %s) AS "_w" WHERE "rn" <= %s ORDER BY "rn" LIMIT %s',
        [0, 3, 10],
    )
    with pytest.raises(ParameterError):
        Window(Lower("title"))


def test_window_frames_and_aggregates() -> None:
    from matrx_orm import Lag, RowRange

    qs = AqArt.query().annotate(
        s=Window(Sum("views"), order_by="id", frame=RowRange(-2, 0)), p=Window(Lag("views", 2, 0), order_by="id")
    )
    assert_sql(
        qs,
        f'SELECT {COLS}, SUM("views") OVER (ORDER BY "id" ROWS BETWEEN %s PRECEDING AND CURRENT ROW) AS "s", '
        'LAG("views", %s, %s) OVER (ORDER BY "id") AS "p" FROM "aq_art"',
        [2, 2, 0],
    )


# -- subqueries and CTEs --------------------------------------------------------------------
def test_subquery_exists_outerref_and_queryset_in() -> None:
    n = Subquery(AqArt.filter(author_id=OuterRef("id")), Count())
    assert_sql(
        AqWriter.query().annotate(n=n).filter(n__gt=1),
        'SELECT "id", "name", (SELECT COUNT(*) AS "subquery_value" FROM "aq_art" WHERE "author_id" = "aq_writer"."id") '
        'AS "n" FROM "aq_writer" WHERE (SELECT COUNT(*) AS "subquery_value" FROM "aq_art" WHERE "author_id" = '
        '"aq_writer"."id") > %s',
        [1],
    )
    assert_sql(
        AqWriter.filter(~Exists(AqArt.filter(author_id=OuterRef("id"), views__gt=5))),
        'SELECT "id", "name" FROM "aq_writer" WHERE NOT (EXISTS (SELECT 1 FROM "aq_art" WHERE "author_id" = '
        '"aq_writer"."id" AND "views" > %s))',
        [5],
    )
    assert_sql(
        AqWriter.filter(id__in=AqArt.filter(views__gt=1)),
        'SELECT "id", "name" FROM "aq_writer" WHERE "id" IN (SELECT "id" FROM "aq_art" WHERE "views" > %s)',
        [1],
    )
    assert_sql(
        AqWriter.filter(id__in=Subquery(AqArt.filter(views__gt=1), "author_id")),
        'SELECT "id", "name" FROM "aq_writer" WHERE "id" IN (SELECT "author_id" FROM "aq_art" WHERE "views" > %s)',
        [1],
    )


def test_self_referencing_subquery_is_aliased() -> None:
    avg = Subquery(AqArt.filter(author_id=OuterRef("author_id")), Avg("views"))
    assert where(AqArt.filter(views__gt=avg)) == (
        '"views" > (SELECT AVG("_s1"."views") AS "subquery_value" FROM "aq_art" AS "_s1" '
        'WHERE "_s1"."author_id" = "aq_art"."author_id")',
        [],
    )
    with pytest.raises(ParameterError):
        AqArt.filter(author_id=OuterRef("id")).sql()  # OuterRef outside a subquery


def test_ctes() -> None:
    hot = CTE("hot", AqArt.filter(views__gt=10))
    assert_sql(
        AqWriter.with_cte(hot).filter(id__in=hot.select("author_id")),
        f'WITH "hot" AS ({SELECT} WHERE "views" > %s) SELECT "id", "name" FROM "aq_writer" '
        'WHERE "id" IN (SELECT "author_id" FROM "hot")',
        [10],
    )
    assert_sql(
        AqArt.query().with_cte(hot).from_cte(hot).filter(title="x"),
        f'WITH "hot" AS ({SELECT} WHERE "views" > %s) SELECT {COLS} FROM "hot" AS "aq_art" WHERE "title" = %s',
        [10, "x"],
    )
    tree = CTE("tree", AqArt.filter(id=1), recursive_on=("author_id", "id"), materialized=True)
    text, params = AqArt.query().with_cte(tree).from_cte(tree).sql()
    qualified = ", ".join(f'"aq_art".{c.strip()}' for c in COLS.split(","))
    assert text == (
        f'WITH RECURSIVE "tree" AS MATERIALIZED ({SELECT} WHERE "id" = %s UNION ALL SELECT {qualified} FROM "aq_art" '
        f'JOIN "tree" ON "aq_art"."author_id" = "tree"."id") SELECT {COLS} FROM "tree" AS "aq_art"'
    )
    assert params == [1]
    with pytest.raises(ParameterError):
        AqWriter.filter(id__in=hot.select("author_id")).sql()
    with pytest.raises(ParameterError):
        AqWriter.query().from_cte(hot)  # a CTE of another model


def test_writes_on_extended_querysets_target_primary_keys() -> None:
    state = AqArt.query().annotate(n=Count("id")).filter(n__gt=1).state
    assert_sql(
        compile_delete(state),
        'DELETE FROM "aq_art" WHERE "id" IN (SELECT "id" FROM "aq_art" GROUP BY "id" HAVING COUNT("id") > %s)',
        [1],
    )
    plain = AqArt.query().order_by(Lower("title")).filter(views=1).state
    assert_sql(compile_update(plain, {"views": 2}), 'UPDATE "aq_art" SET "views" = %s WHERE "views" = %s', [2, 1])
    assert_sql(
        compile_exists(AqArt.query().annotate(t=Lower("title")).filter(t="a").state),
        'SELECT EXISTS (SELECT 1 FROM "aq_art" WHERE LOWER("title") = %s)',
        ["a"],
    )


# -- bad input ---------------------------------------------------------------------------------
def test_bad_names_and_values_fail_when_the_query_is_built() -> None:
    with pytest.raises(FieldError) as info:
        AqArt.query().annotate(x=Upper("nope"))
    assert info.value.model == "AqArt"
    with pytest.raises(ParameterError):
        AqArt.query().annotate(title=Lower("title"))
    with pytest.raises(ParameterError):
        AqArt.query().annotate(**{"a__b": Lower("title")})
    with pytest.raises(ParameterError):
        AqArt.query().annotate(x=Count("views")).annotate(y=Sum(Count("views")))
    with pytest.raises(FieldError):
        AqArt.query().group_by("nope")
    with pytest.raises(FieldError):
        AqArt.query().order_by(F("nope"))
    with pytest.raises(ParameterError):
        AqArt.filter(data__has_keys="a")
    with pytest.raises(ParameterError):
        RawSQL("%s", [])
    with pytest.raises(ParameterError):
        from matrx_orm import Func

        Func(F("title"), function="lower(); drop table x; --")
    with pytest.raises(ParameterError):
        AqArt.filter(Q(views=1), Lower("title"))  # a non-boolean expression is not a filter


def test_annotation_names_are_quoted() -> None:
    text, _ = AqArt.query().annotate(**{'we"ird %s': Lower("title")}).sql()
    assert text == f'SELECT {COLS}, LOWER("title") AS "we""ird %%s" FROM "aq_art"'
    binds(text, [])


# -- signals and pagination helpers ----------------------------------------------------------
def test_async_receivers_are_refused_in_sync_mode() -> None:
    signal = Signal("test")

    async def receiver(sender: Any, instance: Any) -> None:
        return None

    def plain(sender: Any, instance: Any) -> None:
        return None

    signal.connect(plain, sender=AqArt)
    assert signal.receivers_for(AqArt._meta, "sync") == [plain]
    assert signal.receivers_for(AqWriter._meta, "sync") == []
    signal.connect(receiver)
    assert signal.receivers_for(AqWriter._meta, "async") == [receiver]
    with pytest.raises(ConfigurationError):
        signal.receivers_for(AqWriter._meta, "sync")
    assert signal.disconnect(receiver) and not signal.disconnect(receiver)


def test_keyset_filter_and_cursors() -> None:
    state = AqArt.query().order_by("-created").state
    ordering = keyset_ordering(state, None)
    assert ordering == (("created", True), ("id", True))
    moment = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    obj = AqArt(id=7, title="t", created=moment)
    cursor = encode_cursor(AqArt._meta, ordering, obj)
    assert decode_cursor(AqArt._meta, ordering, cursor) == [moment, 7]
    assert where(AqArt.filter(keyset_filter(ordering, [moment, 7], forward=True))) == (
        '(("created" < %s) OR ("created" = %s AND "id" < %s))', [moment, moment, 7])
    assert where(AqArt.filter(keyset_filter(ordering, [moment, 7], forward=False))) == (
        '(("created" > %s) OR ("created" = %s AND "id" > %s))', [moment, moment, 7])
    with pytest.raises(ParameterError):
        decode_cursor(AqArt._meta, ordering, "garbage!")
    with pytest.raises(ParameterError):
        decode_cursor(AqArt._meta, ordering, encode_cursor(AqArt._meta, (("id", False),), obj))


# -- model conveniences without a database --------------------------------------------------
class AqBase(Model):
    """Abstract: fields are inherited, no table."""

    kind = CharField(max_length=10, choices=[("a", "Alpha"), ("b", "Beta")], default="a")

    _abstract = True
    _database = "level1"


class AqThing(AqBase):
    id = AutoField()
    lo = IntegerField(null=False)
    hi = IntegerField(null=False)

    _table_name = "aq_thing"

    def clean(self) -> None:
        if self.hi < self.lo:
            raise ValidationError("hi < lo", model="AqThing")


def test_abstract_models_choices_and_full_clean() -> None:
    assert list(AqThing._meta.fields) == ["kind", "id", "lo", "hi"]
    assert AqThing._meta.fields["kind"] is not AqBase._meta.fields["kind"]  # inherited copies
    with pytest.raises(ConfigurationError):
        AqBase()
    with pytest.raises(ConfigurationError):
        AqBase.filter(kind="a")
    thing = AqThing(lo=1, hi=2)
    assert thing.kind == "a" and thing.get_display("kind") == "Alpha"
    with pytest.raises(ValidationError) as info:
        AqThing(lo=1, hi=2, kind="z")
    assert "AqThing.kind" in info.value.message and "choices" in info.value.message
    with pytest.raises(ValidationError):
        AqThing.filter(kind="z")  # filter values are validated too
    thing.hi = "0"
    with pytest.raises(ValidationError) as info:
        thing.full_clean()
    assert info.value.message == "hi < lo" and thing.hi == 0  # converted, then clean() ran
    thing.lo = "x"
    with pytest.raises(ValidationError) as info:
        thing.full_clean()
    assert set(info.value.details["errors"]) == {"lo"}


def test_q_objects_are_values_you_can_reuse() -> None:
    published = Q(views__gt=1)
    a = AqArt.filter(published & Q(title="x")).sql()
    b = AqArt.filter(published & Q(title="y")).sql()
    assert a[0] == b[0] and a[1] == [1, "x"] and b[1] == [1, "y"]
    assert where(AqArt.exclude(published)) == ('NOT ("views" > %s)', [1])
    assert where(AqArt.filter(Exists(AqWriter.filter(id=OuterRef("author_id"))) | Q(views=0))) == (
        '((EXISTS (SELECT 1 FROM "aq_writer" WHERE "id" = "aq_art"."author_id")) OR ("views" = %s))', [0])
    with pytest.raises(TypeError):
        Q(views=1) | 3  # type: ignore[operator]
    with pytest.raises(FieldError):
        AqArt.filter(Q(nope=1) | Q(views=1))
