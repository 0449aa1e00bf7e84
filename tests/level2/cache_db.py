"""Fixtures for the state-cache tests: their ``cache_*`` tables, an empty cache, a controllable clock.

Imported by the async tests and their generated sync twins alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from matrx_orm.core.cache_store import DEFAULT_MAX_ENTRIES, STORE
from tests.models_cache_async import SCHEMA_SQL, TABLES

__all__ = ["cache_db", "clock", "FakeClock"]

_created: set[int] = set()


class FakeClock:
    """A monotonic clock the test moves by hand (``clock.advance(601)``)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def cache_db(db: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Create the cache tables on first use, empty them and the cache, and return the reader connection."""
    if id(db) not in _created:
        db.execute(SCHEMA_SQL)
        _created.add(id(db))
    db.execute("TRUNCATE " + ", ".join(TABLES) + " CASCADE")
    STORE.clear_all()
    yield db
    STORE.configure(enabled=True, max_entries=DEFAULT_MAX_ENTRIES)
    STORE.clear_all()


@pytest.fixture
def clock(cache_db: psycopg.Connection) -> Iterator[FakeClock]:
    """Drive the cache's TTLs with a fake clock for the duration of the test."""
    fake = FakeClock()
    real = STORE.clock
    STORE.clock = fake
    STORE.clear_all()
    yield fake
    STORE.clock = real
    STORE.clear_all()
