# WARNING: generated from tests/level2/aio/test_migrations.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Migrations against PostgreSQL: SPEC's "Migrations" examples, read back from the catalog.

Each test gets an empty database of its own (``tests.migrations_support``) and
declares its models with ``_database = <that test's name>``; class names are
unique per test because the model registry is keyed by class name.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from matrx_orm_sync import (
    AutoField,
    BooleanField,
    CharField,
    ConfigurationError,
    DateTimeField,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    MigrationError,
    Model,
    SchemaDiff,
    TableFilter,
    TextField,
    UUIDField,
    close_pool,
    create_empty,
    makemigrations,
    migrate,
    migrate_and_rebuild,
    migration_status,
    rollback,
)
from matrx_orm.core.compat_sync import MODE
from matrx_orm.core.migration_plan import ADVISORY_LOCK_KEY
from matrx_orm_sync.migrations import MigrationDB, migration_sql
from tests.migrations_support import mig_server, new_mig_database  # noqa: F401 (fixture)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def mig(mig_server, tmp_path):  # noqa: F811
    database = new_mig_database(mig_server, tmp_path, MODE)
    try:
        yield database
    finally:
        for name in [database.name, *database.aliases]:
            close_pool(name)
        database.cleanup()
        database.conn.close()


def write_migration(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


# ---------------------------------------------------------------- model-first round trip
def test_makemigrations_on_empty_database_writes_initial_file(mig):
    name = mig.name

    class MigAuthorA(Model):
        id = UUIDField(primary_key=True)
        username = CharField(max_length=100, unique=True, null=False)
        is_active = BooleanField(default=True)
        _table_name = "author"
        _database = name

    path = makemigrations(mig.name, mig.dir)
    assert path is not None and path.name == "0001_initial.py"
    text = path.read_text()
    assert "dependencies = []" in text
    assert "async def up(db):" in text and "async def down(db):" in text
    assert 'CREATE TABLE "author"' in text
    # makemigrations only writes the file: nothing exists in the database yet.
    assert mig.tables() == []


def test_migrate_applies_initial_migration_and_round_trips(mig):
    name = mig.name

    class MigAuthorB(Model):
        id = UUIDField(primary_key=True)
        username = CharField(max_length=100, unique=True, null=False)
        is_active = BooleanField(default=True)
        joined_at = DateTimeField(auto_now_add=True)
        _table_name = "author"
        _database = name

    class MigTagB(Model):
        id = AutoField()
        label = CharField(max_length=50, null=False, index=True)
        _table_name = "tag"
        _database = name

    class MigArticleB(Model):
        id = AutoField()
        title = CharField(max_length=200, null=False)
        body = TextField(null=True)
        author_id = ForeignKey("MigAuthorB", "id", on_delete="SET NULL")
        views = IntegerField(default=0, null=False)
        tags = ManyToManyField("MigTagB")
        _table_name = "article"
        _database = name
        _unique_together = [("author_id", "title")]

    path = makemigrations(mig.name, mig.dir)
    applied = migrate(mig.name, mig.dir)
    assert applied == ["0001_initial"]
    assert mig.tables() == ["_matrx_migrations", "article", "article_tag", "author", "tag"]
    assert mig.columns("article") == {
        "id": ("integer", "NO", None),
        "title": ("character varying(200)", "NO", None),
        "body": ("text", "YES", None),
        "author_id": ("uuid", "YES", None),
        "views": ("integer", "NO", "0"),
    }
    assert mig.columns("author")["is_active"] == ("boolean", "YES", "true")
    assert mig.columns("author")["joined_at"] == ("timestamp with time zone", "YES", "now()")
    assert mig.query("SELECT attidentity FROM pg_attribute WHERE attrelid = 'article'::regclass AND attname = 'id'") == [("d",)]
    fks = mig.query(
        "SELECT conrelid::regclass::text, confrelid::regclass::text, confdeltype FROM pg_constraint "
        "WHERE contype = 'f' ORDER BY 1, 2"
    )
    assert fks == [("article", "author", "n"), ("article_tag", "article", "c"), ("article_tag", "tag", "c")]
    uniques = mig.query(
        "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'u' AND connamespace = 'public'::regnamespace ORDER BY 1, 2"
    )
    assert uniques == [
        ("_matrx_migrations", "UNIQUE (name)"),
        ("article", "UNIQUE (author_id, title)"),
        ("author", "UNIQUE (username)"),
    ]
    assert mig.query("SELECT indexname FROM pg_indexes WHERE tablename = 'tag' AND indexname LIKE 'idx_%%'") == [
        ("idx_tag_label",)
    ]
    # The bookkeeping row holds the file's SHA-256.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert mig.applied() == [("0001_initial", digest)]
    # Round trip: the database now matches the models.
    assert makemigrations(mig.name, mig.dir) is None
    assert migrate(mig.name, mig.dir) == []


def test_migrations_table_is_exactly_as_spec(mig):
    write_migration(mig.dir, "0001_noop", '''
        """Nothing."""

        dependencies = []

        async def up(db):
            await db.execute("SELECT 1")

        async def down(db):
            pass
    ''')
    migrate(mig.name, mig.dir)
    assert mig.columns("_matrx_migrations") == {
        "id": ("integer", "NO", "nextval('_matrx_migrations_id_seq'::regclass)"),
        "name": ("character varying(255)", "NO", None),
        "applied_at": ("timestamp with time zone", "NO", "now()"),
        "checksum": ("character varying(64)", "NO", None),
    }
    assert mig.query(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '_matrx_migrations'::regclass "
        "AND contype IN ('p', 'u') ORDER BY 1"
    ) == [("PRIMARY KEY (id)",), ("UNIQUE (name)",)]


def test_model_changes_generate_add_alter_drop_and_destructive_needs_permission(mig):
    v1 = mig.name

    class MigItemV1(Model):
        id = AutoField()
        title = CharField(max_length=100, null=False)
        code = CharField(max_length=10, null=True)
        legacy = TextField(null=True)
        _table_name = "item"
        _database = v1

    makemigrations(v1, mig.dir)
    migrate(v1, mig.dir)
    mig.query("INSERT INTO item (title, code, legacy) VALUES ('first', '42', 'old data') RETURNING id")

    v2 = mig.alias("v2")

    class MigItemV2(Model):
        id = AutoField()
        title = TextField(null=False)  # VARCHAR(100) -> TEXT
        code = IntegerField(null=True)  # VARCHAR(10) -> INTEGER, converted with USING
        views = IntegerField(default=0, null=False)  # new column
        # legacy is gone: dropping it is destructive
        _table_name = "item"
        _database = v2

    path = makemigrations(v2, mig.dir)
    assert path is not None and path.name.startswith("0002_")
    text = path.read_text()
    assert 'dependencies = ["0001_initial"]' in text
    assert '# DESTRUCTIVE: drop column item.legacy' in text
    assert 'ALTER TABLE "item" ADD COLUMN "views" INTEGER NOT NULL DEFAULT 0' in text
    assert 'TYPE INTEGER USING "code"::INTEGER' in text
    assert 'ALTER TABLE "item" DROP COLUMN IF EXISTS "legacy"' in text

    with pytest.raises(MigrationError, match="DESTRUCTIVE") as info:
        migrate(v2, mig.dir)
    assert "0002_" in info.value.message and "allow-destructive" in info.value.message
    # Refused before anything ran.
    assert "legacy" in mig.columns("item")
    assert [r[0] for r in mig.applied()] == ["0001_initial"]

    assert migrate(v2, mig.dir, allow_destructive=True) == [path.stem]
    assert mig.columns("item") == {
        "id": ("integer", "NO", None),
        "title": ("text", "NO", None),
        "code": ("integer", "YES", None),
        "views": ("integer", "NO", "0"),
    }
    assert mig.query("SELECT title, code, views FROM item") == [("first", 42, 0)]
    assert makemigrations(v2, mig.dir) is None

    # Rolling the change back restores the old shape (the dropped column comes back empty).
    assert rollback(v2, mig.dir) == [path.stem]
    assert mig.columns("item")["code"][0] == "character varying(10)"
    assert mig.columns("item")["legacy"] == ("text", "YES", None)
    assert "views" not in mig.columns("item")
    assert mig.query("SELECT title, code, legacy FROM item") == [("first", "42", None)]


def test_a_column_becoming_generated_and_plain_again(mig):
    v1 = mig.name

    class MigLineV1(Model):
        id = AutoField()
        price = IntegerField(null=False)
        qty = IntegerField(null=False, default=1)
        total = IntegerField(null=True)  # filled by the application
        _table_name = "line"
        _database = v1

    makemigrations(v1, mig.dir)
    migrate(v1, mig.dir)
    mig.query("INSERT INTO line (price, qty, total) VALUES (10, 3, 999) RETURNING id")

    v2 = mig.alias("v2")

    class MigLineV2(Model):
        id = AutoField()
        price = IntegerField(null=False)
        qty = IntegerField(null=False, default=1)
        total = IntegerField(db_generated="price * qty")  # now computed by PostgreSQL
        _table_name = "line"
        _database = v2

    to_generated = makemigrations(v2, mig.dir)
    assert to_generated is not None
    text = to_generated.read_text()
    assert "# DESTRUCTIVE: make column line.total GENERATED ALWAYS AS (price * qty)" in text
    assert 'ADD COLUMN "total" INTEGER GENERATED ALWAYS AS (price * qty) STORED' in text
    with pytest.raises(MigrationError, match="DESTRUCTIVE"):
        migrate(v2, mig.dir)
    migrate(v2, mig.dir, allow_destructive=True)
    generated = "SELECT attgenerated FROM pg_attribute WHERE attrelid = 'line'::regclass AND attname = 'total'"
    assert mig.query(generated) == [("s",)]
    assert mig.query("SELECT total FROM line") == [(30,)]  # recomputed: 999 was replaced
    assert makemigrations(v2, mig.dir) is None  # the model and the table agree

    v3 = mig.alias("v3")

    class MigLineV3(Model):
        id = AutoField()
        price = IntegerField(null=False)
        qty = IntegerField(null=False, default=1)
        total = IntegerField(null=True)  # plain again: DROP EXPRESSION keeps the values
        _table_name = "line"
        _database = v3

    to_plain = makemigrations(v3, mig.dir)
    assert to_plain is not None and "DESTRUCTIVE" not in to_plain.read_text()
    migrate(v3, mig.dir)
    assert mig.query(generated) == [("",)]
    assert mig.query("SELECT total FROM line") == [(30,)]
    mig.query("UPDATE line SET total = 7 RETURNING id")
    assert makemigrations(v3, mig.dir) is None

    # Both steps roll back: generated again (recomputed), then plain with its column back.
    assert rollback(v3, mig.dir) == [to_plain.stem]
    assert mig.query(generated) == [("s",)] and mig.query("SELECT total FROM line") == [(30,)]
    assert rollback(v3, mig.dir) == [to_generated.stem]
    assert mig.query(generated) == [("",)] and mig.columns("line")["total"] == ("integer", "YES", None)


def test_rollback_steps_and_status(mig):
    write_migration(mig.dir, "0001_first", '''
        """First table."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE mig_one (id INTEGER PRIMARY KEY)")

        async def down(db):
            await db.execute("DROP TABLE mig_one")
    ''')
    write_migration(mig.dir, "0002_second", '''
        """Second table."""

        dependencies = ["0001_first"]

        async def up(db):
            await db.execute("CREATE TABLE mig_two (id INTEGER PRIMARY KEY)")

        async def down(db):
            await db.execute("DROP TABLE mig_two")
    ''')
    status = migration_status(mig.name, mig.dir)
    assert [(s.name, s.state) for s in status] == [("0001_first", "pending"), ("0002_second", "pending")]
    assert migrate(mig.name, mig.dir) == ["0001_first", "0002_second"]
    status = migration_status(mig.name, mig.dir)
    assert [(s.name, s.state, s.applied) for s in status] == [
        ("0001_first", "applied", True),
        ("0002_second", "applied", True),
    ]
    assert status[0].applied_at is not None and status[0].description == "First table."

    assert rollback(mig.name, mig.dir, steps=1) == ["0002_second"]
    assert mig.tables() == ["_matrx_migrations", "mig_one"]
    assert [r[0] for r in mig.applied()] == ["0001_first"]
    assert [s.state for s in migration_status(mig.name, mig.dir)] == ["applied", "pending"]

    migrate(mig.name, mig.dir)
    assert rollback(mig.name, mig.dir, steps=2) == ["0002_second", "0001_first"]
    assert mig.tables() == ["_matrx_migrations"]
    assert mig.applied() == []
    with pytest.raises(MigrationError, match="positive integer"):
        rollback(mig.name, mig.dir, steps=0)


def test_rollback_everything_returns_schema_to_empty(mig):
    name = mig.name

    class MigOwnerR(Model):
        id = AutoField()
        label = CharField(max_length=40)
        _table_name = "owner"
        _database = name
        _db_schema = "mig_archive"

    class MigPetR(Model):
        id = AutoField()
        owner_id = ForeignKey("MigOwnerR")
        _table_name = "pet"
        _database = name
        _db_schema = "mig_archive"

    makemigrations(mig.name, mig.dir)
    migrate(mig.name, mig.dir)
    assert mig.tables("mig_archive") == ["owner", "pet"]
    rollback(mig.name, mig.dir, steps=1)
    assert mig.tables("mig_archive") == []
    assert mig.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'mig_archive'") == [(0,)]


def test_edited_applied_file_stops_migrate_before_running_anything(mig):
    first = write_migration(mig.dir, "0001_first", '''
        """First."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE mig_c1 (id INTEGER)")

        async def down(db):
            await db.execute("DROP TABLE mig_c1")
    ''')
    migrate(mig.name, mig.dir)
    first.write_text(first.read_text() + "\n# edited after it was applied\n")
    write_migration(mig.dir, "0002_second", '''
        """Second."""

        dependencies = ["0001_first"]

        async def up(db):
            await db.execute("CREATE TABLE mig_c2 (id INTEGER)")

        async def down(db):
            await db.execute("DROP TABLE mig_c2")
    ''')
    with pytest.raises(MigrationError) as info:
        migrate(mig.name, mig.dir)
    assert "0001_first" in info.value.message and "modified" in info.value.message
    assert "mig_c2" not in mig.tables()
    assert [r[0] for r in mig.applied()] == ["0001_first"]
    status = migration_status(mig.name, mig.dir)
    assert [(s.name, s.state) for s in status] == [("0001_first", "modified"), ("0002_second", "pending")]


def test_failing_migration_leaves_no_trace(mig):
    write_migration(mig.dir, "0001_good", '''
        """Good."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE mig_good (id INTEGER)")

        async def down(db):
            await db.execute("DROP TABLE mig_good")
    ''')
    write_migration(mig.dir, "0002_bad", '''
        """Creates a table, then fails."""

        dependencies = ["0001_good"]

        async def up(db):
            await db.execute("CREATE TABLE mig_partial (id INTEGER)")
            await db.execute("INSERT INTO mig_partial VALUES (1)")
            await db.execute("ALTER TABLE mig_missing ADD COLUMN x INTEGER")

        async def down(db):
            await db.execute("DROP TABLE mig_partial")
    ''')
    with pytest.raises(MigrationError) as info:
        migrate(mig.name, mig.dir)
    assert "0002_bad" in info.value.message and "rolled back" in info.value.message
    assert "mig_missing" in info.value.message
    # The first migration stays applied; the failing one left nothing behind.
    assert mig.tables() == ["_matrx_migrations", "mig_good"]
    assert [r[0] for r in mig.applied()] == ["0001_good"]


def test_two_processes_migrating_at_once_apply_each_migration_once(mig):
    write_migration(mig.dir, "0001_slow", '''
        """Slow migration that counts how often it ran."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE IF NOT EXISTS mig_runs (n INTEGER)")
            await db.execute("SELECT pg_sleep(0.5)")
            await db.execute("INSERT INTO mig_runs VALUES (1)")

        async def down(db):
            await db.execute("DROP TABLE mig_runs")
    ''')
    write_migration(mig.dir, "0002_next", '''
        """Second one."""

        dependencies = ["0001_slow"]

        async def up(db):
            await db.execute("INSERT INTO mig_runs VALUES (2)")

        async def down(db):
            await db.execute("DELETE FROM mig_runs WHERE n = 2")
    ''')
    script = (
        "import sys\n"
        "from matrx_orm_sync import register_database_url\n"
        "from matrx_orm_sync.migrations import migrate\n"
        "register_database_url('worker', sys.argv[1])\n"
        "print(','.join(migrate('worker', sys.argv[2])))\n"
    )
    conninfo = mig.config.conninfo()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, conninfo, str(mig.dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    applied = sorted(out.strip() for out, _ in outputs)
    assert applied == ["", "0001_slow,0002_next"]
    assert mig.query("SELECT n FROM mig_runs ORDER BY n") == [(1,), (2,)]
    assert [r[0] for r in mig.applied()] == ["0001_slow", "0002_next"]


def test_migrate_gives_up_after_lock_timeout(mig):
    write_migration(mig.dir, "0001_t", '''
        """T."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE mig_t (id INTEGER)")

        async def down(db):
            await db.execute("DROP TABLE mig_t")
    ''')
    mig.query("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
    events = []
    try:
        with pytest.raises(MigrationError, match="lock"):
            migrate(mig.name, mig.dir, lock_timeout=0.3, progress=lambda e, n, s: events.append(e))
    finally:
        mig.query("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
    assert events == ["waiting"]
    assert "mig_t" not in mig.tables()
    assert migrate(mig.name, mig.dir) == ["0001_t"]


# ---------------------------------------------------------------- scoped migrations
def test_include_tables_scopes_the_diff_and_warns_about_cross_scope_fk(mig):
    name = mig.name

    class MigUserS(Model):
        id = UUIDField(primary_key=True)
        _table_name = "user"
        _database = name

    class MigPostS(Model):
        id = UUIDField(primary_key=True)
        author_id = ForeignKey("MigUserS", "id")
        _table_name = "post"
        _database = name

    class MigCommentS(Model):
        id = AutoField()
        _table_name = "comment"
        _database = name

    mig.query('CREATE TABLE "user" (id UUID PRIMARY KEY)')
    with pytest.warns(UserWarning) as caught:
        path = makemigrations(mig.name, mig.dir, include_tables={"post"})
    messages = [str(w.message) for w in caught]
    assert messages == [
        "[matrx-orm] Cross-scope FK detected: 'post.author_id' references 'user', which is outside the current "
        "migration scope. The FK constraint will be included in the generated SQL, but 'user' will not be created "
        "or managed by this migration set. Ensure it already exists in the target database."
    ]
    text = path.read_text()
    assert 'CREATE TABLE "post"' in text and 'REFERENCES "user" ("id")' in text
    assert '"comment"' not in text and 'CREATE TABLE "user"' not in text
    migrate(mig.name, mig.dir)
    assert mig.tables() == ["_matrx_migrations", "post", "user"]

    # SPEC's recipe silences the warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=UserWarning, module="matrx_orm")
        ops = SchemaDiff(MigrationDB(mig.name), table_filter=TableFilter(include={"comment"})).operations()
        assert [str(op) for op in ops] == ["create table comment"]


def test_exclude_tables_and_both_filters_error(mig):
    name = mig.name

    class MigKeepX(Model):
        id = AutoField()
        _table_name = "keep"
        _database = name

    class MigSkipX(Model):
        id = AutoField()
        _table_name = "legacy_audit"
        _database = name

    mig.query("CREATE TABLE scratch_pad (id INTEGER)")
    path = makemigrations(mig.name, mig.dir, exclude_tables={"legacy_audit", "scratch_pad"})
    text = path.read_text()
    assert 'CREATE TABLE "keep"' in text
    assert "legacy_audit" not in text and "scratch_pad" not in text  # excluded: never created nor dropped
    with pytest.raises(ConfigurationError, match="not both"):
        makemigrations(mig.name, mig.dir, include_tables={"keep"}, exclude_tables={"scratch_pad"})


def test_schema_diff_with_table_filter_as_in_spec(mig):
    name = mig.name

    class MigUserD(Model):
        id = UUIDField(primary_key=True)
        _table_name = "user"
        _database = name

    class MigPostD(Model):
        id = UUIDField(primary_key=True)
        author_id = ForeignKey("MigUserD", "id")
        _table_name = "post"
        _database = name

    class MigOtherD(Model):
        id = UUIDField(primary_key=True)
        _table_name = "other"
        _database = name

    db = MigrationDB(mig.name)
    f = TableFilter(include={"user", "post"})
    diff = SchemaDiff(db, schema="public", table_filter=f)
    path = diff.generate_migration_file(str(mig.dir) + "/")
    assert path is not None
    migrate(mig.name, mig.dir)
    assert mig.tables() == ["_matrx_migrations", "post", "user"]
    assert diff.operations() == []


def test_unmodelled_table_is_dropped_only_with_permission(mig):
    name = mig.name

    class MigKeepU(Model):
        id = AutoField()
        _table_name = "keep"
        _database = name

    mig.query("CREATE TABLE keep (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)")
    mig.query("CREATE TABLE old_stuff (id SERIAL PRIMARY KEY, note TEXT NOT NULL)")
    mig.query("INSERT INTO old_stuff (note) VALUES ('x')")
    path = makemigrations(mig.name, mig.dir)
    assert "# DESTRUCTIVE: drop table old_stuff" in path.read_text()
    with pytest.raises(MigrationError, match="DESTRUCTIVE"):
        migrate(mig.name, mig.dir)
    assert "old_stuff" in mig.tables()
    migrate(mig.name, mig.dir, allow_destructive=True)
    assert mig.tables() == ["_matrx_migrations", "keep"]
    # Undo recreates the table (empty), its serial as an identity column.
    rollback(mig.name, mig.dir)
    assert mig.columns("old_stuff") == {"id": ("integer", "NO", None), "note": ("text", "NO", None)}


# ---------------------------------------------------------------- SQL-first and hybrid
def test_hand_written_migrations_use_every_db_method(mig):
    path = create_empty(mig.name, mig.dir, name="custom_ddl")
    assert path.name == "0001_custom_ddl.py"
    assert "async def up(db):" in path.read_text()
    write_migration(mig.dir, "0001_custom_ddl", '''
        """Seed data with every db method."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE mig_seed (id INTEGER PRIMARY KEY, name TEXT)")
            await db.execute_many([
                ("INSERT INTO mig_seed VALUES (%s, %s)", (1, "one")),
                "INSERT INTO mig_seed VALUES (2, 'two')",
            ])
            count = await db.fetch_val("SELECT count(*) FROM mig_seed")
            rows = await db.fetch("SELECT id, name FROM mig_seed ORDER BY id")
            first = await db.fetch_one("SELECT name FROM mig_seed WHERE id = %s", 1)
            updated = await db.execute("UPDATE mig_seed SET name = name || '!' WHERE id > %s", 0)
            await db.execute(
                "INSERT INTO mig_seed VALUES (%s, %s)",
                100 + count + len(rows) + updated,
                first["name"] + "/" + rows[1]["name"],
            )

        async def down(db):
            await db.execute("DROP TABLE mig_seed")
    ''')
    migrate(mig.name, mig.dir)
    assert mig.query("SELECT id, name FROM mig_seed ORDER BY id") == [(1, "one!"), (2, "two!"), (106, "one/two")]


def test_plain_def_migration_files_run_in_both_modes(mig):
    write_migration(mig.dir, "0001_plain", '''
        """Plain functions work too."""

        dependencies = []

        def up(db):
            db.execute("CREATE TABLE mig_plain (n INTEGER)")
            n = db.fetch_val("SELECT 41 + 1")
            db.execute("INSERT INTO mig_plain VALUES (%s)", n)

        def down(db):
            db.execute("DROP TABLE mig_plain")
    ''')
    assert migrate(mig.name, mig.dir) == ["0001_plain"]
    assert mig.query("SELECT n FROM mig_plain") == [(42,)]
    assert rollback(mig.name, mig.dir) == ["0001_plain"]
    assert "mig_plain" not in mig.tables()


def test_hybrid_dependency_order_and_sql_preview(mig):
    name = mig.name
    write_migration(mig.dir, "0001_extension", '''
        """SQL-first: a lookup table the models do not declare."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE SCHEMA IF NOT EXISTS mig_ref")
            await db.execute("CREATE TABLE mig_ref.country (code CHAR(2) PRIMARY KEY)")

        async def down(db):
            await db.execute("DROP SCHEMA mig_ref CASCADE")
    ''')
    migrate(mig.name, mig.dir)

    class MigCityH(Model):
        id = AutoField()
        city_name = CharField(max_length=80, null=False)
        _table_name = "city"
        _database = name

    path = makemigrations(mig.name, mig.dir, name="add_city")
    assert path.name == "0002_add_city.py"
    assert 'dependencies = ["0001_extension"]' in path.read_text()
    preview = migration_sql(mig.name, mig.dir)
    assert [n for n, _ in preview] == ["0002_add_city"]
    assert preview[0][1][0].startswith('CREATE TABLE "city"')
    assert "city" not in mig.tables()  # preview ran nothing
    assert migrate(mig.name, mig.dir) == ["0002_add_city"]
    assert mig.tables("mig_ref") == ["country"]


def test_makemigrations_refuses_while_migrations_are_pending(mig):
    name = mig.name

    class MigThingP(Model):
        id = AutoField()
        _table_name = "thing"
        _database = name

    makemigrations(mig.name, mig.dir)
    with pytest.raises(MigrationError, match="run migrate first"):
        makemigrations(mig.name, mig.dir)


def test_missing_dependency_is_a_clear_error(mig):
    write_migration(mig.dir, "0002_orphan", '''
        """Orphan."""

        dependencies = ["0001_gone"]

        async def up(db):
            await db.execute("SELECT 1")
    ''')
    with pytest.raises(MigrationError, match="0001_gone"):
        migrate(mig.name, mig.dir)
    assert mig.applied() == []


def test_migrate_and_rebuild_runs_the_rebuild_step_after_migrating(mig):
    write_migration(mig.dir, "0001_r", '''
        """R."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE mig_r (id INTEGER)")
    ''')
    calls = []

    def rebuild(*, database_project, output_dir):
        tables = mig.tables()
        calls.append((database_project, output_dir, "mig_r" in tables))

    applied = migrate_and_rebuild(mig.name, mig.dir, output_dir="./database/main", rebuild=rebuild)
    assert applied == ["0001_r"]
    assert calls == [(mig.name, "./database/main", True)]


def test_specs_migration_file_example_runs_as_written(mig):
    write_migration(mig.dir, "0001_initial", '''
        """Users."""

        dependencies = []

        async def up(db):
            await db.execute('CREATE TABLE "user" (id UUID PRIMARY KEY DEFAULT gen_random_uuid())')

        async def down(db):
            await db.execute('DROP TABLE IF EXISTS "user"')
    ''')
    write_migration(mig.dir, "0002_create_posts", '''
        """Create posts table."""

        dependencies = ["0001_initial"]

        async def up(db):
            await db.execute("""
                CREATE TABLE post (
                    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
                    title VARCHAR(200) NOT NULL,
                    body TEXT,
                    author_id UUID NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
                    is_published BOOLEAN DEFAULT false,
                    created_at TIMESTAMPTZ DEFAULT now()
                )
            """)
            await db.execute("""
                CREATE INDEX idx_post_author ON post (author_id)
            """)

        async def down(db):
            await db.execute("DROP TABLE IF EXISTS post")
    ''')
    applied = migrate(mig.name, mig.dir)
    assert applied == ["0001_initial", "0002_create_posts"]
    assert mig.columns("post")["is_published"] == ("boolean", "YES", "false")
    assert mig.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_post_author'") == [
        ("CREATE INDEX idx_post_author ON public.post USING btree (author_id)",)
    ]
    rolled_back = rollback(mig.name, mig.dir, steps=1)
    assert rolled_back == ["0002_create_posts"]
    assert mig.tables() == ["_matrx_migrations", "user"]


def test_per_migration_statement_timeout(mig):
    write_migration(mig.dir, "0001_slow", '''
        """Too slow for its own timeout."""

        dependencies = []
        statement_timeout = "200ms"

        async def up(db):
            await db.execute("CREATE TABLE mig_slow (id INTEGER)")
            await db.execute("SELECT pg_sleep(2)")
    ''')
    with pytest.raises(MigrationError, match="statement timeout"):
        migrate(mig.name, mig.dir)
    assert mig.tables() == ["_matrx_migrations"]
    assert mig.applied() == []


def test_non_atomic_migration_creates_an_index_concurrently_and_is_recorded_only_on_success(mig):
    write_migration(mig.dir, "0001_table", '''
        """A table to index."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE mig_big (id INTEGER, email TEXT)")
            await db.execute("INSERT INTO mig_big SELECT n, 'u' || n FROM generate_series(1, 1000) n")

        async def down(db):
            await db.execute("DROP TABLE mig_big")
    ''')
    write_migration(mig.dir, "0002_index", '''
        """CONCURRENTLY cannot run in a transaction: this migration is not atomic."""

        dependencies = ["0001_table"]
        atomic = False
        statement_timeout = "30s"

        async def up(db):
            await db.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_mig_big_email ON mig_big (email)')
            await db.execute("SELECT FROM mig_nowhere")  # fails after the index exists

        async def down(db):
            await db.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_mig_big_email")
    ''')
    with pytest.raises(MigrationError) as info:
        migrate(mig.name, mig.dir)
    message = info.value.message
    assert "0002_index" in message and "not atomic" in message and "mig_nowhere" in message
    # The index stayed (it ran in autocommit), the migration is not recorded, the session is clean.
    assert mig.query("SELECT indexname FROM pg_indexes WHERE tablename = 'mig_big'") == [("idx_mig_big_email",)]
    assert [r[0] for r in mig.applied()] == ["0001_table"]

    # Fixed, it runs again (IF NOT EXISTS makes the repeat harmless) and is recorded.
    write_migration(mig.dir, "0002_index", '''
        """CONCURRENTLY cannot run in a transaction: this migration is not atomic."""

        dependencies = ["0001_table"]
        atomic = False

        async def up(db):
            await db.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_mig_big_email ON mig_big (email)')

        async def down(db):
            await db.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_mig_big_email")
    ''')
    assert migrate(mig.name, mig.dir) == ["0002_index"]
    assert [r[0] for r in mig.applied()] == ["0001_table", "0002_index"]
    assert mig.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_mig_big_email'::regclass") == [(True,)]
    assert rollback(mig.name, mig.dir, steps=1) == ["0002_index"]
    assert mig.query("SELECT count(*) FROM pg_indexes WHERE tablename = 'mig_big'") == [(0,)]
    assert [r[0] for r in mig.applied()] == ["0001_table"]


def test_orm_calls_inside_a_migration_join_its_transaction(mig):
    # A data migration written with the ORM: async files use matrx_orm, sync ones matrx_orm_sync.
    package = "matrx_orm" if MODE == "async" else "matrx_orm_sync"
    prefix = "async " if MODE == "async" else ""
    wait = "await " if MODE == "async" else ""
    write_migration(mig.dir, "0001_table", '''
        """Table."""

        dependencies = []

        async def up(db):
            await db.execute("CREATE TABLE mig_note (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, body TEXT)")
    ''')
    model = textwrap.dedent(f'''
        """Data migration through the ORM."""

        from {package} import AutoField, Model, TextField

        dependencies = ["0001_table"]


        class MigNoteOrm{MODE}(Model):
            id = AutoField()
            body = TextField()
            _table_name = "mig_note"
            _database = "{mig.name}"


        {prefix}def up(db):
            {wait}MigNoteOrm{MODE}.create(body="written by the ORM")
            {wait}db.execute("SELECT missing_function()")
    ''')
    (mig.dir / "0002_data.py").write_text(model)
    with pytest.raises(MigrationError, match="0002_data"):
        migrate(mig.name, mig.dir)
    # The ORM insert was part of the failed migration's transaction: rolled back with it.
    assert mig.query("SELECT body FROM mig_note") == []
    assert [r[0] for r in mig.applied()] == ["0001_table"]

    (mig.dir / "0002_data.py").write_text(model.replace(f'{wait}db.execute("SELECT missing_function()")', ""))
    assert migrate(mig.name, mig.dir) == ["0002_data"]
    assert mig.query("SELECT body FROM mig_note") == [("written by the ORM",)]
