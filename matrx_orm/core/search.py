"""Full-text search: ``SearchVector``, ``SearchQuery``, ``SearchRank`` (PostgreSQL tsvector/tsquery).

``Post.filter(body__search="cheese")`` matches one column. For several
columns, weights or ranking, annotate a ``SearchVector`` and filter it with a
``SearchQuery``::

    Post.query().annotate(search=SearchVector("title", "body")).filter(search=SearchQuery("cheese"))

Configurations (``config="english"``) and weights are bound parameters.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.expressions import Expression, parse_expression
from matrx_orm.core.fields import FloatField
from matrx_orm.core.pg_fields import SearchVectorField

__all__ = ["SearchVector", "SearchQuery", "SearchRank", "SearchHeadline"]

_SEARCH_TYPES = {
    "plain": "plainto_tsquery",
    "phrase": "phraseto_tsquery",
    "raw": "to_tsquery",
    "websearch": "websearch_to_tsquery",
}
_WEIGHTS = ("A", "B", "C", "D")


def _config(config: Any) -> Any:
    if config is not None and not isinstance(config, str):
        raise ParameterError(f"search config must be a name such as 'english', got {config!r}")
    return config


class SearchVector(Expression):
    """``to_tsvector([config,] coalesce(a, '') || ' ' || coalesce(b, ''))`` over fields or expressions."""

    def __init__(self, *expressions: Any, config: str | None = None, weight: str | None = None) -> None:
        if not expressions:
            raise ParameterError("SearchVector() needs at least one field")
        if weight is not None and weight not in _WEIGHTS:
            raise ParameterError(f"SearchVector(weight=...) must be one of {_WEIGHTS}, got {weight!r}")
        self.source_expressions = [parse_expression(e) for e in expressions]
        self.config = _config(config)
        self.weight = weight
        self.output_field = SearchVectorField()

    def get_source_expressions(self) -> list[Any]:
        return list(self.source_expressions)

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.source_expressions = list(exprs)

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = SearchVectorField()

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        params: list[Any] = []
        parts = []
        for expr in self.source_expressions:
            sql, p = expr.as_sql(compiler)
            parts.append(f"COALESCE(({sql})::text, '')")
            params.extend(p)
        document = " || ' ' || ".join(parts)
        if self.config is not None:
            text = f"to_tsvector(%s::regconfig, {document})"
            params.insert(0, self.config)
        else:
            text = f"to_tsvector({document})"
        if self.weight is not None:
            text = f"setweight({text}, %s::\"char\")"
            params.append(self.weight)
        return text, params

    def shape(self) -> Hashable:
        return ("tsvector", tuple(e.shape() for e in self.source_expressions), self.config is not None, self.weight is not None)

    def __add__(self, other: Any) -> Any:
        if isinstance(other, SearchVector) or isinstance(other, CombinedSearchVector):
            return CombinedSearchVector(self, other)
        return super().__add__(other)


class CombinedSearchVector(Expression):
    """``vector || vector`` (``SearchVector("title", weight="A") + SearchVector("body", weight="B")``)."""

    def __init__(self, lhs: Any, rhs: Any) -> None:
        self.lhs = lhs
        self.rhs = rhs
        self.output_field = SearchVectorField()

    def get_source_expressions(self) -> list[Any]:
        return [self.lhs, self.rhs]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.lhs, self.rhs = exprs

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = SearchVectorField()

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        lhs, lp = self.lhs.as_sql(compiler)
        rhs, rp = self.rhs.as_sql(compiler)
        return f"({lhs} || {rhs})", lp + rp

    def __add__(self, other: Any) -> Any:
        return CombinedSearchVector(self, other)


class SearchQuery(Expression):
    """A tsquery: ``SearchQuery("red cheese", search_type="websearch", config="english")``.

    Combine with ``&``, ``|`` and ``~``. The text is always a bound parameter.
    """

    def __init__(self, value: str, *, config: str | None = None, search_type: str = "plain") -> None:
        if not isinstance(value, str):
            raise ParameterError(f"SearchQuery() takes a string, got {value!r}")
        if search_type not in _SEARCH_TYPES:
            raise ParameterError(f"SearchQuery(search_type=...) must be one of {sorted(_SEARCH_TYPES)}, got {search_type!r}")
        self.value = value
        self.config = _config(config)
        self.search_type = search_type

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        function = _SEARCH_TYPES[self.search_type]
        if self.config is not None:
            return f"{function}(%s::regconfig, %s::text)", [self.config, self.value]
        return f"{function}(%s::text)", [self.value]

    def shape(self) -> Hashable:
        return ("tsquery", self.search_type, self.config is not None)

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        return self

    def __and__(self, other: Any) -> Any:
        return CombinedSearchQuery(self, "&&", other)

    def __or__(self, other: Any) -> Any:
        return CombinedSearchQuery(self, "||", other)

    def __invert__(self) -> Any:
        return InvertedSearchQuery(self)

    def __repr__(self) -> str:
        return f"SearchQuery({self.value!r})"


class CombinedSearchQuery(SearchQuery):
    """``q1 && q2`` / ``q1 || q2``."""

    def __init__(self, lhs: Any, connector: str, rhs: Any) -> None:
        if not isinstance(rhs, SearchQuery):
            raise ParameterError(f"a SearchQuery combines with another SearchQuery, got {rhs!r}")
        self.lhs = lhs
        self.connector = connector
        self.rhs = rhs

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        lhs, lp = self.lhs.as_sql(compiler)
        rhs, rp = self.rhs.as_sql(compiler)
        return f"({lhs} {self.connector} {rhs})", lp + rp

    def shape(self) -> Hashable:
        return ("tsquery_op", self.connector, self.lhs.shape(), self.rhs.shape())

    def __repr__(self) -> str:
        return f"({self.lhs!r} {self.connector} {self.rhs!r})"


class InvertedSearchQuery(SearchQuery):
    """``!!q``: documents not matching ``q``."""

    def __init__(self, query: Any) -> None:
        self.query = query

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        sql, params = self.query.as_sql(compiler)
        return f"(!!{sql})", params

    def shape(self) -> Hashable:
        return ("tsquery_not", self.query.shape())

    def __invert__(self) -> Any:
        return self.query

    def __repr__(self) -> str:
        return f"~{self.query!r}"


class SearchRank(Expression):
    """``ts_rank(vector, query)`` (``cover_density=True``: ``ts_rank_cd``); higher is more relevant."""

    def __init__(
        self,
        vector: Any,
        query: Any,
        *,
        weights: Sequence[float] | None = None,
        normalization: int | None = None,
        cover_density: bool = False,
    ) -> None:
        self.vector = vector if isinstance(vector, Expression) else parse_expression(vector)
        self.query = query if isinstance(query, SearchQuery) else SearchQuery(query)
        if weights is not None and len(weights) != 4:
            raise ParameterError("SearchRank(weights=...) takes four numbers (D, C, B, A)")
        self.weights = None if weights is None else [float(w) for w in weights]
        if normalization is not None and (isinstance(normalization, bool) or not isinstance(normalization, int)):
            raise ParameterError(f"SearchRank(normalization=...) must be an integer, got {normalization!r}")
        self.normalization = normalization
        self.function = "ts_rank_cd" if cover_density else "ts_rank"
        self.output_field = FloatField()

    def get_source_expressions(self) -> list[Any]:
        return [self.vector, self.query]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.vector, self.query = exprs

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = FloatField()

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        vector_sql, params = self.vector.as_sql(compiler)
        if not isinstance(self.vector, (SearchVector, CombinedSearchVector)) and not isinstance(
            getattr(self.vector, "output_field", None), SearchVectorField
        ):
            vector_sql = f"to_tsvector(COALESCE(({vector_sql})::text, ''))"
        query_sql, query_params = self.query.as_sql(compiler)
        args = [vector_sql, query_sql]
        out_params: list[Any] = []
        if self.weights is not None:
            args.insert(0, "%s::real[]")
            out_params.append(self.weights)
        out_params += params + query_params
        if self.normalization is not None:
            args.append("%s::integer")
            out_params.append(self.normalization)
        return f"{self.function}({', '.join(args)})", out_params

    def shape(self) -> Hashable:
        return ("rank", self.function, self.vector.shape(), self.query.shape(), self.weights is not None,
                self.normalization is not None)


class SearchHeadline(Expression):
    """``ts_headline(document, query)``: the matching fragment with terms marked (``<b>...</b>``)."""

    def __init__(self, expression: Any, query: Any, *, config: str | None = None) -> None:
        self.expression = parse_expression(expression)
        self.query = query if isinstance(query, SearchQuery) else SearchQuery(query)
        self.config = _config(config)

    def get_source_expressions(self) -> list[Any]:
        return [self.expression, self.query]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.expression, self.query = exprs

    def _after_resolve(self) -> None:
        from matrx_orm.core.fields import TextField

        super()._after_resolve()
        self.output_field = TextField()

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        doc, params = self.expression.as_sql(compiler)
        query_sql, query_params = self.query.as_sql(compiler)
        if self.config is not None:
            return f"ts_headline(%s::regconfig, ({doc})::text, {query_sql})", [self.config, *params, *query_params]
        return f"ts_headline(({doc})::text, {query_sql})", params + query_params
