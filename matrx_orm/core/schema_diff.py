"""Compare what the models declare with what the database holds: a pure diff.

``diff_schemas(model_snapshot, live_snapshot)`` returns ordered
:class:`Operation` objects, each with the SQL that applies it (``up``) and the
SQL that undoes it (``down``). Order is chosen so every statement is valid
when it runs: extensions and schemas first, then foreign keys and indexes that
go away, new tables, column changes, new constraints and indexes, new foreign
keys (so tables may reference each other in any order), and table drops last.
Undo runs the ``down`` lists in reverse. Dropping a column or a table loses
data: those operations are flagged ``destructive``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from matrx_orm.core import ddl
from matrx_orm.core.schema_snapshot import (
    DEFAULT_SCHEMA,
    ColumnSnapshot,
    ForeignKeySnapshot,
    SchemaSnapshot,
    TableSnapshot,
)
from matrx_orm.core.table_filter import TableFilter, warn_cross_scope_fk

__all__ = [
    "Operation",
    "diff_schemas",
    "scope_schemas",
    "suggest_migration_name",
    "MIGRATIONS_TABLE",
    "OWNED_INDEX_PREFIXES",
]

#: The bookkeeping table is never part of a diff.
MIGRATIONS_TABLE = "_matrx_migrations"

#: Indexes whose names start like this were created by matrx-orm and may be dropped
#: when no model declares them; other unmodelled indexes are left alone.
OWNED_INDEX_PREFIXES = ("idx_", "uidx_")

# Phases, in the order operations run.
EXTENSIONS, SCHEMAS, DROP_FKS, DROP_CONSTRAINTS, CREATE_TABLES, ADD_COLUMNS, ALTER_COLUMNS, DROP_COLUMNS, \
    ADD_CONSTRAINTS, ADD_FKS, DROP_TABLES = range(11)


@dataclass
class Operation:
    """One schema change with the SQL that applies it and the SQL that reverts it."""

    kind: str
    target: str
    description: str
    up: list[str]
    down: list[str]
    phase: int
    destructive: bool = False
    #: Said in the migration file next to the statements (e.g. "fails on a non-empty table").
    note: str = ""
    #: Said in the down body when ``down`` is empty on purpose.
    down_note: str = ""

    def __str__(self) -> str:
        flag = " [DESTRUCTIVE]" if self.destructive else ""
        return f"{self.description}{flag}"


def scope_schemas(model: SchemaSnapshot, schema: str | Iterable[str] | None) -> set[str]:
    """Return the schemas a diff covers: ``schema`` when given, else every schema the models use."""
    if isinstance(schema, str):
        return {schema}
    if schema is not None:
        return set(schema)
    found = {t.schema for t in model.tables.values()}
    return found or {DEFAULT_SCHEMA}


def _fk_label(table: TableSnapshot, fk: ForeignKeySnapshot) -> str:
    target = fk.ref_table if fk.ref_schema == DEFAULT_SCHEMA else f"{fk.ref_schema}.{fk.ref_table}"
    return f"{table.label}({', '.join(fk.columns)}) -> {target}({', '.join(fk.ref_columns)})"


def _order_by_dependencies(tables: list[TableSnapshot]) -> list[TableSnapshot]:
    """Return ``tables`` so that referenced tables come before the tables referencing them."""
    by_key = {t.key: t for t in tables}
    done: set[tuple[str, str]] = set()
    visiting: set[tuple[str, str]] = set()
    out: list[TableSnapshot] = []

    def visit(table: TableSnapshot) -> None:
        if table.key in done or table.key in visiting:
            return  # a cycle is fine: foreign keys are added after every table exists
        visiting.add(table.key)
        for fk in table.foreign_keys:
            target = by_key.get((fk.ref_schema, fk.ref_table))
            if target is not None and target is not table:
                visit(target)
        visiting.discard(table.key)
        done.add(table.key)
        out.append(table)

    for table in tables:
        visit(table)
    return out


def _live_unique_keys(table: TableSnapshot) -> set[tuple[str, ...]]:
    keys = {u.columns for u in table.uniques}
    keys |= {i.columns for i in table.indexes if i.unique and i.where is None}
    return keys


class _Differ:
    def __init__(self, model: SchemaSnapshot, live: SchemaSnapshot, schemas: set[str], table_filter: TableFilter | None):
        self.model = model
        self.live = live
        self.schemas = schemas
        self.filter = table_filter
        self.ops: list[Operation] = []

    def in_scope(self, schema: str, name: str) -> bool:
        if name == MIGRATIONS_TABLE:
            return False
        if schema not in self.schemas:
            return False
        return self.filter is None or self.filter.allows(schema, name)

    def model_in_scope(self, table: TableSnapshot) -> bool:
        if not self.in_scope(table.schema, table.name):
            return False
        # A junction table follows the model that declares it, unless the filter names it.
        if self.filter is not None and "." in table.model and not self.filter.mentions(table.schema, table.name):
            owner = next((t for t in self.model.tables.values() if t.model == table.model.split(".")[0]), None)
            if owner is not None:
                return self.filter.allows(owner.schema, owner.name)
        return True

    def add(self, *args: object, **kwargs: object) -> None:
        self.ops.append(Operation(*args, **kwargs))  # type: ignore[arg-type]

    # -- top level --------------------------------------------------------
    def run(self) -> list[Operation]:
        model_tables = [t for t in self.model.tables.values() if self.model_in_scope(t)]
        model_keys = {t.key for t in model_tables}
        live_tables = [
            t for t in self.live.tables.values() if self.in_scope(t.schema, t.name) and t.key not in model_keys
        ]
        scope_keys = model_keys | {t.key for t in live_tables}

        for extension in sorted(self.model.extensions - self.live.extensions):
            if any(self._needs_extension(t, extension) for t in model_tables):
                self.add(
                    "create_extension", extension, f"create extension {extension}",
                    [ddl.create_extension_sql(extension)], [], EXTENSIONS,
                    down_note=f'extension "{extension}" is left installed: other objects may use it',
                )
        needed_schemas = {t.schema for t in model_tables if t.schema != DEFAULT_SCHEMA}
        for schema in sorted(needed_schemas - self.live.schemas):
            self.add(
                "create_schema", schema, f"create schema {schema}",
                [ddl.create_schema_sql(schema)], [ddl.drop_schema_if_empty_sql(schema)], SCHEMAS,
            )

        new_tables = [t for t in model_tables if t.key not in self.live.tables]
        for table in _order_by_dependencies(new_tables):
            self.create_table(table, scope_keys)
        for table in model_tables:
            live = self.live.tables.get(table.key)
            if live is not None:
                self.alter_table(table, live, scope_keys)
        for table in reversed(_order_by_dependencies(live_tables)):
            self.drop_table(table)

        # Stable: operations keep their generation order inside a phase.
        return sorted(self.ops, key=lambda op: op.phase)

    def _needs_extension(self, table: TableSnapshot, extension: str) -> bool:
        return any(extension in c.type for c in table.columns.values())

    # -- tables -----------------------------------------------------------
    def create_table(self, table: TableSnapshot, scope_keys: set[tuple[str, str]]) -> None:
        self.add(
            "create_table", table.label, f"create table {table.label}",
            [ddl.create_table_sql(table)], [ddl.drop_table_sql(table)], CREATE_TABLES,
        )
        for index in table.indexes:
            self.add(
                "create_index", table.label, f"create index {index.name} on {table.label}",
                [ddl.create_index_sql(table, index)], [ddl.drop_index_sql(table, index)], ADD_CONSTRAINTS,
            )
        for fk in table.foreign_keys:
            self.add_fk(table, fk, scope_keys)

    def drop_table(self, live: TableSnapshot) -> None:
        for fk in live.foreign_keys:
            self.drop_fk(live, fk)
        restore = [ddl.create_table_sql(_without_serial(live))]
        restore += [ddl.create_index_sql(live, i) for i in live.indexes]
        self.add(
            "drop_table", live.label, f"drop table {live.label}",
            [ddl.drop_table_sql(live)], restore, DROP_TABLES, destructive=True,
            note=f"DESTRUCTIVE: drops table {live.label} and every row in it",
        )

    # -- foreign keys -----------------------------------------------------
    def add_fk(self, table: TableSnapshot, fk: ForeignKeySnapshot, scope_keys: set[tuple[str, str]]) -> None:
        target = (fk.ref_schema, fk.ref_table)
        if target not in scope_keys:
            column = ", ".join(fk.columns)
            shown = fk.ref_table if fk.ref_schema == DEFAULT_SCHEMA else f"{fk.ref_schema}.{fk.ref_table}"
            warn_cross_scope_fk(table.label, column, shown)
        self.add(
            "add_foreign_key", table.label, f"add foreign key {_fk_label(table, fk)}",
            [ddl.add_foreign_key_sql(table, fk)], [ddl.drop_constraint_sql(table, fk.name)], ADD_FKS,
        )

    def drop_fk(self, live: TableSnapshot, fk: ForeignKeySnapshot) -> None:
        self.add(
            "drop_foreign_key", live.label, f"drop foreign key {fk.name} {_fk_label(live, fk)}",
            [ddl.drop_constraint_sql(live, fk.name)], [ddl.add_foreign_key_sql(live, fk)], DROP_FKS,
        )

    # -- existing tables --------------------------------------------------
    def alter_table(self, table: TableSnapshot, live: TableSnapshot, scope_keys: set[tuple[str, str]]) -> None:
        for name, column in table.columns.items():
            current = live.columns.get(name)
            if current is None:
                note = ""
                if not column.nullable and column.default is None and not column.identity and not column.generated:
                    note = "NOT NULL without a default: fails if the table already has rows"
                self.add(
                    "add_column", f"{table.label}.{name}", f"add column {table.label}.{name}",
                    [ddl.add_column_sql(table, column)], [ddl.drop_column_sql(table, name)], ADD_COLUMNS, note=note,
                )
            else:
                self.alter_column(table, column, current)
        for name, current in live.columns.items():
            if name not in table.columns:
                note = f"DESTRUCTIVE: drops column {table.label}.{name} and its data"
                self.add(
                    "drop_column", f"{table.label}.{name}", f"drop column {table.label}.{name}",
                    [ddl.drop_column_sql(table, name)], [ddl.add_column_sql(table, _restorable(current))],
                    DROP_COLUMNS, destructive=True, note=note,
                )

        # primary key
        if table.primary_key != live.primary_key:
            if live.primary_key:
                self.add(
                    "drop_primary_key", table.label, f"drop primary key of {table.label} ({', '.join(live.primary_key)})",
                    [ddl.drop_constraint_sql(live, live.primary_key_name)],
                    [ddl.add_primary_key_sql(live, live.primary_key, live.primary_key_name)], DROP_CONSTRAINTS,
                )
            if table.primary_key:
                self.add(
                    "add_primary_key", table.label, f"add primary key of {table.label} ({', '.join(table.primary_key)})",
                    [ddl.add_primary_key_sql(table, table.primary_key, table.primary_key_name)],
                    [ddl.drop_constraint_sql(table, table.primary_key_name)], ADD_CONSTRAINTS,
                )

        # unique constraints
        live_unique = _live_unique_keys(live)
        model_unique = {u.columns for u in table.uniques}
        for unique in table.uniques:
            if unique.columns not in live_unique:
                self.add(
                    "add_unique", table.label, f"add unique {table.label}({', '.join(unique.columns)})",
                    [ddl.add_unique_sql(table, unique)], [ddl.drop_constraint_sql(table, unique.name)], ADD_CONSTRAINTS,
                )
        for unique in live.uniques:
            if unique.columns not in model_unique:
                self.add(
                    "drop_unique", table.label, f"drop unique {unique.name} {table.label}({', '.join(unique.columns)})",
                    [ddl.drop_constraint_sql(live, unique.name)], [ddl.add_unique_sql(live, unique)], DROP_CONSTRAINTS,
                )

        # indexes
        live_by_name = {i.name: i for i in live.indexes}
        live_keys = {i.key(): i for i in live.indexes}
        matched: set[str] = set()
        for index in table.indexes:
            found = live_by_name.get(index.name) or live_keys.get(index.key())
            if found is None and index.unique and index.where is None and index.columns in {u.columns for u in live.uniques}:
                continue
            if found is not None:
                matched.add(found.name)
                continue
            self.add(
                "create_index", table.label, f"create index {index.name} on {table.label}",
                [ddl.create_index_sql(table, index)], [ddl.drop_index_sql(table, index)], ADD_CONSTRAINTS,
            )
        for index in live.indexes:
            if index.name in matched or not index.name.startswith(OWNED_INDEX_PREFIXES):
                continue
            if index.unique and index.where is None and index.columns in model_unique:
                continue
            self.add(
                "drop_index", table.label, f"drop index {index.name} on {table.label}",
                [ddl.drop_index_sql(live, index)], [ddl.create_index_sql(live, index)], DROP_CONSTRAINTS,
            )

        # foreign keys
        live_fks = {fk.key(): fk for fk in live.foreign_keys}
        model_fks = {fk.key(): fk for fk in table.foreign_keys}
        for key, fk in model_fks.items():
            current_fk = live_fks.get(key)
            if current_fk is not None and _same_actions(fk, current_fk):
                continue
            if current_fk is not None:
                self.drop_fk(live, current_fk)
            self.add_fk(table, fk, scope_keys)
        for key, current_fk in live_fks.items():
            if key not in model_fks:
                self.drop_fk(live, current_fk)

    def switch_generated(self, table: TableSnapshot, column: ColumnSnapshot, live: ColumnSnapshot) -> ColumnSnapshot | None:
        """Handle a column that became generated or stopped being one; return the live column left to compare.

        PostgreSQL turns a generated column into a plain one in place (``DROP EXPRESSION``,
        values kept); the other way has no ALTER: the column is dropped and added back, so
        PostgreSQL computes every value (destructive: the values it held are replaced).
        A change of the expression alone is not detected (the catalog's spelling differs
        from the model's: ``price * qty`` reads back as ``(price * qty)``).
        """
        name = column.name
        label = f"{table.label}.{name}"
        if live.generated and not column.generated:
            self.add(
                "drop_expression", label, f"make column {label} a plain column (drop GENERATED {live.generated})",
                [ddl.drop_expression_sql(table, name)],
                [ddl.drop_column_sql(table, name), ddl.add_column_sql(table, live)], ALTER_COLUMNS,
                note="the computed values are kept as plain values",
            )
            return replace(live, generated=None)
        self.add(
            "generate_column", label, f"make column {label} GENERATED ALWAYS AS ({column.generated})",
            [ddl.drop_column_sql(table, name), ddl.add_column_sql(table, column)],
            [ddl.drop_column_sql(table, name), ddl.add_column_sql(table, _restorable(live))],
            DROP_COLUMNS, destructive=True,
            note=f"DESTRUCTIVE: drops column {label} and adds it back generated: its values are replaced",
        )
        return None

    def alter_column(self, table: TableSnapshot, column: ColumnSnapshot, live: ColumnSnapshot) -> None:
        if bool(column.generated) != bool(live.generated):
            remaining = self.switch_generated(table, column, live)
            if remaining is None:
                return
            live = remaining
        up: list[str] = []
        down: list[str] = []
        changes: list[str] = []
        name = column.name
        model_identity = bool(column.identity)
        live_identity = bool(live.identity)
        if live_identity and not model_identity and live.identity != "s":
            up.append(ddl.set_identity_sql(table, name, False))
            changes.append("drop identity")
        if column.type != live.type:
            up.append(ddl.alter_column_type_sql(table, name, column.type_sql))
            down.insert(0, ddl.alter_column_type_sql(table, name, live.type_sql))
            changes.append(f"type {live.type} -> {column.type}")
        if not model_identity and column.normalized_default != live.normalized_default:
            up.append(ddl.set_default_sql(table, name, column.default))
            down.insert(0, ddl.set_default_sql(table, name, None if live.identity else live.default))
            changes.append(f"default {live.default or 'none'} -> {column.default or 'none'}")
        if column.nullable != live.nullable:
            up.append(ddl.set_nullable_sql(table, name, column.nullable))
            down.insert(0, ddl.set_nullable_sql(table, name, live.nullable))
            changes.append("drop NOT NULL" if column.nullable else "set NOT NULL")
        if model_identity and not live_identity:
            if live.default is not None:
                up.append(ddl.set_default_sql(table, name, None))
                down.insert(0, ddl.set_default_sql(table, name, live.default))
            up.append(ddl.set_identity_sql(table, name, True))
            down.insert(0, ddl.set_identity_sql(table, name, False))
            changes.append("add identity")
        if live_identity and not model_identity and live.identity != "s":
            down.append(ddl.set_identity_sql(table, name, True))
        if not changes:
            return
        note = ""
        if column.type != live.type:
            note = "existing values are converted with a cast: fails if a value does not convert"
        if not column.nullable and live.nullable:
            note = (note + "; " if note else "") + "SET NOT NULL fails if a row holds NULL"
        self.add(
            "alter_column", f"{table.label}.{name}", f"alter column {table.label}.{name}: {', '.join(changes)}",
            up, down, ALTER_COLUMNS, note=note,
        )


def _same_actions(a: ForeignKeySnapshot, b: ForeignKeySnapshot) -> bool:
    return (a.on_delete or "NO ACTION") == (b.on_delete or "NO ACTION") and (a.on_update or "NO ACTION") == (
        b.on_update or "NO ACTION"
    )


def _restorable(column: ColumnSnapshot) -> ColumnSnapshot:
    """Return a dropped column as a ``down()`` can add it back to a table that has rows.

    Its values are gone, so a NOT NULL column without a default comes back nullable
    (adding it NOT NULL would fail), and a serial comes back as an identity column.
    """
    if not column.nullable and column.default is None and not column.identity and not column.generated:
        column = ColumnSnapshot(column.name, column.type_sql, True, None, "")
    return _without_serial_column(column)


def _without_serial_column(column: ColumnSnapshot) -> ColumnSnapshot:
    # A serial's sequence goes with its table: restore it as an identity column.
    if column.identity == "s":
        return ColumnSnapshot(column.name, column.type_sql, column.nullable, None, "d")
    return column


def _without_serial(table: TableSnapshot) -> TableSnapshot:
    copy = TableSnapshot(
        schema=table.schema, name=table.name, primary_key=table.primary_key, primary_key_name=table.primary_key_name,
        uniques=list(table.uniques), checks=list(table.checks),
    )
    for column in table.columns.values():
        copy.add_column(_without_serial_column(column))
    return copy


def diff_schemas(
    model: SchemaSnapshot,
    live: SchemaSnapshot,
    *,
    schemas: str | Iterable[str] | None = None,
    table_filter: TableFilter | None = None,
) -> list[Operation]:
    """Return the ordered operations that turn ``live`` into what ``model`` declares.

    Only tables inside the scope (``schemas`` and ``table_filter``) are
    created, altered or dropped. A new foreign key pointing outside the scope
    emits SPEC's cross-scope ``UserWarning``.
    """
    scope = scope_schemas(model, schemas)
    return _Differ(model, live, scope, table_filter).run()


_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _SLUG.sub("_", text.lower()).strip("_")


def suggest_migration_name(operations: list[Operation], *, initial: bool = False) -> str:
    """Return a short file-name slug describing ``operations`` (``create_post``, ``add_post_views_and_more``)."""
    if initial:
        return "initial"
    if not operations:
        return "empty"
    verbs = {
        "create_table": "create",
        "drop_table": "delete",
        "add_column": "add",
        "drop_column": "remove",
        "alter_column": "alter",
        "create_index": "index",
        "drop_index": "drop_index",
        "add_foreign_key": "fk",
        "drop_foreign_key": "drop_fk",
        "add_unique": "unique",
        "drop_unique": "drop_unique",
        "create_schema": "schema",
        "create_extension": "extension",
    }
    main = [op for op in operations if op.kind not in ("create_extension", "create_schema", "create_index", "add_foreign_key")]
    first = (main or operations)[0]
    name = f"{verbs.get(first.kind, first.kind)}_{_slug(first.target)}"
    if len(main or operations) > 1:
        name += "_and_more"
    return name[:60].rstrip("_")
