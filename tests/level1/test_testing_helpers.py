"""``matrx_orm.testing.assert_num_queries`` without a database: statements are fed to the query log directly."""

from __future__ import annotations

import asyncio
import time

import pytest

from matrx_orm.core.query_log import log_query, query_hooks
from matrx_orm.testing import assert_num_queries


def _statement(text: str) -> None:
    log_query(text, [1], time.perf_counter(), 1, "db")


def test_passes_on_the_exact_count_and_keeps_the_sql():
    with assert_num_queries(2) as counted:
        _statement("SELECT 1")
        _statement("SELECT 2")
    assert counted.queries == ["SELECT 1", "SELECT 2"] and len(counted) == 2


def test_fails_with_every_statement_numbered():
    with pytest.raises(AssertionError) as info:
        with assert_num_queries(1):
            _statement("SELECT a")
            _statement("SELECT b")
    assert str(info.value) == "expected 1 query, 2 ran\n  1. SELECT a\n  2. SELECT b"
    with pytest.raises(AssertionError, match="expected 3 queries, 0 ran"):
        with assert_num_queries(3):
            pass


def test_async_with_and_unhooking():
    before = len(query_hooks.callbacks)

    async def body() -> None:
        async with assert_num_queries(1):
            _statement("SELECT 1")
        with pytest.raises(AssertionError):
            async with assert_num_queries(0):
                _statement("SELECT 1")

    asyncio.run(body())
    assert len(query_hooks.callbacks) == before


def test_an_error_in_the_block_wins_over_the_count():
    with pytest.raises(KeyError):
        with assert_num_queries(5):
            raise KeyError("x")


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_rejects_a_count_that_is_not_a_non_negative_integer(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        assert_num_queries(bad)
