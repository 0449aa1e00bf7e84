"""Aggregate functions: ``Count``, ``Sum``, ``Avg``, ``Min``, ``Max`` and PostgreSQL's extras.

Aggregates are expressions (see ``expressions``) with ``contains_aggregate``
set, which tells the query compiler to group rows and to route filters on
them to ``HAVING``. Every aggregate accepts ``distinct=True`` where
PostgreSQL allows it, ``filter=Q(...)`` (``FILTER (WHERE ...)``) and
``default=`` (``COALESCE(agg, default)`` so an empty set yields a value).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.expressions import Func, OrderBy, Value, is_expression, parse_expression
from matrx_orm.core.fields import (
    ArrayField,
    BigIntegerField,
    BooleanField,
    DecimalField,
    FloatField,
    IntegerField,
    JSONField,
    TextField,
)

__all__ = [
    "Aggregate",
    "Count",
    "Sum",
    "Avg",
    "Min",
    "Max",
    "StdDev",
    "Variance",
    "ArrayAgg",
    "StringAgg",
    "JSONBAgg",
    "BoolAnd",
    "BoolOr",
]


class Aggregate(Func):
    """Base class of aggregate functions."""

    contains_aggregate = True
    window_compatible = True
    allow_distinct = True

    def __init__(
        self,
        *expressions: Any,
        distinct: bool = False,
        filter: Any = None,
        default: Any = None,
        ordering: Sequence[Any] | Any = (),
        output_field: Any = None,
    ) -> None:
        from matrx_orm.core.query_state import Q

        if distinct and not self.allow_distinct:
            raise ParameterError(f"{type(self).__name__}() does not accept distinct=True")
        if filter is not None and not isinstance(filter, Q):
            raise ParameterError(f"{type(self).__name__}(filter=...) takes a Q object, got {filter!r}")
        super().__init__(*expressions, output_field=output_field)
        self.distinct = distinct
        self.filter = filter
        self.filter_node: Any = None
        self.default = None if default is None else (default if is_expression(default) else Value(default))
        if isinstance(ordering, (str, OrderBy)) or is_expression(ordering):
            ordering = (ordering,)
        self.ordering = [_order_term(o) for o in ordering]

    def get_source_expressions(self) -> list[Any]:
        return [*self.source_expressions, *self.ordering]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        count = len(self.source_expressions)
        self.source_expressions = list(exprs[:count])
        self.ordering = list(exprs[count:])

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        clone = super().resolve_expression(meta, annotations)
        if any(getattr(e, "contains_aggregate", False) for e in clone.source_expressions):
            raise ParameterError(f"{type(self).__name__}(): an aggregate cannot contain another aggregate")
        if clone.filter is not None:
            from matrx_orm.core.conditions import build_filter_node

            clone.filter_node = build_filter_node(meta, annotations or {}, (clone.filter,), {})
        if clone.default is not None and hasattr(clone.default, "resolve_expression"):
            clone.default = clone.default.resolve_expression(meta, annotations)
        clone.contains_aggregate = True
        # Count("posts"), Sum("tags__weight"): computed in a subquery over the related rows.
        from matrx_orm.core.related_aggregates import related_aggregate

        return related_aggregate(clone, meta)

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.contains_aggregate = True

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        parts, params = self.render_args(compiler)
        inner = ", ".join(parts) if parts else "*"
        if self.distinct:
            inner = "DISTINCT " + inner
        if self.ordering:
            terms = []
            for term in self.ordering:
                sql, p = term.as_sql(compiler)
                terms.append(sql)
                params.extend(p)
            inner += " ORDER BY " + ", ".join(terms)
        text = f"{self.function}({inner})"
        if self.filter_node is not None:
            filter_params: list[Any] = []
            text += f" FILTER (WHERE {compiler.where_sql(self.filter_node, filter_params)})"
            params.extend(filter_params)
        elif self.filter is not None:
            raise ParameterError(f"{type(self).__name__}(filter=...) must be used within a query")
        if self.default is not None:
            sql, p = self.default.as_sql(compiler)
            text = f"COALESCE({text}, {sql})"
            params.extend(p)
        return text, params

    def shape(self) -> Hashable:
        return (
            "agg",
            self.function,
            self.distinct,
            tuple(e.shape() for e in self.source_expressions),
            tuple(o.shape() for o in self.ordering),
            self.filter_node.shape() if self.filter_node is not None else None,
            self.default.shape() if self.default is not None else None,
        )

    def default_alias(self) -> str:
        """Return the result name used when the aggregate is passed positionally (``views__sum``)."""
        names = [getattr(e, "name", None) for e in self.source_expressions]
        if len(names) == 1 and names[0]:
            return f"{names[0]}__{type(self).__name__.lower()}"
        if not names:
            return type(self).__name__.lower()
        raise ParameterError(f"{type(self).__name__}(...) of an expression needs a name: aggregate(name=...)")


def _order_term(value: Any) -> Any:
    if isinstance(value, OrderBy):
        return value
    if isinstance(value, str):
        desc = value.startswith("-")
        return OrderBy(parse_expression(value.lstrip("-+")), descending=desc)
    return OrderBy(parse_expression(value))


class Count(Aggregate):
    """``COUNT(expr)`` (``Count()``/``Count("*")`` is ``COUNT(*)``); never NULL."""

    function = "COUNT"

    def __init__(self, expression: Any = "*", **kwargs: Any) -> None:
        if expression == "*":
            if kwargs.get("distinct"):
                raise ParameterError("Count('*', distinct=True) is not valid SQL; count a field")
            super().__init__(**kwargs)
        else:
            super().__init__(expression, **kwargs)
        self.output_field = BigIntegerField()

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = BigIntegerField()

    def default_alias(self) -> str:
        if not self.source_expressions:
            return "count"
        return super().default_alias()


class Sum(Aggregate):
    """``SUM(expr)`` (NULL over no rows unless ``default=``)."""

    function = "SUM"


class Avg(Aggregate):
    """``AVG(expr)``."""

    function = "AVG"

    def _after_resolve(self) -> None:
        super()._after_resolve()
        if isinstance(self.output_field, IntegerField) or self.output_field is None:
            self.output_field = DecimalField()


class Min(Aggregate):
    """``MIN(expr)``."""

    function = "MIN"
    allow_distinct = False


class Max(Aggregate):
    """``MAX(expr)``."""

    function = "MAX"
    allow_distinct = False


class StdDev(Aggregate):
    """``STDDEV_SAMP(expr)`` (``sample=False``: ``STDDEV_POP``)."""

    function = "STDDEV_SAMP"
    allow_distinct = False

    def __init__(self, expression: Any, sample: bool = True, **kwargs: Any) -> None:
        self.function = "STDDEV_SAMP" if sample else "STDDEV_POP"
        super().__init__(expression, **kwargs)

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = FloatField() if isinstance(self.output_field, FloatField) else DecimalField()


class Variance(StdDev):
    """``VAR_SAMP(expr)`` (``sample=False``: ``VAR_POP``)."""

    def __init__(self, expression: Any, sample: bool = True, **kwargs: Any) -> None:
        super().__init__(expression, sample=sample, **kwargs)
        self.function = "VAR_SAMP" if sample else "VAR_POP"


class ArrayAgg(Aggregate):
    """``ARRAY_AGG(expr [ORDER BY ...])``: the values as a Python list."""

    function = "ARRAY_AGG"

    def _after_resolve(self) -> None:
        item = self.output_field
        super()._after_resolve()
        source = getattr(self.source_expressions[0], "output_field", None) if self.source_expressions else None
        self.output_field = ArrayField(source if source is not None else (item or TextField()))


class StringAgg(Aggregate):
    """``STRING_AGG(expr, delimiter [ORDER BY ...])``; the delimiter is a bound parameter."""

    function = "STRING_AGG"

    def __init__(self, expression: Any, delimiter: str, **kwargs: Any) -> None:
        if not isinstance(delimiter, str):
            raise ParameterError(f"StringAgg(): delimiter must be a string, got {delimiter!r}")
        self.delimiter = delimiter
        super().__init__(expression, **kwargs)

    def render_args(self, compiler: Any) -> tuple[list[str], list[Any]]:
        parts, params = super().render_args(compiler)
        return [f"({parts[0]})::text, %s::text"], [*params, self.delimiter]

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = TextField()


class JSONBAgg(Aggregate):
    """``JSONB_AGG(expr [ORDER BY ...])``: a JSON array."""

    function = "JSONB_AGG"

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = JSONField()


class BoolAnd(Aggregate):
    """``BOOL_AND(expr)``: True when every value is true."""

    function = "BOOL_AND"
    allow_distinct = False

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = BooleanField()


class BoolOr(Aggregate):
    """``BOOL_OR(expr)``: True when any value is true."""

    function = "BOOL_OR"
    allow_distinct = False

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = BooleanField()
