# WARNING: generated from matrx_orm/_introspect.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Read a live schema into a ``SchemaSnapshot`` (tables, columns, keys, indexes, FKs, checks).

The queries and the row assembly are pure (``matrx_orm.core.schema_introspection``);
this module only runs them, in one transaction so the snapshot is consistent.
The schema diff uses it, and so can code generation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import Connection

from matrx_orm_sync._executor import run_statements
from matrx_orm.core.db_errors import DRIVER_ERRORS, map_db_error
from matrx_orm.core.schema_introspection import build_snapshot, introspection_statements
from matrx_orm.core.schema_snapshot import DEFAULT_SCHEMA, SchemaSnapshot

__all__ = ["introspect_schema"]


def introspect_schema(
    database: str | None = None,
    schemas: Iterable[str] = (DEFAULT_SCHEMA,),
    *,
    connection: Connection[Any] | None = None,
) -> SchemaSnapshot:
    """Return a snapshot of ``schemas`` in ``database`` (or on ``connection`` when given).

    ``snapshot.schemas`` and ``snapshot.extensions`` list every user schema and
    installed extension of the database; tables are read from ``schemas`` only.
    """
    statements = introspection_statements(schemas)
    if connection is None:
        results = run_statements(database, statements, operation="introspect", fetch=True)
        return build_snapshot(results)  # type: ignore[arg-type]
    rows: list[Any] = []
    try:
        with connection.transaction():
            for query, params in statements:
                cur = connection.execute(query, params)
                rows.append(cur.fetchall())
    except DRIVER_ERRORS as error:
        raise map_db_error(error, operation="introspect") from error
    return build_snapshot(rows)
