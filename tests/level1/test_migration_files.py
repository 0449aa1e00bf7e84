"""Migration files (render, load, order, checksums), run planning, and the sync coroutine driver."""

from __future__ import annotations

import asyncio
import hashlib
import textwrap
from pathlib import Path

import pytest

from matrx_orm import MigrationError
from matrx_orm.core import compat_sync
from matrx_orm.core.migration_files import (
    checksum_text,
    leaf_names,
    load_migration_file,
    load_migrations,
    next_migration_name,
    render_empty_migration,
    render_migration,
)
from matrx_orm.core.migration_plan import (
    ADVISORY_LOCK_KEY,
    MIGRATIONS_TABLE_SQL,
    AppliedMigration,
    build_status,
    pending_migrations,
    refuse_destructive,
    rollback_targets,
    verify_checksums,
)
from matrx_orm.core.schema_diff import Operation


class Recorder:
    """A sync ``db`` stand-in: records statements, answers reads."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, sql, *args):
        self.statements.append(sql)
        return 1

    def fetch_val(self, sql, *args):
        self.statements.append(sql)
        return 7


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


OPS = [
    Operation("create_table", "post", "create table post", ['CREATE TABLE "post" (\n    "id" INTEGER\n)'],
              ['DROP TABLE IF EXISTS "post"'], 4),
    Operation("drop_column", "user.bio", "drop column user.bio", ['ALTER TABLE "user" DROP COLUMN IF EXISTS "bio"'],
              ['ALTER TABLE "user" ADD COLUMN "bio" TEXT'], 7, destructive=True,
              note="DESTRUCTIVE: drops column user.bio and its data"),
    Operation("create_extension", "hstore", "create extension hstore", ['CREATE EXTENSION IF NOT EXISTS "hstore"'], [], 0,
              down_note="extension left installed"),
    Operation("alter_column", "t.c", "alter column t.c", ["ALTER TABLE t ALTER COLUMN c SET DEFAULT '\\d+'"],
              ["ALTER TABLE t ALTER COLUMN c DROP DEFAULT"], 6),
]


def test_rendered_file_has_specs_format_and_runs(tmp_path):
    text = render_migration("Create posts table.", ["0001_initial"], OPS)
    assert text.startswith('"""Create posts table.\n')
    assert '\ndependencies = ["0001_initial"]\n' in text
    assert "\n\nasync def up(db):\n" in text and "\n\nasync def down(db):\n" in text
    assert "    # DESTRUCTIVE: drop column user.bio\n" in text
    compile(text, "m.py", "exec")
    path = write(tmp_path, "0002_create_post", text)
    migration = load_migration_file(path)
    assert migration.name == "0002_create_post"
    assert migration.dependencies == ["0001_initial"]
    assert migration.description == "Create posts table."
    assert migration.destructive == ["drop column user.bio"]
    assert migration.checksum == hashlib.sha256(path.read_bytes()).hexdigest()

    db = Recorder()
    compat_sync.run_coroutine(migration.up(compat_sync.awaitable_facade(db)))
    assert [textwrap.dedent(s).strip() for s in db.statements] == [
        'CREATE TABLE "post" (\n    "id" INTEGER\n)',
        'ALTER TABLE "user" DROP COLUMN IF EXISTS "bio"',
        'CREATE EXTENSION IF NOT EXISTS "hstore"',
        "ALTER TABLE t ALTER COLUMN c SET DEFAULT '\\d+'",
    ]
    db.statements.clear()
    compat_sync.run_coroutine(migration.down(compat_sync.awaitable_facade(db)))
    assert [s.strip() for s in db.statements] == [
        "ALTER TABLE t ALTER COLUMN c DROP DEFAULT",
        'ALTER TABLE "user" ADD COLUMN "bio" TEXT',
        'DROP TABLE IF EXISTS "post"',
    ]


def test_empty_migration_renders_and_loads(tmp_path):
    path = write(tmp_path, "0003_custom_ddl", render_empty_migration("Custom ddl.", ["0002_x"]))
    migration = load_migration_file(path)
    assert migration.dependencies == ["0002_x"] and not migration.destructive
    db = Recorder()
    assert compat_sync.run_coroutine(migration.up(compat_sync.awaitable_facade(db))) is None
    assert db.statements == []


def test_checksum_ignores_line_endings_only():
    assert checksum_text("a\nb\n") == checksum_text("a\r\nb\r\n") == hashlib.sha256(b"a\nb\n").hexdigest()
    assert checksum_text("a\nb\n") != checksum_text("a\nb \n")
    assert len(checksum_text("")) == 64


def test_dependency_order_is_deterministic(tmp_path):
    write(tmp_path, "0001_a", 'dependencies = []\ndef up(db): pass\n')
    write(tmp_path, "0002_c", 'dependencies = ["0003_b"]\ndef up(db): pass\n')
    write(tmp_path, "0003_b", 'dependencies = ["0001_a"]\ndef up(db): pass\n')
    write(tmp_path, "0004_d", 'dependencies = ["0001_a"]\ndef up(db): pass\n')
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "notes.txt").write_text("ignored")
    names = [m.name for m in load_migrations(tmp_path)]
    assert names == ["0001_a", "0003_b", "0002_c", "0004_d"]
    assert leaf_names(load_migrations(tmp_path)) == ["0002_c", "0004_d"]
    assert next_migration_name(tmp_path, "Add Posts table!") == "0005_add_posts_table"


def test_missing_dependency_and_cycle_are_clear_errors(tmp_path):
    write(tmp_path / "missing", "0001_a", 'dependencies = ["0000_gone"]\ndef up(db): pass\n')
    with pytest.raises(MigrationError, match="0001_a depends on '0000_gone'"):
        load_migrations(tmp_path / "missing")
    write(tmp_path / "cycle", "0001_a", 'dependencies = ["0002_b"]\ndef up(db): pass\n')
    write(tmp_path / "cycle", "0002_b", 'dependencies = ["0001_a"]\ndef up(db): pass\n')
    with pytest.raises(MigrationError, match="cycle: 0001_a -> 0002_b -> 0001_a"):
        load_migrations(tmp_path / "cycle")


def test_broken_files_are_named(tmp_path):
    write(tmp_path / "syntax", "0001_x", "def up(db)\n")
    with pytest.raises(MigrationError, match="0001_x.py failed to import: SyntaxError"):
        load_migrations(tmp_path / "syntax")
    write(tmp_path / "noup", "0001_y", "dependencies = []\n")
    with pytest.raises(MigrationError, match="0001_y.py has no up"):
        load_migrations(tmp_path / "noup")
    write(tmp_path / "deps", "0001_z", 'dependencies = "0000_a"\ndef up(db): pass\n')
    with pytest.raises(MigrationError, match="dependencies must be a list"):
        load_migrations(tmp_path / "deps")
    write(tmp_path / "atomic", "0001_w", 'atomic = "no"\ndef up(db): pass\n')
    with pytest.raises(MigrationError, match="0001_w.py: atomic must be True or False, got 'no'"):
        load_migrations(tmp_path / "atomic")
    assert load_migrations(tmp_path / "does_not_exist") == []


def test_atomic_defaults_to_true_and_can_be_turned_off(tmp_path):
    write(tmp_path / "m", "0001_a", "def up(db): pass\n")
    write(tmp_path / "m", "0002_b", 'dependencies = ["0001_a"]\natomic = False\ndef up(db): pass\n')
    assert [(m.name, m.atomic) for m in load_migrations(tmp_path / "m")] == [("0001_a", True), ("0002_b", False)]


def test_plan_checksums_destructive_pending_rollback_and_status(tmp_path):
    write(tmp_path, "0001_a", 'dependencies = []\nasync def up(db): pass\nasync def down(db): pass\n')
    write(tmp_path, "0002_b", 'dependencies = ["0001_a"]\n# DESTRUCTIVE: drop table x\nasync def up(db): pass\n')
    files = load_migrations(tmp_path)
    a, b = files
    applied = [AppliedMigration(1, "0001_a", None, a.checksum)]
    verify_checksums(files, applied)
    assert pending_migrations(files, applied) == [b]
    with pytest.raises(MigrationError, match="DESTRUCTIVE") as info:
        refuse_destructive([b], allow_destructive=False)
    assert "0002_b: drop table x" in info.value.message
    refuse_destructive([b], allow_destructive=True)
    assert rollback_targets(files, applied, 1) == [a]
    edited = [AppliedMigration(1, "0001_a", None, "0" * 64)]
    with pytest.raises(MigrationError, match="modified after being applied: 0001_a") as info:
        verify_checksums(files, edited)
    assert str(a.path) in info.value.message
    gone = [AppliedMigration(1, "0000_gone", None, "0" * 64)]
    assert [(s.name, s.state) for s in build_status(files, gone)] == [
        ("0000_gone", "missing"), ("0001_a", "pending"), ("0002_b", "pending"),
    ]
    with pytest.raises(MigrationError, match="no file of that name"):
        rollback_targets(files, gone, 1)
    with pytest.raises(MigrationError, match="has no down"):
        rollback_targets(files, [AppliedMigration(2, "0002_b", None, b.checksum)], 1)


def test_migrations_table_sql_is_specs():
    assert MIGRATIONS_TABLE_SQL == (
        "CREATE TABLE IF NOT EXISTS _matrx_migrations (\n"
        "    id         SERIAL PRIMARY KEY,\n"
        "    name       VARCHAR(255) NOT NULL UNIQUE,\n"
        "    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
        "    checksum   VARCHAR(64)  NOT NULL\n"
        ")"
    )
    assert -(2**63) <= ADVISORY_LOCK_KEY < 2**63


def test_sync_driver_runs_coroutines_that_only_await_the_facade():
    async def body(db):
        first = await db.fetch_val("SELECT 1")
        await db.execute("SELECT %s", first)
        return first + 1

    db = Recorder()
    assert compat_sync.run_coroutine(body(compat_sync.awaitable_facade(db))) == 8
    assert db.statements == ["SELECT 1", "SELECT %s"]


def test_sync_driver_refuses_a_coroutine_that_suspends():
    async def body(db):
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="suspended"):
        compat_sync.run_coroutine(body(None))
