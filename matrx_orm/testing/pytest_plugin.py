"""pytest plugin for projects that use matrx-orm: a test database, rollback per test, query counts.

Installed with the package (``pytest11`` entry point), and inert until a test
asks for one of its fixtures: it adds no autouse fixture and no hook with a
side effect, and imports nothing heavy before a fixture runs. Without the
entry point (or with ``-p no:matrx_orm.testing.pytest_plugin``), enable it with
``-p matrx_orm.testing.pytest_plugin`` or ``pytest_plugins = ["matrx_orm.testing.pytest_plugin"]``.

Fixtures:

* ``matrx_orm_test_databases`` (session): for every database (``matrx_orm_databases``
  in the ini file, else every registered one, else ``default``), a fresh
  database on the same server -- or, when that server does not answer, the one
  ``matrx_orm.devdb.find_server`` finds (``DATABASE_URL``, localhost, the
  embedded server) -- with the schema built from the models (or the migrations)
  and cloned from a cached template; registered under the same name for the
  session, dropped at the end. ``matrx_orm_test_database`` is the only (first) one.
* ``matrx_orm_db`` (async tests, via anyio's pytest plugin) and ``matrx_orm_sync_db``
  (sync tests): every ORM call of the test runs in one transaction per database
  that is rolled back at the end.
* ``matrx_orm_assert_num_queries``: ``matrx_orm.testing.assert_num_queries``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from matrx_orm.core.config import DatabaseProjectConfig
    from matrx_orm.testing.database import TestDatabase
    from matrx_orm.testing.queries import QueryCounter
    from matrx_orm.testing.rollback import RollbackTransaction

__all__ = [
    "pytest_addoption",
    "matrx_orm_test_databases",
    "matrx_orm_test_database",
    "matrx_orm_db",
    "matrx_orm_sync_db",
    "matrx_orm_assert_num_queries",
]

_IniType = Literal["string", "linelist", "bool"]
_INI: list[tuple[str, str, _IniType, Any]] = [
    (
        "matrx_orm_config",
        "Module imported before the test database is made (registers databases, imports models).",
        "string",
        None,
    ),
    ("matrx_orm_models", "Model modules to import before the test database is made.", "linelist", []),
    (
        "matrx_orm_databases",
        "Registered database names to replace by test databases (default: every registered one).",
        "linelist",
        [],
    ),
    (
        "matrx_orm_schema",
        "How to build the test schema: models (DDL from the models), migrations, or none.",
        "string",
        "models",
    ),
    ("matrx_orm_migrations_dir", "Migrations directory when matrx_orm_schema = migrations.", "string", None),
    ("matrx_orm_template", "Clone test databases from a cached template database (true/false).", "bool", True),
    ("matrx_orm_server", "auto (the registered server, else find_server) or embedded.", "string", "auto"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the plugin's ini options (they do nothing until a fixture is used)."""
    for name, help_text, kind, default in _INI:
        parser.addini(name, help_text, type=kind, default=default)


def _settings() -> dict[str, Any]:
    from matrx_orm.cli import _pyproject_settings

    return _pyproject_settings()


def _import(name: str) -> None:
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    importlib.import_module(name)


def _answers(config: DatabaseProjectConfig) -> bool:
    import psycopg

    try:
        psycopg.connect(config.conninfo(), connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def _server_for(name: str, original: DatabaseProjectConfig | None, mode: str) -> tuple[DatabaseProjectConfig, str]:
    """Return the server config to create ``name``'s test database on, and where it came from."""
    from dataclasses import replace

    from matrx_orm.devdb import find_server, force_embedded, start_embedded

    if mode not in ("auto", "embedded"):
        raise pytest.UsageError(f"matrx_orm_server must be 'auto' or 'embedded', got {mode!r}")
    if mode == "embedded" or force_embedded():
        found, source = start_embedded().config(name), "embedded"
    elif original is not None and _answers(replace(original, database_name="postgres", connect_timeout=3)):
        return original, "registered"
    else:
        info = find_server(name)
        found, source = info.config, info.source
        if original is not None:
            source += f"; {original.masked_dsn()} did not answer"
    if original is None:
        return found, source
    # Keep the project's settings (pool sizes, alias, prepare_threshold...), on the other server.
    moved = replace(
        original,
        host=found.host,
        port=found.port,
        user=found.user,
        password=found.password,
        sslmode=found.sslmode,
        pgbouncer=False,
    )
    return moved, source


def _close_async_pools(name: str) -> None:
    """Close the async pools of ``name`` in event loops that are idle (before their database is dropped)."""
    from matrx_orm import _pool, close_pool

    loops = {key[1] for key in list(_pool._pools) if key[0] == name and key[1] is not None}
    for loop in loops:
        if not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(close_pool(name))


@pytest.fixture(scope="session")
def matrx_orm_test_databases(pytestconfig: pytest.Config) -> Iterator[dict[str, TestDatabase]]:
    """Create one test database per database the project uses; registered for the session, dropped after."""
    from matrx_orm.core.config import get_database_config, register_database, registered_databases
    from matrx_orm.testing.database import create_test_database, schema_from_models

    settings = _settings()
    config_module = pytestconfig.getini("matrx_orm_config") or settings.get("config")
    if config_module:
        _import(config_module)
    for module in pytestconfig.getini("matrx_orm_models") or settings.get("models") or []:
        _import(module)
    schema = pytestconfig.getini("matrx_orm_schema")
    if schema not in ("models", "migrations", "none"):
        raise pytest.UsageError(f"matrx_orm_schema must be models, migrations or none, got {schema!r}")
    migrations_dir = None
    if schema == "migrations":
        migrations_dir = (
            pytestconfig.getini("matrx_orm_migrations_dir") or settings.get("migrations_dir") or "migrations"
        )
        if not Path(migrations_dir).is_dir():
            raise pytest.UsageError(f"matrx_orm_schema = migrations, but {migrations_dir!r} is not a directory")
    names = list(pytestconfig.getini("matrx_orm_databases")) or registered_databases() or ["default"]
    made: dict[str, TestDatabase] = {}
    try:
        for name in names:
            original = get_database_config(name) if name in registered_databases() else None
            server, source = _server_for(name, original, pytestconfig.getini("matrx_orm_server"))
            if original is None:
                register_database(server)  # the models' DDL is chosen by the databases they resolve to
            made[name] = create_test_database(
                name,
                server,
                original=original,
                statements=partial(schema_from_models, name) if schema == "models" else (),
                migrations_dir=migrations_dir,
                use_template=bool(pytestconfig.getini("matrx_orm_template")),
                source=source,
            )
        yield made
    finally:
        import matrx_orm_sync

        for name, database in made.items():
            matrx_orm_sync.close_pool(name)
            _close_async_pools(name)
            database.drop()


@pytest.fixture(scope="session")
def matrx_orm_test_database(matrx_orm_test_databases: dict[str, TestDatabase]) -> TestDatabase:
    """Return the session's test database (the first one when the project uses several)."""
    return next(iter(matrx_orm_test_databases.values()))


@pytest.fixture
async def matrx_orm_db(matrx_orm_test_databases: dict[str, TestDatabase]) -> AsyncIterator[RollbackTransaction]:
    """Run the (async) test in one transaction per test database, rolled back at the end."""
    from matrx_orm.testing.rollback import rollback_transaction

    async with rollback_transaction(*matrx_orm_test_databases) as handle:
        yield handle


@pytest.fixture
def matrx_orm_sync_db(matrx_orm_test_databases: dict[str, TestDatabase]) -> Iterator[RollbackTransaction]:
    """Run the (sync) test in one transaction per test database, rolled back at the end."""
    from matrx_orm.testing.rollback import sync_rollback_transaction

    with sync_rollback_transaction(*matrx_orm_test_databases) as handle:
        yield handle


@pytest.fixture
def matrx_orm_assert_num_queries() -> Callable[[int], QueryCounter]:
    """Return ``assert_num_queries``: ``with matrx_orm_assert_num_queries(2): ...``."""
    from matrx_orm.testing.queries import assert_num_queries

    return assert_num_queries
