"""DDL from model metadata: models -> schema snapshot -> SQL text.

Models are first described as a :class:`SchemaSnapshot` (the same shape the
introspection module reads from a live database), so the schema diff compares
like with like; the ``*_sql`` functions then render snapshot objects as
PostgreSQL DDL. Every identifier is quoted; defaults are SQL expressions
(``db_default``) or literals rendered from simple Python defaults.

DDL statements are sent without parameters, so identifiers are quoted with
:func:`ddl_ident` (``%`` is *not* doubled, unlike ``quote_ident``).
"""

from __future__ import annotations

import decimal
import enum
import hashlib
import json
from collections.abc import Container, Iterable
from typing import Any

from psycopg import sql

from matrx_orm.core.exceptions import ConfigurationError, FieldError
from matrx_orm.core.fields import (
    NOT_PROVIDED,
    ArrayField,
    AutoField,
    DateTimeField,
    Field,
    ForeignKey,
    JSONField,
    ManyToManyField,
    UUIDField,
)
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.schema_snapshot import (
    DEFAULT_SCHEMA,
    ColumnSnapshot,
    ForeignKeySnapshot,
    IndexSnapshot,
    SchemaSnapshot,
    TableSnapshot,
    UniqueSnapshot,
)

__all__ = [
    "MAX_IDENTIFIER",
    "ddl_ident",
    "table_ident",
    "sql_string_literal",
    "constraint_name",
    "field_default_sql",
    "column_from_field",
    "table_from_model",
    "junction_tables",
    "models_snapshot",
    "column_sql",
    "create_table_sql",
    "drop_table_sql",
    "create_schema_sql",
    "drop_schema_if_empty_sql",
    "create_extension_sql",
    "add_column_sql",
    "drop_column_sql",
    "alter_column_type_sql",
    "set_nullable_sql",
    "set_default_sql",
    "set_identity_sql",
    "add_unique_sql",
    "drop_constraint_sql",
    "add_primary_key_sql",
    "create_index_sql",
    "drop_index_sql",
    "add_foreign_key_sql",
    "model_ddl",
]

#: PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1).
MAX_IDENTIFIER = 63


def ddl_ident(*parts: str) -> str:
    """Return a quoted (dotted) identifier for a statement sent without parameters."""
    return sql.Identifier(*parts).as_string()


def table_ident(schema: str, name: str) -> str:
    """Return ``"table"`` in the default schema, ``"schema"."table"`` elsewhere."""
    return ddl_ident(name) if schema == DEFAULT_SCHEMA else ddl_ident(schema, name)


def _columns(columns: Iterable[str], known: Container[str] = ()) -> str:
    # Expressions (``lower(email)``, ``created_at DESC``) are written as given; names are
    # quoted, and a column of the table always counts as a name, whatever it holds ("my col").
    return ", ".join(ddl_ident(c) if c in known or not ("(" in c or " " in c) else c for c in columns)


def _names(columns: Iterable[str]) -> str:
    # Constraint columns are always plain names (never expressions): always
    # quoted, whatever characters they hold (spaces, quotes, ``;``...).
    return ", ".join(ddl_ident(c) for c in columns)


def sql_string_literal(text: str) -> str:
    """Return ``text`` as a standard SQL string literal (``'it''s'``)."""
    if "\x00" in text:
        raise ConfigurationError("a SQL default cannot contain a NUL character")
    return "'" + text.replace("'", "''") + "'"


def constraint_name(table: str, columns: Iterable[str], suffix: str, prefix: str = "") -> str:
    """Return a deterministic constraint/index name, shortened with a hash past 63 bytes.

    Follows PostgreSQL's own pattern (``post_author_id_fkey``, ``user_email_key``)
    so names read naturally next to constraints PostgreSQL named itself.
    """
    cols = "_".join(c.replace(" ", "") for c in columns)
    parts = [p for p in (prefix, table, cols, suffix) if p]
    name = "_".join(parts)
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    keep = MAX_IDENTIFIER - len(digest) - len(suffix) - 2
    return f"{name.encode()[:keep].decode(errors='ignore')}_{digest}_{suffix}" if suffix else f"{name[:keep]}_{digest}"


# ---------------------------------------------------------------- defaults
def _jsonb_sorted(value: Any) -> Any:
    # jsonb prints object keys shortest first, then bytewise: mirror it so a
    # rendered default compares equal with what PostgreSQL stores.
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(str(k).encode()), str(k).encode()))
        return {str(k): _jsonb_sorted(value[k]) for k in keys}
    if isinstance(value, (list, tuple)):
        return [_jsonb_sorted(v) for v in value]
    return value


def _array_literal(items: list[Any]) -> str | None:
    parts: list[str] = []
    for item in items:
        if isinstance(item, bool):
            parts.append("t" if item else "f")
        elif isinstance(item, (int, decimal.Decimal)):
            parts.append(str(item))
        elif isinstance(item, str) and item and item.replace("_", "").replace("-", "").isalnum() and item.upper() != "NULL":
            parts.append(item)
        else:
            return None  # anything needing array quoting is left to the Python default
    return sql_string_literal("{" + ",".join(parts) + "}")


def field_default_sql(field: Field) -> str | None:
    """Return the column's SQL DEFAULT expression, or None.

    ``db_default`` wins; ``auto_now``/``auto_now_add`` give ``now()``; a UUID
    primary key without a default gives ``gen_random_uuid()``; simple literal
    Python defaults (bool, number, string, enum member, JSON, flat arrays) are
    rendered as literals. Callables stay Python-side only.
    """
    if field.db_default is not None:
        return field.db_default
    if isinstance(field, AutoField):
        return None
    if isinstance(field, DateTimeField) and (field.auto_now or field.auto_now_add):
        return "now()"
    if isinstance(field, UUIDField) and getattr(field, "_implicit_default", False):
        return "gen_random_uuid()"
    default = field.default
    if default is NOT_PROVIDED or default is None or callable(default):
        return None
    if isinstance(default, enum.Enum):
        default = default.value
    if isinstance(field, JSONField):
        return sql_string_literal(json.dumps(_jsonb_sorted(default), ensure_ascii=False)) + "::jsonb"
    if isinstance(field, ArrayField):
        return _array_literal(list(default)) if isinstance(default, (list, tuple)) else None
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, (int, float, decimal.Decimal)):
        return str(default)
    if isinstance(default, str):
        return sql_string_literal(default)
    return None


# ---------------------------------------------------------------- models -> snapshot
def _schema_of(meta: ModelMeta) -> str:
    return meta.db_schema or DEFAULT_SCHEMA


def _column_type(field: Field) -> str:
    if isinstance(field, AutoField):
        return field.base_db_type
    return field.db_type


def column_from_field(field: Field) -> ColumnSnapshot:
    """Return the column a field declares."""
    return ColumnSnapshot(
        name=field.column,
        type=_column_type(field),
        nullable=bool(field.null) and not field.primary_key,
        default=field_default_sql(field),
        identity="d" if isinstance(field, AutoField) else "",
        comment=field.help_text,
        generated=field.db_generated,
    )


def _column_for(meta: ModelMeta, name: str, where: str) -> str:
    try:
        return meta.field(name).column
    except FieldError:
        if "(" in name or " " in name:
            return name  # an expression: lower(email), created_at DESC
        raise ConfigurationError(
            f"{meta.name}.{where} names {name!r}, which is not a field of {meta.name}", model=meta.name
        ) from None


def _model_indexes(meta: ModelMeta) -> list[IndexSnapshot]:
    table = meta.table_name
    out: list[IndexSnapshot] = []
    for field in meta.fields.values():
        if field.index and not field.unique and not (field.primary_key and len(meta.pk_fields) == 1):
            out.append(IndexSnapshot(constraint_name(table, [field.column], "", prefix="idx"), (field.column,)))
    for entry in meta.indexes:
        unique = False
        method = "btree"
        where = None
        name = None
        if isinstance(entry, str):
            names: list[str] = [entry]
        elif isinstance(entry, dict):
            raw = entry.get("fields") or entry.get("columns")
            if not raw:
                raise ConfigurationError(f"{meta.name}._indexes entry {entry!r} needs 'fields'", model=meta.name)
            names = [raw] if isinstance(raw, str) else list(raw)
            unique = bool(entry.get("unique", False))
            method = str(entry.get("method") or entry.get("using") or "btree").lower()
            where = entry.get("where")
            name = entry.get("name")
        elif isinstance(entry, (list, tuple)):
            names = list(entry)
        else:
            raise ConfigurationError(
                f"{meta.name}._indexes entry {entry!r} must be a field name, a tuple of names or a dict",
                model=meta.name,
            )
        columns = tuple(_column_for(meta, n, "_indexes") for n in names)
        prefix = "uidx" if unique else "idx"
        out.append(
            IndexSnapshot(name or constraint_name(table, columns, "", prefix=prefix), columns, unique, method, where)
        )
    return out


def table_from_model(meta: ModelMeta) -> TableSnapshot:
    """Return the table a model declares (columns, keys, uniques, indexes, FKs)."""
    schema = _schema_of(meta)
    table = TableSnapshot(schema=schema, name=meta.table_name, model=meta.name)
    for field in meta.fields.values():
        table.add_column(column_from_field(field))
    table.primary_key = tuple(f.column for f in meta.pk_fields)
    table.primary_key_name = constraint_name(meta.table_name, [], "pkey") if table.primary_key else ""
    seen_unique: set[tuple[str, ...]] = set()
    for field in meta.fields.values():
        if field.unique and not (field.primary_key and len(meta.pk_fields) == 1):
            cols: tuple[str, ...] = (field.column,)
            if cols not in seen_unique:
                seen_unique.add(cols)
                table.uniques.append(UniqueSnapshot(constraint_name(meta.table_name, cols, "key"), cols))
    for group in meta.unique_together:
        cols = tuple(_column_for(meta, n, "_unique_together") for n in group)
        if cols not in seen_unique and cols != table.primary_key:
            seen_unique.add(cols)
            table.uniques.append(UniqueSnapshot(constraint_name(meta.table_name, cols, "key"), cols))
    table.indexes = _model_indexes(meta)
    for field in meta.fields.values():
        if isinstance(field, ForeignKey) and field.db_constraint:
            target = field.target_meta()
            target_field = field.target_field()
            table.foreign_keys.append(
                ForeignKeySnapshot(
                    name=constraint_name(meta.table_name, [field.column], "fkey"),
                    columns=(field.column,),
                    ref_schema=_schema_of(target),
                    ref_table=target.table_name,
                    ref_columns=(target_field.column,),
                    on_delete=field.on_delete,
                    on_update=getattr(field, "on_update", "NO ACTION"),
                )
            )
    return table


def junction_tables(meta: ModelMeta) -> list[TableSnapshot]:
    """Return the junction tables of a model's declarative ``ManyToManyField``s."""
    out: list[TableSnapshot] = []
    for field in meta.m2m_fields.values():
        out.append(_junction_table(meta, field))
    return out


def _junction_table(meta: ModelMeta, field: ManyToManyField) -> TableSnapshot:
    config = field.junction_config()
    target = field.target_meta()
    source_pk = meta.require_pk("a many-to-many junction table")
    target_pk = target.require_pk("a many-to-many junction table")
    if len(source_pk) != 1 or len(target_pk) != 1:
        raise ConfigurationError(
            f"{meta.name}.{field.name}: a declarative many-to-many needs single-column primary keys on both sides",
            model=meta.name,
            field=field.name,
        )
    name = config["junction_table"]
    schema = config.get("junction_schema") or DEFAULT_SCHEMA
    source_col, target_col = config["source_column"], config["target_column"]
    table = TableSnapshot(schema=schema, name=name, model=f"{meta.name}.{field.name}")
    table.add_column(ColumnSnapshot(source_col, _column_type(source_pk[0]), nullable=False))
    table.add_column(ColumnSnapshot(target_col, _column_type(target_pk[0]), nullable=False))
    table.primary_key = (source_col, target_col)
    table.primary_key_name = constraint_name(name, [], "pkey")
    table.indexes.append(IndexSnapshot(constraint_name(name, [target_col], "", prefix="idx"), (target_col,)))
    table.foreign_keys.append(
        ForeignKeySnapshot(
            constraint_name(name, [source_col], "fkey"), (source_col,), _schema_of(meta), meta.table_name,
            (source_pk[0].column,), "CASCADE",
        )
    )
    table.foreign_keys.append(
        ForeignKeySnapshot(
            constraint_name(name, [target_col], "fkey"), (target_col,), _schema_of(target), target.table_name,
            (target_pk[0].column,), "CASCADE",
        )
    )
    return table


def _extensions(meta: ModelMeta) -> set[str]:
    out: set[str] = set()
    for field in meta.fields.values():
        for candidate in (field, getattr(field, "item_field", None)):
            extension = getattr(candidate, "extension", None)
            if extension:
                out.add(extension)
    return out


def models_snapshot(metas: Iterable[ModelMeta]) -> SchemaSnapshot:
    """Return the schema the given models declare (tables, junction tables, schemas, extensions).

    A junction table that is also declared as a model keeps the model's
    definition; one declared from both sides of a relation appears once.
    """
    snapshot = SchemaSnapshot()
    metas = [m for m in metas if not m.abstract]
    for meta in metas:
        snapshot.add_table(table_from_model(meta))
        snapshot.schemas.add(_schema_of(meta))
        snapshot.extensions |= _extensions(meta)
    for meta in metas:
        for junction in junction_tables(meta):
            if junction.key not in snapshot.tables:
                snapshot.add_table(junction)
                snapshot.schemas.add(junction.schema)
    snapshot.schemas.discard(DEFAULT_SCHEMA)
    return snapshot


# ---------------------------------------------------------------- snapshot -> SQL
def column_sql(column: ColumnSnapshot) -> str:
    """Return a column definition (``"name" TYPE [identity] [NOT NULL] [DEFAULT x]``)."""
    parts = [ddl_ident(column.name), column.type_sql]
    if column.identity in ("d", "s"):
        parts.append("GENERATED BY DEFAULT AS IDENTITY")
    elif column.identity == "a":
        parts.append("GENERATED ALWAYS AS IDENTITY")
    if column.generated:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) STORED")
    if not column.nullable:
        parts.append("NOT NULL")
    if column.default is not None and not column.identity and not column.generated:
        parts.append(f"DEFAULT {column.default}")
    return " ".join(parts)


def create_table_sql(table: TableSnapshot) -> str:
    """Return ``CREATE TABLE`` with columns, primary key and unique constraints (FKs and indexes apart)."""
    lines = [column_sql(c) for c in table.columns.values()]
    if table.primary_key:
        name = table.primary_key_name or constraint_name(table.name, [], "pkey")
        lines.append(f"CONSTRAINT {ddl_ident(name)} PRIMARY KEY ({_names(table.primary_key)})")
    for unique in table.uniques:
        lines.append(f"CONSTRAINT {ddl_ident(unique.name)} UNIQUE ({_names(unique.columns)})")
    for check in table.checks:
        lines.append(f"CONSTRAINT {ddl_ident(check.name)} {check.expression}")
    body = ",\n    ".join(lines)
    return f"CREATE TABLE {table_ident(table.schema, table.name)} (\n    {body}\n)"


def drop_table_sql(table: TableSnapshot) -> str:
    """Return ``DROP TABLE IF EXISTS``."""
    return f"DROP TABLE IF EXISTS {table_ident(table.schema, table.name)}"


def create_schema_sql(schema: str) -> str:
    """Return ``CREATE SCHEMA IF NOT EXISTS``."""
    return f"CREATE SCHEMA IF NOT EXISTS {ddl_ident(schema)}"


def drop_schema_if_empty_sql(schema: str) -> str:
    """Return a statement dropping ``schema`` only when nothing is left in it."""
    literal = sql_string_literal(schema)
    return (
        "DO $matrx$ BEGIN\n"
        f"    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {literal})\n"
        f"       AND NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = {literal})\n"
        f"       AND NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = {literal}) THEN\n"
        f"        DROP SCHEMA IF EXISTS {ddl_ident(schema)};\n"
        "    END IF;\n"
        "END $matrx$"
    )


def create_extension_sql(extension: str) -> str:
    """Return ``CREATE EXTENSION IF NOT EXISTS``."""
    return f"CREATE EXTENSION IF NOT EXISTS {ddl_ident(extension)}"


def add_column_sql(table: TableSnapshot, column: ColumnSnapshot) -> str:
    """Return ``ALTER TABLE ... ADD COLUMN``."""
    return f"ALTER TABLE {table_ident(table.schema, table.name)} ADD COLUMN {column_sql(column)}"


def drop_column_sql(table: TableSnapshot, column: str) -> str:
    """Return ``ALTER TABLE ... DROP COLUMN``."""
    return f"ALTER TABLE {table_ident(table.schema, table.name)} DROP COLUMN IF EXISTS {ddl_ident(column)}"


def drop_expression_sql(table: TableSnapshot, column: str) -> str:
    """Return ``ALTER COLUMN ... DROP EXPRESSION``: a generated column becomes a plain one, values kept."""
    return f"ALTER TABLE {table_ident(table.schema, table.name)} ALTER COLUMN {ddl_ident(column)} DROP EXPRESSION"


def alter_column_type_sql(table: TableSnapshot, column: str, type_sql: str) -> str:
    """Return ``ALTER COLUMN ... TYPE ... USING col::type`` (the cast converts existing rows)."""
    return (
        f"ALTER TABLE {table_ident(table.schema, table.name)} ALTER COLUMN {ddl_ident(column)} "
        f"TYPE {type_sql} USING {ddl_ident(column)}::{type_sql}"
    )


def set_nullable_sql(table: TableSnapshot, column: str, nullable: bool) -> str:
    """Return ``ALTER COLUMN ... SET/DROP NOT NULL``."""
    action = "DROP NOT NULL" if nullable else "SET NOT NULL"
    return f"ALTER TABLE {table_ident(table.schema, table.name)} ALTER COLUMN {ddl_ident(column)} {action}"


def set_default_sql(table: TableSnapshot, column: str, default: str | None) -> str:
    """Return ``ALTER COLUMN ... SET DEFAULT x`` (or ``DROP DEFAULT`` for None)."""
    action = "DROP DEFAULT" if default is None else f"SET DEFAULT {default}"
    return f"ALTER TABLE {table_ident(table.schema, table.name)} ALTER COLUMN {ddl_ident(column)} {action}"


def set_identity_sql(table: TableSnapshot, column: str, identity: bool) -> str:
    """Return ``ALTER COLUMN ... ADD GENERATED BY DEFAULT AS IDENTITY`` (or ``DROP IDENTITY``)."""
    action = "ADD GENERATED BY DEFAULT AS IDENTITY" if identity else "DROP IDENTITY IF EXISTS"
    return f"ALTER TABLE {table_ident(table.schema, table.name)} ALTER COLUMN {ddl_ident(column)} {action}"


def add_unique_sql(table: TableSnapshot, unique: UniqueSnapshot) -> str:
    """Return ``ADD CONSTRAINT ... UNIQUE``."""
    return (
        f"ALTER TABLE {table_ident(table.schema, table.name)} "
        f"ADD CONSTRAINT {ddl_ident(unique.name)} UNIQUE ({_names(unique.columns)})"
    )


def add_primary_key_sql(table: TableSnapshot, columns: tuple[str, ...], name: str) -> str:
    """Return ``ADD CONSTRAINT ... PRIMARY KEY``."""
    return (
        f"ALTER TABLE {table_ident(table.schema, table.name)} "
        f"ADD CONSTRAINT {ddl_ident(name)} PRIMARY KEY ({_names(columns)})"
    )


def drop_constraint_sql(table: TableSnapshot, name: str) -> str:
    """Return ``DROP CONSTRAINT IF EXISTS``."""
    return f"ALTER TABLE {table_ident(table.schema, table.name)} DROP CONSTRAINT IF EXISTS {ddl_ident(name)}"


def create_index_sql(table: TableSnapshot, index: IndexSnapshot) -> str:
    """Return ``CREATE [UNIQUE] INDEX`` (the database's own definition when it has one)."""
    if index.definition:
        return index.definition
    unique = "UNIQUE " if index.unique else ""
    using = f" USING {index.method}" if index.method and index.method.lower() != "btree" else ""
    where = f" WHERE {index.where}" if index.where else ""
    return (
        f"CREATE {unique}INDEX IF NOT EXISTS {ddl_ident(index.name)} ON {table_ident(table.schema, table.name)}"
        f"{using} ({_columns(index.columns, table.columns)}){where}"
    )


def drop_index_sql(table: TableSnapshot, index: IndexSnapshot) -> str:
    """Return ``DROP INDEX IF EXISTS`` (schema-qualified: indexes live in their table's schema)."""
    return f"DROP INDEX IF EXISTS {table_ident(table.schema, index.name)}"


def add_foreign_key_sql(table: TableSnapshot, fk: ForeignKeySnapshot) -> str:
    """Return ``ADD CONSTRAINT ... FOREIGN KEY ... REFERENCES ... ON DELETE ...``."""
    actions = ""
    if fk.on_delete and fk.on_delete != "NO ACTION":
        actions += f" ON DELETE {fk.on_delete}"
    if fk.on_update and fk.on_update != "NO ACTION":
        actions += f" ON UPDATE {fk.on_update}"
    if fk.deferrable:
        actions += " DEFERRABLE INITIALLY DEFERRED"
    return (
        f"ALTER TABLE {table_ident(table.schema, table.name)} ADD CONSTRAINT {ddl_ident(fk.name)} "
        f"FOREIGN KEY ({_names(fk.columns)}) REFERENCES {table_ident(fk.ref_schema, fk.ref_table)} "
        f"({_names(fk.ref_columns)}){actions}"
    )


def model_ddl(metas: Iterable[ModelMeta]) -> list[str]:
    """Return every statement creating the given models' schema from nothing, in a valid order."""
    snapshot = models_snapshot(metas)
    out = [create_extension_sql(e) for e in sorted(snapshot.extensions)]
    out += [create_schema_sql(s) for s in sorted(snapshot.schemas)]
    tables = list(snapshot.tables.values())
    out += [create_table_sql(t) for t in tables]
    out += [create_index_sql(t, i) for t in tables for i in t.indexes]
    out += [add_foreign_key_sql(t, fk) for t in tables for fk in t.foreign_keys]
    return out
