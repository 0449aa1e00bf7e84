"""Database configuration without a database: registration, aliases, URL/DSN parsing, masking."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from matrx_orm import ConfigurationError, DatabaseProjectConfig, register_database
from matrx_orm.core import config as config_module
from matrx_orm.core.config import (
    config_from_url,
    get_database_config,
    register_database_url,
    registered_databases,
    resolve_database_name,
    unregister_database,
)


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Give each test an empty registry; the session's registrations come back afterwards."""
    monkeypatch.setattr(config_module, "_configs", {})
    monkeypatch.setattr(config_module, "_aliases", {})
    monkeypatch.delenv("DATABASE_URL", raising=False)
    yield


def spec_config() -> DatabaseProjectConfig:
    return DatabaseProjectConfig(
        name="my_project",  # internal identifier used in models
        host="localhost",
        port="5432",
        database_name="my_db",
        user="postgres",
        password="secret",
        alias="main",  # short alias for connection pooling
    )


def test_spec_registration_as_written() -> None:
    register_database(spec_config())
    assert registered_databases() == ["my_project"]
    config = get_database_config("my_project")
    assert (config.host, config.port, config.database_name, config.user, config.password) == (
        "localhost", "5432", "my_db", "postgres", "secret",
    )
    assert get_database_config("main") is config
    assert resolve_database_name("main") == "my_project"
    assert resolve_database_name(None) == "my_project"  # the only one


def test_supabase_registration_as_written() -> None:
    register_database(DatabaseProjectConfig(
        name="my_project",
        host="db.xxxxxxxxxxxx.supabase.co",
        port="5432",
        database_name="postgres",
        user="postgres",
        password="your-db-password",
        alias="main",
    ))
    assert get_database_config("main").host == "db.xxxxxxxxxxxx.supabase.co"


def test_reregistering_replaces() -> None:
    register_database(spec_config())
    register_database(DatabaseProjectConfig(name="my_project", host="other"))
    assert get_database_config("my_project").host == "other"


def test_unknown_and_ambiguous_names() -> None:
    with pytest.raises(ConfigurationError, match="no database is registered"):
        resolve_database_name(None)
    register_database(spec_config())
    register_database(DatabaseProjectConfig(name="analytics"))
    with pytest.raises(ConfigurationError, match="several databases"):
        resolve_database_name(None)
    with pytest.raises(ConfigurationError, match="'nope' is not registered"):
        get_database_config("nope")
    unregister_database("my_project")
    assert registered_databases() == ["analytics"]
    with pytest.raises(ConfigurationError):
        get_database_config("main")  # the alias went with it


def test_register_requires_a_config() -> None:
    with pytest.raises(ConfigurationError):
        register_database({"name": "x"})  # type: ignore[arg-type]


@pytest.mark.parametrize("sizes", [(-1, 5), (5, 2), (0, 0)])
def test_pool_sizes_are_validated(sizes: tuple[int, int]) -> None:
    with pytest.raises(ConfigurationError):
        DatabaseProjectConfig(name="x", min_pool_size=sizes[0], max_pool_size=sizes[1])


def test_name_is_required() -> None:
    with pytest.raises(ConfigurationError):
        DatabaseProjectConfig(name="")


# -- secrets ----------------------------------------------------------------------------------------
def test_password_is_masked_in_repr_str_and_dsn() -> None:
    config = spec_config()
    for text in (repr(config), str(config), config.masked_dsn(), f"{config}"):
        assert "secret" not in text
    assert "password=***" in repr(config)
    assert config.masked_dsn() == "postgresql://postgres:***@localhost:5432/my_db"
    assert "password=secret" in config.conninfo()  # only the connection string has it


def test_masked_dsn_without_password() -> None:
    assert DatabaseProjectConfig(name="x", user="u").masked_dsn() == "postgresql://u@localhost:5432/postgres"


def test_conninfo() -> None:
    config = DatabaseProjectConfig(name="x", host="h", port=6543, database_name="d", user="u", statement_timeout=500)
    info = config.conninfo()
    for part in ("host=h", "port=6543", "dbname=d", "user=u", "application_name=matrx-orm", "statement_timeout=500"):
        assert part in info
    assert "password" not in info


# -- URLs and DSNs ----------------------------------------------------------------------------------------
def test_url_parsing() -> None:
    config = config_from_url("app", "postgresql://bob:p%40ss@db.example.com:6543/app_db?sslmode=require")
    assert (config.name, config.host, config.port, config.database_name, config.user, config.password) == (
        "app", "db.example.com", "6543", "app_db", "bob", "p@ss",
    )
    assert config.sslmode == "require"
    assert "p@ss" not in repr(config) and "p@ss" not in config.masked_dsn()


def test_url_defaults_and_scheme() -> None:
    config = config_from_url("app", "postgres://db.example.com")
    assert (config.port, config.database_name, config.user, config.password) == ("5432", "postgres", "postgres", "")
    with pytest.raises(ConfigurationError):
        config_from_url("app", "mysql://db.example.com/x")


def test_url_extra_query_parameters_become_options() -> None:
    config = config_from_url("app", "postgresql://u@h/d?application_name=svc&connect_timeout=3")
    assert config.options == {"application_name": "svc", "connect_timeout": "3"}
    assert "application_name=svc" in config.conninfo()


def test_dsn_parsing() -> None:
    config = config_from_url("app", "host=h port=5433 dbname=d user=u password=pw")
    assert (config.host, config.port, config.database_name, config.user, config.password) == ("h", "5433", "d", "u", "pw")
    assert "pw" not in repr(config)
    with pytest.raises(ConfigurationError):
        config_from_url("app", "this is = not valid = dsn")


def test_overrides() -> None:
    config = config_from_url("app", "postgresql://u@h/d", alias="main", max_pool_size=3, prepare_threshold=None)
    assert (config.alias, config.max_pool_size, config.prepare_threshold) == ("main", 3, None)


def test_register_database_url_and_alias() -> None:
    register_database_url("app", "postgresql://u:pw@h:5432/d", alias="primary")
    assert get_database_config("primary").database_name == "d"


def test_database_url_environment_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://envuser:pw@envhost:5555/envdb")
    assert resolve_database_name(None) == "default"
    config = get_database_config()
    assert (config.host, config.port, config.database_name, config.user) == ("envhost", "5555", "envdb", "envuser")
