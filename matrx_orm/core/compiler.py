"""The SQL compiler: query state in, ``(sql, params)`` out. Pure, never sees a connection.

Identifiers are always quoted (``psycopg.sql.Identifier``, via ``quote_ident``)
and values are always bound parameters. Compiled SQL text is cached per query
*shape* (model, fields, lookups, ordering, limit present...), so a repeated
query does no compiling and its text is stable for server-side prepared
statements.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from typing import Any

from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.naming import quote_ident
from matrx_orm.core.query_state import Condition, QueryState, WhereNode
from matrx_orm.core.transforms import render_condition_sql

__all__ = [
    "SQLCompiler",
    "compile_select",
    "compile_count",
    "compile_exists",
    "compile_update",
    "compile_delete",
    "compile_insert",
    "compile_upsert",
    "compile_bulk_update",
    "compile_bulk_delete",
    "compile_get_by_pk",
    "sql_cache_info",
    "clear_sql_cache",
]

_MAX_CACHE = 4096
_cache: dict[Hashable, str] = {}
_cache_lock = threading.Lock()


def _cached(key: Hashable, build: Any) -> str:
    text = _cache.get(key)
    if text is None:
        text = build()
        with _cache_lock:
            if len(_cache) >= _MAX_CACHE:
                _cache.clear()  # shapes are few in real apps; a full cache means churn
            _cache[key] = text
    return text


def sql_cache_info() -> int:
    """Return the number of cached SQL texts."""
    return len(_cache)


def clear_sql_cache() -> None:
    """Forget every cached SQL text."""
    with _cache_lock:
        _cache.clear()


class SQLCompiler:
    """Render one query state. Subclass hooks: ``column`` and ``condition_sql``."""

    #: Hooks that render relation-spanning conditions (installed by relations).
    relation_condition_hooks: list[Any] = []
    #: Hooks that add JOINs / columns for select_related (installed by relations).
    select_related_hooks: list[Any] = []

    def __init__(self, state: QueryState) -> None:
        self.state = state
        self.meta = state.meta
        self.qualify = bool(state.select_related)

    # -- pieces -----------------------------------------------------------
    def column(self, name: str) -> str:
        """Return the quoted column of field ``name`` of the main model."""
        meta = self.meta
        quoted = meta.quoted_columns.get(name)
        if quoted is None:
            quoted = meta.quoted_columns[meta.field(name).name]
        return f"{meta.quoted_table}.{quoted}" if self.qualify else quoted

    def condition_sql(self, cond: Condition, params: list[Any] | None) -> str:
        """Render a condition; when ``params`` is a list, append its values to it."""
        render = getattr(cond, "render", None)
        if render is not None:
            # Conditions that render themselves (filters on annotations, boolean expressions).
            return render(self, params)  # type: ignore[no-any-return]
        if len(cond.path) > 1:
            for hook in self.relation_condition_hooks:
                rendered = hook(self, cond, params)
                if rendered is not None:
                    return rendered  # type: ignore[no-any-return]
            raise ParameterError(
                f"{self.meta.name}: relation filter {cond.key!r} needs relationship support",
                model=self.meta.name,
            )
        return self.render_lookup(self.column(cond.path[0]), cond, params)

    def render_lookup(self, column: str, cond: Condition, params: list[Any] | None) -> str:
        """Render ``cond``'s lookup against an already-resolved column SQL."""
        value = cond.value
        if getattr(value, "as_sql", None) is not None or getattr(cond.field, "transforms", None):
            # Expression values and transform chains (created_at__year, data__key).
            return render_condition_sql(self, column, [], cond, params)
        if params is not None:
            params.extend(cond.lookup.params(value))
        return cond.lookup.sql(column, cond.field, cond.lookup.shape(value))

    def where_sql(self, node: WhereNode | Condition, params: list[Any] | None, negated: bool = False) -> str:
        """Render a WHERE tree (``negated``: under a NOT, where NULL must count as "no match")."""
        if isinstance(node, Condition):
            text = self.condition_sql(node, params)
            if negated:
                guard = self.null_guard(node)
                if guard is not None:
                    return f"({text} AND {guard} IS NOT NULL)"
            return text
        negated = negated or node.negated
        parts = [self.where_sql(child, params, negated) for child in node.children]
        if len(parts) == 1:
            text = parts[0]
            return f"NOT ({text})" if node.negated else text
        joined = f" {node.connector} ".join(f"({p})" if isinstance(c, WhereNode) else p for p, c in zip(parts, node.children))
        if node.negated:
            return f"NOT ({joined})"
        return joined if node.connector == "AND" else f"({joined})"

    def null_guard(self, cond: Condition) -> str | None:
        """Return the column to test for NULL when ``cond`` is negated, or None.

        ``NOT (col = 'x')`` is NULL, not true, on a row whose ``col`` is NULL, so
        ``exclude(col='x')`` would also drop those rows; guarding the condition
        with ``col IS NOT NULL`` makes ``exclude`` the exact complement of ``filter``.
        """
        field = cond.field
        if (
            not field.null
            or len(cond.path) != 1
            or getattr(cond, "render", None) is not None
            or getattr(field, "transforms", None)
            or getattr(cond.value, "as_sql", None) is not None
            or cond.lookup.null_safe(cond.value)
        ):
            return None
        return self.column(cond.path[0])

    def where_params(self) -> list[Any]:
        """Return the WHERE parameters in rendering order."""
        params: list[Any] = []
        where = self.state.where
        if where is not None:
            cls = type(self)
            if (
                cls.where_sql is SQLCompiler.where_sql
                and cls.condition_sql is SQLCompiler.condition_sql
                and cls.render_lookup is SQLCompiler.render_lookup
                and _plain_where_params(where, params)
            ):
                return params
            params.clear()
            self.where_sql(where, params)
        return params

    def where_clause(self) -> str:
        """Return `` WHERE ...`` or an empty string."""
        if self.state.where is None:
            return ""
        return " WHERE " + self.where_sql(self.state.where, None)

    def select_columns(self) -> str:
        """Return the SELECT list for the main model."""
        state = self.state
        meta = self.meta
        if state.fields is None:
            if not self.qualify:
                return meta.select_list
            names: Sequence[str] = meta.field_names
        else:
            names = state.fields
        text = ", ".join(self.column(n) for n in names)
        # Hooks may add columns of joined tables (select_related).
        for hook in self.select_related_hooks:
            columns = getattr(hook, "columns", None)
            extra = columns(self) if columns is not None else ""
            if extra:
                text += ", " + extra
        return text

    def order_clause(self) -> str:
        """Return `` ORDER BY ...`` or an empty string."""
        if not self.state.order_by:
            return ""
        items = []
        for path, desc in self.state.order_by:
            if "__" in path:
                rendered = None
                for hook in self.relation_condition_hooks:
                    order_hook = getattr(hook, "order_sql", None)
                    if order_hook is not None:
                        rendered = order_hook(self, path)
                        if rendered is not None:
                            break
                if rendered is None:
                    raise ParameterError(f"{self.meta.name}: cannot order by {path!r}", model=self.meta.name)
                items.append(rendered + (" DESC" if desc else ""))
            else:
                items.append(self.column(path) + (" DESC" if desc else ""))
        return " ORDER BY " + ", ".join(items)

    def tail(self) -> str:
        """Return LIMIT/OFFSET/FOR UPDATE."""
        state = self.state
        out = ""
        if state.limit is not None:
            out += " LIMIT %s"
        if state.offset is not None:
            out += " OFFSET %s"
        if state.for_update is not None:
            nowait, skip_locked, of = state.for_update
            out += " FOR UPDATE"
            if of:
                out += " OF " + ", ".join(self.lock_target(t) for t in of)
            if nowait:
                out += " NOWAIT"
            elif skip_locked:
                out += " SKIP LOCKED"
        return out

    def lock_target(self, name: str) -> str:
        """Return how ``FOR UPDATE OF`` names ``name``: ``"self"`` is this model's table."""
        meta = self.meta
        if name in ("self", meta.name, meta.table_name):
            # Unqualified: PostgreSQL refuses "schema"."table" in FOR UPDATE OF.
            return quote_ident(meta.table_name)
        if name in self.state.select_related:
            raise ParameterError(
                f"{meta.name}.select_for_update(of=...): select_related({name!r}) is a LEFT JOIN and PostgreSQL "
                "cannot lock the nullable side of an outer join; lock those rows with their own "
                "select_for_update() query",
                model=meta.name,
            )
        raise ParameterError(
            f"{meta.name}.select_for_update(of=...): {name!r} is not 'self' (this model's table)", model=meta.name
        )

    def tail_params(self) -> list[Any]:
        """Return LIMIT/OFFSET parameters."""
        out: list[Any] = []
        if self.state.limit is not None:
            out.append(self.state.limit)
        if self.state.offset is not None:
            out.append(self.state.offset)
        return out

    def from_clause(self) -> str:
        """Return the FROM target (plus JOINs added by hooks)."""
        text = self.meta.quoted_table
        for hook in self.select_related_hooks:
            text += hook(self)
        return text

    # -- statements -------------------------------------------------------
    def select(self) -> str:
        """Return the SELECT statement text."""
        distinct = "DISTINCT " if self.state.distinct else ""
        return (
            f"SELECT {distinct}{self.select_columns()} FROM {self.from_clause()}"
            f"{self.where_clause()}{self.order_clause()}{self.tail()}"
        )


def _extended(state: QueryState) -> Any:
    """Return the extended-query compiler module when ``state`` uses annotations, grouping, CTEs...

    Those states are compiled by ``core.extended_query`` (which builds on
    ``SQLCompiler``); plain states never pay for it.
    """
    if state.extra and EXTENDED_KEY in state.extra:
        from matrx_orm.core import extended_query

        return extended_query
    return None


#: Key of ``QueryState.extra`` holding the extended-query features (see ``core.extended_query``).
EXTENDED_KEY = "query_ext"


def _plain_where_params(node: WhereNode | Condition, out: list[Any]) -> bool:
    """Append the parameters of a WHERE tree made only of plain conditions; return False otherwise.

    The SQL text of a query comes from the cache, but its parameters must be
    collected on every call; rendering the whole WHERE clause again just for
    them costs more than the rest of the query building. A plain condition (a
    column of the model, a bound value, no transform) renders exactly
    ``lookup.params(value)``, children in order, which is what this walk
    appends; anything else (relations, expressions, conditions that render
    themselves) makes the caller render as before.
    """
    if type(node) is Condition:
        if len(node.path) != 1 or getattr(node.value, "as_sql", None) is not None or getattr(node.field, "transforms", None):
            return False
        out.extend(node.lookup.params(node.value))
        return True
    if type(node) is WhereNode:
        for child in node.children:
            if not _plain_where_params(child, out):
                return False
        return True
    return False


def compile_select(state: QueryState) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` for a SELECT of the state's rows."""
    ext = _extended(state)
    if ext is not None:
        return ext.compile_select(state)  # type: ignore[no-any-return]
    compiler = SQLCompiler(state)
    text = _cached(("select", state.shape()), compiler.select)
    return text, compiler.where_params() + compiler.tail_params()


def _bare(state: QueryState) -> QueryState:
    return state.clone(order_by=(), fields=None, select_related=(), prefetch_related=())


def compile_count(state: QueryState) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` counting the state's rows (respecting limit/offset)."""
    ext = _extended(state)
    if ext is not None:
        return ext.compile_count(state)  # type: ignore[no-any-return]
    if state.limit is not None or state.offset is not None or state.distinct:
        inner = SQLCompiler(state.clone(select_related=(), prefetch_related=()))

        def build_sub() -> str:
            return f"SELECT COUNT(*) FROM ({inner.select()}) AS _sub"

        text = _cached(("count_sub", state.shape()), build_sub)
        return text, inner.where_params() + inner.tail_params()
    compiler = SQLCompiler(_bare(state))
    text = _cached(
        ("count", compiler.state.shape()),
        lambda: f"SELECT COUNT(*) FROM {compiler.meta.quoted_table}{compiler.where_clause()}",
    )
    return text, compiler.where_params()


def compile_exists(state: QueryState) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` answering whether any row matches."""
    ext = _extended(state)
    if ext is not None:
        return ext.compile_exists(state)  # type: ignore[no-any-return]
    # A slice keeps its LIMIT/OFFSET: qs[100:].exists() asks whether a 101st row exists.
    compiler = SQLCompiler(_bare(state).clone(for_update=None))
    text = _cached(
        ("exists", compiler.state.shape()),
        lambda: f"SELECT EXISTS (SELECT 1 FROM {compiler.meta.quoted_table}{compiler.where_clause()}{compiler.tail()})",
    )
    return text, compiler.where_params() + compiler.tail_params()


def _restricted(state: QueryState, verb: str) -> None:
    if state.limit is not None or state.offset is not None:
        raise ParameterError(
            f"{state.meta.name}: {verb}() cannot be used on a sliced/limited queryset", model=state.meta.name
        )


def compile_update(
    state: QueryState, values: dict[str, Any], *, returning: bool = False
) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` updating the state's rows to ``values`` (already prepared).

    A value with ``as_sql`` (an expression such as ``F("views") + 1``) is rendered
    in SQL, so the update is atomic in the database.
    """
    _restricted(state, "update")
    ext = _extended(state)
    if ext is not None:
        return ext.compile_update(state, values, returning=returning)  # type: ignore[no-any-return]
    meta = state.meta
    if not values:
        raise ParameterError(f"{meta.name}.update() needs at least one field", model=meta.name)
    compiler = SQLCompiler(_bare(state))
    names = tuple(values)
    set_params: list[Any] = []
    set_parts: list[str] = []
    shape_parts: list[Hashable] = []
    for name in names:
        value = values[name]
        column = meta.quoted_columns[name]
        as_sql = getattr(value, "as_sql", None)
        if as_sql is not None:
            expr_sql, expr_params = as_sql(compiler)
            set_parts.append(f"{column} = {expr_sql}")
            set_params.extend(expr_params)
            shape_parts.append((name, value.shape()))
        else:
            set_parts.append(f"{column} = %s")
            set_params.append(value)
            shape_parts.append(name)

    def build() -> str:
        text = f"UPDATE {meta.quoted_table} SET {', '.join(set_parts)}{compiler.where_clause()}"
        if returning:
            text += f" RETURNING {meta.select_list}"
        return text

    text = _cached(("update", compiler.state.shape(), tuple(shape_parts), returning), build)
    return text, set_params + compiler.where_params()


def compile_delete(state: QueryState, *, returning: bool = False) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` deleting the state's rows."""
    _restricted(state, "delete")
    ext = _extended(state)
    if ext is not None:
        return ext.compile_delete(state, returning=returning)  # type: ignore[no-any-return]
    compiler = SQLCompiler(_bare(state))
    meta = state.meta

    def build() -> str:
        text = f"DELETE FROM {meta.quoted_table}{compiler.where_clause()}"
        if returning:
            text += f" RETURNING {meta.select_list}"
        return text

    text = _cached(("delete", compiler.state.shape(), returning), build)
    return text, compiler.where_params()


def _values_rows(ncols: int, nrows: int, casts: Sequence[str] | None = None) -> str:
    if casts:
        row = "(" + ", ".join(f"%s::{c}" for c in casts) + ")"
    else:
        row = "(" + ", ".join(["%s"] * ncols) + ")"
    return ", ".join([row] * nrows)


def compile_insert(
    meta: ModelMeta,
    names: tuple[str, ...],
    nrows: int = 1,
    *,
    returning: bool = True,
    ignore_conflicts: bool = False,
) -> str:
    """Return an ``INSERT`` of ``nrows`` rows of ``names`` (params: row-major values)."""

    def build() -> str:
        if names:
            cols = ", ".join(meta.quoted_columns[n] for n in names)
            text = f"INSERT INTO {meta.quoted_table} ({cols}) VALUES {_values_rows(len(names), nrows)}"
        else:
            text = f"INSERT INTO {meta.quoted_table} DEFAULT VALUES"
        if ignore_conflicts:
            text += " ON CONFLICT DO NOTHING"
        if returning:
            text += f" RETURNING {meta.select_list}"
        return text

    return _cached(("insert", id(meta), names, nrows, returning, ignore_conflicts), build)


def compile_upsert(
    meta: ModelMeta,
    names: tuple[str, ...],
    nrows: int,
    conflict_fields: tuple[str, ...],
    update_fields: tuple[str, ...],
    *,
    returning: bool = True,
) -> str:
    """Return ``INSERT ... ON CONFLICT (...) DO UPDATE SET col = EXCLUDED.col``."""

    def build() -> str:
        cols = ", ".join(meta.quoted_columns[n] for n in names)
        target = ", ".join(meta.quoted_columns[n] for n in conflict_fields)
        text = f"INSERT INTO {meta.quoted_table} ({cols}) VALUES {_values_rows(len(names), nrows)} ON CONFLICT ({target})"
        if update_fields:
            sets = ", ".join(f"{meta.quoted_columns[n]} = EXCLUDED.{meta.quoted_columns[n]}" for n in update_fields)
            text += f" DO UPDATE SET {sets}"
        else:
            # DO NOTHING would return no row; a no-op update returns the existing row.
            first = meta.quoted_columns[conflict_fields[0]]
            text += f" DO UPDATE SET {first} = EXCLUDED.{first}"
        if returning:
            text += f" RETURNING {meta.select_list}"
        return text

    return _cached(("upsert", id(meta), names, nrows, conflict_fields, update_fields, returning), build)


def compile_bulk_update(meta: ModelMeta, field_names: tuple[str, ...], nrows: int) -> str:
    """Return one ``UPDATE ... FROM (VALUES ...)`` setting ``field_names`` row by row by primary key."""
    pk_names = meta.pk_names
    names = pk_names + field_names

    def build() -> str:
        casts = [meta.fields[n].db_type if not meta.fields[n].is_array else meta.fields[n].db_type for n in names]
        alias_cols = ", ".join(quote_ident(f"c{i}") for i in range(len(names)))
        sets = ", ".join(
            f"{meta.quoted_columns[n]} = _v.{quote_ident(f'c{len(pk_names) + i}')}" for i, n in enumerate(field_names)
        )
        match = " AND ".join(
            f"{meta.quoted_table}.{meta.quoted_columns[n]} = _v.{quote_ident(f'c{i}')}" for i, n in enumerate(pk_names)
        )
        return (
            f"UPDATE {meta.quoted_table} SET {sets} FROM (VALUES {_values_rows(len(names), nrows, casts)}) "
            f"AS _v({alias_cols}) WHERE {match}"
        )

    return _cached(("bulk_update", id(meta), field_names, nrows), build)


def compile_bulk_delete(meta: ModelMeta, nrows: int) -> str:
    """Return a DELETE of rows by primary key (one array parameter per key column)."""
    pk_fields = meta.pk_fields

    def build() -> str:
        if len(pk_fields) == 1:
            f = pk_fields[0]
            return f"DELETE FROM {meta.quoted_table} WHERE {meta.quoted_columns[f.name]} = ANY(%s::{f.cast_type}[])"
        cols = ", ".join(meta.quoted_columns[f.name] for f in pk_fields)
        rows = _values_rows(len(pk_fields), nrows, [f.cast_type for f in pk_fields])
        return f"DELETE FROM {meta.quoted_table} WHERE ({cols}) IN (VALUES {rows})"

    key = ("bulk_delete", id(meta), 0 if len(pk_fields) == 1 else nrows)
    return _cached(key, build)


def compile_get_by_pk(meta: ModelMeta) -> str:
    """Return ``SELECT <all columns> FROM t WHERE pk = %s [AND ...]`` for the model.

    Kept on the metadata itself (the hottest statement; its text never changes for a model).
    """
    text: str | None = meta.__dict__.get("_get_pk_sql")
    if text is None:
        match = " AND ".join(f"{meta.quoted_columns[f.name]} = %s" for f in meta.pk_fields)
        text = meta.__dict__["_get_pk_sql"] = f"SELECT {meta.select_list} FROM {meta.quoted_table} WHERE {match}"
    return text
