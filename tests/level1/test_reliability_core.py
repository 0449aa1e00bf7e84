"""Pure pieces of the reliability work: read classification, server specs, error classes, quoting."""

from __future__ import annotations

import socket

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import errors as pg_errors
from psycopg import sql as pgsql

from matrx_orm import (
    ConfigurationError,
    ConnectionError,
    DatabaseError,
    DatabaseProjectConfig,
    ParameterError,
    StatementTimeout,
    TransactionError,
    ValidationError,
    register_database,
    unregister_database,
    use_primary,
)
from matrx_orm._timeouts import _milliseconds
from matrx_orm.core.compiler import compile_count, compile_exists, compile_insert, compile_select, compile_upsert
from matrx_orm.core.db_errors import is_connection_error, map_db_error
from matrx_orm.core.lookups import LOOKUPS
from matrx_orm.core.pool_health import socket_has_data
from matrx_orm.core.routing import is_read_only, primary_forced, routing
from tests.models_reliability_async import Hostile, Note


# ---------------------------------------------------------------- read classification
@pytest.mark.parametrize("text", [
    'SELECT "id" FROM "t" WHERE "id" = %s',
    '  select count(*) from t',
    'SELECT EXISTS (SELECT 1 FROM "t")',
    'SELECT "a" FROM "t" ORDER BY "a" LIMIT %s OFFSET %s',
])
def test_plain_selects_are_reads(text):
    assert is_read_only(text)


@pytest.mark.parametrize("text", [
    'SELECT "id" FROM "t" FOR UPDATE',
    'SELECT "id" FROM "t" FOR NO KEY UPDATE SKIP LOCKED',
    'SELECT "id" FROM "t" FOR SHARE',
    'SELECT "id" FROM "t" FOR KEY SHARE NOWAIT',
    "SELECT nextval('s')",
    "SELECT pg_advisory_lock(1)",
    "SELECT pg_try_advisory_xact_lock(1)",
    "SELECT set_config('a', 'b', false)",
    "SELECT pg_notify('c', 'p')",
    "SELECT * INTO copy FROM t",
    'INSERT INTO "t" VALUES (%s) RETURNING "id"',
    'UPDATE "t" SET "a" = %s RETURNING "a"',
    'DELETE FROM "t" RETURNING "id"',
    "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
])
def test_locks_writes_and_side_effects_are_not_reads(text):
    assert not is_read_only(text)


def test_composed_queries_are_never_treated_as_reads():
    assert not is_read_only(pgsql.SQL("SELECT 1"))


def test_compiled_orm_statements_are_classified():
    state = Note.filter(body="x").state
    assert is_read_only(compile_select(state)[0])
    assert is_read_only(compile_count(state)[0]) and is_read_only(compile_exists(state)[0])
    assert not is_read_only(Note.filter(body="x").select_for_update(skip_locked=True).sql()[0])
    meta = Note._meta
    assert not is_read_only(compile_insert(meta, ("body",), 2))
    assert not is_read_only(compile_upsert(meta, ("slug", "body"), 1, ("slug",), ("body",)))


def test_use_primary_is_scoped_and_using_keeps_chaining():
    assert not primary_forced()
    with use_primary():
        assert primary_forced()
    assert not primary_forced()
    qs = Note.filter(body="x").using("primary")
    chained = qs.filter(title="y").order_by("id")
    assert type(chained).__name__ == "PrimaryQuerySet" and chained.sql() == Note.filter(body="x", title="y").order_by(
        "id"
    ).sql()
    assert type(chained.using("replica")).__name__ == "QuerySet"
    with pytest.raises(ParameterError):
        Note.query().using("somewhere")


# ---------------------------------------------------------------- server specs
def test_replica_specs_inherit_what_they_do_not_say():
    primary = DatabaseProjectConfig(
        name="app", host="p", port=5432, database_name="appdb", user="app", password="pw", pool_timeout=30,
        replicas=[
            "r1:5433",
            "postgresql://reader:rpw@r2/otherdb",
            {"host": "r3", "max_pool_size": 3},
            DatabaseProjectConfig(name="ignored", host="r4", port=6000, user="u4", password="p4"),
            "r5",
        ],
    )
    r1, r2, r3, r4, r5 = primary.replica_configs()
    assert (r1.name, r1.host, str(r1.port), r1.user, r1.password, r1.database_name) == (
        "app@replica0", "r1", "5433", "app", "pw", "appdb")
    assert (r2.host, str(r2.port), r2.user, r2.password, r2.database_name) == ("r2", "5432", "reader", "rpw", "otherdb")
    assert (r3.host, r3.max_pool_size, r3.password) == ("r3", 3, "pw")
    assert (r4.host, str(r4.port), r4.user, r4.password) == ("r4", "6000", "u4", "p4")
    assert (r5.host, str(r5.port)) == ("r5", "5432")
    assert all(r.pool_timeout == 2.0 and r.replicas == [] and r.alias == "" for r in (r1, r2, r3, r5))


@pytest.mark.parametrize("bad", [42, "mysql://h/db", {"hostname": "x"}, ""])
def test_bad_replica_specs_fail_at_configuration(bad):
    with pytest.raises(ConfigurationError):
        DatabaseProjectConfig(name="app", replicas=[bad])


def test_session_config_goes_around_the_bouncer():
    plain = DatabaseProjectConfig(name="a")
    assert plain.session_config() is plain
    bounced = DatabaseProjectConfig(name="b", host="bouncer", port=6432, pgbouncer=True, password="pw")
    assert bounced.session_config() is None and bounced.prepare_threshold is None
    direct = DatabaseProjectConfig(name="c", host="bouncer", port=6432, pgbouncer=True, direct="db:5432")
    session = direct.session_config()
    assert (session.host, str(session.port), session.pgbouncer, session.name) == ("db", "5432", False, "c@direct")


def test_registering_replicas_turns_routing_on():
    before = routing.enabled
    register_database(DatabaseProjectConfig(name="with_replicas", replicas=["r:5432"]))
    try:
        assert routing.enabled
    finally:
        unregister_database("with_replicas")
        routing.enabled = before


# ---------------------------------------------------------------- error classes
@pytest.mark.parametrize("error, connection, mapped", [
    (psycopg.OperationalError("server closed the connection unexpectedly"), True, ConnectionError),
    (pg_errors.AdminShutdown("terminating connection due to administrator command"), True, ConnectionError),
    (pg_errors.CannotConnectNow("the database system is starting up"), True, ConnectionError),
    (pg_errors.QueryCanceled("canceling statement due to statement timeout"), False, StatementTimeout),
    (pg_errors.LockNotAvailable("could not obtain lock on row"), False, DatabaseError),
    (pg_errors.SerializationFailure("could not serialize access"), False, TransactionError),
    (pg_errors.UniqueViolation("duplicate key"), False, DatabaseError),
])
def test_connection_errors_are_told_apart_from_statement_errors(error, connection, mapped):
    assert is_connection_error(error) is connection
    result = map_db_error(error, operation="x")
    assert isinstance(result, mapped)
    assert isinstance(result, ConnectionError) is connection


def test_statement_timeout_argument_is_checked_before_anything_runs():
    assert _milliseconds(150) == "150" and _milliseconds(0) == "0" and _milliseconds(2.5) == "2"
    for bad in (-1, "100", True, None, float("nan")):
        with pytest.raises(ParameterError):
            _milliseconds(bad)


def test_idle_socket_poll_tells_silence_from_a_goodbye():
    a, b = socket.socketpair()

    class FakePGconn:
        def __init__(self, fd):
            self.socket = fd

    class FakeConn:
        def __init__(self, fd):
            self.pgconn = FakePGconn(fd)

    try:
        conn = FakeConn(a.fileno())
        assert not socket_has_data(conn)
        b.sendall(b"E")  # the server said something to an idle connection
        assert socket_has_data(conn)
    finally:
        a.close()
        b.close()

    class Gone:
        class pgconn:  # noqa: N801
            @property
            def socket(self):
                raise psycopg.OperationalError("the connection is closed")

    assert socket_has_data(type("C", (), {"pgconn": Gone.pgconn()})())


# ---------------------------------------------------------------- quoting and hostile values, without a database
def test_for_update_of_self_names_the_unqualified_quoted_table():
    text = Hostile.query().select_for_update(of="self", skip_locked=True).sql()[0]
    assert text.endswith(' FOR UPDATE OF "Select ""Table""; DROP %%(x)s --" SKIP LOCKED')
    assert 'FROM "Weird ""Schema"" %%s"."Select ""Table""; DROP %%(x)s --"' in text


_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


@settings(max_examples=300, deadline=None)
@given(value=st.text(_chars, max_size=30), lookup=st.sampled_from(sorted(LOOKUPS)))
def test_sql_text_never_depends_on_a_value(value, lookup):
    def compiled(v):
        arg = [v, v + "x"] if lookup == "in" else v
        return Hostile.filter(**{f"quoted__{lookup}": arg}).order_by("-spaced").sql()

    try:
        text, params = compiled(value)
    except (ParameterError, ValidationError):
        return  # not a lookup for text: refused before any SQL exists
    assert text == compiled("benign")[0]
    assert params, "the value must travel as a parameter"


def test_nul_is_a_validation_error_for_every_text_carrying_field():
    with pytest.raises(ValidationError):
        Note.filter(body__contains="\x00")
    with pytest.raises(ValidationError):
        Note.filter(data={"k": "\x00"})
    with pytest.raises(ValidationError):
        Note._meta.fields["tags"].get_db_prep_value(["a\x00"])
