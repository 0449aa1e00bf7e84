"""``QuerySet.explain()``: ask PostgreSQL how it would run (or, with ``analyze``, how it ran) a queryset.

The statement is the queryset's own compiled SELECT, parameters bound, behind
``EXPLAIN (...)``; it goes through the executor like any other, to the primary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matrx_orm._executor import fetch_all
from matrx_orm.core.compiler import compile_select
from matrx_orm.core.explain import explain_sql, plan_text

if TYPE_CHECKING:
    from matrx_orm.core.query_state import QueryState

__all__ = ["QuerySetExplain"]


class QuerySetExplain:
    """``QuerySet.explain()``."""

    __slots__ = ()

    if TYPE_CHECKING:
        _state: QueryState

    async def explain(
        self,
        analyze: bool = False,
        *,
        verbose: bool = False,
        buffers: bool = False,
        settings: bool = False,
        format: str = "text",
    ) -> str:
        """Return PostgreSQL's plan for this queryset (``analyze=True`` runs it and adds timings)."""
        state = self._state
        meta = state.meta
        query, params = compile_select(state)
        statement = explain_sql(
            query, analyze=analyze, verbose=verbose, buffers=buffers, settings=settings, format=format, model=meta.name
        )
        rows = await fetch_all(
            meta.database, statement, params, model=meta.name, operation="QuerySet.explain()", filters=state.filters_repr
        )
        return plan_text(rows, format)
