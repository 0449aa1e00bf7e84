# WARNING: generated from tests/level2/aio/test_pgbouncer.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""PgBouncer in transaction pooling mode, in front of the session's test database.

Behind transaction pooling each transaction may run on a different server
connection, and many clients share each one: server-side prepared statements
and session settings would land on the wrong client. ``pgbouncer=True`` turns
them off. A control test shows what goes wrong without it.
"""

from __future__ import annotations

import pytest

from matrx_orm_sync import (
    DatabaseError,
    DatabaseProjectConfig,
    close_pool,
    get_pool,
    register_database,
    statement_timeout,
    transaction,
)
from tests.level2.private_server import PgBouncer, pgbouncer, start_bouncer_for  # noqa: F401  (fixture)
from tests.level2.reliability_db import rb_db  # noqa: F401  (fixture)
from tests.models_reliability_sync import BouncedNote
from tests.reliability_tools_sync import run_concurrently

pytestmark = pytest.mark.anyio

CLIENTS = 12  # more client connections than the bouncer has server connections (8)


def through(bouncer: PgBouncer, db_config: DatabaseProjectConfig, name: str, **settings) -> DatabaseProjectConfig:
    values = {
        "host": "127.0.0.1", "port": str(bouncer.port), "database_name": db_config.database_name,
        "user": db_config.user, "password": db_config.password, "min_pool_size": 0, "max_pool_size": CLIENTS,
        "pool_timeout": 10,
    }
    values.update(settings)
    return register_database(DatabaseProjectConfig(name=name, **values))


@pytest.fixture
def bounced(pgbouncer, db_config, rb_db):
    through(pgbouncer, db_config, "bounced", pgbouncer=True)
    yield rb_db
    close_pool("bounced")


def test_many_clients_repeat_the_same_statements_through_transaction_pooling(bounced):
    def client(i):
        for n in range(8):  # past psycopg's prepare threshold (5), many times over
            BouncedNote.create(slug=f"c{i}-{n}", body=f"client {i}")
            assert BouncedNote.filter(body=f"client {i}").count() == n + 1
            with transaction("bounced"):
                note = BouncedNote.filter(slug=f"c{i}-{n}").select_for_update().get()
                note.title = "seen"
                note.save()
        return i

    assert run_concurrently([lambda i=i: client(i) for i in range(CLIENTS)]) == list(range(CLIENTS))
    rows = bounced.execute("SELECT count(*), count(*) FILTER (WHERE title = 'seen') FROM rb_note").fetchone()
    assert rows == (CLIENTS * 8, CLIENTS * 8)


def test_statement_timeout_per_call_works_and_does_not_leak_through_the_bouncer(bounced):
    with statement_timeout(1500, "bounced") as conn:
        cur = conn.execute("SHOW statement_timeout")
        assert (cur.fetchone()) == ("1500ms",)
        BouncedNote.create(slug="timed", body="x")
    for _ in range(CLIENTS):  # every server connection the bouncer might hand out
        with transaction("bounced") as conn:
            cur = conn.execute("SHOW statement_timeout")
            assert (cur.fetchone()) == ("0",)
    assert bounced.execute("SELECT slug FROM rb_note").fetchall() == [("timed",)]


def test_savepoints_and_rollbacks_through_the_bouncer(bounced):
    with transaction("bounced"):
        BouncedNote.create(slug="outer", body="kept")
        with pytest.raises(DatabaseError):
            with transaction("bounced"):
                BouncedNote.create(slug="inner", body="dropped")
                BouncedNote.create(slug="inner", body="duplicate")  # unique violation
    assert bounced.execute("SELECT slug FROM rb_note ORDER BY slug").fetchall() == [("outer",)]


@pytest.fixture(scope="module")
def single_server_bouncer(db_config):
    """A bouncer with ONE server connection: two clients are sure to share it."""
    bouncer = start_bouncer_for(db_config, pool_size=1)
    yield bouncer
    bouncer.stop()


def test_control_prepared_statements_break_behind_transaction_pooling(single_server_bouncer, db_config):
    # Without the flag (and preparing every statement), two clients sharing one
    # server connection collide on psycopg's prepared statement names.
    through(single_server_bouncer, db_config, "bounced_prepared", prepare_threshold=0, max_pool_size=2)
    through(single_server_bouncer, db_config, "bounced_flagged", pgbouncer=True, max_pool_size=2)
    try:
        broken = get_pool("bounced_prepared")
        with pytest.raises(Exception) as info:
            with broken.connection() as first, broken.connection() as second:
                first.execute("SELECT 1")
                second.execute("SELECT 1")
        assert "prepared statement" in str(info.value)
        flagged = get_pool("bounced_flagged")
        with flagged.connection() as first, flagged.connection() as second:
            for _ in range(10):
                first.execute("SELECT 1")
                second.execute("SELECT 1")
    finally:
        close_pool("bounced_prepared")
        close_pool("bounced_flagged")


def test_session_work_needs_direct_behind_transaction_pooling(pgbouncer, db_config, tmp_path):
    from matrx_orm_sync import ConfigurationError
    from matrx_orm_sync.migrations import migration_status

    (tmp_path / "migrations").mkdir()
    through(pgbouncer, db_config, "bounced_nodirect", pgbouncer=True)
    with pytest.raises(ConfigurationError, match="direct"):
        migration_status("bounced_nodirect", tmp_path / "migrations")
    through(pgbouncer, db_config, "bounced_direct", pgbouncer=True, direct=f"{db_config.host}:{db_config.port}")
    try:
        assert migration_status("bounced_direct", tmp_path / "migrations") == []
    finally:
        close_pool("bounced_direct")
        close_pool("bounced_nodirect")
