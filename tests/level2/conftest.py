"""Level-2 fixtures: the test schema, created once, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from matrx_orm.core.cache_store import STORE
from tests.models_async import SCHEMA_SQL, TABLES


@pytest.fixture(scope="session")
def schema(admin_conn: psycopg.Connection) -> psycopg.Connection:
    """Create the test tables once per session."""
    admin_conn.execute(SCHEMA_SQL)
    return admin_conn


@pytest.fixture(autouse=True)
def clean_tables(schema: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Empty every test table before each test and give the test a reader connection."""
    schema.execute("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE")
    # TRUNCATE bypasses the ORM (and identities restart): start each test with an empty state cache.
    STORE.clear_all()
    yield schema


@pytest.fixture
def db(clean_tables: psycopg.Connection) -> psycopg.Connection:
    """A raw psycopg connection to read back what the database holds."""
    return clean_tables
