# WARNING: generated from tests/level2/aio/test_injection.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Hostile input against PostgreSQL: values round-trip exactly and never reach the SQL text.

Property-based (hypothesis): hostile strings — quotes, backslashes, ``;``,
comments, placeholders (``%s``, ``%(x)s``, ``$1``), unicode, very long — go
through every write path and every lookup. Each property checks three things:
what the database holds is exactly what was written (read back with raw
psycopg), the rows a lookup returns are the rows a hand-written parameterised
query returns, and the SQL text the ORM sent is *identical* to the text it
sends for a benign value (so no caller string can be in it).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql as pgsql

from matrx_orm_sync import ORMException, ParameterError, Q, ValidationError, capture_queries, transaction
from matrx_orm.core.lookups import LOOKUPS
from tests.level2.reliability_db import rb_db, sent_sql  # noqa: F401  (fixtures)
from tests.models_reliability_sync import Hostile, HostileTag, Note

pytestmark = pytest.mark.anyio

#: Strings that have broken ORMs and drivers before.
HOSTILE = [
    "'", "''", '"', "\\", "\\'", "\\\\", "';--", "'; DROP TABLE rb_note; --", '"; DROP TABLE "user"; --',
    "/*", "*/", "/* comment */", "--", "-- x\n", ";", "%", "%%", "_", "%_\\", "%s", "%(x)s", "%(body)s", "$1",
    "$$", "$tag$", "?", ":name", "{}", "{0}", "\\x00", "E'\\n'", "\n", "\r\n", "\t", "\u2028", "\u202e",
    "🙂", "ünïcödé", "漢字", "NULL", "null", "\\N", "' OR '1'='1", "1; SELECT pg_sleep(10)", " ", "",
    "a" * 5000,
]

_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(_chars, max_size=40),
    st.tuples(st.sampled_from(HOSTILE), st.text(_chars, max_size=10), st.sampled_from(HOSTILE)).map("".join),
)
short_hostile = hostile_text.map(lambda s: s[:150])

PROPERTY = settings(
    max_examples=int(os.environ.get("MATRX_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def sql_texts(action: Callable[[], Awaitable[Any]]) -> list[str]:
    """Run ``action`` and return the SQL text of every statement it sent."""
    with capture_queries() as seen:
        action()
    return list(seen)


def raw_notes(db: psycopg.Connection) -> list[tuple[Any, ...]]:
    return db.execute("SELECT slug, title, body, tags, data FROM rb_note ORDER BY slug").fetchall()


# ---------------------------------------------------------------- write paths
def write_everything(values: list[str]) -> None:
    """Push ``values`` through create, bulk_create, update, bulk_update, upsert, bulk_upsert, update_where, save."""
    first, last = values[0], values[-1]
    note = Note.create(slug="s:" + first, title=first, body=first, tags=values, data={"v": first, first: values})
    created = Note.bulk_create(
        [{"slug": f"b{i}:{v}", "body": v, "tags": [v], "data": [v]} for i, v in enumerate(values)], batch_size=2
    )
    Note.filter(body=first, id=note.id).update(title=last)
    for obj, v in zip(created, reversed(values)):
        obj.body = v + "!"
    Note.bulk_update(created, ["body"], batch_size=2)
    Note.upsert({"slug": "s:" + first, "body": last}, ["slug"])
    Note.bulk_upsert([{"slug": f"b{i}:{v}", "title": v} for i, v in enumerate(values)], ["slug"], batch_size=2)
    Note.update_where({"slug": "s:" + first}, data={"w": values})
    extra = Note(slug="x:" + last, title=first, body=last)
    extra.save()
    extra.title = last
    extra.save()
    Note.delete_where(body=first + "\u0001never")


def expected_notes(values: list[str]) -> list[tuple[Any, ...]]:
    first, last = values[0], values[-1]
    rows = [("s:" + first, last, last, values, {"w": values})]
    for i, (v, body) in enumerate(zip(values, reversed(values))):
        rows.append((f"b{i}:{v}", v, body + "!", [v], [v]))
    rows.append(("x:" + last, last, last, None, None))
    return sorted(rows, key=lambda r: r[0])


@PROPERTY
@given(values=st.lists(short_hostile, min_size=1, max_size=4, unique=True))
def test_hostile_values_round_trip_through_every_write_path(rb_db, values):
    rb_db.execute("DELETE FROM rb_note")
    benign = [f"v{i}" for i in range(len(values))]
    texts = sql_texts(lambda: write_everything(values))
    assert raw_notes(rb_db) == expected_notes(values)
    rb_db.execute("DELETE FROM rb_note")
    assert texts == sql_texts(lambda: write_everything(benign))
    assert raw_notes(rb_db) == expected_notes(benign)


def test_very_long_values_round_trip(rb_db):
    body = ("'; DROP TABLE rb_note; -- \\ %s $1 🙂 " * 40_000)[:1_000_000]
    note = Note.create(body=body, tags=[body[:100_000]] * 3, data={"k": body[:100_000]})
    row = rb_db.execute("SELECT body, tags, data FROM rb_note WHERE id = %s", [note.id]).fetchone()
    assert row == (body, [body[:100_000]] * 3, {"k": body[:100_000]})
    assert (Note.get(body=body)).id == note.id


# ---------------------------------------------------------------- lookups
#: Hand-written parameterised SQL for each known lookup: the oracle.
ORACLE: dict[str, tuple[str, Callable[[str], list[Any]]]] = {
    "exact": ("body = %s", lambda q: [q]),
    "iexact": ("lower(body) = lower(%s)", lambda q: [q]),
    "ne": ("body IS DISTINCT FROM %s", lambda q: [q]),
    "gt": ("body > %s", lambda q: [q]),
    "gte": ("body >= %s", lambda q: [q]),
    "lt": ("body < %s", lambda q: [q]),
    "lte": ("body <= %s", lambda q: [q]),
    "contains": ("strpos(body, %s) > 0", lambda q: [q]),
    "startswith": ("starts_with(body, %s)", lambda q: [q]),
    "endswith": ("right(body, char_length(%s)) = %s", lambda q: [q, q]),
    "in": ("body = ANY(%s)", lambda q: [[q, q + "x"]]),
}


def oracle_ids(db: psycopg.Connection, lookup: str, q: str) -> list[int]:
    where, params = ORACLE[lookup]
    return [r[0] for r in db.execute(f"SELECT id FROM rb_note WHERE {where} ORDER BY id", params(q)).fetchall()]


def case_stable(text: str) -> bool:
    # Python and PostgreSQL agree on lower-casing ASCII; elsewhere locales differ.
    return text.isascii()


@PROPERTY
@given(stored=st.lists(hostile_text, min_size=1, max_size=6), q=hostile_text)
def test_every_lookup_treats_hostile_values_as_data(rb_db, stored, q):
    rb_db.execute("DELETE FROM rb_note")
    rows = stored + [q, q + "x", "x" + q, q.upper(), "", "50% off", "a_b", "c\\d"]
    Note.bulk_create([{"body": v} for v in rows])
    for name in sorted(LOOKUPS):
        try:
            qs = Note.filter(**{f"body__{name}": [q, q + "x"] if name == "in" else q})
        except (ParameterError, ValidationError):
            continue  # not a lookup for text values: refused before any SQL
        text, params = qs.order_by("id").sql()
        benign_text, _ = Note.filter(**{f"body__{name}": ["b", "bx"] if name == "in" else "b"}).order_by("id").sql()
        assert text == benign_text, name
        assert q not in text or q in benign_text, name
        try:
            with capture_queries() as seen:
                got = [n.id for n in qs.order_by("id").all()]
        except ORMException as error:
            # A value may be invalid for an operator (a bad regex); never a syntax error.
            assert error.details.get("sqlstate") not in ("42601", "42P01", "42703"), (name, error)
            continue
        assert seen == [text], name
        if name in ORACLE and (name != "iexact" or case_stable(q) and all(map(case_stable, rows))):
            assert got == oracle_ids(rb_db, name, q), name
        elif name == "icontains" and case_stable(q) and all(map(case_stable, rows)):
            expected = [r[0] for r in rb_db.execute(
                "SELECT id FROM rb_note WHERE strpos(lower(body), lower(%s)) > 0 ORDER BY id", [q]
            ).fetchall()]
            assert got == expected, name


@PROPERTY
@given(q=hostile_text, other=hostile_text)
def test_hostile_values_in_q_objects_exclude_and_values(rb_db, q, other):
    rb_db.execute("DELETE FROM rb_note")
    Note.bulk_create([{"body": q, "title": "a"}, {"body": other, "title": "b"}, {"body": "plain", "title": "c"}])
    got = Note.filter(Q(body=q) | Q(body__startswith=other)).exclude(body="plain").order_by("title").values_list(
        "title", flat=True
    )
    expected = [r[0] for r in rb_db.execute(
        "SELECT title FROM rb_note WHERE (body = %s OR starts_with(body, %s)) AND body <> 'plain' ORDER BY title",
        [q, other],
    ).fetchall()]
    assert got == expected
    assert Note.filter(body=q).count() == rb_db.execute(
        "SELECT count(*) FROM rb_note WHERE body = %s", [q]
    ).fetchone()[0]
    assert Note.filter(body=other).exists() is True


def test_like_lookups_match_wildcards_and_backslash_literally(rb_db):
    bodies = ["50%", "500", "5_0", "50", "5x0", "a\\b", "a\\\\b", "ab", "%", "_", "\\", "100% sure", "x_y"]
    Note.bulk_create([{"body": b} for b in bodies])

    def bodies_where(**kwargs: Any) -> list[str]:
        return sorted(Note.filter(**kwargs).values_list("body", flat=True))

    assert bodies_where(body__contains="50%") == ["50%"]
    assert bodies_where(body__contains="%") == ["%", "100% sure", "50%"]
    assert bodies_where(body__contains="5_0") == ["5_0"]
    assert bodies_where(body__contains="_") == ["5_0", "_", "x_y"]
    assert bodies_where(body__contains="\\") == ["\\", "a\\\\b", "a\\b"]
    assert bodies_where(body__contains="a\\b") == ["a\\b"]
    assert bodies_where(body__startswith="%") == ["%"]
    assert bodies_where(body__endswith="%") == ["%", "50%"]
    assert bodies_where(body__icontains="0% SURE") == ["100% sure"]
    assert bodies_where(body__startswith="5_") == ["5_0"]
    # Read back the same rows with a raw query: the ORM matched exactly what strpos finds.
    assert [r[0] for r in rb_db.execute(
        "SELECT body FROM rb_note WHERE strpos(body, '_') > 0 ORDER BY body"
    ).fetchall()] == ["5_0", "_", "x_y"]


# ---------------------------------------------------------------- NUL
NUL_WRITES: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
    ("create body", lambda: Note.create(body="a\x00b")),
    ("create title", lambda: Note.create(title="\x00")),
    ("create tags", lambda: Note.create(tags=["ok", "bad\x00"])),
    ("create json value", lambda: Note.create(data={"k": "bad\x00"})),
    ("create json key", lambda: Note.create(data={"bad\x00": 1})),
    ("bulk_create", lambda: Note.bulk_create([{"body": "fine"}, {"body": "\x00"}])),
    ("upsert", lambda: Note.upsert({"slug": "s", "body": "\x00"}, ["slug"])),
    ("bulk_upsert", lambda: Note.bulk_upsert([{"slug": "s", "body": "ok"}, {"slug": "t", "body": "\x00"}], ["slug"])),
    ("update", lambda: Note.filter(body="x").update(body="\x00")),
    ("update_where", lambda: Note.update_where({"body": "x"}, body="\x00")),
    ("filter exact", lambda: Note.filter(body="\x00").all()),
    ("filter contains", lambda: Note.filter(body__contains="a\x00").all()),
    ("filter icontains", lambda: Note.filter(body__icontains="\x00").all()),
    ("filter startswith", lambda: Note.filter(body__startswith="\x00").all()),
    ("filter in", lambda: Note.filter(body__in=["ok", "\x00"]).all()),
    ("filter gt", lambda: Note.filter(body__gt="\x00").all()),
]


@pytest.mark.parametrize("label", [label for label, _ in NUL_WRITES])
def test_nul_characters_are_rejected_before_sending(rb_db, sent_sql, label):
    action = dict(NUL_WRITES)[label]
    with pytest.raises(ValidationError) as info:
        action()
    assert sent_sql == [], f"{label}: SQL was sent: {sent_sql}"
    assert info.value.model == "Note" and "NUL" in info.value.message and info.value.details["field"]
    assert rb_db.execute("SELECT count(*) FROM rb_note").fetchone() == (0,)


# ---------------------------------------------------------------- hostile identifiers
def raw_hostile(db: psycopg.Connection) -> list[tuple[Any, ...]]:
    meta = Hostile._meta
    cols = pgsql.SQL(", ").join(pgsql.Identifier(meta.fields[n].column) for n in (
        "name", "quoted", "spaced", "mixed", "percent", "slash", "uniq", "count"
    ))
    query = pgsql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        cols, pgsql.Identifier(meta.db_schema, meta.table_name), pgsql.Identifier(meta.fields["id"].column)
    )
    return db.execute(query).fetchall()


@PROPERTY
@given(v=short_hostile, w=short_hostile)
def test_hostile_identifiers_work_for_every_operation(rb_db, v, w):
    meta = Hostile._meta
    rb_db.execute(pgsql.SQL("TRUNCATE {}, {} RESTART IDENTITY CASCADE").format(
        pgsql.Identifier(meta.db_schema, meta.table_name),
        pgsql.Identifier(HostileTag._meta.db_schema, HostileTag._meta.table_name),
    ))
    row = {"name": v, "quoted": w, "spaced": v, "mixed": w, "percent": v, "slash": w, "uniq": "u:" + v}
    obj = Hostile.create(**row)
    assert raw_hostile(rb_db) == [(v, w, v, w, v, w, "u:" + v, 0)]
    assert (Hostile.get(id=obj.id)).to_dict(fields=list(row)) == row
    assert (Hostile.get(uniq="u:" + v)).id == obj.id
    for field in ("name", "quoted", "spaced", "mixed", "percent", "slash"):
        value = row[field]
        for lookup in ("exact", "contains", "icontains", "startswith", "endswith", "gte", "lte", "in"):
            arg = [value] if lookup == "in" else value
            assert Hostile.filter(**{f"{field}__{lookup}": arg}).count() == 1, (field, lookup)
        assert Hostile.filter(**{f"{field}__ne": value}).count() == 0
    others = Hostile.bulk_create([{"name": f"n{i}", "uniq": f"k{i}:{w}"} for i in range(3)], batch_size=2)
    assert Hostile.filter(Q(name=v) | Q(uniq__startswith="k")).order_by("-id").values_list("id", flat=True) == [
        o.id for o in reversed(others)
    ] + [obj.id]
    assert Hostile.filter(mixed=w).update(count=5, percent=w) == 1
    for o in others:
        o.slash = v
    assert Hostile.bulk_update(others, ["slash"], batch_size=2) == 3
    up = Hostile.bulk_upsert(
        [{"uniq": "u:" + v, "name": w}, {"uniq": "new:" + w, "name": v}], ["uniq"], batch_size=1
    )
    assert [u.name for u in up] == [w, v]
    assert (Hostile.upsert({"uniq": "new:" + w, "spaced": w}, ["uniq"])).spaced == w
    with transaction("test_db"):
        locked = Hostile.filter(id=obj.id).select_for_update(of=("self",)).all()
        assert [x.id for x in locked] == [obj.id]
    assert Hostile.filter(uniq="u:" + v).values("name", "count") == [{"name": w, "count": 5}]
    # many-to-many through a hostile junction table
    tags = HostileTag.bulk_create([{"label": v}, {"label": w}])
    obj.set_m2m("tags", [t.id for t in tags])
    assert sorted(t.label for t in obj.fetch_m2m("tags")) == sorted([v, w])
    obj.remove_m2m("tags", tags[0].id)
    assert [t.id for t in obj.fetch_m2m("tags")] == [tags[1].id]
    assert Hostile.filter(id__in=[o.id for o in others]).delete() == 3
    assert Hostile.delete_where(uniq="new:" + w) == 1
    assert raw_hostile(rb_db) == [(w, w, v, w, w, w, "u:" + v, 5)]
    links = pgsql.Identifier(meta.db_schema, 'links "of" %s')
    assert rb_db.execute(pgsql.SQL("SELECT count(*) FROM {}").format(links)).fetchone() == (1,)
