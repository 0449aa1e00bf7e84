"""PgBouncer in transaction pooling mode, in front of the session's test database.

Behind transaction pooling each transaction may run on a different server
connection, and many clients share each one: server-side prepared statements
and session settings would land on the wrong client. ``pgbouncer=True`` turns
them off. A control test shows what goes wrong without it.
"""

from __future__ import annotations

import pytest

from matrx_orm import (
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
from tests.models_reliability_async import BouncedNote
from tests.reliability_tools_async import run_concurrently

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
async def bounced(pgbouncer, db_config, rb_db):
    through(pgbouncer, db_config, "bounced", pgbouncer=True)
    yield rb_db
    await close_pool("bounced")


async def test_many_clients_repeat_the_same_statements_through_transaction_pooling(bounced):
    async def client(i):
        for n in range(8):  # past psycopg's prepare threshold (5), many times over
            await BouncedNote.create(slug=f"c{i}-{n}", body=f"client {i}")
            assert await BouncedNote.filter(body=f"client {i}").count() == n + 1
            async with transaction("bounced"):
                note = await BouncedNote.filter(slug=f"c{i}-{n}").select_for_update().get()
                note.title = "seen"
                await note.save()
        return i

    assert await run_concurrently([lambda i=i: client(i) for i in range(CLIENTS)]) == list(range(CLIENTS))
    rows = bounced.execute("SELECT count(*), count(*) FILTER (WHERE title = 'seen') FROM rb_note").fetchone()
    assert rows == (CLIENTS * 8, CLIENTS * 8)


async def test_statement_timeout_per_call_works_and_does_not_leak_through_the_bouncer(bounced):
    async with statement_timeout(1500, "bounced") as conn:
        cur = await conn.execute("SHOW statement_timeout")
        assert (await cur.fetchone()) == ("1500ms",)
        await BouncedNote.create(slug="timed", body="x")
    for _ in range(CLIENTS):  # every server connection the bouncer might hand out
        async with transaction("bounced") as conn:
            cur = await conn.execute("SHOW statement_timeout")
            assert (await cur.fetchone()) == ("0",)
    assert bounced.execute("SELECT slug FROM rb_note").fetchall() == [("timed",)]


async def test_savepoints_and_rollbacks_through_the_bouncer(bounced):
    async with transaction("bounced"):
        await BouncedNote.create(slug="outer", body="kept")
        with pytest.raises(DatabaseError):
            async with transaction("bounced"):
                await BouncedNote.create(slug="inner", body="dropped")
                await BouncedNote.create(slug="inner", body="duplicate")  # unique violation
    assert bounced.execute("SELECT slug FROM rb_note ORDER BY slug").fetchall() == [("outer",)]


@pytest.fixture(scope="module")
def single_server_bouncer(db_config):
    """A bouncer with ONE server connection: two clients are sure to share it."""
    bouncer = start_bouncer_for(db_config, pool_size=1)
    yield bouncer
    bouncer.stop()


async def test_control_prepared_statements_break_behind_transaction_pooling(single_server_bouncer, db_config):
    # Without the flag (and preparing every statement), two clients sharing one
    # server connection collide on psycopg's prepared statement names.
    through(single_server_bouncer, db_config, "bounced_prepared", prepare_threshold=0, max_pool_size=2)
    through(single_server_bouncer, db_config, "bounced_flagged", pgbouncer=True, max_pool_size=2)
    try:
        broken = await get_pool("bounced_prepared")
        with pytest.raises(Exception) as info:
            async with broken.connection() as first, broken.connection() as second:
                await first.execute("SELECT 1")
                await second.execute("SELECT 1")
        assert "prepared statement" in str(info.value)
        flagged = await get_pool("bounced_flagged")
        async with flagged.connection() as first, flagged.connection() as second:
            for _ in range(10):
                await first.execute("SELECT 1")
                await second.execute("SELECT 1")
    finally:
        await close_pool("bounced_prepared")
        await close_pool("bounced_flagged")


async def test_session_work_needs_direct_behind_transaction_pooling(pgbouncer, db_config, tmp_path):
    from matrx_orm import ConfigurationError
    from matrx_orm.migrations import migration_status

    (tmp_path / "migrations").mkdir()
    through(pgbouncer, db_config, "bounced_nodirect", pgbouncer=True)
    with pytest.raises(ConfigurationError, match="direct"):
        await migration_status("bounced_nodirect", tmp_path / "migrations")
    through(pgbouncer, db_config, "bounced_direct", pgbouncer=True, direct=f"{db_config.host}:{db_config.port}")
    try:
        assert await migration_status("bounced_direct", tmp_path / "migrations") == []
    finally:
        await close_pool("bounced_direct")
        await close_pool("bounced_nodirect")
