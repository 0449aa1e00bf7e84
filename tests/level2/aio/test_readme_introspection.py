"""The README's "Schema introspection" examples run as written (async here; the generated twin runs them without await).

The section's SQL creates the tables, its Python blocks run in order in one
namespace with the test's database name in place of ``my_project`` and the
test's directory as the working directory (``./database/main``); then the
database and the generated files are read back.
"""

from __future__ import annotations

import re
import sys

import pytest

from matrx_orm import close_pool
from matrx_orm.core.compat_async import MODE
from matrx_orm_sync import close_pool as close_sync_pool
from tests.codegen_support import cg_server, forget_generated, new_cg_database  # noqa: F401 (fixture)
from tests.level2.readme_examples import compile_block, section_blocks, section_text

pytestmark = pytest.mark.anyio


@pytest.fixture
async def cg(cg_server, tmp_path, monkeypatch):  # noqa: F811
    database = new_cg_database(cg_server, tmp_path, f"readme_{MODE}")
    monkeypatch.chdir(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        yield database
    finally:
        sys.path.remove(str(tmp_path))
        forget_generated("database")
        for name in [database.name, *database.aliases]:
            await close_pool(name)
            close_sync_pool(name)
        database.cleanup()
        database.conn.close()


async def test_readme_introspection_examples_run(cg, tmp_path):
    sql = re.search(r"```sql\n(.*?)```", section_text("introspection"), re.S)
    assert sql is not None
    cg.conn.execute(sql.group(1))
    namespace: dict = {"__name__": "readme_introspection"}
    blocks = section_blocks("introspection", MODE)
    assert len(blocks) == 6
    for index, block in enumerate(blocks):
        if MODE == "sync" and "from database.main.models import" in block:
            continue  # the async usage block: its sync twin is the next block
        block = block.replace('"my_project"', f'"{cg.name}"')
        result = eval(compile_block(block, index), namespace)  # noqa: S307 - our own README
        if result is not None:
            await result

    # What the examples left in the database and on disk.
    authors = ["bob"] if MODE == "sync" else ["ann", "bob"]
    assert [r[0] for r in cg.query("SELECT name FROM author ORDER BY name")] == authors
    titles = ["Hi"] if MODE == "sync" else ["Hello", "Hi"]
    assert [r[0] for r in cg.query("SELECT title FROM post ORDER BY title")] == titles
    links = cg.query(
        "SELECT p.title, t.name FROM post_tag pt JOIN post p ON p.id = pt.post_id JOIN tag t ON t.id = pt.tag_id "
        "ORDER BY p.title"
    )
    assert links == ([("Hi", "python")] if MODE == "sync" else [("Hello", "sql"), ("Hi", "python")])
    assert [t.name for t in namespace["tags"]] == ["python"]  # the last block's fetch_m2m
    if MODE == "async":
        assert namespace["writer"].name == "ann" and [p.title for p in namespace["written"]] == ["Hello"]
    source = (tmp_path / "database" / "main" / "models.py").read_text()
    for line in (
        'id = UUIDField(primary_key=True, db_default="gen_random_uuid()")',
        'author_id = ForeignKey("Author", "id", null=False, index=True, on_delete="CASCADE")',
        "title = CharField(max_length=200, null=False)",
        "views = IntegerField(null=False, default=0)",
        'rating = DecimalField(max_digits=5, decimal_places=2, default=Decimal("1.50"))',
        'created_at = DateTimeField(null=False, db_default="now()")',
        '"related_name": "posts",',
    ):
        assert line in source, line
    assert (tmp_path / "database" / "main" / "managers" / "post.py").exists()
    # SchemaManager without output_dir wrote to ./database/<alias or name>: only "post" was included
    scoped = (tmp_path / "database" / cg.name / "models.py").read_text()
    assert "class Post(Model):" in scoped and "class Tag(Model):" not in scoped and "_unfetchable = True" in scoped
