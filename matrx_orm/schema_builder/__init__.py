"""Schema builder: generate typed models and managers from an existing database.

``await run_generate_models(database_project=..., output_dir=...)`` (plain call
in ``matrx_orm_sync``), or ``SchemaManager(...).initialize()`` then
``manager.schema.generate_models()`` (no ``await`` in either package).
"""

from __future__ import annotations

from matrx_orm.schema_builder.generator import introspect_database, plan_database, run_generate_models
from matrx_orm.schema_builder.manager import Schema, SchemaManager

__all__ = ["run_generate_models", "plan_database", "introspect_database", "SchemaManager", "Schema"]
