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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder: tests/level1 -> level1, tests/level2 -> level2."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(HERE).parts
        if parts and parts[0] in ("level1", "level2"):
            item.add_marker(getattr(pytest.mark, parts[0]))


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
def registered_db(db_config: DatabaseProjectConfig) -> DatabaseProjectConfig:
    """Register the test database as ``test_db`` (models' ``_database``) and ``my_project`` (SPEC's name)."""
    base = {k: v for k, v in db_config.__dict__.items() if k != "name"}
    register_database(DatabaseProjectConfig(name="test_db", **base))
    # SPEC's own models (tests/spec_models_async.py) use "my_project"; its search_path puts
    # their tables in schema "spec", apart from the shared "user"/"post" of test_db.
    spec_options = {**base.get("options", {}), "options": "-c search_path=spec,public"}
    register_database(DatabaseProjectConfig(name="my_project", **{**base, "alias": "main", "options": spec_options}))
    return db_config


@pytest.fixture(scope="session")
def admin_conn(registered_db: DatabaseProjectConfig) -> Iterator[psycopg.Connection]:
    """A plain psycopg connection to the test database, for setup and for reading back."""
    with psycopg.connect(registered_db.conninfo(), autocommit=True) as conn:
        yield conn
