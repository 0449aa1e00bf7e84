"""The ``matrx-orm`` migration commands (SPEC's CLI examples), run with typer's CliRunner.

The CLI is built on the sync package; every test reads the result back from
the database catalog.
"""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from matrx_orm import AutoField, CharField, ForeignKey, Model, UUIDField
from matrx_orm.cli import app
from tests.migrations_support import mig_server, new_mig_database  # noqa: F401 (fixture)

runner = CliRunner()


@pytest.fixture
def mig(mig_server, tmp_path):  # noqa: F811
    from matrx_orm_sync import close_pool

    database = new_mig_database(mig_server, tmp_path, "cli")
    try:
        yield database
    finally:
        for name in [database.name, *database.aliases]:
            close_pool(name)
        database.cleanup()
        database.conn.close()


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_spec_cli_workflow(mig):
    name = mig.name

    class CliUserA(Model):
        id = UUIDField(primary_key=True)
        username = CharField(max_length=100, null=False)
        _table_name = "user"
        _database = name

    class CliPostA(Model):
        id = UUIDField(primary_key=True)
        title = CharField(max_length=200, null=False)
        author_id = ForeignKey("CliUserA", "id")
        _table_name = "post"
        _database = name

    d = str(mig.dir)
    result = run("makemigrations", "--database", name, "--dir", d)
    assert result.exit_code == 0, result.output
    assert "Created" in result.output and "0001_initial.py" in result.output

    result = run("sql", "--database", name, "--dir", d)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("-- 0001_initial (up)\nCREATE TABLE \"user\"")
    assert mig.tables() == []

    result = run("migrate", "--database", name, "--dir", d)
    assert result.exit_code == 0, result.output
    assert "Applying 0001_initial ... done" in result.output and "Applied 1 migration(s)." in result.output
    assert mig.tables() == ["_matrx_migrations", "post", "user"]

    result = run("makemigrations", "--database", name, "--dir", d, "--name", "add_posts_table")
    assert result.exit_code == 0 and "No changes detected." in result.output

    result = run("create_empty", "--database", name, "--dir", d, "--name", "custom_ddl")
    assert result.exit_code == 0, result.output
    path = mig.dir / "0002_custom_ddl.py"
    assert path.exists()
    path.write_text(textwrap.dedent('''
        """Custom DDL."""

        dependencies = ["0001_initial"]

        async def up(db):
            await db.execute("CREATE INDEX idx_post_title ON post (title)")

        async def down(db):
            await db.execute("DROP INDEX idx_post_title")
    '''))

    result = run("status", "--database", name, "--dir", d)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("[X] 0001_initial") and "applied" in line for line in lines)
    assert any(line.startswith("[ ] 0002_custom_ddl") and "pending" in line for line in lines)
    assert "1 applied, 1 pending." in result.output

    assert run("migrate", "--database", name, "--dir", d).exit_code == 0
    assert mig.query("SELECT indexname FROM pg_indexes WHERE indexname = 'idx_post_title'") == [("idx_post_title",)]

    result = run("rollback", "--database", name, "--dir", d, "--steps", "1")
    assert result.exit_code == 0, result.output
    assert "Rolling back 0002_custom_ddl ... done" in result.output
    assert mig.query("SELECT indexname FROM pg_indexes WHERE indexname = 'idx_post_title'") == []
    assert [r[0] for r in mig.applied()] == ["0001_initial"]


def test_include_tables_takes_space_separated_names(mig):
    name = mig.name

    class CliUserB(Model):
        id = UUIDField(primary_key=True)
        _table_name = "user"
        _database = name

    class CliPostB(Model):
        id = UUIDField(primary_key=True)
        _table_name = "post"
        _database = name

    class CliCommentB(Model):
        id = AutoField()
        _table_name = "comment"
        _database = name

    class CliOtherB(Model):
        id = AutoField()
        _table_name = "other"
        _database = name

    result = run(
        "makemigrations", "--database", name, "--dir", mig.dir, "--include-tables", "user", "post", "comment"
    )
    assert result.exit_code == 0, result.output
    text = (mig.dir / "0001_initial.py").read_text()
    assert 'CREATE TABLE "user"' in text and 'CREATE TABLE "post"' in text and 'CREATE TABLE "comment"' in text
    assert '"other"' not in text


def test_include_and_exclude_together_is_a_cli_error(mig):
    result = run(
        "makemigrations", "--database", mig.name, "--dir", mig.dir,
        "--include-tables", "user", "--exclude-tables", "legacy_audit",
    )
    assert result.exit_code == 1
    assert "mutually exclusive" in result.output
    assert "Traceback" not in result.output
    assert not mig.dir.exists()


def test_exclude_tables(mig):
    name = mig.name

    class CliKeepC(Model):
        id = AutoField()
        _table_name = "keep"
        _database = name

    mig.query("CREATE TABLE legacy_audit (id INTEGER)")
    mig.query("CREATE TABLE scratch_pad (id INTEGER)")
    result = run(
        "makemigrations", "--database", name, "--dir", mig.dir, "--exclude-tables", "legacy_audit", "scratch_pad"
    )
    assert result.exit_code == 0, result.output
    text = (mig.dir / "0001_initial.py").read_text()
    assert 'CREATE TABLE "keep"' in text and "legacy_audit" not in text and "scratch_pad" not in text


def test_errors_are_one_line_and_exit_non_zero(mig):
    mig.dir.mkdir()
    (mig.dir / "0001_bad.py").write_text(
        'dependencies = []\n\nasync def up(db):\n    await db.execute("ALTER TABLE nowhere ADD COLUMN x INT")\n'
    )
    result = run("migrate", "--database", mig.name, "--dir", mig.dir)
    assert result.exit_code == 1
    assert "Error: could not apply migration 0001_bad" in result.output
    assert "Traceback" not in result.output
    assert mig.applied() == []

    result = run("status", "--database", "no_such_db", "--dir", mig.dir)
    assert result.exit_code == 1 and "Error: database 'no_such_db' is not registered" in result.output


def test_destructive_migration_needs_allow_destructive_flag(mig):
    name = mig.name

    class CliKeepE(Model):
        id = AutoField()
        _table_name = "keep"
        _database = name

    mig.query("CREATE TABLE old_table (id INTEGER)")
    result = run("makemigrations", "--database", mig.name, "--dir", mig.dir)
    assert result.exit_code == 0, result.output
    assert "DESTRUCTIVE: drop table old_table" in result.output
    result = run("migrate", "--database", mig.name, "--dir", mig.dir)
    assert result.exit_code == 1 and "--allow-destructive" in result.output
    assert "old_table" in mig.tables()
    result = run("migrate", "--database", mig.name, "--dir", mig.dir, "--allow-destructive")
    assert result.exit_code == 0, result.output
    assert mig.tables() == ["_matrx_migrations", "keep"]


def test_makemigrations_without_models_is_an_error_not_a_drop_everything_migration(mig):
    mig.query("CREATE TABLE precious (id INTEGER)")
    result = run("makemigrations", "--database", mig.name, "--dir", mig.dir)
    assert result.exit_code == 1
    assert f"Error: no models found for database '{mig.name}'" in result.output
    assert not mig.dir.exists()


def test_dsn_registers_the_database_and_never_prints_the_password(mig):
    config = mig.config
    url = f"postgresql://{config.user}:s3cret-pw@{config.host}:{config.port}/{config.database_name}"
    target = f"{mig.name}_dsn"
    mig.aliases.append(target)
    mig.dir.mkdir()
    (mig.dir / "0001_t.py").write_text(
        'dependencies = []\n\nasync def up(db):\n    await db.execute("CREATE TABLE from_dsn (id INT)")\n'
    )
    result = run("migrate", "--database", target, "--dsn", url, "--dir", mig.dir)
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output and "***" in result.output
    assert "from_dsn" in mig.tables()


def test_config_module_from_pyproject(mig, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    module = f"cli_project_settings_{mig.name}"
    (project / f"{module}.py").write_text(textwrap.dedent(f'''
        from matrx_orm import AutoField, CharField, Model, register_database_url

        register_database_url("{mig.name}_cfg", {mig.config.conninfo()!r})

        class CliConfiguredD(Model):
            id = AutoField()
            label = CharField(max_length=20)
            _table_name = "configured"
            _database = "{mig.name}_cfg"
    '''))
    (project / "pyproject.toml").write_text(textwrap.dedent(f'''
        [tool.matrx-orm]
        config = "{module}"
        database = "{mig.name}_cfg"
        migrations_dir = "db_migrations"
    '''))
    mig.aliases.append(f"{mig.name}_cfg")
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    result = run("makemigrations")
    assert result.exit_code == 0, result.output
    assert (project / "db_migrations" / "0001_initial.py").exists()
    result = run("migrate")
    assert result.exit_code == 0, result.output
    assert mig.columns("configured") == {
        "id": ("integer", "NO", None),
        "label": ("character varying(20)", "YES", None),
    }
