"""Window functions: ``Window(RowNumber(), partition_by=..., order_by=...)``.

A ``Window`` is an expression with ``contains_window`` set. It may be used in
``annotate()``; filtering on a window annotation (``filter(rank__lte=3)``)
makes the compiler wrap the query, because PostgreSQL evaluates windows after
``WHERE``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.expressions import Expression, Func, OrderBy, Value, is_expression, parse_expression
from matrx_orm.core.fields import BigIntegerField, FloatField, IntegerField

__all__ = [
    "Window",
    "RowRange",
    "ValueRange",
    "RowNumber",
    "Rank",
    "DenseRank",
    "PercentRank",
    "CumeDist",
    "NTile",
    "Lag",
    "Lead",
    "FirstValue",
    "LastValue",
    "NthValue",
]


class WindowFunction(Func):
    """Base class of functions that exist only over a window."""

    window_compatible = True


class RowNumber(WindowFunction):
    """``ROW_NUMBER()``: 1, 2, 3... within the partition."""

    function = "ROW_NUMBER"
    fixed_output = BigIntegerField


class Rank(WindowFunction):
    """``RANK()``: ties share a rank, with gaps."""

    function = "RANK"
    fixed_output = BigIntegerField


class DenseRank(WindowFunction):
    """``DENSE_RANK()``: ties share a rank, without gaps."""

    function = "DENSE_RANK"
    fixed_output = BigIntegerField


class PercentRank(WindowFunction):
    """``PERCENT_RANK()``."""

    function = "PERCENT_RANK"
    fixed_output = FloatField


class CumeDist(WindowFunction):
    """``CUME_DIST()``."""

    function = "CUME_DIST"
    fixed_output = FloatField


class NTile(WindowFunction):
    """``NTILE(n)``: the bucket number, 1..n."""

    function = "NTILE"
    fixed_output = IntegerField

    def __init__(self, num_buckets: int = 1) -> None:
        if isinstance(num_buckets, bool) or not isinstance(num_buckets, int) or num_buckets <= 0:
            raise ParameterError(f"NTile(): num_buckets must be a positive integer, got {num_buckets!r}")
        super().__init__(Value(num_buckets))


class _OffsetFunction(WindowFunction):
    def __init__(self, expression: Any, offset: int = 1, default: Any = None) -> None:
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ParameterError(f"{type(self).__name__}(): offset must be a non-negative integer, got {offset!r}")
        args: list[Any] = [expression, Value(offset)]
        if default is not None:
            args.append(default if is_expression(default) else Value(default))
        super().__init__(*args)

    def _after_resolve(self) -> None:
        self.output_field = getattr(self.source_expressions[0], "output_field", None)
        super()._after_resolve()


class Lag(_OffsetFunction):
    """``LAG(expr, offset, default)``: the value ``offset`` rows before."""

    function = "LAG"


class Lead(_OffsetFunction):
    """``LEAD(expr, offset, default)``: the value ``offset`` rows after."""

    function = "LEAD"


class FirstValue(WindowFunction):
    """``FIRST_VALUE(expr)``."""

    function = "FIRST_VALUE"
    arity = 1


class LastValue(WindowFunction):
    """``LAST_VALUE(expr)``."""

    function = "LAST_VALUE"
    arity = 1


class NthValue(WindowFunction):
    """``NTH_VALUE(expr, n)``."""

    function = "NTH_VALUE"

    def __init__(self, expression: Any, nth: int = 1) -> None:
        if isinstance(nth, bool) or not isinstance(nth, int) or nth <= 0:
            raise ParameterError(f"NthValue(): nth must be a positive integer, got {nth!r}")
        super().__init__(expression, Value(nth))

    def _after_resolve(self) -> None:
        self.output_field = getattr(self.source_expressions[0], "output_field", None)
        super()._after_resolve()


class _Frame:
    """A window frame: ``ROWS``/``RANGE BETWEEN start AND end``.

    ``start``/``end`` are row offsets: None is unbounded, 0 the current row,
    negative numbers preceding rows and positive numbers following rows.
    """

    frame_type = "ROWS"

    def __init__(self, start: int | None = None, end: int | None = 0) -> None:
        for name, value in (("start", start), ("end", end)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ParameterError(f"{type(self).__name__}(): {name} must be an integer or None, got {value!r}")
        self.start = start
        self.end = end

    @staticmethod
    def _bound(value: int | None, unbounded: str) -> tuple[str, list[Any]]:
        if value is None:
            return f"UNBOUNDED {unbounded}", []
        if value == 0:
            return "CURRENT ROW", []
        if value < 0:
            return "%s PRECEDING", [-value]
        return "%s FOLLOWING", [value]

    def as_sql(self) -> tuple[str, list[Any]]:
        """Return the frame clause and its parameters."""
        start_sql, start_params = self._bound(self.start, "PRECEDING")
        end_sql, end_params = self._bound(self.end, "FOLLOWING")
        return f"{self.frame_type} BETWEEN {start_sql} AND {end_sql}", start_params + end_params

    def shape(self) -> Hashable:
        def kind(value: int | None) -> str:
            return "u" if value is None else "c" if value == 0 else "p" if value < 0 else "f"

        return (self.frame_type, kind(self.start), kind(self.end))


class RowRange(_Frame):
    """``ROWS BETWEEN ...`` (offsets count rows)."""

    frame_type = "ROWS"


class ValueRange(_Frame):
    """``RANGE BETWEEN ...`` (offsets are distances in the ordering value)."""

    frame_type = "RANGE"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, OrderBy)) or is_expression(value):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    raise ParameterError(f"Window(): expected a field name, an expression or a list of them, got {value!r}")


def _order_term(value: Any) -> OrderBy:
    if isinstance(value, OrderBy):
        return value
    if isinstance(value, str):
        return OrderBy(parse_expression(value.lstrip("-+")), descending=value.startswith("-"))
    return OrderBy(parse_expression(value))


class Window(Expression):
    """``expr OVER (PARTITION BY ... ORDER BY ... frame)``."""

    contains_window = True

    def __init__(
        self,
        expression: Any,
        partition_by: Any = None,
        order_by: Any = None,
        frame: _Frame | None = None,
        output_field: Any = None,
    ) -> None:
        if not getattr(expression, "window_compatible", False):
            raise ParameterError(
                f"Window() takes a window function or an aggregate, got {expression!r}"
            )
        if frame is not None and not isinstance(frame, _Frame):
            raise ParameterError(f"Window(frame=...) takes RowRange() or ValueRange(), got {frame!r}")
        self.expression = expression
        self.partition_by = [parse_expression(p) for p in _as_list(partition_by)]
        self.order_by = [_order_term(o) for o in _as_list(order_by)]
        self.frame = frame
        if output_field is not None:
            self.output_field = output_field

    def get_source_expressions(self) -> list[Any]:
        return [self.expression, *self.partition_by, *self.order_by]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.expression = exprs[0]
        n = len(self.partition_by)
        self.partition_by = list(exprs[1 : 1 + n])
        self.order_by = list(exprs[1 + n :])

    def _after_resolve(self) -> None:
        if getattr(self.expression, "related_aggregate", False):
            raise ParameterError(
                f"Window(): {self.expression!r} aggregates across a multi-valued relation (a subquery per row), "
                "which is not a window function; annotate it and use it in the window's order_by/partition_by"
            )
        if self.output_field is None:
            self.output_field = getattr(self.expression, "output_field", None)
        super()._after_resolve()
        # The aggregate inside a window does not make the query an aggregate query.
        self.contains_aggregate = any(getattr(p, "contains_aggregate", False) for p in self.partition_by)
        self.contains_window = True

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        expr_sql, params = self.expression.as_sql(compiler)
        clauses: list[str] = []
        if self.partition_by:
            parts = []
            for p in self.partition_by:
                sql, pp = p.as_sql(compiler)
                parts.append(sql)
                params.extend(pp)
            clauses.append("PARTITION BY " + ", ".join(parts))
        if self.order_by:
            parts = []
            for o in self.order_by:
                sql, pp = o.as_sql(compiler)
                parts.append(sql)
                params.extend(pp)
            clauses.append("ORDER BY " + ", ".join(parts))
        if self.frame is not None:
            frame_sql, frame_params = self.frame.as_sql()
            clauses.append(frame_sql)
            params.extend(frame_params)
        return f"{expr_sql} OVER ({' '.join(clauses)})", params

    def shape(self) -> Hashable:
        return (
            "window",
            self.expression.shape(),
            tuple(p.shape() for p in self.partition_by),
            tuple(o.shape() for o in self.order_by),
            self.frame.shape() if self.frame is not None else None,
        )
