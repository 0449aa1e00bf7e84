"""Subqueries and CTEs: ``Subquery``, ``Exists``, ``OuterRef``, ``CTE``.

An inner queryset is rendered by an ``ExtendedCompiler`` whose ``outer`` is
the compiler of the enclosing query, so ``OuterRef("id")`` becomes a
table-qualified reference to the outer row (``"user"."id"``). An inner query
on a table already in scope is aliased (``"post" AS "_s1"``) so the two never
shadow each other. A queryset passed as a value (``id__in=Post.filter(...)``)
is a ``Subquery`` selecting its primary key.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from matrx_orm.core.compiler import EXTENDED_KEY
from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.expressions import Expression, RawSQL, column_sql, is_expression
from matrx_orm.core.fields import BooleanField
from matrx_orm.core.naming import quote_ident
from matrx_orm.core.query_state import QueryState, resolve_filter_key

__all__ = ["Subquery", "Exists", "OuterRef", "CTE", "CTEColumn"]

_VALUE = "subquery_value"


def _state_of(query: Any, what: str) -> QueryState:
    state = getattr(query, "state", query)
    if not isinstance(state, QueryState):
        raise ParameterError(f"{what} takes a queryset, got {type(query).__name__}")
    return state


class Subquery(Expression):
    """A scalar (or, after ``__in``, a set-valued) subquery.

    ``Subquery(qs)`` selects the primary key, ``Subquery(qs, "title")`` a field,
    annotation or ``__`` path, ``Subquery(qs, Count("id"))`` an expression
    (an aggregate over the inner rows). Use ``OuterRef`` in ``qs``'s filters to
    correlate it with the outer row.
    """

    is_subquery = True

    def __init__(self, queryset: Any, field: Any = None, output_field: Any = None) -> None:
        from matrx_orm.core.extended_query import annotate_state, get_ext, path_expression

        state = _state_of(queryset, "Subquery()")
        meta = state.meta
        if field is None:
            pk = meta.require_pk("Subquery()")
            if len(pk) != 1:
                raise ParameterError(f"Subquery({meta.name}): a composite key needs a field to select", model=meta.name)
            name = pk[0].name
            self.output_field = pk[0]
        elif isinstance(field, str):
            annotations = get_ext(state).annotation_map
            if field in annotations:
                name = field
                self.output_field = getattr(annotations[field], "output_field", None)
            elif field in meta.fields or field == "pk":
                name = meta.field(field).name
                self.output_field = meta.field(field)
            else:
                expr = path_expression(state, field)
                state = annotate_state(state, {_VALUE: expr}, select=False, internal=True)
                name = _VALUE
                self.output_field = expr.output_field
        elif is_expression(field):
            # An aggregate (Count("tags") too) is one value over every inner row.
            state = annotate_state(state, {_VALUE: field}, select=False, internal=True, group=True)
            name = _VALUE
            ext = get_ext(state)
            value = ext.annotation_map[_VALUE]
            self.output_field = getattr(value, "output_field", None)
            if getattr(value, "contains_aggregate", False) and ext.group_by is None:
                # One aggregate over every inner row, not one per row.
                state = state.clone()
                state.extra[EXTENDED_KEY] = ext.replace(group_by=())
        else:
            raise ParameterError(f"Subquery(): field must be a name or an expression, got {field!r}")
        if output_field is not None:
            self.output_field = output_field
        self.state = state
        self.names = (name,)

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        from matrx_orm.core.extended_query import ExtendedCompiler

        sql, params = ExtendedCompiler(self.state, outer=compiler).render_select(self.names)
        return f"({sql})", params

    def shape(self) -> Hashable:
        return ("subquery", self.state.shape(), self.names)

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        return self

    def __repr__(self) -> str:
        return f"Subquery({self.state.meta.name}, {self.names[0]!r})"


class Exists(Expression):
    """``EXISTS (SELECT 1 FROM ... WHERE ...)``: a boolean, usable in ``filter()`` and ``annotate()``."""

    conditional = True

    def __init__(self, queryset: Any) -> None:
        self.state = _state_of(queryset, "Exists()")
        self.output_field = BooleanField()

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        from matrx_orm.core.extended_query import ExtendedCompiler, get_ext

        state = self.state.clone(order_by=(), select_related=(), prefetch_related=())
        ext = get_ext(state)
        plain = ext.group_by is None and ext.having is None and ext.qualify is None and not any(
            getattr(e, "contains_aggregate", False) for _n, e in ext.annotations
        )
        sql, params = ExtendedCompiler(state, outer=compiler).render_select(select_sql="1" if plain else None)
        return f"EXISTS ({sql})", params

    def shape(self) -> Hashable:
        return ("exists", self.state.shape())

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        return self

    def __repr__(self) -> str:
        return f"Exists({self.state.meta.name})"


class OuterRef(Expression):
    """A reference to a field of the enclosing query's row (``OuterRef(OuterRef("id"))`` goes two levels up)."""

    def __init__(self, name: Any) -> None:
        if not (isinstance(name, str) and name) and not isinstance(name, OuterRef):
            raise ParameterError(f"OuterRef() takes a field name, got {name!r}")
        self.name = name

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        outer = getattr(compiler, "outer", None)
        if outer is None:
            raise ParameterError(
                f"OuterRef({self.name!r}) can only be used in a queryset passed to Subquery() or Exists()",
                model=compiler.meta.name,
            )
        if isinstance(self.name, OuterRef):
            return self.name.as_sql(outer)
        name = _outer_name(outer, self.name)
        ref = getattr(outer, "qualified_ref", None)
        if ref is not None:
            return ref(name)  # type: ignore[no-any-return]
        if "__" in name:
            # OuterRef("post__author__username") on a plain query: a value across its relations.
            return column_sql(outer, name), []
        meta = outer.meta
        field = meta.field(name)
        return f"{meta.quoted_table}.{meta.quoted_columns[field.name]}", []

    def shape(self) -> Hashable:
        return ("outer", self.name.shape() if isinstance(self.name, OuterRef) else self.name)

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        # Checked against the outer model when the query is compiled.
        return self

    def __repr__(self) -> str:
        return f"OuterRef({self.name!r})"


def _outer_name(outer: Any, name: str) -> str:
    """Return ``name`` as the outer query reads it: a relation name means its key (``"author"`` -> ``"author_id"``)."""
    meta = outer.meta
    if name in (getattr(outer, "annotations", None) or ()) or name in meta.fields or name == "pk":
        return name
    path, field, lookup = resolve_filter_key(meta, name)
    if lookup.name != "exact" or name.endswith("__exact"):
        raise ParameterError(f"OuterRef({name!r}): {lookup.name!r} is a lookup, not a field of {meta.name}", model=meta.name)
    return name if getattr(field, "transforms", None) else "__".join(path)


class CTE:
    """A common table expression: ``WITH "name" AS (<query>)``.

    ``query`` is a queryset (its rows, all fields) or a ``RawSQL``. With
    ``recursive_on=(child_field, parent_field)`` the CTE also walks the model's
    tree: each step adds the rows whose ``child_field`` equals the
    ``parent_field`` of a row already found (``UNION ALL``; ``union_all=False``
    deduplicates, which also stops cycles). Attach it with
    ``qs.with_cte(cte)``; read it with ``qs.from_cte(cte)`` (same model) or
    ``cte.select("field")`` (a subquery, e.g. ``id__in=cte.select("id")``).
    """

    def __init__(
        self,
        name: str,
        query: Any,
        *,
        recursive_on: tuple[str, str] | None = None,
        union_all: bool = True,
        materialized: bool | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ParameterError(f"CTE() needs a name, got {name!r}")
        self.name = name
        self.raw: RawSQL | None = None
        self.state: QueryState | None = None
        if isinstance(query, RawSQL):
            self.raw = query
            if recursive_on is not None:
                raise ParameterError("CTE(recursive_on=...) needs a queryset, not RawSQL")
        else:
            self.state = _state_of(query, "CTE()")
        self.meta = self.state.meta if self.state is not None else None
        if recursive_on is not None:
            assert self.meta is not None
            if not (isinstance(recursive_on, tuple) and len(recursive_on) == 2):
                raise ParameterError("CTE(recursive_on=...) takes a (child_field, parent_field) pair")
            child, parent = (self.meta.field(n).name for n in recursive_on)
            recursive_on = (child, parent)
        self.recursive_on = recursive_on
        self.union_all = union_all
        self.materialized = materialized

    @property
    def recursive(self) -> bool:
        """Return True when the CTE refers to itself (``WITH RECURSIVE``)."""
        return self.recursive_on is not None

    def body_sql(self) -> tuple[str, list[Any]]:
        """Return the CTE's query text and parameters."""
        from matrx_orm.core.extended_query import ExtendedCompiler

        if self.raw is not None:
            return self.raw.sql, list(self.raw.params)
        assert self.state is not None and self.meta is not None
        state = self.state
        if self.recursive_on is not None:
            state = state.clone(fields=None, select_related=(), prefetch_related=())
        sql, params = ExtendedCompiler(state).render_select()
        if self.recursive_on is None:
            return sql, params
        meta = self.meta
        if state.order_by or state.limit is not None or state.offset is not None:
            sql = f"({sql})"
        child, parent = self.recursive_on
        table = meta.quoted_table
        me = quote_ident(self.name)
        columns = ", ".join(f"{table}.{c}" for c in meta.quoted_columns.values())
        union = "UNION ALL" if self.union_all else "UNION"
        step = (
            f"SELECT {columns} FROM {table} JOIN {me} "
            f"ON {table}.{meta.quoted_columns[child]} = {me}.{meta.quoted_columns[parent]}"
        )
        return f"{sql} {union} {step}", params

    def as_cte_sql(self) -> tuple[str, list[Any]]:
        """Return ``"name" AS [NOT] MATERIALIZED (...)`` and its parameters."""
        body, params = self.body_sql()
        materialized = "" if self.materialized is None else ("MATERIALIZED " if self.materialized else "NOT MATERIALIZED ")
        return f"{quote_ident(self.name)} AS {materialized}({body})", params

    def select(self, field: str) -> CTEColumn:
        """Return ``(SELECT "column" FROM "name")`` for ``__in`` filters."""
        column = self.meta.field(field).column if self.meta is not None else field
        return CTEColumn(self, column)

    def shape(self) -> Hashable:
        """Return what changes the SQL text."""
        body = ("raw", self.raw.sql) if self.raw is not None else self.state.shape()  # type: ignore[union-attr]
        return ("cte", self.name, body, self.recursive_on, self.union_all, self.materialized)

    def __repr__(self) -> str:
        return f"CTE({self.name!r})"


class CTEColumn(Expression):
    """``(SELECT "column" FROM "cte")``; the CTE must be attached with ``with_cte()``."""

    is_subquery = True

    def __init__(self, cte: CTE, column: str) -> None:
        self.cte = cte
        self.column = column
        if cte.meta is not None:
            self.output_field = cte.meta.column_to_field.get(column)

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        current = compiler
        while current is not None:
            ext = getattr(current, "ext", None)
            ctes = (*(ext.ctes if ext is not None else ()), *getattr(current, "enclosing_ctes", ()))
            if any(c.name == self.cte.name for c in ctes):
                break
            current = getattr(current, "outer", None)
        else:
            raise ParameterError(
                f"{compiler.meta.name}: CTE {self.cte.name!r} is used but not attached; call .with_cte(cte)",
                model=compiler.meta.name,
            )
        return f"(SELECT {quote_ident(self.column)} FROM {quote_ident(self.cte.name)})", []

    def shape(self) -> Hashable:
        return ("cte_col", self.cte.name, self.column)

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        return self
