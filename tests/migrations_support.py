"""Fixtures for the migration tests: a database of their own, reset before each test.

Migrations diff a whole schema, so they must not share the database holding
the other tests' tables. The database is created once per session (per test
module importing these fixtures) and every test gets a fresh ``public``
schema and its own registered database name, so the models a test declares
(``_database = mig.name``) are the only ones its ``makemigrations`` sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from matrx_orm import DatabaseProjectConfig, register_database, unregister_database
from tests.scratch_databases import emptied_and_registered, own_database

__all__ = ["MigDatabase", "mig_server", "new_mig_database"]



@dataclass
class MigDatabase:
    """One test's view of the migration database."""

    name: str
    config: DatabaseProjectConfig
    conn: psycopg.Connection
    dir: Path
    aliases: list[str] = field(default_factory=list)

    def alias(self, suffix: str) -> str:
        """Register another name for the same database (models of a later 'version' use it)."""
        name = f"{self.name}_{suffix}"
        register_database(DatabaseProjectConfig(**{**self.config.__dict__, "name": name, "alias": ""}))
        self.aliases.append(name)
        return name

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Return the rows of ``sql`` (read back what the database holds)."""
        cur = self.conn.execute(sql, params)
        return cur.fetchall() if cur.description is not None else []

    def tables(self, schema: str = "public") -> list[str]:
        """Return the base tables of ``schema``."""
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE' "
            "ORDER BY table_name",
            [schema],
        )
        return [r[0] for r in rows]

    def columns(self, table: str, schema: str = "public") -> dict[str, tuple[str, str, str | None]]:
        """Return ``{column: (format_type, is_nullable, default)}`` of a table."""
        rows = self.query(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                      CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END, pg_get_expr(d.adbin, d.adrelid)
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
               ORDER BY a.attnum""",
            [schema, table],
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def applied(self) -> list[tuple[str, str]]:
        """Return ``(name, checksum)`` rows of ``_matrx_migrations`` (empty when it does not exist)."""
        exists = self.query("SELECT to_regclass('public._matrx_migrations') IS NOT NULL")[0][0]
        if not exists:
            return []
        return self.query("SELECT name, checksum FROM _matrx_migrations ORDER BY id")  # type: ignore[return-value]

    def cleanup(self) -> None:
        """Forget the registered names."""
        for name in [self.name, *self.aliases]:
            unregister_database(name)


@pytest.fixture(scope="session")
def mig_server(registered_db: DatabaseProjectConfig) -> Iterator[DatabaseProjectConfig]:
    """Create this family of tests' own database (once per process)."""
    yield from own_database(registered_db, "mig")


def new_mig_database(config: DatabaseProjectConfig, tmp_path: Path, mode: str) -> MigDatabase:
    """Reset the migration database and register a fresh name for one test."""
    name, conn = emptied_and_registered(config, f"mig_{mode}")
    return MigDatabase(name=name, config=config, conn=conn, dir=tmp_path / "migrations")
