"""Migrations: model-first (``makemigrations``), SQL-first (hand-written files) or both.

``from matrx_orm.migrations import MigrationDB`` gives the ``db`` object
migration files receive; the functions are also exported from ``matrx_orm``.
"""

from __future__ import annotations

from matrx_orm._introspect import introspect_schema
from matrx_orm.core.migration_plan import AppliedMigration, MigrationState
from matrx_orm.core.schema_diff import Operation
from matrx_orm.core.schema_snapshot import SchemaSnapshot
from matrx_orm.core.table_filter import TableFilter
from matrx_orm.migrations.db import MigrationDB, RecordingDB
from matrx_orm.migrations.diff import SchemaDiff, create_empty, makemigrations, migrate_and_rebuild, select_models
from matrx_orm.migrations.runner import (
    MigrationRunner,
    Progress,
    migrate,
    migration_sql,
    migration_status,
    rollback,
)

__all__ = [
    "MigrationDB",
    "RecordingDB",
    "MigrationRunner",
    "SchemaDiff",
    "TableFilter",
    "Operation",
    "SchemaSnapshot",
    "MigrationState",
    "AppliedMigration",
    "Progress",
    "introspect_schema",
    "select_models",
    "makemigrations",
    "migrate",
    "rollback",
    "migration_status",
    "migration_sql",
    "create_empty",
    "migrate_and_rebuild",
]
