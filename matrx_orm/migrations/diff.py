"""``SchemaDiff`` and ``makemigrations``: compare models with the live schema, write a migration.

The comparison itself is pure (``core.schema_diff``); this module reads the
live schema, picks the models of the database, and writes the file.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from matrx_orm._introspect import introspect_schema
from matrx_orm.core.config import resolve_database_name
from matrx_orm.core.ddl import models_snapshot
from matrx_orm.core.exceptions import ConfigurationError, MigrationError
from matrx_orm.core.migration_files import (
    leaf_names,
    load_migrations,
    next_migration_name,
    render_empty_migration,
    render_migration,
)
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.registry import all_metas
from matrx_orm.core.schema_diff import Operation, diff_schemas, scope_schemas, suggest_migration_name
from matrx_orm.core.schema_snapshot import SchemaSnapshot
from matrx_orm.core.table_filter import TableFilter
from matrx_orm.migrations.db import MigrationDB
from matrx_orm.migrations.runner import MigrationRunner, Progress

__all__ = ["SchemaDiff", "makemigrations", "create_empty", "migrate_and_rebuild", "select_models"]

ModelsArg = Iterable[Any] | ModuleType | None


def _meta_of(item: Any) -> ModelMeta:
    meta = getattr(item, "_meta", item)
    if not isinstance(meta, ModelMeta):
        raise ConfigurationError(f"models= takes model classes or modules of models, got {item!r}")
    return meta


def select_models(database: str, models: ModelsArg = None) -> list[ModelMeta]:
    """Return the metadata of the models a migration of ``database`` covers.

    ``models`` may list model classes or modules; by default every registered
    model whose ``_database`` is ``database`` (or unset, when ``database`` is
    the default one). Abstract and ``_unfetchable`` models are never managed.
    """
    if models is not None:
        items = [models] if isinstance(models, ModuleType) else list(models)
        metas: list[ModelMeta] = []
        for item in items:
            if isinstance(item, ModuleType):
                metas += [
                    v.__dict__["_meta"]
                    for v in vars(item).values()
                    if isinstance(v, type) and isinstance(v.__dict__.get("_meta"), ModelMeta)
                ]
            else:
                metas.append(_meta_of(item))
    else:
        try:
            default = resolve_database_name(None)
        except ConfigurationError:
            default = None
        metas = []
        for meta in all_metas():
            target = meta.database
            if target is not None:
                try:
                    target = resolve_database_name(target)
                except ConfigurationError:
                    continue
            if target == database or (target is None and default == database):
                metas.append(meta)
    seen: set[int] = set()
    out: list[ModelMeta] = []
    for meta in metas:
        if id(meta) in seen or meta.abstract or meta.unfetchable:
            continue
        seen.add(id(meta))
        out.append(meta)
    return out


class SchemaDiff:
    """Compare the models of a database with its live schema and write migrations.

    ``schema`` limits the diff to one schema (default: every schema the models
    use); ``table_filter`` to some tables; ``models`` to some model classes
    or modules (default: every registered model of the database).
    """

    def __init__(
        self,
        db: MigrationDB | str | None = None,
        *,
        schema: str | Iterable[str] | None = None,
        table_filter: TableFilter | None = None,
        models: ModelsArg = None,
    ) -> None:
        self.db = db if isinstance(db, MigrationDB) else MigrationDB(db)
        self.database = self.db.database
        self.schema = schema
        self.table_filter = table_filter
        self.models = models

    def model_snapshot(self) -> SchemaSnapshot:
        """Return the schema the selected models declare.

        Raises MigrationError when no model is selected: diffing nothing against
        a live schema would propose dropping every table (usually the models'
        module was simply not imported).
        """
        metas = select_models(self.database, self.models)
        if not metas:
            raise MigrationError(
                f"no models found for database {self.database!r}: import the modules that declare them "
                "(CLI: --config / --models, or [tool.matrx-orm] in pyproject.toml), or pass models=",
                operation="makemigrations",
            )
        return models_snapshot(metas)

    async def live_snapshot(self, model: SchemaSnapshot | None = None) -> SchemaSnapshot:
        """Return the live schema of the schemas this diff covers."""
        model = model if model is not None else self.model_snapshot()
        return await introspect_schema(self.database, scope_schemas(model, self.schema))

    async def operations(self) -> list[Operation]:
        """Return the ordered operations that make the database match the models."""
        model = self.model_snapshot()
        live = await self.live_snapshot(model)
        return diff_schemas(model, live, schemas=self.schema, table_filter=self.table_filter)

    async def generate_migration_file(self, directory: str | Path, name: str | None = None) -> Path | None:
        """Write a migration file for the current differences; return its path, or None when there are none.

        Refuses while ``directory`` holds migrations not yet applied to the
        database: the new file would repeat their changes.
        """
        folder = Path(directory)
        existing = load_migrations(folder)
        if existing:
            applied = {row.name for row in await MigrationRunner(self.database, folder).applied()}
            unapplied = [f.name for f in existing if f.name not in applied]
            if unapplied:
                raise MigrationError(
                    f"{len(unapplied)} migration(s) in {folder} are not applied to {self.database!r} yet "
                    f"({', '.join(unapplied)}): run migrate first, or the new migration would repeat their changes",
                    operation="makemigrations",
                )
        operations = await self.operations()
        if not operations:
            return None
        slug = name or suggest_migration_name(operations, initial=not existing)
        file_name = next_migration_name(folder, slug)
        description = _describe(operations)
        text = render_migration(description, leaf_names(existing), operations)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{file_name}.py"
        if path.exists():
            raise MigrationError(f"migration file {path} already exists", operation="makemigrations")
        path.write_text(text, encoding="utf-8")
        return path


def _describe(operations: list[Operation]) -> str:
    minor = ("create_extension", "create_schema", "create_index", "add_foreign_key")
    first = next((op for op in operations if op.kind not in minor), operations[0]).description
    summary = first[0].upper() + first[1:]
    if len(operations) > 1:
        summary += f" (and {len(operations) - 1} more operation{'s' if len(operations) > 2 else ''})"
    return summary + "."


async def makemigrations(
    database: str | None,
    migrations_dir: str | Path,
    name: str | None = None,
    include_tables: Iterable[str] | None = None,
    exclude_tables: Iterable[str] | None = None,
    *,
    schema: str | Iterable[str] | None = None,
    models: ModelsArg = None,
) -> Path | None:
    """Write a migration for the differences between the models and ``database``; return its path.

    Returns None when the database already matches the models.
    ``include_tables`` / ``exclude_tables`` (mutually exclusive) scope the diff.
    """
    table_filter = TableFilter.from_options(include_tables, exclude_tables)
    diff = SchemaDiff(MigrationDB(database), schema=schema, table_filter=table_filter, models=models)
    return await diff.generate_migration_file(migrations_dir, name)


async def create_empty(database: str | None, migrations_dir: str | Path, name: str = "custom") -> Path:
    """Write a blank migration (for hand-written SQL) after the current ones; return its path.

    ``database`` is accepted like the other commands take it; no connection is made.
    """
    folder = Path(migrations_dir)
    existing = load_migrations(folder)
    file_name = next_migration_name(folder, name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file_name}.py"
    if path.exists():
        raise MigrationError(f"migration file {path} already exists", operation="create_empty")
    description = name.replace("_", " ").strip().capitalize() + "."
    path.write_text(render_empty_migration(description, leaf_names(existing)), encoding="utf-8")
    return path


def _default_rebuild() -> Callable[..., Any] | None:
    try:
        from matrx_orm.schema_builder.generator import run_generate_models
    except ImportError:
        return None
    return run_generate_models  # type: ignore[no-any-return, unused-ignore]


async def migrate_and_rebuild(
    database: str | None,
    migrations_dir: str | Path,
    output_dir: str | Path | None = None,
    *,
    rebuild: Callable[..., Any] | None = None,
    allow_destructive: bool = False,
    progress: Progress | None = None,
) -> list[str]:
    """Apply pending migrations, then regenerate models from the new schema; return the names applied.

    The rebuild step is ``rebuild(database_project=..., output_dir=...)``: by
    default ``matrx_orm.schema_builder.generator.run_generate_models``. Pass
    your own callable (sync or async) to run something else; when neither
    exists, MigrationError is raised before anything is migrated.
    """
    step = rebuild or _default_rebuild()
    if step is None:
        raise MigrationError(
            "migrate_and_rebuild needs a model generator: matrx_orm.schema_builder.generator.run_generate_models "
            "is not available; pass rebuild=<callable(database_project=..., output_dir=...)>",
            operation="migrate_and_rebuild",
        )
    name = resolve_database_name(database)
    runner = MigrationRunner(name, migrations_dir, progress=progress)
    applied = await runner.migrate(allow_destructive=allow_destructive)
    result = step(database_project=name, output_dir=str(output_dir) if output_dir is not None else None)
    if inspect.isawaitable(result):
        await result
    return applied
