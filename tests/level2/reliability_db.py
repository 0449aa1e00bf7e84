"""Fixture for the reliability tables: created once per session, emptied before each test.

The hostile-identifier tables are created from the models' own metadata with
the ORM's DDL generator (``matrx_orm.core.ddl``), so the test proves that DDL,
queries and writes all quote those names correctly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from matrx_orm.core.ddl import create_schema_sql, create_table_sql, junction_tables, table_from_model
from matrx_orm.core.naming import quote_ident
from tests.models_reliability_async import HOSTILE_MODELS, SCHEMA_SQL, TABLES

__all__ = ["rb_db", "sent_sql", "hostile_tables"]


def hostile_tables() -> list[str]:
    """Return the quoted names of every hostile table (junctions included)."""
    names: list[str] = []
    for model in HOSTILE_MODELS:
        meta = model._meta
        names.append(meta.quoted_table.replace("%%", "%"))
        for junction in junction_tables(meta):
            names.append(quote_ident(junction.schema or "public", junction.name).replace("%%", "%"))
    return names


_created: set[int] = set()


def _create_schema(conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA_SQL)
    schema = HOSTILE_MODELS[0]._meta.db_schema
    conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema)))
    conn.execute(create_schema_sql(schema))
    for model in HOSTILE_MODELS:
        conn.execute(create_table_sql(table_from_model(model._meta)))
    for model in HOSTILE_MODELS:
        for junction in junction_tables(model._meta):
            conn.execute(create_table_sql(junction))


@pytest.fixture
def rb_db(db: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Create the reliability tables on first use, empty them, and return the reader connection."""
    if id(db) not in _created:
        _create_schema(db)
        _created.add(id(db))
    db.execute("TRUNCATE " + ", ".join(TABLES + hostile_tables()) + " RESTART IDENTITY CASCADE")
    yield db


@pytest.fixture
def sent_sql(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every statement handed to psycopg (sync and async cursors), failed ones included.

    A spy, not a mock: statements still run. ``capture_queries()`` only sees
    statements that succeeded; this proves that *nothing* was sent.
    """
    sent: list[str] = []

    def spy(method: Any) -> Any:
        if getattr(method, "__code__", None) is not None and method.__code__.co_flags & 0x80:  # coroutine function
            @functools.wraps(method)
            async def async_wrapper(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                sent.append(query if isinstance(query, str) else repr(query))
                return await method(self, query, *args, **kwargs)

            return async_wrapper

        @functools.wraps(method)
        def wrapper(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(query if isinstance(query, str) else repr(query))
            return method(self, query, *args, **kwargs)

        return wrapper

    for cls in (psycopg.Cursor, psycopg.AsyncCursor):
        for name in ("execute", "executemany"):
            monkeypatch.setattr(cls, name, spy(getattr(cls, name)))
    return sent
