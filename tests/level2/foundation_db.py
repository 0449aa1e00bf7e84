"""Fixtures for the foundation tests: SPEC's own tables, hostile-identifier tables, an empty state cache.

Imported by the async tests and their generated sync twins alike (both use the
same tables through the shared model metadata).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.spec_models_async import SCHEMA_SQL, TABLES

__all__ = ["spec_db", "empty_cache"]

_created: set[int] = set()


def _clear_cache() -> None:
    # Tables are emptied with TRUNCATE behind the ORM's back; rows cached by an
    # earlier test (identity ids restart at 1) must not answer for new ones.
    from matrx_orm.core.cache_store import STORE

    STORE.clear_all()


@pytest.fixture
def empty_cache() -> Iterator[None]:
    """Start (and end) the test with an empty state cache."""
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture
def spec_db(db: psycopg.Connection, empty_cache: None) -> psycopg.Connection:
    """Create SPEC's tables (schema ``spec``) on first use, empty them, and return the reader connection."""
    if id(db) not in _created:
        db.execute(SCHEMA_SQL)
        _created.add(id(db))
    db.execute("TRUNCATE " + ", ".join(TABLES) + " CASCADE")
    return db
