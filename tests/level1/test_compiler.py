"""The SQL compiler without a database: exact SQL text and parameters for every query shape.

``assert_sql`` also proves every statement binds cleanly: the text is formatted
with one placeholder per parameter using the same ``%s`` / ``%%`` grammar psycopg
uses, so a stray ``%`` (from an identifier) or a missing parameter fails here.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from matrx_orm import (
    AutoField,
    BooleanField,
    CharField,
    FieldError,
    ForeignKey,
    IntegerField,
    JSONField,
    Model,
    ParameterError,
    Q,
    TextArrayField,
    UUIDField,
    ValidationError,
)
from matrx_orm.core.compiler import (
    compile_bulk_delete,
    compile_bulk_update,
    compile_count,
    compile_delete,
    compile_exists,
    compile_get_by_pk,
    compile_insert,
    compile_select,
    compile_update,
    compile_upsert,
)
from matrx_orm.core.lookups import escape_like
from matrx_orm.core.write_prep import prepare_update_values


class Member(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, null=False)
    email = CharField(max_length=255)
    age = IntegerField()
    is_active = BooleanField(default=True)
    tags = TextArrayField()
    data = JSONField()

    _table_name = "member"
    _database = "level1"


class Squad(Model):
    """Composite primary key."""

    member_id = ForeignKey("Member")
    squad = CharField(max_length=20)
    rank = IntegerField()

    _primary_keys = ["member_id", "squad"]
    _database = "level1"


class Weird(Model):
    """Identifiers that must be quoted: quotes, spaces, %, reserved words, mixed case."""

    id = AutoField(db_column='I"d')
    sel = CharField(max_length=10, db_column="select")
    pct = CharField(max_length=10, db_column="100% sure")
    mixed = IntegerField(db_column="MixedCase")
    spaced = CharField(max_length=10, db_column="has space")
    fmt = CharField(max_length=10, db_column="%s")

    _table_name = 'odd "table" %(x)s'
    _db_schema = "My Schema"
    _database = "level1"


COLS = '"id", "username", "email", "age", "is_active", "tags", "data"'
SELECT = f'SELECT {COLS} FROM "member"'
WEIRD_COLS = '"I""d", "select", "100%% sure", "MixedCase", "has space", "%%s"'
WEIRD_TABLE = '"My Schema"."odd ""table"" %%(x)s"'


def binds(text: str, params: list[Any]) -> str:
    """Format ``text`` like psycopg does (``%s`` placeholders, ``%%`` for a literal %)."""
    return text % tuple(f"${i + 1}" for i in range(len(params)))


def assert_sql(query: Any, sql: str, params: list[Any]) -> None:
    """Assert the query compiles to exactly ``sql`` and ``params``, and binds cleanly."""
    text, got = query.sql() if hasattr(query, "sql") else query
    assert text == sql
    assert got == params
    binds(text, got)


# -- SELECT and every lookup -----------------------------------------------------------------
def test_select_all_columns_in_field_order() -> None:
    assert_sql(Member.query(), SELECT, [])


@pytest.mark.parametrize(
    ("filters", "where", "params"),
    [
        ({"username": "alice"}, '"username" = %s', ["alice"]),
        ({"username__exact": "alice"}, '"username" = %s', ["alice"]),
        ({"email": None}, '"email" IS NULL', []),
        ({"email__exact": None}, '"email" IS NULL', []),
        ({"email__ne": "x"}, '"email" IS DISTINCT FROM %s', ["x"]),
        ({"email__ne": None}, '"email" IS NOT NULL', []),
        ({"age__gt": 18}, '"age" > %s', [18]),
        ({"age__gte": 18}, '"age" >= %s', [18]),
        ({"age__lt": 65}, '"age" < %s', [65]),
        ({"age__lte": "65"}, '"age" <= %s', [65]),
        ({"age__in": [1, 2, 3]}, '"age" = ANY(%s::INTEGER[])', [[1, 2, 3]]),
        ({"age__in": (x for x in [4, 5])}, '"age" = ANY(%s::INTEGER[])', [[4, 5]]),
        ({"age__in": []}, '"age" = ANY(%s::INTEGER[])', [[]]),
        ({"age__in": [1, None]}, '("age" = ANY(%s::INTEGER[]) OR "age" IS NULL)', [[1]]),
        ({"age__in": [None]}, '("age" = ANY(%s::INTEGER[]) OR "age" IS NULL)', [[]]),
        ({"email__isnull": True}, '"email" IS NULL', []),
        ({"email__isnull": False}, '"email" IS NOT NULL', []),
        ({"username__contains": "ali"}, '"username" LIKE %s', ["%ali%"]),
        ({"username__icontains": "ALI"}, '"username" ILIKE %s', ["%ALI%"]),
        ({"username__startswith": "al"}, '"username" LIKE %s', ["al%"]),
        ({"username__endswith": "ce"}, '"username" LIKE %s', ["%ce"]),
        ({"username__contains": "50%_a\\b"}, '"username" LIKE %s', ["%50\\%\\_a\\\\b%"]),
        ({"username__icontains": "%"}, '"username" ILIKE %s', ["%\\%%"]),
        ({"username__startswith": "_"}, '"username" LIKE %s', ["\\_%"]),
        ({"username__endswith": "\\"}, '"username" LIKE %s', ["%\\\\"]),
        ({"age__contains": "1"}, '"age"::text LIKE %s', ["%1%"]),
        ({"pk": "12345678-1234-5678-1234-567812345678"}, '"id" = %s', [uuid.UUID("12345678-1234-5678-1234-567812345678")]),
    ],
)
def test_lookup_sql_and_params(filters: dict[str, Any], where: str, params: list[Any]) -> None:
    assert_sql(Member.filter(**filters), f"{SELECT} WHERE {where}", params)


def test_uuid_values_are_converted_for_binding() -> None:
    value = uuid.uuid4()
    assert_sql(Member.filter(id=str(value)), f'{SELECT} WHERE "id" = %s', [value])
    assert_sql(Member.filter(id__in=[str(value)]), f'{SELECT} WHERE "id" = ANY(%s::UUID[])', [[value]])


def test_json_value_is_bound_as_jsonb() -> None:
    text, params = Member.filter(data={"a": 1}).sql()
    assert text == f'{SELECT} WHERE "data" = %s'
    assert isinstance(params[0], Jsonb) and params[0].obj == {"a": 1}


def test_array_equality_binds_the_list() -> None:
    # Cast to the column type: psycopg would send [1, 2] as smallint[], which has no = with integer[].
    assert_sql(Member.filter(tags=["a", "b"]), f'{SELECT} WHERE "tags" = %s::TEXT[]', [["a", "b"]])
    assert_sql(Member.filter(tags__ne=["a"]), f'{SELECT} WHERE "tags" IS DISTINCT FROM %s::TEXT[]', [["a"]])


def test_escape_like() -> None:
    assert escape_like("a%b_c\\d") == "a\\%b\\_c\\\\d"
    assert escape_like("plain") == "plain"


# -- chaining, Q, exclude ------------------------------------------------------------------------------
def test_filter_chaining_is_and() -> None:
    assert_sql(
        Member.filter(is_active=True).filter(age__gte=18, username__startswith="a"),
        f'{SELECT} WHERE "is_active" = %s AND "age" >= %s AND "username" LIKE %s',
        [True, 18, "a%"],
    )


def test_querysets_are_immutable() -> None:
    base = Member.filter(is_active=True)
    narrowed = base.filter(age=3)
    ordered = base.order_by("age")
    assert base.sql() == (f'{SELECT} WHERE "is_active" = %s', [True])
    assert narrowed.sql()[1] == [True, 3]
    assert ordered.sql()[0].endswith('ORDER BY "age"')
    assert base.state is not narrowed.state


def test_exclude_keeps_null_rows() -> None:
    # A nullable column is guarded so exclude() is the exact complement of filter().
    assert_sql(
        Member.exclude(email="x@y"),
        f'{SELECT} WHERE NOT (("email" = %s AND "email" IS NOT NULL))',
        ["x@y"],
    )
    # NOT NULL columns and null-safe lookups need no guard.
    assert_sql(Member.exclude(username="bob"), f'{SELECT} WHERE NOT ("username" = %s)', ["bob"])
    assert_sql(Member.exclude(email=None), f'{SELECT} WHERE NOT ("email" IS NULL)', [])
    assert_sql(Member.exclude(email__ne="a"), f'{SELECT} WHERE NOT ("email" IS DISTINCT FROM %s)', ["a"])
    assert_sql(
        Member.exclude(age__in=[1, None]),
        f'{SELECT} WHERE NOT (("age" = ANY(%s::INTEGER[]) OR "age" IS NULL))',
        [[1]],
    )


def test_filter_then_exclude_chain() -> None:
    assert_sql(
        Member.filter(is_active=True).exclude(username="admin").exclude(age__lt=18),
        f'{SELECT} WHERE "is_active" = %s AND (NOT ("username" = %s)) '
        'AND (NOT (("age" < %s AND "age" IS NOT NULL)))',
        [True, "admin", 18],
    )


def test_exclude_with_several_filters_negates_their_conjunction() -> None:
    assert_sql(
        Member.exclude(username="a", age=3),
        f'{SELECT} WHERE NOT ("username" = %s AND ("age" = %s AND "age" IS NOT NULL))',
        ["a", 3],
    )


def test_q_or_and_not() -> None:
    assert_sql(
        Member.filter(Q(username="a") | Q(username="b")),
        f'{SELECT} WHERE (("username" = %s) OR ("username" = %s))',
        ["a", "b"],
    )
    assert_sql(
        Member.filter(Q(username="a") & Q(age=3)),
        f'{SELECT} WHERE ("username" = %s) AND ("age" = %s)',
        ["a", 3],
    )
    assert_sql(Member.filter(~Q(username="a")), f'{SELECT} WHERE NOT ("username" = %s)', ["a"])
    assert_sql(
        Member.filter(~Q(age=1)),
        f'{SELECT} WHERE NOT (("age" = %s AND "age" IS NOT NULL))',
        [1],
    )


def test_q_nested_with_kwargs() -> None:
    query = Member.filter((Q(age__lt=18) | Q(age__gt=65)) & ~Q(username="root"), is_active=True)
    assert_sql(
        query,
        f'{SELECT} WHERE (((("age" < %s) OR ("age" > %s))) AND (NOT ("username" = %s))) AND "is_active" = %s',
        [18, 65, "root", True],
    )


def test_q_kwargs_are_sorted_so_the_shape_is_stable() -> None:
    assert Member.filter(Q(username="a", age=1)).sql() == Member.filter(Q(age=1, username="a")).sql()


def test_q_rejects_non_q_operands() -> None:
    with pytest.raises(TypeError):
        Q(age=1) | {"age": 2}  # type: ignore[operator]


# -- ordering, limits, slicing --------------------------------------------------------------------------
def test_order_by_ascending_and_descending() -> None:
    assert_sql(Member.order_by("username"), f'{SELECT} ORDER BY "username"', [])
    assert_sql(Member.order_by("-age", "username"), f'{SELECT} ORDER BY "age" DESC, "username"', [])
    assert_sql(Member.query().order_by("age").order_by("-email"), f'{SELECT} ORDER BY "email" DESC', [])


def test_limit_offset_are_parameters() -> None:
    assert_sql(Member.query().limit(20).offset(40), f"{SELECT} LIMIT %s OFFSET %s", [20, 40])
    assert_sql(Member.query().offset(5), f"{SELECT} OFFSET %s", [5])
    assert_sql(Member.query().limit(0), f"{SELECT} LIMIT %s", [0])


@pytest.mark.parametrize(
    ("build", "limit", "offset"),
    [
        (lambda q: q[10:30], 20, 10),
        (lambda q: q[:5], 5, None),
        (lambda q: q[5:], None, 5),
        (lambda q: q[0:0], 0, None),
        (lambda q: q[10:5], 0, 10),
        (lambda q: q[10:30][5:], 15, 15),
        (lambda q: q[10:30][5:100], 15, 15),
        (lambda q: q[10:30][:3], 3, 10),
        (lambda q: q.offset(10).limit(20), 20, 10),
        (lambda q: q.limit(20)[5:], 15, 5),
        (lambda q: q.offset(4)[2:4], 2, 6),
    ],
)
def test_slicing_semantics(build: Any, limit: int | None, offset: int | None) -> None:
    state = build(Member.query()).state
    assert (state.limit, state.offset) == (limit, offset)


def test_spec_slice_equals_offset_limit() -> None:
    sliced = Member.filter(is_active=True).order_by("username")[10:30]
    explicit = Member.filter(is_active=True).order_by("username").offset(10).limit(20)
    assert sliced.sql() == explicit.sql()
    assert_sql(sliced, f'{SELECT} WHERE "is_active" = %s ORDER BY "username" LIMIT %s OFFSET %s', [True, 20, 10])


@pytest.mark.parametrize("bad", [lambda q: q[3], lambda q: q[::2], lambda q: q[-1:], lambda q: q[:-1]])
def test_bad_slices(bad: Any) -> None:
    with pytest.raises(ParameterError):
        bad(Member.query())


@pytest.mark.parametrize("value", [-1, 1.5, "3", True, None])
def test_limit_and_offset_take_non_negative_ints(value: Any) -> None:
    with pytest.raises(ParameterError):
        Member.query().limit(value)
    with pytest.raises(ParameterError):
        Member.query().offset(value)


# -- select, values, values_list -------------------------------------------------------------------------
def test_select_always_loads_the_primary_key() -> None:
    assert_sql(
        Member.filter(is_active=True).select("username", "email"),
        'SELECT "id", "username", "email" FROM "member" WHERE "is_active" = %s',
        [True],
    )
    assert Member.query().select("email", "id").state.fields == ("email", "id")


def test_spec_chaining_example_compiles() -> None:
    query = (
        Member.filter(is_active=True)
        .exclude(username="admin")
        .order_by("username")
        .limit(20)
        .offset(40)
        .select("id", "username", "email")
    )
    assert_sql(
        query,
        'SELECT "id", "username", "email" FROM "member" WHERE "is_active" = %s AND (NOT ("username" = %s)) '
        'ORDER BY "username" LIMIT %s OFFSET %s',
        [True, "admin", 20, 40],
    )


def test_values_and_values_list_compile_to_a_narrow_select() -> None:
    # values()/values_list() compile the queryset's state with just their fields.
    state = Member.filter(is_active=True).state
    assert_sql(
        compile_select(state.clone(fields=("id", "username"))),
        'SELECT "id", "username" FROM "member" WHERE "is_active" = %s',
        [True],
    )
    assert_sql(
        compile_select(state.clone(fields=("username",))),
        'SELECT "username" FROM "member" WHERE "is_active" = %s',
        [True],
    )


# -- count / exists ----------------------------------------------------------------------------------------
def test_count_and_exists() -> None:
    state = Member.filter(is_active=True).order_by("username").state
    assert_sql(compile_count(state), 'SELECT COUNT(*) FROM "member" WHERE "is_active" = %s', [True])
    assert_sql(compile_exists(state), 'SELECT EXISTS (SELECT 1 FROM "member" WHERE "is_active" = %s)', [True])
    assert_sql(compile_count(Member.query().state), 'SELECT COUNT(*) FROM "member"', [])


def test_exists_of_a_slice_asks_about_the_slice() -> None:
    state = Member.filter(is_active=True)[100:].state
    assert_sql(
        compile_exists(state),
        'SELECT EXISTS (SELECT 1 FROM "member" WHERE "is_active" = %s OFFSET %s)',
        [True, 100],
    )
    assert_sql(compile_exists(Member.query().limit(0).state), 'SELECT EXISTS (SELECT 1 FROM "member" LIMIT %s)', [0])


def test_count_of_a_slice_counts_the_slice() -> None:
    state = Member.filter(is_active=True)[5:10].state
    assert_sql(
        compile_count(state),
        f'SELECT COUNT(*) FROM ({SELECT} WHERE "is_active" = %s LIMIT %s OFFSET %s) AS _sub',
        [True, 5, 5],
    )


# -- writes ------------------------------------------------------------------------------------------------------
def test_update() -> None:
    state = Member.filter(id=uuid.UUID(int=1)).state
    values = prepare_update_values(Member._meta, {"email": "new@x", "is_active": False})
    assert_sql(
        compile_update(state, values),
        'UPDATE "member" SET "email" = %s, "is_active" = %s WHERE "id" = %s',
        ["new@x", False, uuid.UUID(int=1)],
    )
    text, _ = compile_update(state, values, returning=True)
    assert text.endswith(f"RETURNING {COLS}")


def test_update_and_delete_refuse_sliced_querysets() -> None:
    values = prepare_update_values(Member._meta, {"age": 1})
    with pytest.raises(ParameterError):
        compile_update(Member.query()[:3].state, values)
    with pytest.raises(ParameterError):
        compile_delete(Member.query().limit(3).state)


def test_update_values_are_validated() -> None:
    with pytest.raises(ValidationError):
        prepare_update_values(Member._meta, {"age": "old"})
    with pytest.raises(FieldError):
        prepare_update_values(Member._meta, {"nope": 1})
    with pytest.raises(ParameterError):
        prepare_update_values(Member._meta, {})


def test_delete() -> None:
    assert_sql(compile_delete(Member.filter(age__lt=3).state), 'DELETE FROM "member" WHERE "age" < %s', [3])
    assert_sql(compile_delete(Member.query().state), 'DELETE FROM "member"', [])
    text, _ = compile_delete(Member.query().state, returning=True)
    assert text == f'DELETE FROM "member" RETURNING {COLS}'


def test_insert() -> None:
    meta = Member._meta
    assert compile_insert(meta, ("id", "username"), 1) == (
        f'INSERT INTO "member" ("id", "username") VALUES (%s, %s) RETURNING {COLS}'
    )
    assert compile_insert(meta, ("id", "username"), 3, returning=False) == (
        'INSERT INTO "member" ("id", "username") VALUES (%s, %s), (%s, %s), (%s, %s)'
    )
    assert compile_insert(meta, ("id",), 2, returning=False, ignore_conflicts=True) == (
        'INSERT INTO "member" ("id") VALUES (%s), (%s) ON CONFLICT DO NOTHING'
    )
    assert compile_insert(meta, (), 1) == f'INSERT INTO "member" DEFAULT VALUES RETURNING {COLS}'


def test_upsert() -> None:
    meta = Member._meta
    assert compile_upsert(meta, ("id", "email", "username"), 2, ("email",), ("username",)) == (
        'INSERT INTO "member" ("id", "email", "username") VALUES (%s, %s, %s), (%s, %s, %s) '
        'ON CONFLICT ("email") DO UPDATE SET "username" = EXCLUDED."username" '
        f"RETURNING {COLS}"
    )
    # Nothing to update: a no-op update so the existing row is still returned.
    assert compile_upsert(meta, ("id", "email"), 1, ("email",), ()) == (
        'INSERT INTO "member" ("id", "email") VALUES (%s, %s) '
        'ON CONFLICT ("email") DO UPDATE SET "email" = EXCLUDED."email" '
        f"RETURNING {COLS}"
    )


def test_bulk_update_is_one_statement_with_typed_values() -> None:
    assert compile_bulk_update(Member._meta, ("is_active", "age"), 2) == (
        'UPDATE "member" SET "is_active" = _v."c1", "age" = _v."c2" FROM (VALUES '
        "(%s::UUID, %s::BOOLEAN, %s::INTEGER), (%s::UUID, %s::BOOLEAN, %s::INTEGER)) "
        'AS _v("c0", "c1", "c2") WHERE "member"."id" = _v."c0"'
    )


def test_bulk_update_composite_key() -> None:
    assert compile_bulk_update(Squad._meta, ("rank",), 1) == (
        'UPDATE "squad" SET "rank" = _v."c2" FROM (VALUES (%s::UUID, %s::VARCHAR(20), %s::INTEGER)) '
        'AS _v("c0", "c1", "c2") WHERE "squad"."member_id" = _v."c0" AND "squad"."squad" = _v."c1"'
    )


def test_bulk_delete() -> None:
    # One array parameter whatever the number of rows: the text never changes.
    assert compile_bulk_delete(Member._meta, 3) == 'DELETE FROM "member" WHERE "id" = ANY(%s::UUID[])'
    assert compile_bulk_delete(Member._meta, 3) is compile_bulk_delete(Member._meta, 500)
    assert compile_bulk_delete(Squad._meta, 2) == (
        'DELETE FROM "squad" WHERE ("member_id", "squad") IN (VALUES (%s::UUID, %s::VARCHAR(20)), '
        "(%s::UUID, %s::VARCHAR(20)))"
    )


def test_get_by_pk() -> None:
    assert compile_get_by_pk(Member._meta) == f'SELECT {COLS} FROM "member" WHERE "id" = %s'
    assert compile_get_by_pk(Squad._meta) == (
        'SELECT "member_id", "squad", "rank" FROM "squad" WHERE "member_id" = %s AND "squad" = %s'
    )


# -- identifier quoting ----------------------------------------------------------------------------------------
def test_weird_identifiers_are_quoted_and_percent_is_escaped() -> None:
    meta = Weird._meta
    assert meta.quoted_table == WEIRD_TABLE
    assert meta.select_list == WEIRD_COLS
    assert_sql(
        Weird.filter(sel="x", pct__startswith="a%", mixed__in=[1, 2], fmt="y").order_by("-pct"),
        f"SELECT {WEIRD_COLS} FROM {WEIRD_TABLE} WHERE "
        '"select" = %s AND "100%% sure" LIKE %s AND "MixedCase" = ANY(%s::INTEGER[]) AND "%%s" = %s '
        'ORDER BY "100%% sure" DESC',
        ["x", "a\\%%", [1, 2], "y"],
    )


def test_weird_identifiers_in_every_statement_bind_cleanly() -> None:
    meta = Weird._meta
    names = ("sel", "pct", "fmt")
    statements = [
        (compile_insert(meta, names, 2), 6),
        (compile_upsert(meta, ("id",) + names, 1, ("id",), names), 4),
        (compile_bulk_update(meta, names, 2), 8),
        (compile_bulk_delete(meta, 3), 1),
        (compile_get_by_pk(meta), 1),
    ]
    for text, nparams in statements:
        rendered = binds(text, [0] * nparams)
        assert WEIRD_TABLE.replace("%%", "%") in rendered
    values = prepare_update_values(meta, {"fmt": "v", "spaced": "w"})
    assert_sql(
        compile_update(Weird.filter(mixed=1).state, values),
        f'UPDATE {WEIRD_TABLE} SET "%%s" = %s, "has space" = %s WHERE "MixedCase" = %s',
        ["v", "w", 1],
    )
    assert_sql(compile_delete(Weird.filter(sel="z").state), f'DELETE FROM {WEIRD_TABLE} WHERE "select" = %s', ["z"])
    assert_sql(compile_count(Weird.filter(sel="z").state), f'SELECT COUNT(*) FROM {WEIRD_TABLE} WHERE "select" = %s', ["z"])


def test_filter_values_never_reach_sql_text() -> None:
    evil = "x'; DROP TABLE member; --"
    text, params = Member.filter(username=evil, email__contains=evil).sql()
    assert evil not in text and "DROP" not in text
    assert params == [evil, f"%{evil}%"]


# -- compiled SQL cache -------------------------------------------------------------------------------------------
def test_same_shape_reuses_the_same_text_object() -> None:
    first, p1 = Member.filter(username="a", age__gt=1).order_by("age").limit(5).sql()
    second, p2 = Member.filter(username="b", age__gt=99).order_by("age").limit(50).sql()
    assert first is second
    assert p1 == ["a", 1, 5] and p2 == ["b", 99, 50]


def test_in_lists_of_any_length_share_one_text() -> None:
    first, _ = Member.filter(age__in=[1]).sql()
    second, p2 = Member.filter(age__in=list(range(100))).sql()
    assert first is second and p2 == [list(range(100))]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Member.filter(username="a"), Member.filter(email="a")),
        (Member.filter(email="a"), Member.filter(email=None)),
        (Member.filter(age__in=[1]), Member.filter(age__in=[1, None])),
        (Member.filter(age=1), Member.exclude(age=1)),
        (Member.order_by("age"), Member.order_by("-age")),
        (Member.query(), Member.query().limit(1)),
        (Member.query(), Member.query().select("email")),
    ],
)
def test_different_shapes_get_different_text(a: Any, b: Any) -> None:
    assert a.sql()[0] != b.sql()[0]


def test_write_statements_are_cached_per_shape() -> None:
    meta = Member._meta
    assert compile_insert(meta, ("id", "username"), 2) is compile_insert(meta, ("id", "username"), 2)
    assert compile_upsert(meta, ("id", "email"), 1, ("email",), ()) is compile_upsert(meta, ("id", "email"), 1, ("email",), ())
    assert compile_bulk_update(meta, ("age",), 4) is compile_bulk_update(meta, ("age",), 4)
    assert compile_get_by_pk(meta) is compile_get_by_pk(meta)
    v1 = prepare_update_values(meta, {"age": 1})
    v2 = prepare_update_values(meta, {"age": 2})
    t1, p1 = compile_update(Member.filter(username="a").state, v1)
    t2, p2 = compile_update(Member.filter(username="b").state, v2)
    assert t1 is t2 and p1 == [1, "a"] and p2 == [2, "b"]


# -- bad input fails while the query is built -----------------------------------------------------------------------
def test_unknown_field_names_model_field_and_value() -> None:
    with pytest.raises(FieldError) as info:
        Member.filter(nickname="al")
    err = info.value
    assert err.model == "Member" and err.details["field"] == "nickname" and err.details["value"] == "'al'"
    assert "Member" in err.message and "'nickname'" in err.message and "'al'" in err.message


def test_unknown_lookup_names_model_field_and_value() -> None:
    with pytest.raises(ParameterError) as info:
        Member.filter(age__between=(1, 2))
    err = info.value
    assert err.model == "Member" and err.details["field"] == "age" and err.details["lookup"] == "between"
    assert "'between'" in err.message and "(1, 2)" in err.message


def test_wrongly_typed_value_names_model_field_and_value() -> None:
    with pytest.raises(ValidationError) as info:
        Member.filter(age__gt="eighteen")
    err = info.value
    assert err.model == "Member" and err.details["field"] == "age"
    assert "Member.age" in err.message and "'eighteen'" in err.message
    with pytest.raises(ValidationError):
        Member.filter(id="not-a-uuid")
    with pytest.raises(ValidationError):
        Member.filter(is_active="yes")
    with pytest.raises(ValidationError):
        Member.filter(age__in=[1, "x"])


@pytest.mark.parametrize(
    ("filters", "fragment"),
    [
        ({"age__gt": None}, "use __isnull"),
        ({"age__in": "123"}, "expects a list"),
        ({"age__in": 5}, "expects a list"),
        ({"email__isnull": "yes"}, "expects True or False"),
        ({"username__contains": 5}, "expects a string"),
        ({"username__startswith": "a\x00"}, "NUL"),
    ],
)
def test_malformed_lookup_arguments(filters: dict[str, Any], fragment: str) -> None:
    with pytest.raises((ParameterError, ValidationError)) as info:
        Member.filter(**filters)
    assert fragment in info.value.message and info.value.model == "Member"


def test_bad_names_in_order_by_and_select() -> None:
    with pytest.raises(FieldError):
        Member.order_by("-nope")
    with pytest.raises(FieldError):
        Member.query().select("nope")
    with pytest.raises(ParameterError):
        Member.order_by("")
    with pytest.raises(ParameterError):
        Member.filter(5)  # type: ignore[arg-type]


def test_filter_keys_are_resolved_once_per_model_and_registry_generation():
    from matrx_orm import FieldError
    from matrx_orm.core import query_state
    from matrx_orm.core.registry import registry_generation
    from tests.models_relations_async import RelPost

    first = query_state.resolve_filter_key(RelPost._meta, "author__username__startswith")
    assert first[0] == ("author", "username") and first[2].name == "startswith"
    assert query_state.resolve_filter_key(RelPost._meta, "author__username__startswith") is first
    for _ in range(2):  # an unknown name raises every time; nothing is kept for it
        with pytest.raises(FieldError, match="RelPost has no field or relation 'writer'"):
            query_state.resolve_filter_key(RelPost._meta, "writer__username")
    assert not any(k[1] == "writer__username" for k in query_state._resolved_keys)
    generation = registry_generation()

    class MemoProbe(Model):  # declaring a model may add relations: resolution starts over
        id = AutoField()
        _table_name = "memo_probe"
        _database = "memo_probe_db"  # never registered: no migration test ever selects it

    assert registry_generation() != generation
    again = query_state.resolve_filter_key(RelPost._meta, "author__username__startswith")
    assert again is not first and again[0] == first[0]


def test_query_state_clone_copies_every_slot():
    from matrx_orm.core.query_state import QueryState
    from tests.models_relations_async import RelPost

    state = QueryState(RelPost._meta)
    for index, slot in enumerate(QueryState.__slots__):
        if slot not in ("meta", "extra"):
            setattr(state, slot, ("marker", index))
    state.extra["k"] = "v"
    copy = state.clone()
    assert all(getattr(copy, slot) == getattr(state, slot) for slot in QueryState.__slots__)
    assert copy.extra is not state.extra  # extra is copied, never shared
    assert state.clone(limit=5).limit == 5 and state.limit == ("marker", QueryState.__slots__.index("limit"))
