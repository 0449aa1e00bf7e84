"""Aggregates across multi-valued relations, rendered as correlated subqueries.

``User.annotate(n=Count("posts"))``, ``Post.annotate(n=Count("tags"))``,
``Sum("posts__views", filter=Q(posts__views__gt=3))``: an aggregate whose
arguments cross an inverse foreign key or a many-to-many relation is computed
in its own subquery over the related rows, so the outer query never joins
them and its rows are never duplicated (several such aggregates in one query
do not multiply each other, as they would over joins)::

    SELECT ..., (SELECT COUNT("_m1"."id") FROM "post" AS "_m1"
                 WHERE "_m1"."author_id" = "user"."id") AS "n" FROM "user"

Two forms, chosen when the query is built (as Django does with the order of
``annotate()`` and ``values()``):

- **per row** (``annotate()`` on an ungrouped queryset, ``order_by()``): the
  subquery correlates with the outer row. It is a plain value of that row,
  so filters on it go to ``WHERE`` and the outer query is not grouped.
- **per group** (``group_by()``/``values(..., n=Count(...))``,
  ``aggregate()``, ``Subquery(qs, Count(...))``): the subquery aggregates the
  related rows of every row of the group, whose keys it collects with the
  outer-level aggregate ``ARRAY_AGG`` (PostgreSQL evaluates it in the outer,
  grouped query)::

      (SELECT COUNT(DISTINCT "_m1"."tag_id") FROM unnest(ARRAY_AGG("post"."id")) AS "_k"
       JOIN "post" AS "_g" ON "_g"."id" = "_k" JOIN "post_tag" AS "_m1" ON ...)

Inside the subquery, paths that start with the aggregated relation
(``posts__views`` in ``filter=`` or in the arguments) refer to the related row
being aggregated, not to "any related row"; other paths and plain fields refer
to the outer row.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Sequence
from typing import Any

from matrx_orm.core.aggregates import Aggregate
from matrx_orm.core.compiler import SQLCompiler
from matrx_orm.core.conditions import iter_conditions
from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.expressions import Expression, F, When
from matrx_orm.core.fields import Field
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.naming import quote_ident
from matrx_orm.core.query_state import Condition
from matrx_orm.core.relations import (
    M2M,
    Relation,
    relation_chain,
    render_relation_condition,
    render_relation_value,
    table_ref,
)

__all__ = ["RelatedAggregate", "related_aggregate", "group_aggregates"]


class RelatedAggregate(Expression):
    """An aggregate over the rows a multi-valued relation reaches, as a correlated scalar subquery.

    Built by ``Aggregate.resolve_expression`` (never by hand). ``grouped``
    picks the per-group form; only that form is an aggregate of the outer
    query (``contains_aggregate``), the per-row form is a value of each row.
    """

    related_aggregate = True

    def __init__(self, aggregate: Aggregate, meta: ModelMeta, chain: Sequence[Relation], key_only: bool) -> None:
        self.aggregate = aggregate
        self.meta = meta
        self.chain = tuple(chain)
        self.key_only = key_only
        self.grouped = False
        self.contains_aggregate = False
        self.output_field = aggregate.output_field

    def grouped_copy(self) -> RelatedAggregate:
        """Return the per-group form of this aggregate."""
        clone = copy.copy(self)
        clone.grouped = True
        clone.contains_aggregate = True
        return clone

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        return self

    def shape(self) -> Hashable:
        return ("related_agg", self.grouped, self.key_only, tuple(r.name for r in self.chain), self.aggregate.shape())

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        meta = self.meta
        outer = table_ref(compiler)
        if self.grouped:
            pk = meta.pk_fields
            if len(pk) != 1:
                raise ParameterError(
                    f"{meta.name}: {self.aggregate!r} across {self.chain[0].where} in a grouped query needs a "
                    f"single-column primary key on {meta.name}",
                    model=meta.name,
                )
            origin = quote_ident("_g")
            key = quote_ident("_k")
            column = quote_ident(pk[0].column)
            from_sql = (
                f"unnest(ARRAY_AGG({outer}.{column})) AS {key} "
                f"JOIN {meta.quoted_table} AS {origin} ON {origin}.{column} = {key}"
            )
            link = ""
        else:
            origin = outer
            from_sql = link = ""
        aliases: list[str] = []
        current = origin
        for index, rel in enumerate(self.chain, start=1):
            target = quote_ident(f"_m{index}")
            source_ref = f"{current}.{quote_ident(rel.source_field.column)}"
            if rel.kind == M2M:
                junction = quote_ident(f"_mj{index}")
                from_sql, link = _join(from_sql, link, f"{rel.junction} AS {junction}",
                                       f"{junction}.{quote_ident(rel.junction_source)} = {source_ref}")
                if index == len(self.chain) and self.key_only:
                    aliases.append(junction)
                    break
                from_sql, link = _join(
                    from_sql, link, f"{rel.target.quoted_table} AS {target}",
                    f"{target}.{quote_ident(rel.target_field.column)} = {junction}.{quote_ident(rel.junction_target)}",
                )
            else:
                from_sql, link = _join(from_sql, link, f"{rel.target.quoted_table} AS {target}",
                                       f"{target}.{quote_ident(rel.target_field.column)} = {source_ref}")
            aliases.append(target)
            current = target
        scope = _ChainScope(compiler, self, origin, aliases)
        agg_sql, params = self.aggregate.as_sql(scope)
        where = f" WHERE {link}" if link else ""
        return f"(SELECT {agg_sql} FROM {from_sql}{where})", params

    def __repr__(self) -> str:
        return f"RelatedAggregate({self.aggregate!r})"


def _join(from_sql: str, link: str, table: str, on: str) -> tuple[str, str]:
    """Add ``table`` to a FROM clause: the first table's condition becomes the correlation (WHERE)."""
    if not from_sql:
        return table, on
    return f"{from_sql} JOIN {table} ON {on}", link


class _ChainScope(SQLCompiler):
    """The compiler an aggregate renders with inside its subquery.

    Names resolve against the subquery's tables: a path starting with the
    aggregated relation reads the related row (``posts__views`` ->
    ``"_m1"."views"``), anything else the outer row (``"user"."email"``, or
    ``"_g"`` in the per-group form). Everything else (annotations, the
    enclosing query for ``OuterRef``) is the outer compiler's.
    """

    def __init__(self, base: Any, agg: RelatedAggregate, origin: str, aliases: list[str]) -> None:
        # No SQLCompiler.__init__: this compiler renders expressions and conditions, not a statement.
        self.base = base
        self.agg = agg
        self.meta = agg.meta
        self.state = base.state
        self.origin = origin
        self.aliases = aliases
        self.qualify = True

    def __getattr__(self, name: str) -> Any:
        # outer, depth, ext, annotations, alias, from_sql... come from the enclosing query's compiler.
        return getattr(self.base, name)

    def table_ref(self) -> str:
        """Return the outer row's name inside the subquery."""
        return self.origin

    def _locate(self, names: Sequence[str]) -> tuple[ModelMeta, str, list[str], int]:
        """Return (model, SQL name, remaining names, hops matched) for a ``__`` path inside the subquery."""
        chain = self.agg.chain
        rels = relation_chain(self.meta, names[:-1]) if len(names) > 1 else []
        matched = 0
        while matched < len(rels) and matched < len(chain) and rels[matched] is chain[matched]:
            matched += 1
        if matched == 0:
            return self.meta, self.origin, list(names), 0
        return chain[matched - 1].target, self.aliases[matched - 1], list(names[matched:]), matched

    def _field_column(self, meta: ModelMeta, origin: str, name: str, matched: int) -> str:
        field: Field = meta.field(name)
        chain = self.agg.chain
        if matched == len(chain) and matched and self.agg.key_only:
            rel = chain[-1]
            if field is not rel.target_field:
                raise ParameterError(f"{self.meta.name}: {self.agg.aggregate!r} reads {meta.name}.{name}", model=self.meta.name)
            return f"{origin}.{quote_ident(rel.junction_target)}"
        return f"{origin}.{quote_ident(field.column)}"

    def column(self, name: str) -> str:
        """Return the outer row's column ``name``."""
        return self._field_column(self.meta, self.origin, name, 0)

    def expression_ref(self, name: str) -> tuple[str, list[Any]]:
        """Return SQL for ``F(name)`` inside the subquery."""
        annotations = getattr(self.base, "annotations", None) or {}
        if name in annotations:
            if self.agg.grouped:
                raise ParameterError(
                    f"{self.meta.name}: {self.agg.aggregate!r} refers to the annotation {name!r}, which a grouped "
                    "query cannot pass into an aggregate across a relation",
                    model=self.meta.name,
                )
            return self.base.annotation_sql(name)  # type: ignore[no-any-return]
        names = name.split("__")
        meta, origin, rest, matched = self._locate(names)
        if len(rest) == 1:
            return self._field_column(meta, origin, rest[0], matched), []
        return render_relation_value(self, meta, origin, "__".join(rest), ordering=False), []

    qualified_ref = expression_ref

    def condition_sql(self, cond: Condition, params: list[Any] | None) -> str:
        """Render a condition of ``filter=`` (or of a ``When``) against the subquery's rows."""
        render = getattr(cond, "render", None)
        if render is not None:
            return render(self, params)  # type: ignore[no-any-return]
        meta, origin, rest, matched = self._locate(cond.path)
        if len(rest) == 1:
            return self.render_lookup(self._field_column(meta, origin, rest[0], matched), cond, params)
        inner = Condition(tuple(rest), cond.field, cond.lookup, cond.value, cond.key)
        return render_relation_condition(self, meta, origin, inner, params)


# -- building ----------------------------------------------------------------------
def _paths(expr: Any, out: list[tuple[str, ...]]) -> None:
    """Collect the ``__`` paths an expression reads (F names, When conditions)."""
    if isinstance(expr, F):
        out.append(tuple(expr.name.split("__")))
        return
    if isinstance(expr, When) and expr.node is not None:
        for cond in iter_conditions(expr.node):
            if getattr(cond, "render", None) is None and cond.path:
                out.append(tuple(cond.path))
    for source in getattr(expr, "get_source_expressions", lambda: [])():
        _paths(source, out)


def related_aggregate(aggregate: Aggregate, meta: ModelMeta) -> Any:
    """Return ``aggregate`` (resolved), or its subquery form when it reads across a multi-valued relation.

    Every path crossing a multi-valued relation must follow one chain of
    relations (``posts`` and ``posts__tags`` may mix; ``posts`` and
    ``comments`` cannot: there is no single related row to aggregate).
    """
    paths: list[tuple[str, ...]] = []
    for source in aggregate.get_source_expressions():
        _paths(source, paths)
    chains: list[tuple[tuple[str, ...], list[Relation]]] = []
    for names in paths:
        if len(names) < 2:
            continue
        rels = relation_chain(meta, names[:-1])
        if any(rel.many for rel in rels):
            chains.append((names, rels))
    if not chains:
        return aggregate
    longest = max((rels for _n, rels in chains), key=len)
    for names, rels in chains:
        if any(a is not b for a, b in zip(rels, longest, strict=False)):
            raise ParameterError(
                f"{meta.name}: {aggregate!r} reads across both {'__'.join(names[:-1])!r} and "
                f"{'__'.join(r.name for r in longest)!r}; one aggregate follows one chain of relations",
                model=meta.name,
            )
    last = longest[-1]
    # Count("tags") needs only the junction's column: the tag table is not joined.
    key_only = (
        last.kind == M2M
        and aggregate.filter_node is None
        and all(names[-1] == last.target_field.name for names, rels in chains if len(rels) == len(longest))
    )
    return RelatedAggregate(aggregate, meta, longest, key_only)


def group_aggregates(expr: Any) -> Any:
    """Return ``expr`` with its aggregates across relations in the per-group form (for grouped queries)."""
    if isinstance(expr, RelatedAggregate):
        return expr if expr.grouped else expr.grouped_copy()
    if isinstance(expr, Aggregate):
        # An aggregate's arguments are per row: Avg(Count("posts")) averages the per-row counts.
        return expr
    getter = getattr(expr, "get_source_expressions", None)
    sources = getter() if getter is not None else []
    if not sources:
        return expr
    converted = [group_aggregates(s) for s in sources]
    if all(a is b for a, b in zip(converted, sources, strict=True)):
        return expr
    clone = copy.copy(expr)
    clone.set_source_expressions(converted)
    clone._after_resolve()
    return clone
