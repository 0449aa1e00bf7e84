"""The shipped pytest plugin, exercised the way a user's project uses it.

Each test writes a small project (config, models, a test file) with pytester
and runs pytest on it in a subprocess: the plugin registers and replaces
databases, which must not leak into this session. The project's tests check
the in-test behaviour (rollback, savepoints, on_commit, query counts); this
module reads the server afterwards (test database dropped, template kept or
replaced).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from matrx_orm import DatabaseProjectConfig

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "matrx_orm.testing.pytest_plugin"

CONFTEST = """
import os
from matrx_orm import register_database_url

register_database_url(os.environ["SHOP_NAME"], os.environ["SHOP_URL"])
import models  # noqa: E402,F401  (registers the models)
"""

MODELS = """
import os
from matrx_orm import AutoField, CharField, IntegerField, Model

class Item(Model):
    id = AutoField()
    name = CharField(max_length=50)
    qty = IntegerField(default=0)
    {extra}
    _database = os.environ["SHOP_NAME"]
"""

ASYNC_TESTS = """
import psycopg
import pytest

from matrx_orm import on_commit, transaction
from matrx_orm.testing import assert_num_queries
from models import Item

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Boom(Exception):
    pass


async def test_writes_stay_inside_the_test_transaction(matrx_orm_db, matrx_orm_test_database):
    print("DESCRIBE", matrx_orm_test_database.describe())
    await Item.create(name="a", qty=1)
    async with assert_num_queries(1) as counted:
        assert await Item.count() == 1
    assert counted.queries[0].startswith("SELECT COUNT(*)")
    # Another connection sees nothing: the row is uncommitted.
    with psycopg.connect(matrx_orm_test_database.config.conninfo()) as other:
        assert other.execute("SELECT count(*) FROM item").fetchone() == (0,)
    assert matrx_orm_db.connection().info.transaction_status == psycopg.pq.TransactionStatus.INTRANS


async def test_the_previous_test_was_rolled_back(matrx_orm_db):
    assert await Item.count() == 0


async def test_nested_transaction_is_a_savepoint_and_on_commit_waits(matrx_orm_db):
    seen = []
    await Item.create(name="kept", qty=2)
    with pytest.raises(Boom):
        async with transaction():
            await Item.create(name="undone", qty=3)
            raise Boom
    on_commit(lambda: seen.append("committed"))
    assert seen == []
    assert len(matrx_orm_db.on_commit_callbacks()) == 1
    assert matrx_orm_db.run_on_commit() == 1
    assert seen == ["committed"]
    assert await Item.filter().values_list("name", flat=True) == ["kept"]


async def test_query_count_mismatch_fails(matrx_orm_db, matrx_orm_assert_num_queries):
    with matrx_orm_assert_num_queries(2):
        await Item.count()
"""

SYNC_TESTS = """
import psycopg
import pytest

from matrx_orm_sync import on_commit, transaction
from matrx_orm.testing import assert_num_queries
from models import Item as AsyncItem

Item = AsyncItem.sync


class Boom(Exception):
    pass


def test_writes_stay_inside_the_test_transaction(matrx_orm_sync_db, matrx_orm_test_database):
    print("DESCRIBE", matrx_orm_test_database.describe())
    Item.bulk_create([Item(name=f"n{i}", qty=i) for i in range(3)])
    with assert_num_queries(1):
        assert Item.filter(qty__gte=1).count() == 2
    with psycopg.connect(matrx_orm_test_database.config.conninfo()) as other:
        assert other.execute("SELECT count(*) FROM item").fetchone() == (0,)


def test_the_previous_test_was_rolled_back(matrx_orm_sync_db):
    assert Item.count() == 0


def test_nested_transaction_is_a_savepoint_and_on_commit_waits(matrx_orm_sync_db):
    seen = []
    Item.create(name="kept", qty=2)
    with pytest.raises(Boom):
        with transaction():
            Item.create(name="undone", qty=3)
            raise Boom
    on_commit(lambda: seen.append("committed"))
    assert seen == []
    assert matrx_orm_sync_db.run_on_commit() == 1
    assert seen == ["committed"]
    assert Item.filter().values_list("name", flat=True) == ["kept"]


def test_query_count_mismatch_fails(matrx_orm_sync_db):
    with assert_num_queries(0):
        Item.count()
"""


def _server_url(config: DatabaseProjectConfig, database: str) -> str:
    auth = config.user + (f":{config.password}" if config.password else "")
    return f"postgresql://{auth}@{config.host}:{config.port}/{database}"


@pytest.fixture
def project(
    pytester: pytest.Pytester, db_config: DatabaseProjectConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[pytest.Pytester, str]]:
    """A user project whose database ``shop_<pid>`` is registered with a URL to a database that does not exist."""
    name = f"shop_{os.getpid()}"
    monkeypatch.setenv("SHOP_NAME", name)
    monkeypatch.setenv("SHOP_URL", _server_url(db_config, f"{name}_dev_never_created"))
    monkeypatch.delenv("MATRX_FORCE_EMBEDDED", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(models=MODELS.format(extra=""))
    yield pytester, name
    with psycopg.connect(db_config.conninfo(), autocommit=True) as conn:
        for (datname,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"%{name}%"]
        ).fetchall():
            conn.execute(f'DROP DATABASE IF EXISTS "{datname}" WITH (FORCE)')


def _databases(config: DatabaseProjectConfig, name: str) -> list[str]:
    with psycopg.connect(config.conninfo(), autocommit=True) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", [f"%{name}%"])
        return [r[0] for r in rows.fetchall()]


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # hypothesis' plugin imports hypothesis at the end of every session: seconds each run, for nothing here.
    return pytester.runpytest_subprocess("-p", PLUGIN, "-p", "no:hypothesispytest", "-p", "no:cacheprovider", *args)


def _describe(output: str) -> str:
    match = re.search(r"DESCRIBE (.*)", output)
    assert match, output
    return match.group(1)


def test_async_then_sync_project_roll_back_each_test_count_queries_and_share_a_template(project, db_config):
    pytester, name = project
    pytester.makepyfile(test_items=ASYNC_TESTS)
    result = _run(pytester, "-s")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: expected 2 queries, 1 ran*", '*1. SELECT COUNT(*) FROM "item"*'])
    described = _describe(result.stdout.str())
    assert f"{name} -> postgresql://" in described and "cloned from template matrx_tpl_" in described
    template = re.search(r"template (matrx_tpl_\w+)", described).group(1)
    # The test database is gone; the template stays for the next session.
    assert _databases(db_config, name) == [template]

    # The sync session clones the same template (same models: same schema).
    (pytester.path / "test_items.py").unlink()
    pytester.makepyfile(test_sync_items=SYNC_TESTS)
    second = _run(pytester, "-s")
    second.assert_outcomes(passed=3, failed=1)
    second.stdout.fnmatch_lines(["*AssertionError: expected 0 queries, 1 ran*"])
    assert f"template {template})" in _describe(second.stdout.str())
    assert _databases(db_config, name) == [template]

    # A model change makes a new template and drops the outdated one.
    pytester.makepyfile(models=MODELS.format(extra="note = CharField(max_length=20, null=True)"))
    third = _run(pytester, "-s")
    third.assert_outcomes(passed=3, failed=1)
    new_template = re.search(r"template (matrx_tpl_\w+)", _describe(third.stdout.str())).group(1)
    assert new_template != template
    assert _databases(db_config, name) == [new_template]


def test_without_template_the_database_is_built_directly(project, db_config):
    pytester, name = project
    pytester.makeini("[pytest]\nmatrx_orm_template = false\n")
    pytester.makepyfile(test_items=SYNC_TESTS)
    result = _run(pytester, "-s")
    result.assert_outcomes(passed=3, failed=1)
    assert "built directly" in _describe(result.stdout.str())
    assert _databases(db_config, name) == []


def test_embedded_server_when_asked(project, db_config):
    pytester, name = project
    pytester.makeini("[pytest]\nmatrx_orm_server = embedded\n")
    pytester.makepyfile(test_items=SYNC_TESTS)
    result = _run(pytester, "-s")
    result.assert_outcomes(passed=3, failed=1)
    described = _describe(result.stdout.str())
    assert "(embedded" in described and f"{db_config.host}:{db_config.port}/" not in described
    assert _databases(db_config, name) == []  # nothing was created on the configured server


def test_plugin_is_inert_until_a_fixture_is_used(project, db_config):
    pytester, name = project
    pytester.makepyfile(test_plain="def test_nothing():\n    assert 1 + 1 == 2\n")
    result = _run(pytester)
    result.assert_outcomes(passed=1)
    assert _databases(db_config, name) == []
    fixtures = _run(pytester, "--fixtures")
    fixtures.stdout.fnmatch_lines(["matrx_orm_test_database *", "matrx_orm_db *", "matrx_orm_sync_db *"])


def test_pyproject_declares_the_entry_point_named_after_the_module():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["entry-points"]["pytest11"] == {PLUGIN: PLUGIN}
    from importlib.metadata import entry_points

    installed = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    if PLUGIN in installed:  # an install made before the entry point existed does not have it yet
        assert installed[PLUGIN] == PLUGIN


def test_the_readme_example_project_passes(pytester, db_config, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    files = dict(re.findall(r"<!-- plugin-example: ([\w.]+) -->\n```python\n(.*?)```", text, re.S))
    assert set(files) == {"conftest.py", "shop_models.py", "test_orders.py"}
    for name, source in files.items():
        (pytester.path / name).write_text(source, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", _server_url(db_config, "shop_dev"))
    monkeypatch.delenv("MATRX_FORCE_EMBEDDED", raising=False)
    result = _run(pytester)
    result.assert_outcomes(passed=3)
