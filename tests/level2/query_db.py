"""Fixture for the advanced-querying tests: their ``q_*`` tables, created once, emptied per test.

Imported by the async tests and their generated sync twins alike.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.models_query_async import SCHEMA_SQL, TABLES

__all__ = ["q_db"]

_created: set[int] = set()


@pytest.fixture
def q_db(db: psycopg.Connection) -> psycopg.Connection:
    """Create the query tables on first use, empty them, and return the reader connection."""
    if id(db) not in _created:
        db.execute(SCHEMA_SQL)
        _created.add(id(db))
    db.execute("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE")
    return db
