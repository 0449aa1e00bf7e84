"""Catalog queries that describe a live schema, and their rows -> ``SchemaSnapshot``.

Pure: the queries are text and the assembly is plain Python, so the I/O
module (``matrx_orm._introspect``) only runs them, and code generation can
reuse the same snapshot. Every query takes one parameter, the list of schema
names (``= ANY(%s)``), except ``schemas`` and ``extensions`` which take none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from matrx_orm.core.schema_snapshot import (
    CheckSnapshot,
    ColumnSnapshot,
    ForeignKeySnapshot,
    IndexSnapshot,
    SchemaSnapshot,
    TableSnapshot,
    UniqueSnapshot,
)

__all__ = ["INTROSPECTION_QUERIES", "introspection_statements", "build_snapshot", "FK_ACTIONS"]

#: ``pg_constraint.confdeltype`` codes.
FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

INTROSPECTION_QUERIES: dict[str, str] = {
    "schemas": """
        SELECT nspname FROM pg_namespace
        WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
        ORDER BY nspname
    """,
    "extensions": "SELECT extname FROM pg_extension ORDER BY extname",
    "tables": """
        SELECT n.nspname, c.relname, coalesce(obj_description(c.oid, 'pg_class'), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%s)
        ORDER BY n.nspname, c.relname
    """,
    "columns": """
        SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               coalesce(col_description(c.oid, a.attnum), '')
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%s)
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY n.nspname, c.relname, a.attnum
    """,
    "constraints": """
        SELECT n.nspname, c.relname, con.conname, con.contype,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                     ORDER BY k.ord),
               fn.nspname, fc.relname,
               ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                     ORDER BY k.ord),
               con.confdeltype, con.confupdtype, con.condeferrable, pg_get_constraintdef(con.oid)
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class fc ON fc.oid = con.confrelid
        LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
        WHERE n.nspname = ANY(%s) AND con.contype IN ('p', 'u', 'f', 'c')
        ORDER BY n.nspname, c.relname, con.conname
    """,
    # Indexes that back a PRIMARY KEY / UNIQUE / EXCLUDE constraint are part of
    # the constraint and are not reported here.
    "indexes": """
        SELECT n.nspname, t.relname, i.relname, ix.indisunique, am.amname,
               ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true)
                     FROM generate_series(1, ix.indnkeyatts) AS k ORDER BY k),
               pg_get_expr(ix.indpred, ix.indrelid), pg_get_indexdef(ix.indexrelid)
        FROM pg_index ix
        JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        JOIN pg_am am ON am.oid = i.relam
        WHERE n.nspname = ANY(%s) AND t.relkind IN ('r', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                          WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid
                            AND con.contype IN ('p', 'u', 'x'))
        ORDER BY n.nspname, t.relname, i.relname
    """,
}


def introspection_statements(schemas: Iterable[str]) -> list[tuple[str, list[Any]]]:
    """Return ``(query, params)`` for every introspection query, in ``INTROSPECTION_QUERIES`` order."""
    names = sorted(set(schemas))
    return [(query, [] if key in ("schemas", "extensions") else [names]) for key, query in INTROSPECTION_QUERIES.items()]


def _unquote(name: str) -> str:
    if len(name) >= 2 and name.startswith('"') and name.endswith('"') and '"' not in name[1:-1].replace('""', ""):
        return name[1:-1].replace('""', '"')
    return name


def build_snapshot(results: Mapping[str, Sequence[Sequence[Any]]] | Sequence[Sequence[Sequence[Any]]]) -> SchemaSnapshot:
    """Return the snapshot described by the rows of every introspection query.

    ``results`` maps query keys to rows, or is a list of row lists in
    ``INTROSPECTION_QUERIES`` order (what running ``introspection_statements`` gives).
    """
    if not isinstance(results, Mapping):
        results = dict(zip(INTROSPECTION_QUERIES, results))
    snapshot = SchemaSnapshot()
    snapshot.schemas = {row[0] for row in results["schemas"]}
    snapshot.extensions = {row[0] for row in results["extensions"]}
    for schema, name, comment in results["tables"]:
        snapshot.add_table(TableSnapshot(schema=schema, name=name, comment=comment or ""))
    for schema, name, column, type_text, notnull, default, identity, generated, comment in results["columns"]:
        table = snapshot.table(schema, name)
        if table is None:
            continue
        snap = ColumnSnapshot(
            name=column,
            type=type_text,
            nullable=not notnull,
            default=None if generated else default,
            identity=identity or "",
            comment=comment or "",
        )
        if generated:
            snap.generated = default
        table.add_column(snap)
    for row in results["constraints"]:
        schema, name, conname, contype, cols, ref_schema, ref_table, ref_cols, deltype, updtype, deferrable, definition = row
        table = snapshot.table(schema, name)
        if table is None:
            continue
        columns = tuple(cols or ())
        if contype == "p":
            table.primary_key = columns
            table.primary_key_name = conname
        elif contype == "u":
            table.uniques.append(UniqueSnapshot(conname, columns))
        elif contype == "f":
            table.foreign_keys.append(
                ForeignKeySnapshot(
                    name=conname,
                    columns=columns,
                    ref_schema=ref_schema,
                    ref_table=ref_table,
                    ref_columns=tuple(ref_cols or ()),
                    on_delete=FK_ACTIONS.get(deltype, "NO ACTION"),
                    on_update=FK_ACTIONS.get(updtype, "NO ACTION"),
                    deferrable=bool(deferrable),
                )
            )
        elif contype == "c":
            table.checks.append(CheckSnapshot(conname, definition))
    for schema, name, index_name, unique, method, columns, predicate, definition in results["indexes"]:
        table = snapshot.table(schema, name)
        if table is None:
            continue
        table.indexes.append(
            IndexSnapshot(
                name=index_name,
                columns=tuple(_unquote(c) for c in columns or ()),
                unique=bool(unique),
                method=method,
                where=predicate,
                definition=definition,
            )
        )
    return snapshot
