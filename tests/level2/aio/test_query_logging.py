"""Seeing what the ORM sends: DEBUG statement logs, the slow-query WARNING, ``sql()`` and ``explain()``.

Async here; the generated sync twin runs the same bodies.
"""

from __future__ import annotations

import json
import logging
import re

import pytest

from matrx_orm import ParameterError, set_query_log_params, set_slow_query_threshold
from matrx_orm.core.query_log import capture_queries, query_hooks
from tests.models_async import Post, User

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-value"


@pytest.fixture
def orm_records(caplog):
    """Capture the ``matrx_orm`` logger's records; its level is set by each test, restored after."""
    orm_logger = logging.getLogger("matrx_orm")
    level = orm_logger.level
    yield caplog
    orm_logger.setLevel(level)
    set_query_log_params(False)
    set_slow_query_threshold(None)


def _statements(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "matrx_orm" and hasattr(r, "sql")]


async def test_debug_level_set_at_any_time_logs_each_statement_with_masked_params(db, orm_records):
    logging.getLogger("matrx_orm").setLevel(logging.WARNING)
    assert query_hooks.active is False
    await User.filter(username=SECRET).all()
    assert _statements(orm_records) == []
    # No refresh call: changing the level is enough.
    logging.getLogger("matrx_orm").setLevel(logging.DEBUG)
    assert query_hooks.active is True
    await User.create(username="alice", email="a@example.com")
    rows = await User.filter(username=SECRET).all()
    assert rows == []
    records = _statements(orm_records)
    assert [r.levelno for r in records] == [logging.DEBUG, logging.DEBUG]
    insert, select = records
    assert insert.sql.startswith('INSERT INTO "user"') and insert.rows == 1
    assert select.sql.startswith('SELECT "id", "username"') and select.rows == 0 and select.database == "test_db"
    assert select.duration_ms > 0
    message = select.getMessage()
    assert message.startswith("test_db: ") and " ms, 0 rows: SELECT " in message and message.endswith("params=[?]")
    assert all(SECRET not in r.getMessage() for r in orm_records.records)
    logging.getLogger("matrx_orm").setLevel(logging.INFO)
    assert query_hooks.active is False
    await User.count()
    assert len(_statements(orm_records)) == 2


async def test_params_are_shown_only_when_asked(db, orm_records):
    logging.getLogger("matrx_orm").setLevel(logging.DEBUG)
    set_query_log_params(True)
    await User.filter(username=SECRET, age__gt=3).all()
    (record,) = _statements(orm_records)
    assert record.getMessage().endswith(f"params=['{SECRET}', 3]")


async def test_slow_queries_are_warnings_even_when_debug_is_off(db, orm_records):
    logging.getLogger("matrx_orm").setLevel(logging.WARNING)
    set_slow_query_threshold(0)  # every statement is "slow"
    await User.create(username="bob", email="b@example.com")
    assert await Post.filter(title="x").count() == 0
    records = _statements(orm_records)
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    assert records[1].getMessage().startswith("slow query on test_db: ")
    set_slow_query_threshold(60_000)
    await Post.filter(title="x").count()
    assert len(_statements(orm_records)) == 2


async def test_sql_shows_the_statement_without_running_it(db):
    with capture_queries() as seen:
        text, params = Post.filter(views__gt=3, title__startswith="a").order_by("-views").sql()
    assert seen == []
    assert text == (
        'SELECT "id", "title", "body", "author_id", "is_published", "views" FROM "post" '
        'WHERE "views" > %s AND "title" LIKE %s ORDER BY "views" DESC'
    )
    assert params == [3, "a%"]


async def test_explain_returns_the_plan_and_analyze_runs_it(db):
    user = await User.create(username="carol", email="c@example.com")
    await Post.bulk_create([Post(title=f"p{n}", author_id=user.id, views=n) for n in range(5)])
    qs = Post.filter(views__gt=2)
    with capture_queries() as seen:
        plan = await qs.explain()
    assert seen == ['EXPLAIN (FORMAT TEXT) SELECT "id", "title", "body", "author_id", "is_published", "views" '
                    'FROM "post" WHERE "views" > %s']
    assert "Seq Scan on post" in plan and "actual time" not in plan
    analyzed = await qs.explain(analyze=True, buffers=True)
    assert "actual time" in analyzed and "Execution Time" in analyzed and re.search(r"rows=2(\.00)? ", analyzed)
    as_json = json.loads(await qs.explain(format="json", verbose=True))
    assert as_json[0]["Plan"]["Node Type"] == "Seq Scan" and "Output" in as_json[0]["Plan"]
    with capture_queries() as seen, pytest.raises(ParameterError, match="format must be one of"):
        await qs.explain(format="html; DROP TABLE post")
    assert seen == []
    assert db.execute("SELECT count(*) FROM post").fetchone() == (5,)
