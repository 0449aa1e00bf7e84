"""The sync twin generator (``tools/unasync.py``) and what it produced.

The sync package must be a real sync implementation: no ``await``, no
``async`` construct, no ``asyncio`` — checked on the syntax tree and the
tokens, so comments and docstrings that mention them do not count. The
generated files must be fresh, carry the header, and the two packages must
export the same public names.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import subprocess
import sys
import tokenize
from pathlib import Path
from types import ModuleType

import pytest

import matrx_orm
import matrx_orm_sync

ROOT = Path(__file__).resolve().parents[2]
GENERATED_DIRS = [ROOT / "matrx_orm_sync", ROOT / "tests" / "level2" / "sync"]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("matrx_unasync", ROOT / "tools" / "unasync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


unasync = _load_generator()


def _generated_files() -> list[Path]:
    files = [p for folder in GENERATED_DIRS for p in sorted(folder.rglob("*.py")) if "__pycache__" not in p.parts]
    assert len(files) > 5, "no generated files found"
    return files


# ---------------------------------------------------------------- the sync package is sync
@pytest.mark.parametrize("path", _generated_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_generated_module_has_no_async_construct(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await)):
            found.append(f"line {node.lineno}: {type(node).__name__}")
        elif isinstance(node, ast.comprehension) and node.is_async:
            found.append(f"line {node.target.lineno}: async comprehension")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] == "asyncio"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "asyncio":
            found.append(f"line {node.lineno}: from {node.module} import ...")
    # Tokens catch what the tree does not show as imports (e.g. importlib.import_module("asyncio") is a
    # string and allowed, but a bare `asyncio` name is not); comments and strings are separate tokens.
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string in ("asyncio", "await", "async"):
            found.append(f"line {tok.start[0]}: name {tok.string!r}")
    assert not found, f"{path.relative_to(ROOT)} is not sync:\n" + "\n".join(found)


@pytest.mark.parametrize("path", _generated_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_generated_module_starts_with_the_header(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# WARNING: generated from "), path
    source = text.splitlines()[0].removeprefix("# WARNING: generated from ").split(" by tools/unasync.py")[0]
    assert (ROOT / source).is_file(), f"{path}: header names {source}, which does not exist"
    assert text.startswith(unasync.HEADER.format(source=source))


def test_every_mirrored_source_has_its_generated_file() -> None:
    targets = unasync._targets()
    assert targets
    for source, dest, _kind in targets:
        assert dest.is_file(), f"{source.relative_to(ROOT)} has no generated {dest.relative_to(ROOT)}"
        assert dest.read_text(encoding="utf-8").startswith(
            unasync.HEADER.format(source=source.relative_to(ROOT).as_posix())
        )
    sources = {s.relative_to(ROOT).as_posix() for s, _d, _k in targets}
    # Shared and sync-only code is never mirrored.
    assert not any(s.startswith("matrx_orm/core/") for s in sources)
    assert {"matrx_orm/cli.py", "matrx_orm/devdb.py", "matrx_orm/demo.py"}.isdisjoint(sources)


def test_check_mode_passes_on_this_tree() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


# ---------------------------------------------------------------- convert()
SAMPLE = '''\
"""Module docstring: await this, async def that, AsyncConnectionPool stays in prose."""
from contextlib import asynccontextmanager
from psycopg_pool import AsyncConnectionPool

from matrx_orm._pool import get_pool
from matrx_orm.core.compat_async import Lock
from matrx_orm.core.fields import Field
import matrx_orm.core.naming
from tests.models_async import User

MyAsyncConnectionPoolWrapper = None  # a longer name is not a mapped name


class Thing:
    async def __aenter__(self) -> "Thing":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()  # await in a comment stays: await x

    async def run(self, pool: AsyncConnectionPool) -> list:
        async with pool.connection() as conn:
            rows = [r async for r in conn.stream("SELECT 'await async'")]
        async for row in self:
            print(row, "AsyncConnectionPool in a string")
        return await get_pool()
'''


def test_convert_rewrites_code_and_keeps_comments_and_strings() -> None:
    out = unasync.convert(SAMPLE, "matrx_orm/sample.py")
    body = out.removeprefix(unasync.HEADER.format(source="matrx_orm/sample.py"))
    assert out.startswith("# WARNING: generated from matrx_orm/sample.py by tools/unasync.py -- do not edit.\n")
    # keywords
    assert "    def __enter__(self)" in body and "    def __exit__(self, *exc)" in body
    assert "    def run(self, pool: ConnectionPool) -> list:" in body
    assert "        with pool.connection() as conn:" in body
    assert "        for row in self:" in body
    assert "        return get_pool()" in body
    assert "        self.close()  # await in a comment stays: await x" in body
    # names through the map, imports of siblings moved, core stays shared
    assert "from contextlib import contextmanager\n" in body
    assert "from psycopg_pool import ConnectionPool\n" in body
    assert "from matrx_orm_sync._pool import get_pool\n" in body
    assert "from matrx_orm.core.compat_sync import Lock\n" in body
    assert "from matrx_orm.core.fields import Field\n" in body
    assert "import matrx_orm.core.naming\n" in body
    assert "from tests.models_sync import User\n" in body
    assert "MyAsyncConnectionPoolWrapper = None" in body
    # comments, docstrings and string literals are untouched
    assert '"""Module docstring: await this, async def that, AsyncConnectionPool stays in prose."""' in body
    assert "\"SELECT 'await async'\"" in body
    assert '"AsyncConnectionPool in a string"' in body
    compile(body, "sample", "exec")
    # Only the edits above: the line structure is the same.
    assert len(body.splitlines()) == len(SAMPLE.splitlines())


@pytest.mark.parametrize("async_name, sync_name", sorted(unasync.NAME_MAP.items()))
def test_convert_applies_each_name_map_entry(async_name: str, sync_name: str) -> None:
    out = unasync.convert(f"x = {async_name}\ny = obj.{async_name}\n# {async_name}\n", "m.py")
    assert out.endswith(f"x = {sync_name}\ny = obj.{sync_name}\n# {async_name}\n")


def test_convert_refuses_asyncio() -> None:
    with pytest.raises(SystemExit, match="asyncio"):
        unasync.convert("import asyncio\n", "matrx_orm/bad.py")
    with pytest.raises(SystemExit, match="compat_async"):
        unasync.convert("async def f():\n    await asyncio.sleep(0)\n", "matrx_orm/bad.py")


# ---------------------------------------------------------------- public API
#: Names the public API promises. Removing or renaming one is a breaking change:
#: this list changes only on purpose. New exports are welcome (both packages must
#: export them, see below); add them here once they are part of the contract.
PUBLIC_API = {
    # models, queries, connections
    "Model", "QuerySet", "Q", "BaseManager", "StateManager", "CachePolicy",
    "enable_cross_process_invalidation", "disable_cross_process_invalidation",
    "transaction", "on_commit", "in_transaction", "get_pool", "close_pool", "close_pools",
    "DatabaseProjectConfig", "register_database", "register_database_url", "unregister_database",
    "registered_databases", "get_database_config", "capture_queries", "set_slow_query_threshold",
    "prefetch_related_objects",
    # fields
    "Field", "AutoField", "BigAutoField", "UUIDField", "CharField", "TextField", "IntegerField",
    "BigIntegerField", "SmallIntegerField", "FloatField", "DecimalField", "BooleanField", "DateTimeField",
    "DateField", "TimeField", "JSONField", "JSONBField", "ArrayField", "TextArrayField", "IntegerArrayField",
    "BooleanArrayField", "UUIDArrayField", "JSONBArrayField", "EnumField", "IPAddressField", "IPNetworkField",
    "MacAddressField", "HStoreField", "PointField", "MoneyField", "BinaryField", "TimeDeltaField",
    "ForeignKey", "ManyToManyField", "VersionField",
    # exceptions
    "ORMException", "ValidationError", "FieldError", "QueryError", "DoesNotExist", "MultipleObjectsReturned",
    "DatabaseError", "ConnectionError", "IntegrityError", "TransactionError", "ConfigurationError",
    "CacheError", "StateError", "StaleObjectError", "RelationshipError", "RelationNotLoaded",
    "MigrationError", "ParameterError", "UnknownDatabaseError",
    # migrations
    "makemigrations", "migrate", "rollback", "migration_status", "create_empty", "migrate_and_rebuild",
    "SchemaDiff", "TableFilter",
    # advanced querying: expressions, aggregates, windows, subqueries, search, PostgreSQL types, signals, pagination
    "F", "Value", "Func", "RawSQL", "Case", "When", "Cast", "Coalesce", "Greatest", "Least", "NullIf", "Lower",
    "Upper", "Length", "Trim", "LTrim", "RTrim", "Concat", "Substr", "Replace", "Left", "Right", "StrIndex", "Abs",
    "Round", "Floor", "Ceil", "Sqrt", "Power", "Mod", "Now", "Extract", "Trunc", "ExpressionWrapper", "OrderBy",
    "Count", "Sum", "Avg", "Min", "Max", "StdDev", "Variance", "ArrayAgg", "StringAgg", "JSONBAgg", "BoolAnd",
    "BoolOr", "Window", "RowRange", "ValueRange", "RowNumber", "Rank", "DenseRank", "PercentRank", "CumeDist",
    "NTile", "Lag", "Lead", "FirstValue", "LastValue", "NthValue", "Subquery", "Exists", "OuterRef", "CTE",
    "SearchVector", "SearchQuery", "SearchRank", "SearchHeadline", "Lookup", "register_lookup", "Transform",
    "register_transform", "Range", "RangeField", "IntegerRangeField", "BigIntegerRangeField", "DecimalRangeField",
    "DateRangeField", "DateTimeRangeField", "SearchVectorField", "Signal", "pre_save", "post_save", "pre_delete",
    "post_delete", "Paginator", "CursorPaginator", "Page", "CursorPage",
}  # fmt: skip

#: Names whose object is the same in both packages (pure code shared, never mirrored).
SHARED = {"Q", "DatabaseProjectConfig", "register_database", "Field", "CharField", "ForeignKey", "DoesNotExist", "F", "Count"}
#: Names that are mode-specific implementations (mirrored).
MIRRORED = {"Model", "QuerySet", "transaction", "get_pool", "close_pools", "Paginator"}


def test_public_api_is_pinned() -> None:
    exported = list(matrx_orm.__all__)
    assert len(exported) == len(set(exported)), "duplicate names in matrx_orm.__all__"
    missing = PUBLIC_API - set(exported)
    assert not missing, f"matrx_orm.__all__ lost public names: {sorted(missing)}"
    for name in exported:
        assert hasattr(matrx_orm, name), f"matrx_orm.__all__ names {name!r}, which matrx_orm does not define"


def test_sync_package_exports_the_same_names() -> None:
    assert list(matrx_orm_sync.__all__) == list(matrx_orm.__all__)
    for name in matrx_orm_sync.__all__:
        assert hasattr(matrx_orm_sync, name), f"matrx_orm_sync.__all__ names {name!r}, which it does not define"
    for name in SHARED:
        assert getattr(matrx_orm_sync, name) is getattr(matrx_orm, name), name
    for name in MIRRORED:
        assert getattr(matrx_orm_sync, name) is not getattr(matrx_orm, name), name
        assert getattr(matrx_orm_sync, name).__module__.startswith("matrx_orm_sync"), name
