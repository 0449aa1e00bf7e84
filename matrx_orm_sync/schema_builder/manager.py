# WARNING: generated from matrx_orm/schema_builder/manager.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""``SchemaManager``: introspect a schema once, then generate models from it, without ``await``.

SPEC calls it as ``manager.initialize(); manager.schema.generate_models()``
from any code, async included. So its I/O always runs through the sync
package (``matrx_orm_sync``), which works in scripts, threads and inside a
running event loop (the call blocks that loop while the catalog is read; from
async code that must not block, use ``await run_generate_models(...)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from matrx_orm.core.codegen import CodegenPlan, ModelPlan, generation_scope, plan_models, render_files
from matrx_orm.core.config import resolve_database_name
from matrx_orm.core.exceptions import StateError
from matrx_orm.core.schema_snapshot import DEFAULT_SCHEMA, SchemaSnapshot

__all__ = ["SchemaManager", "Schema"]


class Schema:
    """An introspected schema: its tables, the models planned for them, and ``generate_models()``."""

    def __init__(
        self,
        database_project: str,
        snapshot: SchemaSnapshot,
        plan: CodegenPlan,
        output_dir: str | Path | None = None,
    ) -> None:
        self.database_project = database_project
        self.snapshot = snapshot
        self.plan = plan
        self.output_dir = output_dir

    @property
    def tables(self) -> list[str]:
        """Return the tables in scope (``table``, or ``schema.table`` outside ``public``)."""
        return [m.table.label for m in self.plan.tables]

    @property
    def models(self) -> dict[str, ModelPlan]:
        """Return the planned models (stubs included) by class name."""
        return {m.class_name: m for m in self.plan.models}

    def files(self) -> dict[str, str]:
        """Return the generated files (path relative to the output directory -> source)."""
        return render_files(self.plan)

    def generate_models(self, output_dir: str | Path | None = None) -> list[Path]:
        """Write models.py, models_sync.py and the managers; return the paths of the generated files.

        ``output_dir`` defaults to the manager's, else ``./database/<alias or name>``.
        """
        from matrx_orm_sync.schema_builder.generator import write_plan

        return write_plan(self.plan, output_dir if output_dir is not None else self.output_dir)

    def __repr__(self) -> str:
        return f"<Schema {self.database_project} {', '.join(self.plan.schemas)}: {len(self.plan.tables)} tables>"


class SchemaManager:
    """Read a schema of a database and generate its models: ``initialize()``, then ``schema.generate_models()``.

    ``include_tables`` (allowlist) and ``exclude_tables`` (denylist) are
    mutually exclusive; tables outside the scope that are referenced become
    ``_unfetchable`` stubs.
    """

    def __init__(
        self,
        schema: str | Iterable[str] = DEFAULT_SCHEMA,
        database_project: str | None = None,
        include_tables: Iterable[str] | None = None,
        exclude_tables: Iterable[str] | None = None,
        *,
        output_dir: str | Path | None = None,
    ) -> None:
        self.schemas, self.table_filter = generation_scope(schema, include_tables, exclude_tables)
        self.database_project = database_project
        self.output_dir = output_dir
        self._schema: Schema | None = None

    def initialize(self) -> Schema:
        """Read the schema from the database (blocking, through matrx_orm_sync) and plan its models."""
        from matrx_orm_sync.schema_builder.generator import introspect_database

        name = resolve_database_name(self.database_project)
        snapshot, enums = introspect_database(name, self.schemas)
        plan = plan_models(snapshot, database=name, schemas=self.schemas, table_filter=self.table_filter, enums=enums)
        self._schema = Schema(name, snapshot, plan, self.output_dir)
        return self._schema

    @property
    def schema(self) -> Schema:
        """Return the introspected schema (call ``initialize()`` first)."""
        if self._schema is None:
            raise StateError("SchemaManager.schema: call initialize() first", operation="SchemaManager.schema")
        return self._schema

    def __repr__(self) -> str:
        return f"<SchemaManager {self.database_project or '(default)'} schemas={list(self.schemas)} {self.table_filter!r}>"
