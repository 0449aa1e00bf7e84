"""The README's "Advanced querying" examples run as written (async here; the generated twin runs them without await).

After the blocks ran, the database is read back to check what they did.
"""

from __future__ import annotations

import pytest

from matrx_orm.core.compat_async import MODE
from matrx_orm.core.registry import get_meta
from tests.level2.readme_examples import README_TABLES_SQL, compile_block, section_blocks

pytestmark = pytest.mark.anyio


async def test_readme_advanced_querying_examples_run(db):
    db.execute(README_TABLES_SQL)
    namespace: dict = {"__name__": "readme_advanced_querying"}
    blocks = section_blocks("advanced-querying", MODE)
    assert len(blocks) >= 10
    try:
        for index, block in enumerate(blocks):
            result = eval(compile_block(block, index), namespace)  # noqa: S307 - our own README
            if result is not None:
                await result
        # What the examples left in the database.
        assert db.execute("SELECT name FROM author ORDER BY name").fetchall() == [
            ("ann",), ("bob",), ("carol",), ("dan",)]
        rows = db.execute("SELECT title, status, version FROM article ORDER BY id").fetchall()
        assert [r[0] for r in rows] == ["Intro to SQL", "Window functions", "Cheese guide", "padded"]
        assert rows[2][2] == 2  # the stale save did not write
        assert db.execute("SELECT views FROM article WHERE title = 'Cheese guide'").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM booking").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM event").fetchone() == (0,)
    finally:
        db.execute("DROP TABLE IF EXISTS article, author, booking, event CASCADE")
    assert get_meta("Article") is not None
