"""Run the README's runnable examples: every ```` ```python run ```` block, section by section, in both modes.

A section's runnable blocks run in order, statement by statement, in one
namespace (top-level ``await`` allowed; for sync they are converted by
``tools/unasync.py`` first, like the package). The README's database name,
``my_project`` (alias ``main``), is registered on a throwaway database whose
``public`` schema is emptied before each section, and a model's table is
created right after the statement that declares it (``model_ddl``), so an
example needs no setup of its own beyond what a reader would have: a
registered database with the tables of the models shown.

To make a block runnable, write its fence as ```` ```python run ```` (GitHub
still highlights it as Python). A snippet that needs context a reader already
has (the quick start's models, a ``user_id``) gets it from a hidden setup block,
an HTML comment GitHub does not render, run in order with the visible blocks::

    <!-- run-setup
    from matrx_orm import Model, CharField
    class User(Model): ...
    -->
"""

from __future__ import annotations

import ast
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from matrx_orm import ConfigurationError, DatabaseProjectConfig, get_database_config, register_database
from matrx_orm.core import registry
from matrx_orm.core.ddl import model_ddl
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.query_log import query_hooks, set_query_log_params, set_slow_query_threshold
from matrx_orm.devdb import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
README_DATABASE = "my_project"

__all__ = ["runnable_sections", "section_statements", "create_new_tables", "readme_db", "README_DATABASE"]

_MARKER = re.compile(r"<!-- section:([\w-]+) -->")
_RUN_FENCE = re.compile(r"^```python run[ \t]*\n(.*?)^```|^<!-- run-setup[ \t]*\n(.*?)^-->", re.S | re.M)


def runnable_sections(text: str | None = None) -> dict[str, list[str]]:
    """Return ``{section: [code, ...]}`` (runnable blocks and hidden setup, in order) for sections with runnable blocks."""
    if text is None:
        text = (ROOT / "README.md").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    start = 0
    for match in _MARKER.finditer(text):
        found = _RUN_FENCE.findall(text, start, match.start())
        if any(fence for fence, _setup in found):  # hidden setup alone does not make a section runnable
            out[match.group(1)] = [fence or setup for fence, setup in found]
        start = match.end()
    return out


def _convert(block: str) -> str:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import unasync
    finally:
        sys.path.pop(0)
    return unasync.convert(block, "README.md").split("\n", 2)[2]  # without the generated-file header


def section_statements(name: str, mode: str) -> list[tuple[Any, str]]:
    """Return ``(code object, source line)`` for every top-level statement of the section's runnable blocks."""
    out: list[tuple[Any, str]] = []
    for index, block in enumerate(runnable_sections()[name]):
        source = _convert(block) if mode == "sync" else block
        tree = ast.parse(source, f"README.md[{name} {index}]")
        for node in tree.body:
            module = ast.Module(body=[node], type_ignores=[])
            code = compile(module, f"README.md[{name} block {index}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            out.append((code, ast.get_source_segment(source, node) or ""))
    return out


def create_new_tables(conn: psycopg.Connection[Any], namespace: dict[str, Any], created: set[int]) -> None:
    """Create the tables of the models declared in ``namespace`` since the last call."""
    metas: list[ModelMeta] = []
    for value in list(namespace.values()):
        meta = value.__dict__.get("_meta") if isinstance(value, type) else None
        if isinstance(meta, ModelMeta) and id(meta) not in created and not meta.abstract and not meta.unfetchable:
            metas.append(meta)
    if not metas:
        return
    # A model may name one declared further down (Post before Tag): its DDL cannot be built
    # (or fails on the missing table) until then, so it waits for the next statement.
    try:
        statements = model_ddl(metas)
    except ConfigurationError:
        return
    try:
        with conn.transaction():
            for statement in statements:
                conn.execute(statement.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1).encode())
    except psycopg.errors.UndefinedTable:
        return
    created.update(id(meta) for meta in metas)


def forget_readme_models() -> None:
    """Unregister the models a section declared (namespace ``readme_<section>``).

    Sections declare their own ``User``/``Post``/``Tag``; left registered, one section's
    models would resolve another's relations and change its derived inverse names.
    """
    registry.forget_models("readme_")


@pytest.fixture(scope="session")
def readme_server_db(db_config: DatabaseProjectConfig) -> Iterator[DatabaseProjectConfig]:
    """A database of the session's server for the README examples (dropped at the end)."""
    name = f"matrx_readme_{os.getpid()}"
    config = create_database(db_config, name)
    try:
        yield config
    finally:
        drop_database(db_config, name)


@pytest.fixture
def readme_db(readme_server_db: DatabaseProjectConfig, registered_db: Any) -> Iterator[psycopg.Connection[Any]]:
    """Register ``my_project`` on the README database (empty ``public`` schema); restore the test registration after."""
    import matrx_orm_sync

    original = get_database_config(README_DATABASE)
    # README blocks may change process-wide logging settings (slow-query threshold,
    # parameter display, the logger's level); later tests must not inherit them.
    logger = logging.getLogger("matrx_orm")
    saved_logging = (query_hooks.slow_ms, query_hooks.show_params, logger.level)
    matrx_orm_sync.close_pool(README_DATABASE)
    with psycopg.connect(readme_server_db.conninfo(), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        register_database(
            DatabaseProjectConfig(
                **{**{k: v for k, v in readme_server_db.__dict__.items() if k not in ("name", "alias")},
                   "name": README_DATABASE, "alias": "main"}
            )
        )
        try:
            yield conn
        finally:
            matrx_orm_sync.close_pool(README_DATABASE)
            forget_readme_models()
            register_database(original)
            set_slow_query_threshold(saved_logging[0])
            set_query_log_params(saved_logging[1])
            logger.setLevel(saved_logging[2])
