# WARNING: generated from tests/level2/aio/test_atomicity.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""All or nothing: multi-statement operations killed halfway leave nothing partial.

Each operation is forced to run several statements (small ``batch_size``);
after the first or second statement completes, a query hook injects a fault:
an exception, a ``KeyboardInterrupt``, or ``pg_terminate_backend`` of the
backend holding the transaction (from another connection). The database is
then read back: it must hold exactly what it held before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from matrx_orm_sync import ConnectionError, ORMException
from matrx_orm.core.compat_sync import MODE
from matrx_orm.core.query_log import query_hooks
from matrx_orm_sync.migrations import migrate
from tests.level2.reliability_db import rb_db  # noqa: F401  (fixture)
from tests.migrations_support import mig_server, new_mig_database  # noqa: F401  (fixture)
from tests.models_reliability_sync import Hostile, HostileTag, Note

pytestmark = pytest.mark.anyio


class Injected(Exception):
    """The fault a hook raises."""


KINDS = ["raise", "interrupt", "terminate"]
EXPECTED = {"raise": Injected, "interrupt": KeyboardInterrupt, "terminate": ConnectionError}


@contextlib.contextmanager
def fault_after(statements: int, kind: str, admin) -> Iterator[list[str]]:
    """Inject ``kind`` once ``statements`` statements have completed; yield the texts that completed."""
    seen: list[str] = []

    def hook(text, params, ms, rows, database):
        seen.append(text)
        if len(seen) != statements:
            return
        if kind == "raise":
            raise Injected(f"injected after statement {statements}")
        if kind == "interrupt":
            raise KeyboardInterrupt
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        ).fetchone()[0]
        assert killed == 1, f"expected one transaction to kill, found {killed}"

    query_hooks.callbacks.append(hook)
    query_hooks.refresh()
    try:
        yield seen
    finally:
        query_hooks.callbacks.remove(hook)
        query_hooks.refresh()


def notes(db):
    return db.execute("SELECT id, slug, title, body FROM rb_note ORDER BY id").fetchall()


def seed(count: int = 6) -> list[Note]:
    return Note.bulk_create([{"slug": f"s{i}", "title": f"t{i}", "body": f"b{i}"} for i in range(count)])


@pytest.mark.parametrize("kind", KINDS)
def test_bulk_create_in_batches_is_all_or_nothing(rb_db, kind):
    seed(2)
    before = notes(rb_db)
    with fault_after(2, kind, rb_db) as seen, pytest.raises(EXPECTED[kind]):
        Note.bulk_create([{"slug": f"n{i}", "body": "new"} for i in range(6)], batch_size=2)
    assert len(seen) == 2  # the fault struck between batches
    assert notes(rb_db) == before
    Note.create(slug="after", body="ok")  # the connection went back clean
    assert len(notes(rb_db)) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_bulk_update_in_batches_is_all_or_nothing(rb_db, kind):
    objs = seed()
    before = notes(rb_db)
    for obj in objs:
        obj.title = "changed"
    with fault_after(2, kind, rb_db), pytest.raises(EXPECTED[kind]):
        Note.bulk_update(objs, ["title"], batch_size=2)
    assert notes(rb_db) == before


@pytest.mark.parametrize("kind", KINDS)
def test_bulk_upsert_in_batches_is_all_or_nothing(rb_db, kind):
    seed()
    before = notes(rb_db)
    rows = [{"slug": f"s{i}", "title": "upserted"} for i in range(6)] + [{"slug": "brand-new", "title": "x"}]
    with fault_after(2, kind, rb_db), pytest.raises(EXPECTED[kind]):
        Note.bulk_upsert(rows, ["slug"], batch_size=2)
    assert notes(rb_db) == before


@pytest.mark.parametrize("kind", KINDS)
def test_set_m2m_is_all_or_nothing(rb_db, kind):
    owner = Hostile.create(name="owner")
    tags = HostileTag.bulk_create([{"label": f"t{i}"} for i in range(4)])
    owner.set_m2m("tags", [tags[0].id, tags[1].id])
    with fault_after(1, kind, rb_db), pytest.raises(EXPECTED[kind]):
        owner.set_m2m("tags", [tags[2].id, tags[3].id])  # unlink the others, then link the new
    assert sorted(t.id for t in owner.fetch_m2m("tags")) == [tags[0].id, tags[1].id]


def test_upsert_updates_only_the_fields_given(rb_db):
    from tests.models_reliability_sync import Counter

    Counter.create(name="c", value=41)
    # ``value`` has a Python default (0); an upsert that does not mention it must not reset it.
    Counter.upsert({"name": "c"}, ["name"])
    Counter.bulk_upsert([{"name": "c"}, {"name": "d"}], ["name"])
    assert rb_db.execute("SELECT name, value FROM rb_counter ORDER BY name").fetchall() == [("c", 41), ("d", 0)]


@pytest.fixture
def mig(mig_server, tmp_path):  # noqa: F811
    from matrx_orm_sync import close_pool

    database = new_mig_database(mig_server, tmp_path, f"rb_{MODE}")
    try:
        yield database
    finally:
        close_pool(database.name)
        database.cleanup()
        database.conn.close()


def test_migration_whose_backend_is_terminated_halfway_leaves_nothing(mig):
    mig.dir.mkdir()
    (mig.dir / "0001_two_tables.py").write_text(
        "dependencies = []\n\n"
        "async def up(db):\n"
        "    await db.execute('CREATE TABLE rb_first (id INTEGER)')\n"
        "    await db.execute('INSERT INTO rb_first VALUES (1)')\n"
        "    await db.execute('SELECT pg_terminate_backend(pg_backend_pid())')\n"
        "    await db.execute('CREATE TABLE rb_second (id INTEGER)')\n\n"
        "async def down(db):\n"
        "    await db.execute('DROP TABLE rb_second, rb_first')\n"
    )
    with pytest.raises(ORMException) as info:
        migrate(mig.name, mig.dir)
    assert "0001_two_tables" in str(info.value)
    assert "rb_first" not in mig.tables() and "rb_second" not in mig.tables()
    assert mig.applied() == []
