"""SELECTs beyond the basics: annotations, grouping, HAVING, DISTINCT ON, window filters, CTEs.

A queryset that uses any of these keeps them in one immutable
``QueryExtensions`` object under ``QueryState.extra["query_ext"]``; its
``shape()`` takes part in the query shape. The base compiler hands such
states to this module (``compiler._extended``), whose ``ExtendedCompiler``
builds on ``SQLCompiler`` and renders text and parameters in one pass, in
text order::

    [WITH [RECURSIVE] cte AS (...)]
    SELECT [DISTINCT [ON (...)]] <columns>, <annotation> AS "name"
    FROM <table | cte> [joins] [WHERE ...] [GROUP BY ...] [HAVING ...]
    [ORDER BY ...] [LIMIT/OFFSET]

Filters on window annotations (``rank__lte=3``) wrap that SELECT
(``SELECT ... FROM (<select>) AS "_w" WHERE ...``) because PostgreSQL
evaluates windows after ``WHERE``. Grouped columns are referenced by their
position in the SELECT list (``GROUP BY 1, 2``), so an expression with bound
parameters groups by exactly what was selected.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from matrx_orm.core.compiler import EXTENDED_KEY, SQLCompiler
from matrx_orm.core.compiler import compile_delete as _base_compile_delete
from matrx_orm.core.compiler import compile_update as _base_compile_update
from matrx_orm.core.conditions import build_filter_node, iter_conditions
from matrx_orm.core.exceptions import FieldError, ParameterError
from matrx_orm.core.expressions import Expression, F, OrderBy, column_sql, is_expression
from matrx_orm.core.fields import Field
from matrx_orm.core.lookups import LOOKUPS
from matrx_orm.core.naming import quote_ident
from matrx_orm.core.query_state import AND, Condition, QueryState, WhereNode, resolve_filter_key
from matrx_orm.core.related_aggregates import group_aggregates
from matrx_orm.core.transforms import transforms_shape

__all__ = [
    "QueryExtensions",
    "ExtendedCompiler",
    "OrderKey",
    "PathExpression",
    "get_ext",
    "has_ext",
    "annotate_state",
    "filter_state",
    "order_state",
    "group_state",
    "distinct_on_state",
    "with_cte_state",
    "from_cte_state",
    "values_state",
    "row_columns",
    "compile_select",
    "compile_rows",
    "compile_count",
    "compile_exists",
    "compile_update",
    "compile_delete",
    "compile_aggregate",
]

EXT = EXTENDED_KEY


class QueryExtensions:
    """The extended SELECT features of one query state (immutable)."""

    __slots__ = ("annotations", "hidden", "group_by", "having", "qualify", "distinct_on", "ctes", "from_cte", "_map")

    def __init__(
        self,
        annotations: tuple[tuple[str, Any], ...] = (),
        hidden: frozenset[str] = frozenset(),
        group_by: tuple[tuple[str, Any], ...] | None = None,
        having: WhereNode | None = None,
        qualify: WhereNode | None = None,
        distinct_on: tuple[Any, ...] = (),
        ctes: tuple[Any, ...] = (),
        from_cte: str | None = None,
    ) -> None:
        self.annotations = annotations
        self.hidden = hidden
        self.group_by = group_by
        self.having = having
        self.qualify = qualify
        self.distinct_on = distinct_on
        self.ctes = ctes
        self.from_cte = from_cte
        self._map: dict[str, Any] = dict(annotations)

    def replace(self, **changes: Any) -> QueryExtensions:
        """Return a copy with ``changes`` applied."""
        values = {name: getattr(self, name) for name in self.__slots__ if name != "_map"}
        values.update(changes)
        return QueryExtensions(**values)

    @property
    def annotation_map(self) -> dict[str, Any]:
        """Return ``{name: resolved expression}``."""
        return self._map

    def visible(self) -> list[str]:
        """Return the names of the annotations that are selected."""
        return [name for name, _ in self.annotations if name not in self.hidden]

    def needs_subquery_for_writes(self) -> bool:
        """Return True when UPDATE/DELETE must target rows through ``pk IN (SELECT ...)``."""
        return bool(
            self.annotations or self.group_by is not None or self.having is not None or self.qualify is not None
            or self.distinct_on or self.ctes or self.from_cte
        )

    def shape(self) -> Hashable:
        """Return what changes the SQL text."""
        return (
            tuple((name, expr.shape()) for name, expr in self.annotations),
            tuple(sorted(self.hidden)),
            None if self.group_by is None else tuple((n, e.shape()) for n, e in self.group_by),
            None if self.having is None else self.having.shape(),
            None if self.qualify is None else self.qualify.shape(),
            tuple(e.shape() for e in self.distinct_on),
            tuple(c.shape() for c in self.ctes),
            self.from_cte,
        )


EMPTY = QueryExtensions()


def get_ext(state: QueryState) -> QueryExtensions:
    """Return the state's extensions (empty when it has none)."""
    ext = state.extra.get(EXT) if state.extra else None
    return ext if ext is not None else EMPTY


def has_ext(state: QueryState) -> bool:
    """Return True when the state uses extended features."""
    return bool(state.extra) and EXT in state.extra


def _with_ext(state: QueryState, ext: QueryExtensions) -> QueryState:
    new = state.clone()
    new.extra[EXT] = ext
    return new


class OrderKey:
    """An ordering expression stored in ``QueryState.order_by`` (hashable by shape)."""

    __slots__ = ("order", "_shape")

    def __init__(self, order: OrderBy) -> None:
        self.order = order
        self._shape = ("orderkey", order.expression.shape(), order.nulls_first, order.nulls_last)

    def __hash__(self) -> int:
        return hash(self._shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OrderKey) and other._shape == self._shape

    def __repr__(self) -> str:
        return f"OrderKey({self.order!r})"


class PathExpression(Expression):
    """A filter-style path used as a value: ``created_at__year``, ``author__username``, ``data__owner``."""

    def __init__(self, name: str, path: tuple[str, ...], field: Field) -> None:
        self.name = name
        self.path = path
        self.output_field = field

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        sql = column_sql(compiler, "__".join(self.path))
        params: list[Any] = []
        for transform in getattr(self.output_field, "transforms", None) or ():
            sql, params = transform.as_sql(compiler, sql, params)
        return sql, params

    def shape(self) -> Hashable:
        return ("path", self.path, transforms_shape(self.output_field))

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        return self

    def __repr__(self) -> str:
        return f"PathExpression({self.name!r})"


def path_expression(state: QueryState, name: str) -> Any:
    """Return a resolved expression for a field, annotation or ``__`` path ``name``."""
    meta = state.meta
    annotations = get_ext(state).annotation_map
    if not isinstance(name, str) or not name:
        raise ParameterError(f"{meta.name}: expected a field name, got {name!r}", model=meta.name)
    if name in annotations or name in meta.fields or name == "pk":
        return F(name).resolve_expression(meta, annotations)
    path, field, lookup = resolve_filter_key(meta, name)
    if lookup.name != "exact" or name.endswith("__exact"):
        raise ParameterError(f"{meta.name}: {name!r} names a lookup, not a value", model=meta.name)
    if len(path) == 1 and not getattr(field, "transforms", None):
        return F(path[0]).resolve_expression(meta, annotations)
    return PathExpression(name, path, field)


# -- building states -----------------------------------------------------------
def _check_annotation_name(state: QueryState, name: Any) -> None:
    meta = state.meta
    if not isinstance(name, str) or not name or "__" in name:
        raise ParameterError(
            f"{meta.name}.annotate(): names must be non-empty strings without '__', got {name!r}", model=meta.name
        )
    if name in meta.fields or name in meta.m2m_fields or name == "pk":
        raise ParameterError(
            f"{meta.name}.annotate(): the name {name!r} conflicts with a field of {meta.name}", model=meta.name
        )


def annotate_state(
    state: QueryState, exprs: dict[str, Any], *, select: bool = True, internal: bool = False, group: bool = False
) -> QueryState:
    """Return ``state`` with the annotations ``exprs`` (resolved against the model) added.

    ``group`` (or a grouped state) makes aggregates across relations
    (``Count("posts")``) aggregate each group's rows instead of each row's.
    """
    meta = state.meta
    ext = get_ext(state)
    group = group or ext.group_by is not None
    amap = dict(ext.annotation_map)
    hidden = set(ext.hidden)
    for name, expr in exprs.items():
        if not internal:
            _check_annotation_name(state, name)
        if not is_expression(expr):
            raise ParameterError(
                f"{meta.name}.annotate({name}=...): expected an expression (F, Count, Value...), got {expr!r}",
                model=meta.name,
            )
        resolve = getattr(expr, "resolve_expression", None)
        resolved = resolve(meta, amap) if resolve is not None else expr
        amap[name] = group_aggregates(resolved) if group else resolved
        if select:
            hidden.discard(name)
        else:
            hidden.add(name)
    return _with_ext(state, ext.replace(annotations=tuple(amap.items()), hidden=frozenset(hidden)))


def _filter_target(node: WhereNode) -> str:
    aggregate = window = False
    for cond in iter_conditions(node):
        for item in (getattr(cond, "annotation", None), cond.value):
            if getattr(item, "contains_window", False):
                window = True
            elif getattr(item, "contains_aggregate", False):
                aggregate = True
    if window and aggregate:
        raise ParameterError("one filter() cannot mix conditions on window functions and on aggregates; chain two filter() calls")
    return "qualify" if window else "having" if aggregate else "where"


def filter_state(state: QueryState, args: tuple[Any, ...], kwargs: dict[str, Any], negated: bool = False) -> QueryState:
    """Return ``state`` narrowed by the filters (to WHERE, HAVING, or the window filter)."""
    ext = get_ext(state)
    node = build_filter_node(state.meta, ext.annotation_map, args, kwargs, negated)
    if node is None:
        return state.clone()
    if not ext.annotations:
        return state.add_where(node)
    target = _filter_target(node)
    if target == "where":
        return state.add_where(node)
    current = getattr(ext, target)
    combined = node if current is None else current.and_(node)
    return _with_ext(state, ext.replace(**{target: combined}))


def order_state(state: QueryState, items: Sequence[Any]) -> QueryState:
    """Return ``state`` ordered by names (``"-views"``, annotations, transforms) and expressions."""
    meta = state.meta
    annotations = get_ext(state).annotation_map
    entries: list[tuple[Any, bool]] = []
    extended = False
    for item in items:
        if isinstance(item, str) and item:
            desc = item.startswith("-")
            bare = item.lstrip("-+")
            if bare in annotations:
                entries.append((bare, desc))
                extended = True
                continue
            path, field, lookup = resolve_filter_key(meta, bare)
            if lookup.name != "exact" or bare.endswith("__exact"):
                raise ParameterError(f"{meta.name}.order_by(): {bare!r} names a lookup, not a value", model=meta.name)
            if getattr(field, "transforms", None):
                # created_at__year, data__rank: order by the transformed value.
                entries.append((OrderKey(OrderBy(PathExpression(bare, path, field))), desc))
                extended = True
            else:
                entries.append(("__".join(path), desc))
        elif isinstance(item, OrderBy) or is_expression(item):
            order = item if isinstance(item, OrderBy) else OrderBy(item)
            resolved = order.resolve_expression(meta, annotations)
            if get_ext(state).group_by is not None:
                resolved = group_aggregates(resolved)
            entries.append((OrderKey(resolved), resolved.descending))
            extended = True
        else:
            raise ParameterError(f"{meta.name}.order_by() expects field names or expressions, got {item!r}", model=meta.name)
    new = state.clone(order_by=tuple(entries))
    if extended and not has_ext(new):
        new.extra[EXT] = EMPTY
    return new


def group_state(state: QueryState, names: Sequence[Any]) -> QueryState:
    """Return ``state`` grouped by ``names`` (fields, ``__`` paths, annotations or ``name=expr`` pairs)."""
    meta = state.meta
    if not names:
        raise ParameterError(f"{meta.name}.group_by() needs at least one field", model=meta.name)
    keys: list[tuple[str, Any]] = []
    for name in names:
        keys.append((name, path_expression(state, name)))
    ext = get_ext(state)
    existing = ext.group_by or ()
    return _with_ext(state, ext.replace(group_by=tuple(existing) + tuple(keys)))


def distinct_on_state(state: QueryState, names: Sequence[Any]) -> QueryState:
    """Return ``state`` with ``DISTINCT ON (names)``."""
    annotations = get_ext(state).annotation_map
    exprs = tuple(
        path_expression(state, n) if isinstance(n, str) else n.resolve_expression(state.meta, annotations) for n in names
    )
    return _with_ext(state.clone(distinct=False), get_ext(state).replace(distinct_on=exprs))


def with_cte_state(state: QueryState, cte: Any) -> QueryState:
    """Return ``state`` with ``cte`` added to its WITH clause."""
    ext = get_ext(state)
    if any(c.name == cte.name for c in ext.ctes):
        raise ParameterError(f"{state.meta.name}.with_cte(): a CTE named {cte.name!r} is already attached")
    return _with_ext(state, ext.replace(ctes=ext.ctes + (cte,)))


def from_cte_state(state: QueryState, cte: Any) -> QueryState:
    """Return ``state`` reading its rows from ``cte`` (same model) instead of the table."""
    meta = state.meta
    cte_meta = getattr(cte, "meta", None)
    if cte_meta is None or cte_meta.key != meta.key:
        raise ParameterError(
            f"{meta.name}.from_cte(): the CTE {cte.name!r} must select {meta.name} rows", model=meta.name
        )
    ext = get_ext(state)
    if not any(c.name == cte.name for c in ext.ctes):
        ext = ext.replace(ctes=ext.ctes + (cte,))
    return _with_ext(state, ext.replace(from_cte=cte.name))


def values_state(state: QueryState, fields: Sequence[str], exprs: dict[str, Any]) -> tuple[QueryState, tuple[str, ...]]:
    """Return (state, names) for ``values(*fields, **exprs)``."""
    meta = state.meta
    # values() reads columns, never related instances.
    state = state.clone(select_related=(), prefetch_related=())
    if exprs:
        state = annotate_state(state, exprs, select=False, group=True)
    names: list[str] = []
    path_exprs: dict[str, Any] = {}
    annotations = get_ext(state).annotation_map
    for name in fields:
        if not isinstance(name, str):
            raise ParameterError(f"{meta.name}.values() expects field names, got {name!r}", model=meta.name)
        if name in annotations:
            names.append(name)
        elif name in meta.fields or name == "pk":
            names.append(meta.field(name).name)
        else:
            path_exprs[name] = path_expression(state, name)
            names.append(name)
    if path_exprs:
        state = annotate_state(state, path_exprs, select=False, internal=True)
    if not fields:
        names = list(exprs) if exprs else list(default_names(state))
    else:
        names += [n for n in exprs if n not in names]
    ext = get_ext(state)
    if ext.group_by is None and any(getattr(ext.annotation_map[n], "contains_aggregate", False) for n in exprs):
        # values("status", n=Count()): group by the plain names, like group_by("status").
        keys = tuple(
            (n, path_expression(state, n)) for n in names
            if not getattr(ext.annotation_map.get(n), "contains_aggregate", False)
        )
        state = _with_ext(state, ext.replace(group_by=keys))
    return state, tuple(names)


def default_names(state: QueryState) -> tuple[str, ...]:
    """Return the row keys of ``values()`` without arguments."""
    ext = get_ext(state)
    if ext.group_by is not None:
        return tuple(n for n, _ in ext.group_by) + tuple(n for n in ext.visible() if n not in dict(ext.group_by))
    fields = state.fields if state.fields is not None else state.meta.field_names
    return tuple(fields) + tuple(ext.visible())


def row_columns(state: QueryState) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (field names, annotation names) of the rows ``all()`` reads, in column order."""
    fields = state.fields if state.fields is not None else state.meta.field_names
    return tuple(fields), tuple(get_ext(state).visible())


# -- the compiler ------------------------------------------------------------
def _in_scope(compiler: Any, table: str) -> bool:
    current = compiler
    while current is not None:
        if current.meta.quoted_table == table and getattr(current, "alias", None) is None and getattr(current, "from_sql", None) is None:
            return True
        current = getattr(current, "outer", None)
    return False


class ExtendedCompiler(SQLCompiler):
    """SQLCompiler plus annotations, grouping, HAVING, DISTINCT ON, window filters, CTEs and subqueries.

    ``outer`` is the compiler of the enclosing query (for ``OuterRef``); a
    subquery on a table already in scope gets an alias (``"_s1"``).
    ``from_sql`` replaces the FROM target (wrapped queries read a subquery),
    and ``annotation_columns`` makes annotation references read the wrapped
    query's output columns instead of repeating their SQL.
    """

    def __init__(
        self,
        state: QueryState,
        *,
        outer: Any = None,
        from_sql: str | None = None,
        annotation_columns: bool = False,
        from_alias: str | None = None,
    ) -> None:
        super().__init__(state)
        self.ext = get_ext(state)
        self.annotations = self.ext.annotation_map
        self.outer = outer
        self.depth: int = getattr(outer, "depth", 0) + 1 if outer is not None else 0
        self.from_sql = from_sql
        #: The alias ``from_sql`` gives the wrapped rows (``"_w"``): relation paths correlate with it.
        self.from_alias = from_alias
        self.annotation_columns = annotation_columns
        self.alias: str | None = None
        self.wrapped = from_sql is not None
        #: CTEs of an enclosing wrapper whose WITH clause this query is rendered inside.
        self.enclosing_ctes: tuple[Any, ...] = ()
        if outer is not None and _in_scope(outer, self.meta.quoted_table):
            self.alias = quote_ident(f"_s{self.depth}")
        if self.ext.from_cte is not None or self.wrapped:
            self.qualify = False

    # -- references -------------------------------------------------------
    def table_ref(self) -> str:
        """Return how the FROM clause names this query's rows: subquery alias, CTE, wrapper alias or table."""
        if self.alias is not None:
            return self.alias
        if self.from_sql is not None:
            return self.from_alias or self.meta.quoted_table
        if self.ext.from_cte is not None:
            return quote_ident(self.meta.table_name)
        return self.meta.quoted_table

    def wrapped_column(self, name: str) -> str:
        """Return ``name`` as a column of the wrapped SELECT (qualified when select_related joins repeat names)."""
        meta = self.meta
        quoted = meta.quoted_columns.get(name) or (
            meta.quoted_columns[meta.field(name).name] if name in meta.fields or name == "pk" else quote_ident(name)
        )
        return f"{self.table_ref()}.{quoted}" if self.state.select_related else quoted

    def column(self, name: str) -> str:
        """Return the quoted column of ``name`` (alias-qualified inside an aliased subquery)."""
        if self.alias is None:
            return super().column(name)
        meta = self.meta
        quoted = meta.quoted_columns.get(name) or meta.quoted_columns[meta.field(name).name]
        return f"{self.alias}.{quoted}"

    def annotation_sql(self, name: str) -> tuple[str, list[Any]]:
        """Return SQL for annotation ``name`` (its expression, or its column in a wrapped query)."""
        if self.annotation_columns:
            return self.wrapped_column(name), []
        try:
            expr = self.annotations[name]
        except KeyError:
            raise FieldError(f"{self.meta.name}: no annotation {name!r}", model=self.meta.name, field=name) from None
        return expr.as_sql(self)  # type: ignore[no-any-return]

    def expression_ref(self, name: str) -> tuple[str, list[Any]]:
        """Return SQL for ``F(name)``: an annotation, a field or a relation path."""
        if name in self.annotations:
            return self.annotation_sql(name)
        if self.wrapped and "__" not in name:
            # A wrapped query reads the inner SELECT's output columns.
            return self.wrapped_column(name), []
        return column_sql(self, name), []

    def qualified_ref(self, name: str) -> tuple[str, list[Any]]:
        """Return a table-qualified reference to ``name`` for ``OuterRef`` in an inner query."""
        if name in self.annotations:
            return self.annotation_sql(name)
        if "__" in name:
            return column_sql(self, name), []
        meta = self.meta
        quoted = meta.quoted_columns.get(name) or meta.quoted_columns[meta.field(name).name]
        if self.alias is not None:
            table = self.alias
        elif self.ext.from_cte is not None:
            table = quote_ident(meta.table_name)
        elif self.wrapped:
            raise ParameterError(f"{meta.name}: OuterRef({name!r}) cannot reach a wrapped query", model=meta.name)
        else:
            table = meta.quoted_table
        return f"{table}.{quoted}", []

    def from_clause(self) -> str:
        """Return the FROM target: the table (aliased in subqueries), a CTE, or a wrapped SELECT."""
        meta = self.meta
        if self.from_sql is not None:
            # select_related joins of a wrapped query attach to the wrapper's rows.
            text = self.from_sql
        elif self.ext.from_cte is not None:
            text = f"{quote_ident(self.ext.from_cte)} AS {quote_ident(meta.table_name)}"
        elif self.alias is not None:
            text = f"{meta.quoted_table} AS {self.alias}"
        else:
            text = meta.quoted_table
        for hook in self.select_related_hooks:
            text += hook(self)
        return text

    # -- clauses ----------------------------------------------------------
    def with_clause(self, params: list[Any]) -> str:
        """Return ``WITH ... `` for the attached CTEs (or an empty string)."""
        ctes = self.ext.ctes
        if not ctes:
            return ""
        parts = []
        for cte in ctes:
            sql, cte_params = cte.as_cte_sql()
            parts.append(sql)
            params.extend(cte_params)
        recursive = "RECURSIVE " if any(c.recursive for c in ctes) else ""
        return f"WITH {recursive}{', '.join(parts)} "

    def distinct_clause(self, params: list[Any]) -> str:
        """Return ``DISTINCT ``, ``DISTINCT ON (...) `` or an empty string."""
        if self.ext.distinct_on:
            parts = []
            for expr in self.ext.distinct_on:
                sql, p = expr.as_sql(self)
                parts.append(sql)
                params.extend(p)
            return f"DISTINCT ON ({', '.join(parts)}) "
        return "DISTINCT " if self.state.distinct else ""

    def selection(self, names: Sequence[str] | None) -> list[tuple[str, Any]]:
        """Return the SELECT items: ``(name, None)`` for a field column, ``(name, expr)`` otherwise."""
        ext = self.ext
        if names is None:
            if ext.group_by is not None:
                names = default_names(self.state)
            else:
                return []  # model rows: the base column list, then visible annotations
        items: list[tuple[str, Any]] = []
        group = dict(ext.group_by or ())
        meta = self.meta
        for name in names:
            if name in self.annotations:
                items.append((name, self.annotations[name]))
            elif name in group and not isinstance(group[name], F):
                items.append((name, group[name]))
            else:
                items.append((meta.field(name).name, None))
        return items

    def render_items(self, items: list[tuple[str, Any]], params: list[Any]) -> str:
        """Return the SELECT list text for ``items``."""
        parts = []
        for name, expr in items:
            if expr is None:
                if self.wrapped:
                    parts.append(self.wrapped_column(name))
                else:
                    parts.append(self.column(name))
            elif self.wrapped:
                parts.append(self.wrapped_column(name))
            else:
                sql, p = expr.as_sql(self)
                parts.append(f"{sql} AS {quote_ident(name)}")
                params.extend(p)
        return ", ".join(parts)

    def model_columns(self, params: list[Any]) -> str:
        """Return the model-row SELECT list: fields (plus joined columns), then visible annotations."""
        if self.wrapped:
            text = ", ".join(self.wrapped_column(n) for n in (self.state.fields or self.meta.field_names))
            for hook in self.select_related_hooks:
                columns = getattr(hook, "columns", None)
                extra = columns(self) if columns is not None else ""
                if extra:
                    text += ", " + extra
        else:
            text = self.select_columns()
        visible = self.ext.visible()
        if visible:
            extra = self.render_items([(n, self.annotations[n]) for n in visible], params)
            text = f"{text}, {extra}" if text else extra
        return text

    def group_clause(self, items: list[tuple[str, Any]] | None, params: list[Any]) -> str:
        """Return `` GROUP BY ...`` or an empty string.

        Explicit keys (``group_by()``, or ``values()`` with aggregates) are
        referenced by their position in the SELECT list where possible; a
        queryset carrying aggregate annotations groups by primary key (one
        group per model row).
        """
        if self.wrapped:
            return ""
        ext = self.ext
        if ext.group_by is not None:
            if not ext.group_by:
                return ""  # aggregates over every row: no GROUP BY
            positions = {name: i + 1 for i, (name, _e) in enumerate(items or [])}
            parts = []
            for name, expr in ext.group_by:
                key = name if name in positions else getattr(expr, "name", name)
                if key in positions:
                    parts.append(str(positions[key]))
                else:
                    sql, p = expr.as_sql(self)
                    parts.append(sql)
                    params.extend(p)
            return " GROUP BY " + ", ".join(parts)
        if ext.having is not None or any(getattr(e, "contains_aggregate", False) for _n, e in ext.annotations):
            meta = self.meta
            keys = meta.pk_names or (self.state.fields or meta.field_names)
            columns = [self.column(n) for n in keys]
            for hook in self.select_related_hooks:
                # Joined rows are selected too: their keys make their columns groupable.
                group_columns = getattr(hook, "group_columns", None)
                if group_columns is not None:
                    columns += group_columns(self)
            return " GROUP BY " + ", ".join(columns)
        return ""

    def order_sql(self, params: list[Any], selected: set[str]) -> str:
        """Return `` ORDER BY ...`` rendering fields, annotations and expressions."""
        order = self.state.order_by
        if not order and self.ext.distinct_on:
            parts = []
            for expr in self.ext.distinct_on:
                sql, p = expr.as_sql(self)
                parts.append(sql)
                params.extend(p)
            return " ORDER BY " + ", ".join(parts)
        if not order:
            return ""
        parts = []
        for path, desc in order:
            if isinstance(path, OrderKey):
                sql, p = path.order.expression.as_sql(self)
                params.extend(p)
                parts.append(sql + path.order.suffix(descending=desc))
            elif path in self.annotations:
                if path in selected or self.annotation_columns:
                    parts.append(quote_ident(path) + (" DESC" if desc else ""))
                else:
                    sql, p = self.annotation_sql(path)
                    params.extend(p)
                    parts.append(sql + (" DESC" if desc else ""))
            elif "__" in path:
                parts.append(column_sql(self, path, ordering=True) + (" DESC" if desc else ""))
            else:
                column = self.wrapped_column(path) if self.wrapped else self.column(path)
                parts.append(column + (" DESC" if desc else ""))
        return " ORDER BY " + ", ".join(parts)

    # -- statements -------------------------------------------------------
    def render_select(self, names: Sequence[str] | None = None, *, select_sql: str | None = None) -> tuple[str, list[Any]]:
        """Return ``(sql, params)`` of the SELECT; ``names`` picks values()-style columns."""
        if self.ext.qualify is not None and not self.wrapped:
            return self._render_window_filtered(names, select_sql)
        params: list[Any] = []
        text = self.with_clause(params) + "SELECT " + self.distinct_clause(params)
        items: list[tuple[str, Any]] | None = None
        if select_sql is not None:
            text += select_sql
            selected: set[str] = set()
        else:
            items = self.selection(names)
            if items:
                text += self.render_items(items, params)
                selected = {n for n, _ in items}
            else:
                text += self.model_columns(params)
                selected = set(self.ext.visible())
        text += " FROM " + self.from_clause()
        if self.state.where is not None:
            text += " WHERE " + self.where_sql(self.state.where, params)
        text += self.group_clause(items, params)
        if self.ext.having is not None and not self.wrapped:
            text += " HAVING " + self.where_sql(self.ext.having, params)
        text += self.order_sql(params, selected)
        text += self.tail()
        params.extend(self.tail_params())
        return text, params

    def _render_window_filtered(self, names: Sequence[str] | None, select_sql: str | None) -> tuple[str, list[Any]]:
        """Wrap the query so filters on window annotations apply after the windows."""
        state = self.state
        ext = self.ext
        # select_related joins go on the wrapper (the inner SELECT would repeat column names).
        inner_state = state.clone(
            order_by=(), limit=None, offset=None, for_update=None, distinct=False, select_related=(), prefetch_related=()
        )
        inner_state.extra[EXT] = ext.replace(qualify=None, hidden=frozenset(), distinct_on=(), ctes=())
        inner = ExtendedCompiler(inner_state, outer=self.outer)
        # The CTEs move to the wrapper's WITH clause; the inner query still sees them.
        inner.enclosing_ctes = ext.ctes + self.enclosing_ctes
        inner_sql, inner_params = inner.render_select()
        outer_state = state.clone(where=ext.qualify, prefetch_related=())
        outer_state.extra[EXT] = ext.replace(qualify=None, having=None)
        outer = ExtendedCompiler(
            outer_state, from_sql=f"({inner_sql}) AS {quote_ident('_w')}", annotation_columns=True, from_alias=quote_ident("_w")
        )
        outer.outer = self.outer
        params: list[Any] = []
        text = outer.with_clause(params) + "SELECT " + outer.distinct_clause(params)
        if select_sql is not None:
            text += select_sql
            selected: set[str] = set()
        else:
            items = outer.selection(names)
            if items:
                text += outer.render_items(items, params)
                selected = {n for n, _ in items}
            else:
                text += outer.model_columns(params)
                selected = set(ext.visible())
        text += " FROM " + outer.from_clause()
        params.extend(inner_params)
        text += " WHERE " + outer.where_sql(ext.qualify, params)  # type: ignore[arg-type]
        text += outer.order_sql(params, selected)
        text += outer.tail()
        params.extend(outer.tail_params())
        return text, params


# -- compile functions -------------------------------------------------------
def compile_select(state: QueryState) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` selecting model rows (fields, then visible annotations)."""
    return ExtendedCompiler(state).render_select()


def compile_rows(state: QueryState, names: Sequence[str] | None = None) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` selecting ``names`` (values()-style) or model rows."""
    return ExtendedCompiler(state).render_select(names)


def compile_count(state: QueryState) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` counting the rows (or groups) the state selects."""
    if state.limit is None and state.offset is None:
        state = state.clone(order_by=())
    sql, params = ExtendedCompiler(state.clone(select_related=(), prefetch_related=())).render_select()
    return f"SELECT COUNT(*) FROM ({sql}) AS {quote_ident('_c')}", params


def compile_exists(state: QueryState) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` answering whether the state selects any row."""
    state = state.clone(order_by=(), select_related=(), prefetch_related=())
    ext = get_ext(state)
    plain = ext.group_by is None and ext.having is None and not any(
        getattr(e, "contains_aggregate", False) for _n, e in ext.annotations
    )
    sql, params = ExtendedCompiler(state).render_select(select_sql="1" if plain and ext.qualify is None else None)
    return f"SELECT EXISTS ({sql})", params


class _PkIn(Condition):
    """``(pk) IN (SELECT pk FROM <the extended query>)``: how writes target extended querysets."""

    __slots__ = ("inner",)

    def __init__(self, inner: QueryState) -> None:
        pk = inner.meta.pk_fields[0]
        super().__init__((pk.name,), pk, LOOKUPS["in"], None, "pk__in")
        self.inner = inner

    def render(self, compiler: Any, params: list[Any] | None) -> str:
        """Render the membership test."""
        meta = self.inner.meta
        sql, inner_params = ExtendedCompiler(self.inner).render_select(meta.pk_names)
        if params is not None:
            params.extend(inner_params)
        columns = ", ".join(compiler.column(n) for n in meta.pk_names)
        if len(meta.pk_names) > 1:
            columns = f"({columns})"
        return f"{columns} IN ({sql})"

    def shape(self) -> Hashable:
        return ("pk_in", self.inner.shape())


def _plain_for_writes(state: QueryState) -> QueryState:
    ext = get_ext(state)
    plain = state.clone(order_by=tuple(e for e in state.order_by if not isinstance(e[0], OrderKey)))
    plain.extra.pop(EXT, None)
    if not ext.needs_subquery_for_writes():
        return plain
    meta = state.meta
    meta.require_pk("update()/delete() of an annotated queryset")
    if ext.group_by is not None:
        raise ParameterError(f"{meta.name}: update()/delete() cannot be used on a grouped queryset", model=meta.name)
    inner = state.clone(order_by=(), fields=None, select_related=(), prefetch_related=())
    return plain.clone(where=WhereNode(AND, False, (_PkIn(inner),)))


def compile_update(state: QueryState, values: dict[str, Any], *, returning: bool = False) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` updating the rows an extended queryset selects."""
    return _base_compile_update(_plain_for_writes(state), values, returning=returning)


def compile_delete(state: QueryState, *, returning: bool = False) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` deleting the rows an extended queryset selects."""
    return _base_compile_delete(_plain_for_writes(state), returning=returning)


def compile_aggregate(state: QueryState, aggregates: dict[str, Any]) -> tuple[str, list[Any], dict[str, Any]]:
    """Return ``(sql, params, resolved aggregates)`` computing ``aggregates`` over the state's rows."""
    meta = state.meta
    if not aggregates:
        raise ParameterError(f"{meta.name}.aggregate() needs at least one aggregate", model=meta.name)
    ext = get_ext(state)
    resolved: dict[str, Any] = {}
    for name, expr in aggregates.items():
        if not is_expression(expr):
            raise ParameterError(f"{meta.name}.aggregate({name}=...): expected an aggregate, got {expr!r}", model=meta.name)
        expr = expr.resolve_expression(meta, ext.annotation_map) if hasattr(expr, "resolve_expression") else expr
        # aggregate() is one group of every row: Count("posts") counts the posts of all of them.
        expr = group_aggregates(expr)
        if not getattr(expr, "contains_aggregate", False):
            raise ParameterError(f"{meta.name}.aggregate({name}=...): {expr!r} is not an aggregate", model=meta.name)
        resolved[name] = expr
    wrap = (
        state.limit is not None or state.offset is not None or state.distinct or ext.annotations
        or ext.group_by is not None or ext.distinct_on or ext.qualify is not None or ext.from_cte
    )
    params: list[Any] = []
    if not wrap:
        bare = state.clone(order_by=(), select_related=(), prefetch_related=())
        compiler = ExtendedCompiler(bare)
        text = compiler.with_clause(params) + "SELECT "
        text += compiler.render_items(list(resolved.items()), params)
        text += " FROM " + compiler.from_clause()
        if bare.where is not None:
            text += " WHERE " + compiler.where_sql(bare.where, params)
        return text, params, resolved
    inner_state = state if (state.limit is not None or state.offset is not None) else state.clone(order_by=())
    inner_state = inner_state.clone(select_related=(), prefetch_related=())
    inner_sql, inner_params = ExtendedCompiler(inner_state).render_select()
    outer_state = QueryState(meta)
    outer_state.extra[EXT] = QueryExtensions(annotations=ext.annotations)
    outer = ExtendedCompiler(
        outer_state, from_sql=f"({inner_sql}) AS {quote_ident('_a')}", annotation_columns=True, from_alias=quote_ident("_a")
    )
    outer.wrapped = False  # aggregates render as expressions over the wrapped columns
    outer.qualify = False
    text = "SELECT " + outer.render_items(list(resolved.items()), params)
    text += " FROM " + outer.from_clause()
    params.extend(inner_params)
    return text, params, resolved



# -- reading rows back -------------------------------------------------------
def annotation_names(state: QueryState) -> tuple[str, ...]:
    """Return the annotation columns ``all()`` reads after the model's columns (usually none)."""
    if not state.extra or EXT not in state.extra:
        return ()
    ext = state.extra[EXT]
    if ext.group_by is not None:
        raise ParameterError(
            f"{state.meta.name}: a grouped queryset returns rows with values()/values_list(), not instances",
            model=state.meta.name,
        )
    return tuple(ext.visible())


def split_annotation_values(state: QueryState, names: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> tuple[list[Any], list[Any]]:
    """Return (model rows, annotation values) of rows whose last ``len(names)`` columns are annotations."""
    n = len(names)
    converters = _converters(state, names)
    extras: list[Any] = []
    main: list[Any] = []
    for row in rows:
        values = list(row[-n:])
        for index, convert in converters:
            if values[index] is not None:
                values[index] = convert(values[index])
        extras.append(values)
        main.append(row[:-n])
    return main, extras


def aggregate_result(resolved: dict[str, Any], row: Sequence[Any] | None) -> dict[str, Any]:
    """Return ``{name: value}`` for an aggregate row, converted by each aggregate's output field."""
    if row is None:
        return dict.fromkeys(resolved)
    out: dict[str, Any] = {}
    for (name, expr), value in zip(resolved.items(), row, strict=False):
        field = getattr(expr, "output_field", None)
        if value is not None and field is not None and field.needs_conversion:
            value = field.from_db(value)
        out[name] = value
    return out


def attach_annotations(objs: Sequence[Any], names: tuple[str, ...], extras: Sequence[Sequence[Any]]) -> None:
    """Set annotation values as attributes of the hydrated instances."""
    for obj, values in zip(objs, extras, strict=False):
        obj.__dict__.update(zip(names, values, strict=False))


def _converters(state: QueryState, names: Sequence[str]) -> list[tuple[int, Any]]:
    meta = state.meta
    annotations = get_ext(state).annotation_map
    out: list[tuple[int, Any]] = []
    for index, name in enumerate(names):
        if name in annotations:
            field = getattr(annotations[name], "output_field", None)
        else:
            field = meta.fields.get(name)
        if field is not None and field.needs_conversion:
            out.append((index, field.from_db))
    return out


def convert_value_rows(state: QueryState, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Return rows of ``names`` with field/annotation conversions applied (``values()``)."""
    converters = _converters(state, names)
    if not converters:
        return [tuple(row) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for index, convert in converters:
            if values[index] is not None:
                values[index] = convert(values[index])
        out.append(tuple(values))
    return out
