"""The unnest bulk statements: which columns may use them, and the exact SQL they produce."""

from __future__ import annotations

import pytest

from matrx_orm.core.bulk_sql import (
    array_batches,
    array_cast,
    column_arrays,
    compile_unnest_insert,
    compile_unnest_update,
    mixed_timezones,
    unnest_columns_ok,
)
from tests.models_async import Document, Everything, Membership, Post, User


@pytest.mark.parametrize(
    ("name", "cast"),
    [
        ("id", "INTEGER"),
        ("f_char", "TEXT"),
        ("f_text", "TEXT"),
        ("f_int", "INTEGER"),
        ("f_bigint", "BIGINT"),
        ("f_smallint", "SMALLINT"),
        ("f_float", "DOUBLE PRECISION"),
        ("f_decimal", "NUMERIC"),
        ("f_bool", "BOOLEAN"),
        ("f_datetime", "TIMESTAMPTZ"),
        ("f_naive", "TIMESTAMP"),
        ("f_date", "DATE"),
        ("f_time", "TIME"),
        ("f_enum", "TEXT"),
        ("f_uuid", "UUID"),
    ],
)
def test_scalar_columns_get_a_base_array_type(name, cast):
    assert array_cast(Everything._meta.fields[name]) == cast


@pytest.mark.parametrize(
    "name",
    [
        "f_json", "f_jsonb", "f_array", "f_text_array", "f_int_array", "f_bool_array", "f_uuid_array",
        "f_jsonb_array", "f_ip", "f_network", "f_mac", "f_hstore", "f_point", "f_money", "f_binary", "f_interval",
    ],
)
def test_non_scalar_columns_keep_the_values_path(name):
    assert array_cast(Everything._meta.fields[name]) is None
    assert not unnest_columns_ok(Everything._meta, ("f_int", name))


def test_foreign_key_uses_its_target_type():
    assert array_cast(Post._meta.fields["author_id"]) == "UUID"
    assert array_cast(Membership._meta.fields["user_id"]) == "UUID"


def test_no_columns_is_not_an_unnest_insert():
    assert not unnest_columns_ok(User._meta, ())


def test_insert_sql_does_not_depend_on_row_count():
    sql = compile_unnest_insert(Post._meta, ("id", "title", "views"))
    assert sql == (
        'INSERT INTO "post" ("id", "title", "views") SELECT * FROM unnest(%b::UUID[], %b::TEXT[], %b::INTEGER[]) '
        'RETURNING "id", "title", "body", "author_id", "is_published", "views"'
    )
    assert compile_unnest_insert(Post._meta, ("id", "title", "views")) is sql  # cached text


def test_insert_sql_with_ignore_conflicts_and_schema():
    sql = compile_unnest_insert(Document._meta, ("title",), ignore_conflicts=True)
    assert sql == (
        'INSERT INTO "archive"."document" ("title") SELECT * FROM unnest(%b::TEXT[]) ON CONFLICT DO NOTHING '
        'RETURNING "id", "title", "version"'
    )


def test_update_sql_single_key():
    sql = compile_unnest_update(Post._meta, ("title", "views"))
    assert sql == (
        'UPDATE "post" SET "title" = "_v"."c1", "views" = "_v"."c2" '
        'FROM unnest(%b::UUID[], %b::TEXT[], %b::INTEGER[]) AS "_v"("c0", "c1", "c2") '
        'WHERE "post"."id" = "_v"."c0"'
    )


def test_update_sql_composite_key():
    sql = compile_unnest_update(Membership._meta, ("role",))
    assert sql == (
        'UPDATE "membership" SET "role" = "_v"."c2" '
        'FROM unnest(%b::UUID[], %b::TEXT[], %b::TEXT[]) AS "_v"("c0", "c1", "c2") '
        'WHERE "membership"."user_id" = "_v"."c0" AND "membership"."group_name" = "_v"."c1"'
    )


def test_unsafe_columns_refuse_to_compile():
    with pytest.raises(ValueError, match="unnest"):
        compile_unnest_insert(Everything._meta, ("f_jsonb",))


def test_column_arrays_transposes_rows():
    assert column_arrays([(1, "a", None), (2, None, True)], 3) == [[1, 2], ["a", None], [None, True]]
    assert column_arrays([], 2) == [[], []]


def test_mixed_naive_and_aware_datetimes_are_detected():
    import datetime as dt

    meta = Everything._meta
    aware = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    naive = dt.datetime(2024, 1, 1)
    assert mixed_timezones(meta, ("f_int", "f_datetime"), [[1, 2], [aware, naive]])
    assert mixed_timezones(meta, ("f_time",), [[dt.time(1), dt.time(2, tzinfo=dt.timezone.utc)]])
    assert not mixed_timezones(meta, ("f_int", "f_datetime", "f_naive"), [[1, 2], [aware, None], [naive, naive]])


def test_array_batches_slice_every_column():
    arrays = [[1, 2, 3, 4, 5], ["a", "b", "c", "d", "e"]]
    assert array_batches(arrays, None) == [arrays]
    assert array_batches(arrays, 10)[0] is arrays
    assert array_batches(arrays, 2) == [[[1, 2], ["a", "b"]], [[3, 4], ["c", "d"]], [[5], ["e"]]]
