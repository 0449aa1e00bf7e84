"""Passwords never leave the configuration in clear text: reprs, URLs, errors, log lines."""

from __future__ import annotations

import logging

import psycopg
import pytest

from matrx_orm import ConnectionError, DatabaseProjectConfig, register_database, unregister_database
from matrx_orm.core.config import config_from_url
from matrx_orm.core.db_errors import map_db_error
from matrx_orm.core.pool_health import describe_connection_failure, exhausted_message, unreachable_message
from matrx_orm.core.query_log import enable_debug_logging, log_query

SECRET = "Sup3r-s3cret!pw"


def shown(*objects: object) -> str:
    return "\n".join(f"{o!r} {o!s} {o}" for o in objects)


def test_config_repr_and_str_mask_the_password():
    config = DatabaseProjectConfig(name="s", host="db.example", password=SECRET, replicas=[f"postgresql://u:{SECRET}2@r1/x"])
    text = shown(config, config.masked_dsn(), *config.replica_configs(), [config])
    assert SECRET not in text
    assert "password=***" in repr(config)
    assert config.masked_dsn() == "postgresql://postgres:***@db.example:5432/postgres"
    assert SECRET in config.conninfo()  # the one place it must be: what libpq receives


def test_urls_with_passwords_are_masked_everywhere():
    config = config_from_url("u", f"postgresql://app:{SECRET}@h:6543/appdb?sslmode=require&password={SECRET}")
    assert config.password == SECRET
    assert SECRET not in shown(config, config.options, config.masked_dsn())
    libpq = config_from_url("k", f"host=h port=5432 dbname=d user=app password={SECRET} connect_timeout=3")
    assert libpq.password == SECRET and SECRET not in shown(libpq, libpq.options)


def test_connection_errors_carry_the_masked_dsn_never_the_password():
    config = register_database(DatabaseProjectConfig(name="secret_db", host="h", port=5439, password=SECRET))
    try:
        # A driver message that (hypothetically) echoes the password is scrubbed too.
        error = psycopg.OperationalError(f"connection failed: password={SECRET} rejected")
        mapped = describe_connection_failure(map_db_error(error, operation="QuerySet.all()"), "secret_db")
        assert isinstance(mapped, ConnectionError)
        assert SECRET not in shown(mapped, mapped.details, mapped.args)
        assert mapped.details["dsn"] == config.masked_dsn() and mapped.details["database"] == "secret_db"
        for message in (exhausted_message(config, 2.0, 3), unreachable_message(config, 2.0, f"no: {SECRET}")):
            assert SECRET not in message and config.masked_dsn() in message and "max_pool_size=10" in message
    finally:
        unregister_database("secret_db")


def test_debug_statement_logging_never_shows_parameter_values(caplog):
    caplog.set_level(logging.DEBUG, logger="matrx_orm")
    enable_debug_logging()
    try:
        log_query('UPDATE "user" SET password = %s WHERE id = %s', [SECRET, 1], 0.0, 1, "db")
    finally:
        caplog.set_level(logging.WARNING, logger="matrx_orm")
        enable_debug_logging()
    assert caplog.records, "DEBUG logging recorded nothing"
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_pgbouncer_flag_disables_prepared_statements_and_refuses_session_settings():
    config = DatabaseProjectConfig(name="b", pgbouncer=True)
    assert config.prepare_threshold is None
    with pytest.raises(Exception) as info:
        DatabaseProjectConfig(name="b", pgbouncer=True, statement_timeout=100)
    assert "PgBouncer" in str(info.value) and "statement_timeout" in str(info.value)
