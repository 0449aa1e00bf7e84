"""``matrx-orm inspect``: generate models from a live database on the command line (sync-only CLI)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from matrx_orm.cli import app
from matrx_orm_sync import close_pool
from matrx_orm_sync.migrations import SchemaDiff
from tests.codegen_support import (  # noqa: F401 (fixture)
    VARIED_SCHEMA_SQL,
    cg_server,
    import_generated,
    new_cg_database,
)

runner = CliRunner()


@pytest.fixture
def cg(cg_server, tmp_path):  # noqa: F811
    database = new_cg_database(cg_server, tmp_path, "cli")
    database.conn.execute(VARIED_SCHEMA_SQL)
    try:
        yield database
    finally:
        close_pool(database.name)
        database.cleanup()
        database.conn.close()


def _invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"}, terminal_width=200)


def test_inspect_writes_the_models_package(cg):
    out, package = cg.package("cli")
    result = _invoke("inspect", "--database", cg.name, "--out", str(out), "--schema", "public", "--schema", "cg_other")
    assert result.exit_code == 0, result.output
    assert "Generated 8 model(s) and 1 reference-only stub(s) from schema(s) cg_other, public" in result.output
    assert str(out / "models.py") in result.output
    models = import_generated(out, package, "models_sync")
    assert models.CgEvent._meta.db_schema == "cg_other"
    assert SchemaDiff(cg.name).operations() == []
    author = import_generated(out, package, "managers").CgAuthorManagerSync().create_item(username="cli")
    assert cg.query("SELECT username FROM cg_author WHERE id = %s", [author.id]) == [("cli",)]


def test_inspect_scopes_tables_and_prints_instead_of_writing(cg):
    out, _package = cg.package("printed")
    result = _invoke("inspect", "--database", cg.name, "--include-tables", "cg_author", "cg_post", "--print", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "class CgAuthor(Model):" in result.output and "class CgPost(Model):" in result.output
    assert "class CgTag(" not in result.output and "_unfetchable = True" in result.output
    assert not out.exists()
    alias = _invoke("generate-models", "--database", cg.name, "--exclude-tables", "cg_everything", "--print")
    assert alias.exit_code == 0 and "class CgEverything(" not in alias.output and "class CgTag(Model):" in alias.output


def test_inspect_rejects_include_with_exclude_and_unknown_databases(cg):
    both = _invoke("inspect", "--database", cg.name, "--include-tables", "a", "--exclude-tables", "b")
    assert both.exit_code == 1 and "mutually exclusive" in both.output
    unknown = _invoke("inspect", "--database", "no_such_project")
    assert unknown.exit_code == 1 and "Error:" in unknown.output
