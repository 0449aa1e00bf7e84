"""Secrets against a real password-protected server: errors and logs show the masked DSN, never the password."""

from __future__ import annotations

import logging
import time
import traceback

import pytest

from matrx_orm import ConnectionError, close_pool, register_database
from matrx_orm.core.query_log import enable_debug_logging
from tests.level2.private_server import prepare_database, private_server  # noqa: F401  (fixture)
from tests.models_reliability_async import FAULTS_SQL, FaultItem

pytestmark = pytest.mark.anyio

WRONG = "Wr0ng-P@ssw0rd-x9"


def everything_said(error: BaseException) -> str:
    """Return every text an error can show: str, repr, details, the whole chained traceback."""
    parts = [str(error), repr(error), repr(getattr(error, "details", {}))]
    parts += traceback.format_exception(type(error), error, error.__traceback__)
    return "\n".join(parts)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    out = []
    for record in caplog.records:
        out.append(record.getMessage())
        if record.exc_info:
            out.extend(traceback.format_exception(*record.exc_info))
    return "\n".join(out)


@pytest.fixture
def debug_logs(caplog):
    """Capture every logger (psycopg's pool included) at DEBUG."""
    caplog.set_level(logging.DEBUG)
    enable_debug_logging()
    yield caplog
    caplog.set_level(logging.WARNING)
    enable_debug_logging()


async def test_wrong_password_error_shows_masked_dsn_and_reason_never_the_password(private_server, debug_logs):
    prepare_database(private_server, "faults", FAULTS_SQL)
    config = register_database(private_server.config("faults", "faults", password=WRONG, pool_timeout=1))
    started = time.monotonic()
    try:
        with pytest.raises(ConnectionError) as info:
            await FaultItem.count()
    finally:
        await close_pool("faults")
    assert time.monotonic() - started < 8
    said = everything_said(info.value)
    assert WRONG not in said and WRONG not in logged(debug_logs)
    assert config.masked_dsn() in said and "password authentication failed" in said
    assert info.value.details["dsn"] == config.masked_dsn() and info.value.details["database"] == "faults"


async def test_the_real_password_never_reaches_logs_or_errors(private_server, debug_logs):
    prepare_database(private_server, "faults", FAULTS_SQL)
    register_database(private_server.config("faults", "faults", pool_timeout=2))
    password = private_server.password
    try:
        # Store the password itself as data: parameters are never logged either.
        await FaultItem.create(name=password)
        assert [x.name for x in await FaultItem.filter(name=password).all()] == [password]
        with pytest.raises(Exception) as info:
            await FaultItem.create(name=None)  # NOT NULL: an error with the statement in its context
        assert password not in everything_said(info.value)
    finally:
        await close_pool("faults")
    with private_server.connect("faults") as conn:
        assert conn.execute("SELECT name FROM fault_item").fetchall() == [(password,)]
    assert debug_logs.records, "nothing was logged at DEBUG"
    assert password not in logged(debug_logs)
