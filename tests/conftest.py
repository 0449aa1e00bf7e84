"""Test configuration: find (or start) PostgreSQL and register the test databases.

The server comes from ``DATABASE_URL``, the ``MATRX_TEST_DB_*`` variables, a
server on localhost:5432, or an embedded PostgreSQL started in a temporary
directory (see ``matrx_orm.devdb``). Tests that own the server get a fresh
database per session, dropped at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from matrx_orm import DatabaseProjectConfig, register_database
from matrx_orm.devdb import create_database, drop_database, find_server

HERE = Path(__file__).parent


#: Under MATRX_TEST_PGBOUNCER=1: tests that cannot run with test_db behind PgBouncer, and why.
PGBOUNCER_SKIPS = {
    "test_two_declarations_of_one_table_share_entries_and_invalidate_each_other":
        "its second declaration (my_project) connects directly: a different server to the cache",
    "test_pytest_plugin.py": "tests the pytest plugin's own server discovery, not test_db",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder: tests/level1 -> level1, tests/level2 -> level2."""
    bounced = os.environ.get("MATRX_TEST_PGBOUNCER") == "1"
    for item in items:
        parts = Path(str(item.fspath)).relative_to(HERE).parts
        if parts and parts[0] in ("level1", "level2"):
            item.add_marker(getattr(pytest.mark, parts[0]))
        if bounced:
            reason = PGBOUNCER_SKIPS.get(item.name.split("[")[0]) or PGBOUNCER_SKIPS.get(parts[-1] if parts else "")
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"through PgBouncer: {reason}"))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Run async tests on asyncio, in one event loop for the whole session."""
    return "asyncio"


@pytest.fixture(scope="session")
def db_config() -> Iterator[DatabaseProjectConfig]:
    """Return the config of the session's test database (created when we own the server)."""
    info = find_server("test_db")
    if info.owned_database:
        name = f"matrx_test_{os.getpid()}"
        config = create_database(info.config, name)
        try:
            yield config
        finally:
            from matrx_orm_sync import close_pools

            close_pools()
            drop_database(info.config, name)
    else:
        config = info.config
        try:
            psycopg.connect(config.conninfo(), connect_timeout=5).close()
        except psycopg.OperationalError:
            config = create_database(config, config.database_name, drop_existing=False)
        yield config


@pytest.fixture(scope="session")
def registered_db(db_config: DatabaseProjectConfig) -> Iterator[DatabaseProjectConfig]:
    """Register the test database as ``test_db`` (models' ``_database``) and ``my_project`` (SPEC's name).

    With ``MATRX_TEST_PGBOUNCER=1``, ``test_db`` is reached through a private
    PgBouncer in transaction pooling mode (``pgbouncer=True``); fixtures that
    read back and set up keep their direct connection.
    """
    base = {k: v for k, v in db_config.__dict__.items() if k != "name"}
    bouncer = None
    if os.environ.get("MATRX_TEST_PGBOUNCER") == "1":
        from tests.level2.private_server import start_bouncer_for

        bouncer = start_bouncer_for(db_config)
        register_database(DatabaseProjectConfig(name="test_db", **{
            **base, "host": "127.0.0.1", "port": str(bouncer.port), "pgbouncer": True,
            "direct": f"{db_config.host}:{db_config.port}",  # migrations lock and LISTEN need a session
        }))
    else:
        register_database(DatabaseProjectConfig(name="test_db", **base))
    # SPEC's own models (tests/spec_models_async.py) use "my_project"; its search_path puts
    # their tables in schema "spec", apart from the shared "user"/"post" of test_db.
    spec_options = {**base.get("options", {}), "options": "-c search_path=spec,public"}
    register_database(DatabaseProjectConfig(name="my_project", **{**base, "alias": "main", "options": spec_options}))
    yield db_config
    if bouncer is not None:
        bouncer.stop()


@pytest.fixture(scope="session")
def admin_conn(registered_db: DatabaseProjectConfig) -> Iterator[psycopg.Connection]:
    """A plain psycopg connection to the test database, for setup and for reading back."""
    with psycopg.connect(registered_db.conninfo(), autocommit=True) as conn:
        yield conn
