"""The statement log follows ``logging`` by itself, masks parameters, and stays one attribute read when silent."""

from __future__ import annotations

import logging
import logging.config
import time

import pytest

from matrx_orm.core.query_log import log_query, query_hooks, set_query_log_params, set_slow_query_threshold

LOGGER = logging.getLogger("matrx_orm")


@pytest.fixture(autouse=True)
def restore_logging():
    level, root_level = LOGGER.level, logging.getLogger().level
    yield
    logging.disable(logging.NOTSET)
    LOGGER.setLevel(level)
    logging.getLogger().setLevel(root_level)
    set_query_log_params(False)
    set_slow_query_threshold(None)


def test_the_executor_flag_is_a_plain_attribute():
    # The executor reads query_hooks.active once per statement: no property, no call.
    assert "active" in vars(query_hooks) and not hasattr(type(query_hooks), "active")


def test_flag_follows_levels_set_anywhere():
    LOGGER.setLevel(logging.WARNING)
    assert query_hooks.active is False
    LOGGER.setLevel(logging.NOTSET)  # inherit from root
    logging.getLogger().setLevel(logging.DEBUG)
    assert query_hooks.active is True
    logging.disable(logging.CRITICAL)
    assert query_hooks.active is False
    logging.disable(logging.NOTSET)
    assert query_hooks.active is True
    logging.config.dictConfig(
        {"version": 1, "incremental": True, "loggers": {"matrx_orm": {"level": "ERROR"}}}
    )
    assert query_hooks.active is False


def test_failed_and_masked_statements(caplog):
    caplog.set_level(logging.DEBUG, logger="matrx_orm")
    assert query_hooks.active is True
    log_query('UPDATE "t" SET a = %s WHERE id = %s', ["secret", 7], time.perf_counter(), -1, "db")
    log_query(b"SELECT 1", None, time.perf_counter(), 1, None)
    first, second = (r.getMessage() for r in caplog.records)
    assert first.startswith("db: ") and ", failed: UPDATE" in first and first.endswith("params=[?, ?]")
    assert second.startswith("default: ") and ", 1 row: SELECT 1 params=[]" in second
    set_query_log_params(True)
    log_query("SELECT %s", ["shown"], time.perf_counter(), 2, "db")
    assert caplog.records[-1].getMessage().endswith("2 rows: SELECT %s params=['shown']")


def test_slow_threshold_uses_warning_and_ignores_failures(caplog):
    caplog.set_level(logging.WARNING, logger="matrx_orm")
    set_slow_query_threshold(5)
    assert query_hooks.active is True
    log_query("SELECT pg_sleep(1)", [], time.perf_counter() - 0.010, 1, "db")
    log_query("SELECT fast", [], time.perf_counter(), 1, "db")
    log_query("SELECT broken", [], time.perf_counter() - 0.010, -1, "db")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["slow query on db"]
    assert caplog.records[0].levelno == logging.WARNING and caplog.records[0].duration_ms >= 10
    set_slow_query_threshold(None)
    LOGGER.setLevel(logging.WARNING)
    assert query_hooks.active is False
