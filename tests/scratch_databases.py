"""Databases of their own for the migration and code generation tests.

Both need a whole database they can empty between tests (schemas, types,
extensions), beside the session's ``test_db``; each gets one per process,
created on first use and dropped at the end, and every test registers a
fresh project name on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg
import psycopg.sql

from matrx_orm import DatabaseProjectConfig, register_database
from matrx_orm.devdb import create_database, drop_database

__all__ = ["own_database", "emptied_and_registered"]

_counter = itertools.count(1)
_created: dict[str, DatabaseProjectConfig] = {}


def own_database(registered_db: DatabaseProjectConfig, suffix: str) -> Iterator[DatabaseProjectConfig]:
    """Yield the config of ``<test database>_<suffix>`` (created once per process, dropped after)."""
    name = f"{registered_db.database_name}_{suffix}"
    config = _created.get(name)
    if config is None:
        config = create_database(registered_db, name)
        _created[name] = config
    yield config
    if _created.pop(name, None) is not None:
        from matrx_orm_sync import close_pools

        close_pools()
        drop_database(registered_db, name)


def emptied_and_registered(config: DatabaseProjectConfig, prefix: str) -> tuple[str, psycopg.Connection]:
    """Drop every schema of ``config``'s database, recreate ``public``, register a fresh project name.

    Returns the name (``<prefix>_<n>``) and an autocommit connection for the test's checks.
    """
    conn = psycopg.connect(config.conninfo(), autocommit=True)
    schemas = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'"
    ).fetchall()
    for (schema,) in schemas:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(psycopg.sql.Identifier(schema)))
    conn.execute("CREATE SCHEMA public")
    name = f"{prefix}_{next(_counter)}"
    register_database(DatabaseProjectConfig(**{**config.__dict__, "name": name, "alias": ""}))
    return name, conn
