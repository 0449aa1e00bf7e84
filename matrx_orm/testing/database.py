"""Throwaway test databases for users' test suites, cloned from a cached template.

Building a schema (DDL from the models, or the project's migrations) costs a
round trip per statement; ``CREATE DATABASE ... TEMPLATE`` is a file copy on
the server. So the schema is built once into a template database named after
a hash of what builds it, and each test session clones that template. The
template is rebuilt only when the models or the migration files change (an
old template of the same database is dropped then). When the server refuses
templates (no right to read one, or it stays busy), the database is created
and built directly: slower, same result.

Everything here is synchronous psycopg: it runs from a pytest session fixture,
before any event loop exists.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
from psycopg import sql

from matrx_orm.core.config import (
    DatabaseProjectConfig,
    get_database_config,
    register_database,
    registered_databases,
    unregister_database,
)

__all__ = [
    "TestDatabase",
    "schema_from_models",
    "schema_fingerprint",
    "create_test_database",
]

#: Prefix of the template databases this module creates (and may drop when they are outdated).
TEMPLATE_PREFIX = "matrx_tpl_"
#: Key of the advisory lock (on the server's ``postgres`` database) serialising template builds.
_LOCK_KEY = 0x6D61_7472  # "matr"


def _slug(text: str, size: int) -> str:
    return (re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "db")[:size]


def _admin(config: DatabaseProjectConfig) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(replace(config, database_name="postgres").conninfo(), autocommit=True)


@dataclass
class TestDatabase:
    """A test database registered in place of ``name``; ``drop()`` restores the original registration."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    config: DatabaseProjectConfig
    original: DatabaseProjectConfig | None
    template: str | None = None
    source: str = "registered"
    statements: list[str] = field(default_factory=list, repr=False)

    @property
    def database_name(self) -> str:
        """Return the server-side name of the test database."""
        return self.config.database_name

    def describe(self) -> str:
        """Return one line saying where the database is and how it was made (password masked)."""
        how = f"cloned from template {self.template}" if self.template else "built directly"
        return f"{self.name} -> {self.config.masked_dsn()} ({self.source}, {how})"

    def drop(self) -> None:
        """Drop the database and put the original registration back."""
        try:
            with _admin(self.config) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database_name))
                )
        finally:
            if self.original is not None:
                register_database(self.original)
            else:
                unregister_database(self.name)


def schema_from_models(database: str) -> list[str]:
    """Return the DDL creating the tables of every model registered for ``database``."""
    from matrx_orm.core.ddl import model_ddl
    from matrx_orm.migrations.diff import select_models

    return model_ddl(select_models(database))


def schema_fingerprint(statements: Sequence[str], migrations_dir: str | Path | None = None) -> str:
    """Return a hash of what builds the schema: the DDL, or the migration files' names and contents."""
    digest = hashlib.sha256()
    for statement in statements:
        digest.update(statement.encode())
        digest.update(b"\0")
    if migrations_dir is not None:
        for path in sorted(Path(migrations_dir).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _exists(conn: psycopg.Connection[tuple[object, ...]], name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _drop(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _build(
    config: DatabaseProjectConfig,
    name: str,
    statements: Sequence[str],
    migrations_dir: str | Path | None,
) -> None:
    """Create the schema in the (empty) database ``config`` points at."""
    if statements:
        with psycopg.connect(config.conninfo(), autocommit=True) as conn:
            with conn.transaction():
                for statement in statements:
                    conn.execute(statement.encode())  # our own DDL: no parameters, any text
    if migrations_dir is not None:
        import matrx_orm_sync
        from matrx_orm_sync.migrations import migrate

        # The migration runner works on a registered database: register the target for the duration.
        previous = get_database_config(name) if name in registered_databases() else None
        register_database(config)
        try:
            migrate(name, str(migrations_dir), allow_destructive=True)
        finally:
            matrx_orm_sync.close_pool(name)
            if previous is not None:
                register_database(previous)
            else:
                unregister_database(name)


def _clone(conn: psycopg.Connection[tuple[object, ...]], target: str, template: str) -> None:
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(target), sql.Identifier(template))
    for attempt in range(20):
        try:
            conn.execute(statement)
            return
        except psycopg.errors.ObjectInUse:
            # Someone is connected to the template (another session cloning it right now): wait.
            if attempt == 19:
                raise
            time.sleep(0.25)


def _ensure_template(
    conn: psycopg.Connection[tuple[object, ...]],
    server: DatabaseProjectConfig,
    name: str,
    statements: Sequence[str],
    migrations_dir: str | Path | None,
) -> str:
    """Return the name of an up-to-date template for ``name``'s schema, building it when needed."""
    key = _slug(name, 24)
    template = f"{TEMPLATE_PREFIX}{key}_{schema_fingerprint(statements, migrations_dir)}"
    conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    try:
        if _exists(conn, template):
            return template
        building = f"{template}_b{os.getpid()}"
        _drop(conn, building)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
        try:
            _build(replace(server, name=name, database_name=building, replicas=[]), name, statements, migrations_dir)
            # Renaming is atomic: a template under its final name is always complete.
            conn.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(template))
            )
        except BaseException:
            _drop(conn, building)
            raise
        # Older templates of this database describe a schema that no longer exists.
        stale = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
            [f"{TEMPLATE_PREFIX}{key}\\_%", template],
        ).fetchall()
        for (old,) in stale:
            if not re.search(r"_b\d+$", str(old)):  # leave other sessions' builds alone
                try:
                    _drop(conn, str(old))
                except psycopg.Error:
                    pass  # in use by another session's clone: dropped by a later run
        return template
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def create_test_database(
    name: str,
    server: DatabaseProjectConfig,
    *,
    original: DatabaseProjectConfig | None = None,
    statements: Sequence[str] | Callable[[], Sequence[str]] = (),
    migrations_dir: str | Path | None = None,
    use_template: bool = True,
    database_name: str | None = None,
    source: str = "registered",
) -> TestDatabase:
    """Create a fresh test database on ``server``, build its schema and register it as ``name``.

    ``statements`` (DDL, or a callable returning it) and/or ``migrations_dir``
    build the schema. The registered config is ``server``'s (pool settings,
    alias, ...) pointed at the new database, without replicas.
    """
    ddl = list(statements() if callable(statements) else statements)
    target = database_name or f"test_{_slug(name, 30)}_{os.getpid()}"
    config = replace(server, name=name, database_name=target, replicas=[])
    template: str | None = None
    with _admin(server) as conn:
        _drop(conn, target)
        if use_template:
            try:
                template = _ensure_template(conn, server, name, ddl, migrations_dir)
                _clone(conn, target, template)
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
                template = None  # the server will not let us copy: build the database directly
        if template is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
    if template is None:
        try:
            _build(config, name, ddl, migrations_dir)
        except BaseException:
            with _admin(server) as conn:
                _drop(conn, target)
            raise
    register_database(config)
    return TestDatabase(name, config, original, template=template, source=source, statements=ddl)
