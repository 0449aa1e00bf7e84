"""The README's runnable examples (```` ```python run ```` blocks) run as written, section by section.

Async here, through the generated twin in sync (each block converted like
the package). See ``tests/level2/readme_runnable.py`` for the conventions.
"""

from __future__ import annotations

import pytest

from matrx_orm import close_pool
from matrx_orm.core.compat_async import MODE
from tests.level2.readme_runnable import (  # noqa: F401  (readme_db and its session database are fixtures)
    README_DATABASE,
    create_new_tables,
    readme_db,
    readme_server_db,
    runnable_sections,
    section_statements,
)

pytestmark = pytest.mark.anyio


def test_the_readme_has_runnable_examples():
    assert {
        "quickstart", "models", "crud", "querying", "transactions", "relationships", "cache", "manager", "errors", "logging", "streaming"
    } <= set(runnable_sections())


@pytest.mark.parametrize("section", sorted(runnable_sections()))
async def test_readme_section_runs_as_written(section, readme_db):
    await close_pool(README_DATABASE)  # a pool opened earlier points at the test database
    namespace: dict = {"__name__": f"readme_{section.replace('-', '_')}"}
    created: set[int] = set()
    try:
        for code, source in section_statements(section, MODE):
            try:
                result = eval(code, namespace)  # noqa: S307 - our own README
                if result is not None:
                    await result
            except Exception as exc:
                raise AssertionError(f"README section {section!r} failed at:\n{source}\n{exc!r}") from exc
            create_new_tables(readme_db, namespace, created)
    finally:
        await close_pool(README_DATABASE)
