"""Queryset methods beyond the basics: annotations, aggregation, grouping, CTEs and model conveniences.

``QuerySet`` inherits this mixin. The query-building methods only transform
the immutable ``QueryState`` through ``core.extended_query``; the terminal
ones (``aggregate``, ``in_bulk``, ``get_or_create``...) compile with the pure
compiler and run through the executor, like every other query.

A queryset is also an expression: passed as a filter value
(``id__in=Post.filter(...)``) or wrapped in ``Subquery``/``Exists`` it renders
as a subquery selecting its primary key.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from matrx_orm._executor import fetch_all, fetch_one
from matrx_orm._transaction import in_transaction, transaction
from matrx_orm.core.exceptions import DoesNotExist, IntegrityError, ParameterError
from matrx_orm.core.expressions import OrderBy
from matrx_orm.core.extended_query import (
    aggregate_result,
    annotate_state,
    compile_aggregate,
    compile_rows,
    convert_value_rows,
    distinct_on_state,
    from_cte_state,
    group_state,
    values_state,
    with_cte_state,
)
from matrx_orm.core.subqueries import Subquery

if TYPE_CHECKING:
    from typing_extensions import Self

    from matrx_orm.core.query_state import QueryState

__all__ = ["QuerySetExtras"]


def _named(model: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Merge positional aggregates (named ``field__sum``) into the keyword ones."""
    out: dict[str, Any] = {}
    for expr in args:
        alias = getattr(expr, "default_alias", None)
        if alias is None:
            raise ParameterError(f"{model}.{method}(): positional arguments must be aggregates; name the others", model=model)
        name = alias()
        if name in kwargs or name in out:
            raise ParameterError(f"{model}.{method}(): the name {name!r} is given twice", model=model)
        out[name] = expr
    out.update(kwargs)
    return out


def _reverse_order(item: Any) -> Any:
    if isinstance(item, str):
        return item[1:] if item.startswith("-") else "-" + item
    if isinstance(item, OrderBy):
        return item.reversed()
    return item.desc()


class QuerySetExtras:
    """Annotations, aggregation, grouping, DISTINCT ON, CTEs, and get-or-create style helpers."""

    __slots__ = ()

    if TYPE_CHECKING:
        model: Any
        _state: QueryState

        def _with(self, state: QueryState) -> Self: ...
        def filter(self, *args: Any, **kwargs: Any) -> Self: ...
        def order_by(self, *names: Any) -> Self: ...
        def select_for_update(self, *, nowait: bool = False, skip_locked: bool = False, of: tuple[str, ...] = ()) -> Self: ...
        async def get(self, *args: Any, **kwargs: Any) -> Any: ...
        async def first(self) -> Any: ...
        async def all(self) -> list[Any]: ...
        async def update_returning(self, **values: Any) -> list[Any]: ...

    # -- a queryset is a subquery expression -------------------------------
    is_subquery = True

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        """Render as ``(SELECT pk FROM ...)`` inside another query."""
        return Subquery(self).as_sql(compiler)

    def shape(self) -> Hashable:
        """Return the subquery's shape (for SQL caching)."""
        return Subquery(self).shape()

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        """Return a ``Subquery`` selecting this queryset's primary key."""
        return Subquery(self)

    # -- building ---------------------------------------------------------
    def annotate(self, *args: Any, **expressions: Any) -> Self:
        """Return a queryset whose rows carry computed values (``annotate(n=Count(...))``).

        Positional aggregates are named after their field (``Sum("views")`` is
        ``views__sum``). Annotations can be filtered and ordered on; filters on
        aggregates become ``HAVING``.
        """
        exprs = _named(self._state.meta.name, "annotate", args, expressions)
        return self._with(annotate_state(self._state, exprs))

    def alias(self, **expressions: Any) -> Self:
        """Return a queryset with named expressions usable in filters and ordering but not selected."""
        return self._with(annotate_state(self._state, expressions, select=False))

    def group_by(self, *names: str) -> Self:
        """Return a queryset grouped by ``names``; read it with ``values()``/``values_list()``.

        ``Post.query().group_by("author_id").annotate(n=Count()).values()`` is
        ``SELECT author_id, COUNT(*) AS n ... GROUP BY 1``.
        """
        return self._with(group_state(self._state, names))

    def defer(self, *fields: str) -> Self:
        """Return a queryset that does not load ``fields`` (the primary key is always loaded)."""
        meta = self._state.meta
        skipped = {meta.field(f).name for f in fields} - set(meta.pk_names)
        current = self._state.fields or meta.field_names
        return self._with(self._state.clone(fields=tuple(n for n in current if n not in skipped)))

    def distinct_on(self, *fields: Any) -> Self:
        """Return a queryset keeping the first row of each ``fields`` combination (``DISTINCT ON``)."""
        if not fields:
            raise ParameterError(f"{self._state.meta.name}.distinct_on() needs fields", model=self._state.meta.name)
        return self._with(distinct_on_state(self._state, fields))

    def with_cte(self, cte: Any) -> Self:
        """Return a queryset with ``cte`` in its ``WITH`` clause."""
        return self._with(with_cte_state(self._state, cte))

    def from_cte(self, cte: Any) -> Self:
        """Return a queryset reading this model's rows from ``cte`` instead of the table."""
        return self._with(from_cte_state(self._state, cte))

    # -- terminals --------------------------------------------------------
    async def aggregate(self, *args: Any, **aggregates: Any) -> dict[str, Any]:
        """Return ``{name: value}`` for aggregates over the matching rows, in one query."""
        state = self._state
        meta = state.meta
        exprs = _named(meta.name, "aggregate", args, aggregates)
        query, params, resolved = compile_aggregate(state, exprs)
        row = await fetch_one(
            meta.database, query, params, model=meta.name, operation="QuerySet.aggregate()", filters=state.filters_repr
        )
        return aggregate_result(resolved, row)

    async def _values_extended(self, fields: tuple[str, ...], expressions: dict[str, Any], shape: str) -> list[Any]:
        state, names = values_state(self._state, fields, expressions)
        meta = state.meta
        if shape == "flat" and len(names) != 1:
            raise ParameterError(f"{meta.name}.values_list(flat=True) needs exactly one field", model=meta.name)
        query, params = compile_rows(state, names)
        rows = await fetch_all(
            meta.database, query, params, model=meta.name, operation=f"QuerySet.{'values' if shape == 'dicts' else 'values_list'}()",
            filters=state.filters_repr,
        )
        converted = convert_value_rows(state, names, rows)
        if shape == "dicts":
            return [dict(zip(names, row, strict=False)) for row in converted]
        if shape == "flat":
            return [row[0] for row in converted]
        return converted

    async def in_bulk(self, ids: Iterable[Any] | None = None, *, field_name: str = "pk") -> dict[Any, Any]:
        """Return ``{key: instance}`` for the rows whose ``field_name`` is in ``ids`` (every row when None)."""
        meta = self._state.meta
        field = meta.field(field_name)
        if not (field.primary_key and len(meta.pk_names) == 1) and not field.unique:
            raise ParameterError(
                f"{meta.name}.in_bulk(): {field_name!r} must be the primary key or a unique field", model=meta.name
            )
        if ids is None:
            objs = await self.all()
        else:
            keys = list(ids)
            if not keys:
                return {}
            objs = await self.filter(**{f"{field.name}__in": keys}).all()
        return {obj.__dict__[field.name]: obj for obj in objs}

    async def get_or_create(self, defaults: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Any, bool]:
        """Return ``(instance, created)``: the row matching ``kwargs``, created (with ``defaults``) when missing.

        Safe under concurrency: when another writer creates the row first, the
        unique-constraint error is caught and the row is read.
        """
        try:
            return await self.filter(**kwargs).get(), False
        except DoesNotExist:
            pass
        values = self._create_values(defaults, kwargs)
        meta = self._state.meta
        try:
            if in_transaction(meta.database):
                # A savepoint keeps the caller's transaction usable if we lose the race.
                async with transaction(meta.database):
                    return await self.model.create(**values), True
            return await self.model.create(**values), True
        except IntegrityError as error:
            # Lost a race (someone inserted the row first), or a real constraint violation.
            try:
                return await self.filter(**kwargs).get(), False
            except DoesNotExist:
                raise error from None

    async def update_or_create(self, defaults: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Any, bool]:
        """Return ``(instance, created)``: update the row matching ``kwargs`` with ``defaults``, or create it.

        Runs in one transaction and locks the row (``SELECT ... FOR UPDATE``).
        """
        meta = self._state.meta
        defaults = {meta.write_field(k).name: v for k, v in (defaults or {}).items()}
        async with transaction(meta.database):
            obj = await self.select_for_update().filter(**kwargs).first()
            if obj is None:
                try:
                    async with transaction(meta.database):
                        return await self.model.create(**self._create_values(defaults, kwargs)), True
                except IntegrityError:
                    obj = await self.select_for_update().filter(**kwargs).get()
            plain = {k: v for k, v in defaults.items() if getattr(v, "as_sql", None) is None}
            computed = {k: v for k, v in defaults.items() if k not in plain}
            if plain:
                await obj.update(**plain)
            if computed:
                # Expressions (F("views") + 1) are computed by the database on the locked row.
                rows = await self._with(type(self._state)(meta)).filter(**obj.pk_filter()).update_returning(**computed)
                fresh = rows[0]
                for name in computed:
                    name = meta.field(name).name
                    obj.__dict__[name] = fresh.__dict__[name]
            return obj, False

    def _create_values(self, defaults: dict[str, Any] | None, lookups: dict[str, Any]) -> dict[str, Any]:
        meta = self._state.meta
        # get_or_create(author=user): a foreign key's relation name writes its column field.
        values = {meta.write_field(k).name: v for k, v in lookups.items() if "__" not in k}
        values.update({meta.write_field(k).name: v for k, v in (defaults or {}).items()})
        return values

    async def earliest(self, *fields: Any) -> Any:
        """Return the first row ordered by ``fields``; raise DoesNotExist when there is none."""
        return await self._edge("earliest", fields, reverse=False)

    async def latest(self, *fields: Any) -> Any:
        """Return the last row ordered by ``fields``; raise DoesNotExist when there is none."""
        return await self._edge("latest", fields, reverse=True)

    async def _edge(self, method: str, fields: tuple[Any, ...], reverse: bool) -> Any:
        meta = self._state.meta
        if not fields:
            raise ParameterError(f"{meta.name}.{method}() needs the field(s) to order by", model=meta.name)
        if reverse:
            fields = tuple(_reverse_order(f) for f in fields)
        obj = await self.order_by(*fields).first()
        if obj is None:
            raise DoesNotExist(f"No {meta.name} matches the given filters", model=meta.name, operation=f"QuerySet.{method}()")
        return obj

