# WARNING: generated from matrx_orm/schema_builder/generator.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Generate models and managers from a live database: read the catalog, plan, write the files.

Planning and rendering are pure (``matrx_orm.core.codegen``); this module only
reads the schema (the introspection queries and the enum labels, in one
transaction, so the snapshot is consistent) and writes the result.
``migrate_and_rebuild`` calls ``run_generate_models`` after migrating.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from matrx_orm_sync._executor import run_statements
from matrx_orm.core.codegen import (
    ENUMS_QUERY,
    CodegenPlan,
    default_output_dir,
    enum_labels,
    generation_scope,
    plan_models,
    render_files,
    write_files,
)
from matrx_orm.core.config import get_database_config, resolve_database_name
from matrx_orm.core.schema_introspection import build_snapshot, introspection_statements
from matrx_orm.core.schema_snapshot import DEFAULT_SCHEMA, SchemaSnapshot

__all__ = ["introspect_database", "plan_database", "run_generate_models", "write_plan"]


def introspect_database(
    database_project: str | None, schemas: Iterable[str] = (DEFAULT_SCHEMA,)
) -> tuple[SchemaSnapshot, dict[str, tuple[str, ...]]]:
    """Return the snapshot of ``schemas`` and the labels of every enum type, read in one transaction."""
    statements = introspection_statements(schemas) + [(ENUMS_QUERY, [])]
    results = run_statements(database_project, statements, operation="introspect", fetch=True)
    rows = [list(r) for r in results]  # type: ignore[arg-type]
    return build_snapshot(rows[:-1]), enum_labels(rows[-1])


def plan_database(
    database_project: str | None = None,
    *,
    schemas: str | Iterable[str] | None = None,
    include_tables: Iterable[str] | None = None,
    exclude_tables: Iterable[str] | None = None,
) -> CodegenPlan:
    """Return what code generation would write for ``database_project`` (nothing is written)."""
    name = resolve_database_name(database_project)
    scope, table_filter = generation_scope(schemas, include_tables, exclude_tables)
    snapshot, enums = introspect_database(name, scope)
    return plan_models(snapshot, database=name, schemas=scope, table_filter=table_filter, enums=enums)


def run_generate_models(
    database_project: str | None = None,
    output_dir: str | Path | None = None,
    *,
    schemas: str | Iterable[str] | None = None,
    include_tables: Iterable[str] | None = None,
    exclude_tables: Iterable[str] | None = None,
) -> list[Path]:
    """Introspect the database and write ``models.py``, ``models_sync.py`` and one manager per table.

    ``schemas`` defaults to ``public``; ``include_tables`` / ``exclude_tables``
    (mutually exclusive) narrow the tables. ``output_dir`` defaults to
    ``./database/<alias or name>``; it becomes a Python package. Returns the
    paths of every generated file. Running it again on an unchanged database
    rewrites nothing.
    """
    plan = plan_database(
        database_project, schemas=schemas, include_tables=include_tables, exclude_tables=exclude_tables
    )
    return write_plan(plan, output_dir)


def write_plan(plan: CodegenPlan, output_dir: str | Path | None = None, files: Mapping[str, str] | None = None) -> list[Path]:
    """Write a plan's files under ``output_dir`` (default ``./database/<alias or name>``); return their paths."""
    if output_dir is None:
        config = get_database_config(plan.database)
        output_dir = default_output_dir(plan.database, config.alias)
    rendered = dict(files) if files is not None else render_files(plan)
    write_files(output_dir, rendered)
    root = Path(output_dir)
    return [root / relative for relative in rendered]
