# WARNING: generated from tests/level2/aio/test_field_roundtrip.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Every field type round-trips through PostgreSQL: written by the ORM, read back by the ORM and by psycopg.

Uses the shared ``Everything`` model (one column per field type). For each value
the test checks what the ORM returns, what the column holds when read with plain
psycopg (``::text`` where the Python type would hide a difference), that the value
finds its row again through a filter, and that NULL survives as NULL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import uuid

import pytest

from matrx_orm_sync import ValidationError, capture_queries
from tests.level2.foundation_db import empty_cache  # noqa: F401  (fixture)
from tests.models_sync import Color, Everything

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("empty_cache")]

U1 = uuid.UUID("12345678-1234-5678-1234-567812345678")
U2 = uuid.UUID("87654321-4321-8765-4321-876543218765")
AWARE = dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
NAIVE = dt.datetime(1999, 12, 31, 23, 59, 59, 999999)

# field, value written, value the ORM reads back, the column as text (None: skip the text check)
CASES = [
    ("f_char", "héllo ✓ 'quoted'", "héllo ✓ 'quoted'", "héllo ✓ 'quoted'"),
    ("f_text", "line1\nline2\t\\ %s %(x)s", "line1\nline2\t\\ %s %(x)s", "line1\nline2\t\\ %s %(x)s"),
    ("f_int", 2**31 - 1, 2**31 - 1, "2147483647"),
    ("f_int", "-42", -42, "-42"),
    ("f_bigint", -(2**63), -(2**63), "-9223372036854775808"),
    ("f_smallint", 2**15 - 1, 2**15 - 1, "32767"),
    ("f_float", 0.1, 0.1, "0.1"),
    ("f_float", float("inf"), float("inf"), "Infinity"),
    ("f_decimal", "12345678.90", decimal.Decimal("12345678.90"), "12345678.90"),
    ("f_decimal", decimal.Decimal("-0.01"), decimal.Decimal("-0.01"), "-0.01"),
    ("f_bool", False, False, "false"),
    ("f_datetime", AWARE, AWARE, None),
    ("f_datetime", "2024-01-02T03:04:05Z", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), None),
    ("f_naive", NAIVE, NAIVE, "1999-12-31 23:59:59.999999"),
    ("f_naive", "2024-01-02T03:04:05", dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05"),
    ("f_naive", "2024-01-02T03:04:05+02:00", dt.datetime(2024, 1, 2, 1, 4, 5), "2024-01-02 01:04:05"),
    ("f_date", "2024-02-29", dt.date(2024, 2, 29), "2024-02-29"),
    ("f_time", "13:14:15.5", dt.time(13, 14, 15, 500000), "13:14:15.5"),
    ("f_json", {"a": [1, 2.5, None, True], "b": {"c": "ü"}}, {"a": [1, 2.5, None, True], "b": {"c": "ü"}}, None),
    ("f_json", [1, "two"], [1, "two"], '[1, "two"]'),
    ("f_json", "just a string", "just a string", '"just a string"'),
    ("f_jsonb", {"k": "v"}, {"k": "v"}, '{"k": "v"}'),
    ("f_array", [1.5, None, -2.0], [1.5, None, -2.0], "{1.5,NULL,-2}"),
    ("f_text_array", ["a", "b,c", 'q"d', None, ""], ["a", "b,c", 'q"d', None, ""], None),
    ("f_text_array", [], [], "{}"),
    ("f_int_array", ["1", 2], [1, 2], "{1,2}"),
    ("f_bool_array", [True, False, None], [True, False, None], "{t,f,NULL}"),
    ("f_uuid_array", [str(U1), U2], [U1, U2], f"{{{U1},{U2}}}"),
    ("f_jsonb_array", [{"a": 1}, [2], None], [{"a": 1}, [2], None], None),
    ("f_enum", "green", Color.GREEN, "green"),
    ("f_enum", Color.RED, Color.RED, "red"),
    ("f_ip", "192.168.0.1", ipaddress.ip_address("192.168.0.1"), "192.168.0.1/32"),
    ("f_ip", "2001:db8::1", ipaddress.ip_address("2001:db8::1"), "2001:db8::1/128"),
    ("f_ip", "10.1.2.3/16", ipaddress.ip_interface("10.1.2.3/16"), "10.1.2.3/16"),
    ("f_network", "10.0.0.0/8", ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
    ("f_mac", "AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff"),
    ("f_hstore", {"a": "1", "b": None, 'we"ird': "x\\y", "k=>v": "c, d", "": "empty key"},
     {"a": "1", "b": None, 'we"ird': "x\\y", "k=>v": "c, d", "": "empty key"}, None),
    ("f_hstore", {}, {}, ""),
    ("f_point", (1.5, -2), (1.5, -2.0), "(1.5,-2)"),
    ("f_money", "1234.56", decimal.Decimal("1234.56"), None),
    ("f_money", decimal.Decimal("-5.10"), decimal.Decimal("-5.10"), None),
    ("f_binary", b"\x00\x01\xffbinary", b"\x00\x01\xffbinary", "\\x0001ff62696e617279"),
    ("f_interval", dt.timedelta(days=3, seconds=7261), dt.timedelta(days=3, seconds=7261), "3 days 02:01:01"),
    ("f_interval", 90, dt.timedelta(seconds=90), "00:01:30"),
    ("f_uuid", str(U1), U1, str(U1)),
]


@pytest.mark.parametrize(("name", "value", "expected", "as_text"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_round_trip(db, name, value, expected, as_text):
    obj = Everything.create(**{name: value})
    assert getattr(obj, name) == expected  # what create() returned (RETURNING)

    fetched = Everything.get(use_cache=False, id=obj.id)
    assert getattr(fetched, name) == expected
    assert type(getattr(fetched, name)) is type(expected)

    raw, text = db.execute(f"SELECT {name}, {name}::text FROM everything WHERE id = %s", [obj.id]).fetchone()
    if as_text is not None:
        assert text == as_text
    if name == "f_money":
        assert decimal.Decimal(text.replace("$", "").replace(",", "")) == expected
    if name == "f_datetime":
        assert raw == expected  # the same instant
    if name == "f_hstore":
        assert db.execute(f"SELECT {name} = %s::hstore FROM everything WHERE id = %s",
                          [Everything._meta.fields[name].get_db_prep_value(value), obj.id]).fetchone() == (True,)
    if name in ("f_json", "f_jsonb"):
        assert raw == expected

    # The value finds its own row again (exact lookup), except where equality is not defined.
    if name not in ("f_json", "f_jsonb", "f_jsonb_array", "f_point") and not (
        name == "f_float" and expected == float("inf")
    ):
        found = Everything.filter(**{name: value}).values_list("id", flat=True)
        assert found == [obj.id]

    values = Everything.filter(id=obj.id).values(name)
    assert values == [{name: expected}]


def test_every_column_null_round_trips(db):
    names = [n for n in Everything._meta.field_names if n != "id"]
    obj = Everything.create(**{n: None for n in names})
    fetched = Everything.get(use_cache=False, id=obj.id)
    assert all(getattr(fetched, n) is None for n in names)
    nulls = db.execute(
        "SELECT " + ", ".join(f"{n} IS NULL" for n in names) + " FROM everything WHERE id = %s", [obj.id]
    ).fetchone()
    assert all(nulls)
    assert Everything.filter(**{f"{n}__isnull": True for n in names}).count() == 1


def test_all_types_in_one_row_and_bulk(db):
    one = {name: value for name, value, _e, _t in CASES}
    expected = {name: exp for name, _v, exp, _t in CASES}
    created = Everything.bulk_create([one, one, {"f_text": "other"}])
    assert len(created) == 3
    for obj in Everything.filter(id__in=[created[0].id, created[1].id]).all():
        assert {n: getattr(obj, n) for n in expected} == expected
    assert db.execute("SELECT count(*) FROM everything WHERE f_uuid = %s AND f_mac = 'aa:bb:cc:dd:ee:ff'",
                      [U1]).fetchone() == (2,)
    # Update every column of one row in a single statement, then read it back.
    count = Everything.filter(id=created[2].id).update(**one)
    assert count == 1
    fresh = Everything.get(use_cache=False, id=created[2].id)
    assert {n: getattr(fresh, n) for n in expected} == expected


def test_bulk_update_writes_every_type(db):
    rows = Everything.bulk_create([{"f_text": "a"}, {"f_text": "b"}])
    expected = {name: exp for name, _v, exp, _t in CASES}
    for obj in rows:
        for name, value, _e, _t in CASES:
            setattr(obj, name, value)
    assert Everything.bulk_update(rows, list(expected)) == 2
    for obj in Everything.all():
        assert {n: getattr(obj, n) for n in expected} == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("f_char", "x" * 21),
        ("f_int", 2**31),
        ("f_smallint", -(2**15) - 1),
        ("f_int", True),
        ("f_bool", "yes"),
        ("f_decimal", "123456789.0"),
        ("f_enum", "blue"),
        ("f_uuid", "nope"),
        ("f_datetime", "not a date"),
        ("f_json", {"x": {1, 2}}),
        ("f_int_array", [1, "two"]),
        ("f_ip", "999.1.1.1"),
        ("f_mac", "zz:zz"),
        ("f_hstore", {"a": 1}),
        ("f_point", (1,)),
        ("f_binary", "text"),
    ],
)
def test_invalid_values_fail_before_sql(db, name, value):
    with capture_queries() as queries:
        with pytest.raises(ValidationError) as info:
            Everything.create(**{name: value})
        with pytest.raises(ValidationError):
            Everything.filter(id=1).update(**{name: value})
    assert queries == []
    assert info.value.model == "Everything" and info.value.details["field"].startswith(name)
    assert db.execute("SELECT count(*) FROM everything").fetchone() == (0,)
