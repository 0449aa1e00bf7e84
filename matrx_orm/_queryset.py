"""Lazy, immutable querysets: every chaining call returns a new one.

Nothing is sent until a terminal method (``all``, ``get``, ``first``, ``count``,
``exists``, ``values``, ``values_list``, ``update``, ``delete``) is awaited or the
queryset is iterated. Filters are validated when they are added.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from matrx_orm._cache_hooks import cache_writing_state
from matrx_orm._executor import execute, fetch_all
from matrx_orm._queryset_explain import QuerySetExplain
from matrx_orm._queryset_extras import QuerySetExtras
from matrx_orm._relations import prefetch_related_objects
from matrx_orm._streaming import QuerySetStreaming
from matrx_orm.core.compiler import (
    compile_count,
    compile_delete,
    compile_exists,
    compile_select,
    compile_update,
)
from matrx_orm.core.exceptions import ConfigurationError, DoesNotExist, MultipleObjectsReturned, ParameterError
from matrx_orm.core.extended_query import (
    annotation_names,
    attach_annotations,
    distinct_on_state,
    filter_state,
    has_ext,
    order_state,
    split_annotation_values,
)
from matrx_orm.core.hydrate import convert_values, hydrate_rows, rows_to_dicts
from matrx_orm.core.query_state import QueryState
from matrx_orm.core.relations import (
    hydrate_select_related,
    parse_prefetch_related,
    parse_select_related,
    prefetch_source_fields,
)
from matrx_orm.core.write_prep import prepare_update_values

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["QuerySet"]

M = TypeVar("M")


def _non_negative_int(model: str, method: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"{model}.{method}() expects a non-negative integer, got {value!r}", model=model)
    return value


class QuerySet(QuerySetExtras, QuerySetExplain, QuerySetStreaming[M], Generic[M]):
    """A lazy query over one model's table."""

    __slots__ = ("model", "_state")

    def __init__(self, model: type[M], state: QueryState | None = None) -> None:
        self.model = model
        if state is None:
            meta = model._meta  # type: ignore[attr-defined]
            if meta.abstract:
                raise ConfigurationError(f"{meta.name} is abstract: it has no table to query", model=meta.name)
            state = QueryState(meta)
        self._state = state

    # -- building ---------------------------------------------------------
    def _with(self, state: QueryState) -> Self:
        if state.prefetch_related and state.fields is not None:
            # prefetch_related matches related rows on these fields: load them even when only()/defer() left them out.
            fields = prefetch_source_fields(state.meta, state.fields, state.prefetch_related)
            if fields is not state.fields:
                state = state.clone(fields=fields)
        return type(self)(self.model, state)

    @property
    def state(self) -> QueryState:
        """Return the immutable query state (for compilers and tools)."""
        return self._state

    def filter(self, *args: Any, **kwargs: Any) -> Self:
        """Return a queryset narrowed by ``Q`` objects, boolean expressions and ``field__lookup=value`` filters."""
        return self._with(filter_state(self._state, args, kwargs))

    def exclude(self, *args: Any, **kwargs: Any) -> Self:
        """Return a queryset without the rows matching the filters."""
        return self._with(filter_state(self._state, args, kwargs, negated=True))

    def order_by(self, *names: Any) -> Self:
        """Return a queryset ordered by ``names`` (``"-name"`` for descending) or expressions (``F("x").desc()``)."""
        return self._with(order_state(self._state, names))

    def limit(self, n: int) -> Self:
        """Return a queryset of at most ``n`` rows."""
        return self._with(self._state.clone(limit=_non_negative_int(self._state.meta.name, "limit", n)))

    def offset(self, n: int) -> Self:
        """Return a queryset skipping the first ``n`` rows."""
        return self._with(self._state.clone(offset=_non_negative_int(self._state.meta.name, "offset", n)))

    def select(self, *fields: str) -> Self:
        """Return a queryset loading only ``fields`` (the primary key is always loaded)."""
        meta = self._state.meta
        names = [meta.field(f).name for f in fields]
        for pk in meta.pk_names:
            if pk not in names:
                names.insert(0, pk)
        return self._with(self._state.clone(fields=tuple(names)))

    only = select

    def select_related(self, *names: str) -> Self:
        """Return a queryset that LEFT JOINs the foreign keys ``names`` (``"author"``, ``"post__author"``).

        One query; each related object is cached on its row (``post.author``).
        Without names, every foreign key of the model is joined.
        """
        meta = self._state.meta
        paths = parse_select_related(meta, names)
        merged = self._state.select_related + tuple(p for p in paths if p not in self._state.select_related)
        return self._with(self._state.clone(select_related=merged))

    def prefetch_related(self, *names: str) -> Self:
        """Return a queryset that loads relations ``names`` with one extra query each (FK, inverse FK, M2M).

        Nested paths (``"author__profile"``) load level by level; the results
        are cached on each instance (``post.tags``, ``post.author``).
        """
        paths = parse_prefetch_related(self._state.meta, names)
        merged = self._state.prefetch_related + tuple(p for p in paths if p not in self._state.prefetch_related)
        return self._with(self._state.clone(prefetch_related=merged))

    def distinct(self, *fields: Any) -> Self:
        """Return a queryset with duplicate rows removed (``distinct("a", "b")``: PostgreSQL ``DISTINCT ON``)."""
        if fields:
            return self._with(distinct_on_state(self._state, fields))
        return self._with(self._state.clone(distinct=True))

    def select_for_update(
        self, *, nowait: bool = False, skip_locked: bool = False, of: tuple[str, ...] | str = ()
    ) -> Self:
        """Return a queryset that locks its rows (``FOR UPDATE``); use inside ``transaction()``."""
        if nowait and skip_locked:
            raise ParameterError("select_for_update(): nowait and skip_locked are exclusive", model=self._state.meta.name)
        of = (of,) if isinstance(of, str) else tuple(of)
        return self._with(self._state.clone(for_update=(nowait, skip_locked, of)))

    def using(self, target: str) -> Self:
        """Return a queryset that reads from ``"primary"`` (never a replica), or ``"replica"`` (the default)."""
        if target == "primary":
            from matrx_orm._routing import primary_queryset

            return primary_queryset(self)  # type: ignore[no-any-return]
        if target in ("replica", "default"):
            base = type(self).__mro__[1] if getattr(type(self), "_matrx_on_primary", False) else type(self)
            return base(self.model, self._state)  # type: ignore[no-any-return]
        raise ParameterError(
            f"{self._state.meta.name}.using() takes 'primary' or 'replica', got {target!r}", model=self._state.meta.name
        )

    def __getitem__(self, item: slice) -> Self:
        meta = self._state.meta
        if not isinstance(item, slice):
            raise ParameterError(
                f"{meta.name} querysets are sliced with [start:stop]; use .offset(n).first() for one row",
                model=meta.name,
            )
        if item.step not in (None, 1):
            raise ParameterError(f"{meta.name}: slice steps are not supported", model=meta.name)
        start = _non_negative_int(meta.name, "slice", item.start or 0)
        state = self._state
        base_offset = state.offset or 0
        base_limit = state.limit
        new_offset = base_offset + start
        if item.stop is not None:
            stop = _non_negative_int(meta.name, "slice", item.stop)
            stop_limit = max(stop - start, 0)
            new_limit: int | None = stop_limit if base_limit is None else min(stop_limit, max(base_limit - start, 0))
        else:
            new_limit = None if base_limit is None else max(base_limit - start, 0)
        return self._with(state.clone(offset=new_offset or None, limit=new_limit))

    def sql(self) -> tuple[str, list[Any]]:
        """Return the ``(sql, params)`` this queryset would run, without running it."""
        return compile_select(self._state)

    def __repr__(self) -> str:
        text, params = self.sql()
        return f"<QuerySet {self._state.meta.name}: {text} {params!r}>"

    # -- reading ----------------------------------------------------------
    async def all(self) -> list[M]:
        """Return every matching row as a model instance."""
        state = self._state
        meta = state.meta
        query, params = compile_select(state)
        rows = await fetch_all(
            meta.database, query, params, model=meta.name, operation="QuerySet.all()", filters=state.filters_repr
        )
        annotated = annotation_names(state)
        if annotated:
            rows, extras = split_annotation_values(state, annotated, rows)
        names = meta.field_names if state.fields is None else state.fields
        if state.select_related:
            objs = hydrate_select_related(self.model, state, rows)
        else:
            objs = hydrate_rows(self.model, names, rows)
        if annotated:
            attach_annotations(objs, annotated, extras)
        if state.prefetch_related and objs:
            await prefetch_related_objects(objs, *state.prefetch_related)
        return objs

    def __aiter__(self) -> AsyncIterator[M]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[M]:
        for obj in await self.all():
            yield obj

    async def get(self, *args: Any, **kwargs: Any) -> M:
        """Return the single matching row; raise DoesNotExist or MultipleObjectsReturned."""
        qs = self.filter(*args, **kwargs) if (args or kwargs) else self
        state = qs._state
        # Two rows are enough to tell "several" from "one"; a slice's own limit still applies.
        rows = await qs._with(state.clone(limit=2 if state.limit is None else min(state.limit, 2))).all()
        if not rows:
            raise DoesNotExist(
                f"No {state.meta.name} matches the given filters",
                model=state.meta.name,
                operation="QuerySet.get()",
                filters=kwargs or state.filters_repr(),
            )
        if len(rows) > 1:
            raise MultipleObjectsReturned(
                f"More than one {state.meta.name} matches the given filters",
                model=state.meta.name,
                operation="QuerySet.get()",
                filters=kwargs or state.filters_repr(),
            )
        return rows[0]

    async def first(self) -> M | None:
        """Return the first row (by primary key unless ordered), or None."""
        state = self._state
        if not state.order_by and state.meta.pk_names:
            state = state.clone(order_by=tuple((n, False) for n in state.meta.pk_names))
        rows = await self._with(state.clone(limit=1 if state.limit is None else min(state.limit, 1))).all()
        return rows[0] if rows else None

    async def last(self) -> M | None:
        """Return the last row (by primary key unless ordered), or None."""
        state = self._state
        if state.limit is not None or state.offset is not None:
            raise ParameterError(
                f"{state.meta.name}.last() cannot be used on a sliced queryset (reverse the ordering instead)",
                model=state.meta.name,
            )
        order = state.order_by or tuple((n, False) for n in state.meta.pk_names)
        reversed_order = tuple((n, not desc) for n, desc in order)
        rows = await self._with(state.clone(order_by=reversed_order, limit=1, offset=None)).all()
        return rows[0] if rows else None

    async def count(self) -> int:
        """Return the number of matching rows."""
        state = self._state
        query, params = compile_count(state)
        rows = await fetch_all(
            state.meta.database, query, params, model=state.meta.name, operation="QuerySet.count()",
            filters=state.filters_repr,
        )
        return int(rows[0][0])

    async def exists(self) -> bool:
        """Return True when at least one row matches."""
        state = self._state
        query, params = compile_exists(state)
        rows = await fetch_all(
            state.meta.database, query, params, model=state.meta.name, operation="QuerySet.exists()",
            filters=state.filters_repr,
        )
        return bool(rows[0][0])

    async def values(self, *fields: str, **expressions: Any) -> list[dict[str, Any]]:
        """Return the matching rows as dicts of ``fields`` (all fields by default).

        Names may be annotations and ``__`` paths (``author__username``,
        ``created_at__year``); keyword arguments are expressions
        (``values("status", n=Count())`` groups by ``status``).
        """
        state = self._state
        if expressions or has_ext(state) or any("__" in f for f in fields):
            return await self._values_extended(fields, expressions, "dicts")
        meta = state.meta
        names = tuple(meta.field(f).name for f in fields) if fields else (state.fields or meta.field_names)
        query, params = compile_select(state.clone(fields=names, select_related=()))
        rows = await fetch_all(
            meta.database, query, params, model=meta.name, operation="QuerySet.values()", filters=state.filters_repr
        )
        if any(meta.fields[n].needs_conversion for n in names):
            return [convert_values(meta, names, row) for row in rows]
        return rows_to_dicts(names, rows)

    async def values_list(self, *fields: str, flat: bool = False, **expressions: Any) -> list[Any]:
        """Return the matching rows as tuples (or bare values with ``flat=True`` and one field)."""
        state = self._state
        if expressions or has_ext(state) or any("__" in f for f in fields):
            return await self._values_extended(fields, expressions, "flat" if flat else "tuples")
        meta = state.meta
        if flat and len(fields) != 1:
            raise ParameterError(f"{meta.name}.values_list(flat=True) needs exactly one field", model=meta.name)
        names = tuple(meta.field(f).name for f in fields) if fields else meta.field_names
        query, params = compile_select(state.clone(fields=names, select_related=()))
        rows = await fetch_all(
            meta.database, query, params, model=meta.name, operation="QuerySet.values_list()",
            filters=state.filters_repr,
        )
        if any(meta.fields[n].needs_conversion for n in names):
            rows = [tuple(convert_values(meta, names, row).values()) for row in rows]
        if flat:
            return [row[0] for row in rows]
        return [tuple(row) for row in rows]

    # -- writing ----------------------------------------------------------
    async def update(self, **values: Any) -> int:
        """Update every matching row in one statement; return the row count."""
        state = self._state
        meta = state.meta
        prepared = prepare_update_values(meta, values)
        query, params = compile_update(state, prepared)
        async with cache_writing_state(state, updated=prepared) as written:
            count = await execute(
                meta.database, query, params, model=meta.name, operation="QuerySet.update()", filters=state.filters_repr
            )
            if not count:
                written.nothing()
        return count

    async def update_returning(self, **values: Any) -> list[M]:
        """Update every matching row and return the updated rows as instances."""
        state = self._state
        meta = state.meta
        prepared = prepare_update_values(meta, values)
        query, params = compile_update(state, prepared, returning=True)
        async with cache_writing_state(state, updated=prepared) as written:
            rows = await fetch_all(
                meta.database, query, params, model=meta.name, operation="QuerySet.update()", filters=state.filters_repr
            )
            updated = hydrate_rows(self.model, meta.field_names, rows)
            written.rows(updated)
        return updated

    async def delete(self) -> int:
        """Delete every matching row in one statement; return the row count."""
        state = self._state
        meta = state.meta
        query, params = compile_delete(state)
        async with cache_writing_state(state, deleted=True) as written:
            count = await execute(
                meta.database, query, params, model=meta.name, operation="QuerySet.delete()", filters=state.filters_repr
            )
            if not count:
                written.nothing()
        return count

    async def delete_returning(self) -> list[M]:
        """Delete every matching row and return the deleted rows as instances."""
        state = self._state
        meta = state.meta
        query, params = compile_delete(state, returning=True)
        async with cache_writing_state(state, deleted=True) as written:
            rows = await fetch_all(
                meta.database, query, params, model=meta.name, operation="QuerySet.delete()", filters=state.filters_repr
            )
            deleted = hydrate_rows(self.model, meta.field_names, rows)
            written.rows(deleted)
        return deleted
