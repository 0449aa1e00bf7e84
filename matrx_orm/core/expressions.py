"""SQL expressions: ``F``, ``Value``, arithmetic, functions, ``Case``/``When``, ``RawSQL``.

An expression is anything with ``as_sql(compiler) -> (sql, params)`` and
``shape() -> hashable``. The compiler treats such a value as SQL instead of a
bound parameter wherever a value may appear (filters, updates, annotations,
ordering), so ``update(views=F("views") + 1)`` is atomic in the database.

Rules every expression follows:

- identifiers come from the compiler (``compiler.column(name)``), which quotes
  them and raises ``FieldError`` naming the model for an unknown field;
- values are always bound parameters (``%s``), never formatted into SQL;
- ``shape()`` describes everything that changes the SQL text but not the
  values, so compiled SQL is cached per query shape;
- ``resolve_expression(meta, annotations)`` validates field names when the
  expression is added to a query and returns a resolved copy, so a bad name
  fails when the query is built, not when it runs.

In expression arguments a plain ``str`` is a field (or annotation) name, as in
Django; use ``Value("text")`` for a literal string.
"""

from __future__ import annotations

import copy
import datetime as _dt
import decimal
import re
import uuid
from collections.abc import Hashable, Sequence
from typing import Any

from matrx_orm.core.exceptions import FieldError, ParameterError
from matrx_orm.core.fields import (
    BigIntegerField,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    FloatField,
    IntegerField,
    TextField,
    TimeField,
)

__all__ = [
    "Expression",
    "F",
    "Value",
    "RawSQL",
    "CombinedExpression",
    "Func",
    "Cast",
    "Coalesce",
    "Greatest",
    "Least",
    "NullIf",
    "Lower",
    "Upper",
    "Length",
    "Trim",
    "LTrim",
    "RTrim",
    "Concat",
    "Substr",
    "Replace",
    "Left",
    "Right",
    "StrIndex",
    "Abs",
    "Round",
    "Floor",
    "Ceil",
    "Sqrt",
    "Power",
    "Mod",
    "Now",
    "Extract",
    "Trunc",
    "When",
    "Case",
    "OrderBy",
    "ExpressionWrapper",
    "NegatedExpression",
    "parse_expression",
    "ref_sql",
    "column_sql",
    "is_expression",
]

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def is_expression(value: Any) -> bool:
    """Return True when ``value`` renders itself as SQL (the expression protocol)."""
    return getattr(value, "as_sql", None) is not None and callable(getattr(value, "shape", None))


def column_sql(compiler: Any, name: str, *, ordering: bool = False) -> str:
    """Return the quoted column for field ``name`` (relation paths go through the relation hooks)."""
    if "__" in name:
        for hook in getattr(compiler, "relation_condition_hooks", ()):
            # As a value a path must be single-valued; ORDER BY also accepts multi-valued ones.
            order_hook = getattr(hook, "order_sql" if ordering else "expression_sql", None)
            if order_hook is not None:
                rendered = order_hook(compiler, name)
                if rendered is not None:
                    return rendered  # type: ignore[no-any-return]
        meta = compiler.meta
        raise FieldError(
            f"{meta.name}: cannot reference {name!r} (unknown field, or relations are not enabled)",
            model=meta.name,
            field=name,
        )
    return compiler.column(name)  # type: ignore[no-any-return]


def ref_sql(compiler: Any, name: str) -> tuple[str, list[Any]]:
    """Return SQL for a reference to a field or annotation ``name`` in ``compiler``'s query."""
    ref = getattr(compiler, "expression_ref", None)
    if ref is not None:
        return ref(name)  # type: ignore[no-any-return]
    return column_sql(compiler, name), []


def parse_expression(value: Any) -> Any:
    """Return ``value`` as an expression: strings are field names, other plain values ``Value``."""
    if is_expression(value):
        return value
    if isinstance(value, str):
        return F(value)
    return Value(value)


class Expression:
    """Base class: arithmetic operators, ordering helpers and resolution.

    Subclasses implement ``as_sql`` and ``shape`` and, when they have
    sub-expressions, ``get_source_expressions``/``set_source_expressions``.
    """

    #: The field describing the result (used to convert values read back and
    #: to validate values compared with it); None when unknown.
    output_field: Field | None = None
    contains_aggregate = False
    contains_window = False
    #: True when the SQL is a parenthesised SELECT (``IN (SELECT ...)`` is then valid).
    is_subquery = False
    #: True when the expression is a boolean condition usable directly in ``filter()``.
    conditional = False
    #: True when the expression may be used inside ``Window(...)``.
    window_compatible = False
    #: Field class of the result when it never depends on the arguments (set per instance,
    #: because a Field instance as a class attribute would act as a descriptor).
    fixed_output: type[Field] | None = None

    # -- protocol ---------------------------------------------------------
    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        """Return ``(sql, params)`` for this expression in ``compiler``'s query."""
        raise TypeError(f"{type(self).__name__} must implement as_sql()")

    def shape(self) -> Hashable:
        """Return what changes the SQL text (not the bound values)."""
        return (type(self).__name__, tuple(e.shape() for e in self.get_source_expressions()))

    def get_source_expressions(self) -> list[Any]:
        """Return the sub-expressions."""
        return []

    def set_source_expressions(self, exprs: list[Any]) -> None:
        """Replace the sub-expressions (on a copy)."""
        if exprs:
            raise TypeError(f"{type(self).__name__} has no sub-expressions")

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        """Return a copy whose field references are validated against ``meta``."""
        clone = copy.copy(self)
        sources = [
            s.resolve_expression(meta, annotations) if hasattr(s, "resolve_expression") else s
            for s in self.get_source_expressions()
        ]
        clone.set_source_expressions(sources)
        clone._after_resolve()
        return clone

    def _after_resolve(self) -> None:
        """Hook: derive ``output_field`` and flags from resolved sources."""
        sources = self.get_source_expressions()
        if any(getattr(s, "contains_aggregate", False) for s in sources):
            self.contains_aggregate = True
        if any(getattr(s, "contains_window", False) for s in sources):
            self.contains_window = True
        if self.output_field is None:
            for source in sources:
                field = getattr(source, "output_field", None)
                if field is not None:
                    self.output_field = field
                    break

    # -- operators --------------------------------------------------------
    def _combine(self, other: Any, connector: str, reverse: bool) -> CombinedExpression:
        other_expr = other if is_expression(other) else Value(other)
        if reverse:
            return CombinedExpression(other_expr, connector, self)
        return CombinedExpression(self, connector, other_expr)

    def __add__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "+", False)

    def __radd__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "+", True)

    def __sub__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "-", False)

    def __rsub__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "-", True)

    def __mul__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "*", False)

    def __rmul__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "*", True)

    def __truediv__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "/", False)

    def __rtruediv__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "/", True)

    def __mod__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "%%", False)

    def __rmod__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "%%", True)

    def __pow__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "^", False)

    def __rpow__(self, other: Any) -> CombinedExpression:
        return self._combine(other, "^", True)

    # Boolean expressions combine with Q objects: ``Exists(...) | Q(age__gt=3)``.
    def _bool_combine(self, other: Any, connector: str, reverse: bool) -> Any:
        from matrx_orm.core.query_state import Q

        if not self.conditional or not (isinstance(other, Q) or getattr(other, "conditional", False)):
            return NotImplemented
        left, right = Q(self), other if isinstance(other, Q) else Q(other)  # type: ignore[arg-type]
        if reverse:
            left, right = right, left
        return left & right if connector == "AND" else left | right

    def __and__(self, other: Any) -> Any:
        return self._bool_combine(other, "AND", False)

    def __rand__(self, other: Any) -> Any:
        return self._bool_combine(other, "AND", True)

    def __or__(self, other: Any) -> Any:
        return self._bool_combine(other, "OR", False)

    def __ror__(self, other: Any) -> Any:
        return self._bool_combine(other, "OR", True)

    def __neg__(self) -> CombinedExpression:
        return CombinedExpression(Value(0), "-", self)

    def __invert__(self) -> NegatedExpression:
        return NegatedExpression(self)

    # -- ordering ---------------------------------------------------------
    def asc(self, *, nulls_first: bool = False, nulls_last: bool = False) -> OrderBy:
        """Return an ascending ordering on this expression."""
        return OrderBy(self, descending=False, nulls_first=nulls_first, nulls_last=nulls_last)

    def desc(self, *, nulls_first: bool = False, nulls_last: bool = False) -> OrderBy:
        """Return a descending ordering on this expression."""
        return OrderBy(self, descending=True, nulls_first=nulls_first, nulls_last=nulls_last)

    def __repr__(self) -> str:
        args = ", ".join(repr(s) for s in self.get_source_expressions())
        return f"{type(self).__name__}({args})"


class F(Expression):
    """A reference to a field (or annotation) of the query's model: ``F("views") + 1``."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ParameterError(f"F() takes a field name, got {name!r}")
        self.name = name

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        return ref_sql(compiler, self.name)

    def shape(self) -> Hashable:
        return ("F", self.name)

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        clone = copy.copy(self)
        if annotations and self.name in annotations:
            target = annotations[self.name]
            clone.output_field = getattr(target, "output_field", None)
            clone.contains_aggregate = getattr(target, "contains_aggregate", False)
            clone.contains_window = getattr(target, "contains_window", False)
            return clone
        if "__" not in self.name and (self.name in meta.fields or self.name == "pk"):
            clone.output_field = meta.field(self.name)
            return clone
        # A relation name or path: F("author") is the author_id column, F("posts") the related
        # post's key, F("author__username") a value across the relation.
        from matrx_orm.core.query_state import resolve_filter_key

        path, field, lookup = resolve_filter_key(meta, self.name)
        if lookup.name != "exact" or self.name.endswith("__exact"):
            raise ParameterError(
                f"F({self.name!r}): {lookup.name!r} is a lookup, not a field of {meta.name}", model=meta.name, field=self.name
            )
        clone.output_field = field
        if not getattr(field, "transforms", None):
            clone.name = "__".join(path)
        return clone

    def __repr__(self) -> str:
        return f"F({self.name!r})"


_VALUE_CASTS: tuple[tuple[type, str], ...] = (
    (bool, "BOOLEAN"),
    (str, "TEXT"),
)


class Value(Expression):
    """A literal value, always sent as a bound parameter.

    Strings and bools are cast (``%s::TEXT``) so PostgreSQL knows their type in
    any position; with ``output_field`` the value is validated and converted by
    that field and cast to its type.
    """

    def __init__(self, value: Any, output_field: Field | None = None) -> None:
        self.value = value
        if output_field is not None:
            self.output_field = output_field
            self._cast: str | None = output_field.db_type
            self._param = output_field.get_lookup_value(value)
        else:
            self._cast = None
            for kind, cast in _VALUE_CASTS:
                if isinstance(value, kind):
                    self._cast = cast
                    break
            self._param = value
            self.output_field = _field_for_python_value(value)

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        if self._cast:
            return f"%s::{self._cast}", [self._param]
        return "%s", [self._param]

    def shape(self) -> Hashable:
        return ("V", self._cast)

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        return self

    def __repr__(self) -> str:
        return f"Value({self.value!r})"


def _field_for_python_value(value: Any) -> Field | None:
    if isinstance(value, bool):
        return BooleanField()
    if isinstance(value, int):
        return BigIntegerField()
    if isinstance(value, float):
        return FloatField()
    if isinstance(value, decimal.Decimal):
        return DecimalField()
    if isinstance(value, str):
        return TextField()
    if isinstance(value, _dt.datetime):
        return DateTimeField()
    if isinstance(value, _dt.date):
        return DateField()
    if isinstance(value, _dt.time):
        return TimeField()
    if isinstance(value, uuid.UUID):
        from matrx_orm.core.fields import UUIDField

        return UUIDField()
    return None


class RawSQL(Expression):
    """An explicit escape hatch: a SQL fragment with ``%s`` placeholders and its parameters.

    The fragment is the developer's text (never build it from user input); the
    values still travel as bound parameters. Write ``%%`` for a literal ``%``.
    """

    def __init__(self, sql: str, params: Sequence[Any] = (), output_field: Field | None = None) -> None:
        if not isinstance(sql, str):
            raise ParameterError(f"RawSQL() takes SQL text, got {type(sql).__name__}")
        if isinstance(params, (str, bytes)):
            raise ParameterError("RawSQL() params must be a list or tuple of values")
        placeholders = sql.replace("%%", "").count("%s")
        if placeholders != len(params):
            raise ParameterError(f"RawSQL(): {placeholders} placeholders but {len(params)} params in {sql!r}")
        self.sql = sql
        self.params = list(params)
        self.output_field = output_field

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        return f"({self.sql})", list(self.params)

    def shape(self) -> Hashable:
        return ("raw", self.sql)

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        return self

    def __repr__(self) -> str:
        return f"RawSQL({self.sql!r}, {self.params!r})"


class CombinedExpression(Expression):
    """``lhs <op> rhs`` for the arithmetic operators (``+ - * / % ^``)."""

    def __init__(self, lhs: Any, connector: str, rhs: Any) -> None:
        self.lhs = lhs
        self.connector = connector
        self.rhs = rhs

    def get_source_expressions(self) -> list[Any]:
        return [self.lhs, self.rhs]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.lhs, self.rhs = exprs

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        lhs_sql, lhs_params = self.lhs.as_sql(compiler)
        rhs_sql, rhs_params = self.rhs.as_sql(compiler)
        return f"({lhs_sql} {self.connector} {rhs_sql})", lhs_params + rhs_params

    def shape(self) -> Hashable:
        return ("op", self.connector, self.lhs.shape(), self.rhs.shape())

    def _after_resolve(self) -> None:
        lhs_field = getattr(self.lhs, "output_field", None)
        rhs_field = getattr(self.rhs, "output_field", None)
        super()._after_resolve()
        # int / float -> float, anything with a decimal -> decimal.
        if isinstance(rhs_field, (FloatField, DecimalField)) and isinstance(lhs_field, IntegerField):
            self.output_field = rhs_field
        elif self.connector == "/" and isinstance(lhs_field, IntegerField) and isinstance(rhs_field, IntegerField):
            self.output_field = lhs_field

    def __repr__(self) -> str:
        return f"({self.lhs!r} {self.connector.replace('%%', '%')} {self.rhs!r})"


class NegatedExpression(Expression):
    """``NOT (expr)`` for boolean expressions (``~Exists(...)``)."""

    conditional = True

    def __init__(self, expression: Any) -> None:
        self.expression = expression
        self.output_field = BooleanField()

    def get_source_expressions(self) -> list[Any]:
        return [self.expression]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        (self.expression,) = exprs

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        sql, params = self.expression.as_sql(compiler)
        return f"NOT ({sql})", params

    def __invert__(self) -> Any:
        return self.expression


class ExpressionWrapper(Expression):
    """Give an expression an explicit ``output_field`` (for conversion and lookups)."""

    def __init__(self, expression: Any, output_field: Field) -> None:
        self.expression = parse_expression(expression)
        self.output_field = output_field

    def get_source_expressions(self) -> list[Any]:
        return [self.expression]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        (self.expression,) = exprs

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        return self.expression.as_sql(compiler)  # type: ignore[no-any-return]


class Func(Expression):
    """A SQL function call: ``Func(F("name"), function="LOWER")``.

    Subclasses set ``function`` (and ``template`` for other syntaxes). A
    function name passed by the caller must be a plain (optionally
    schema-qualified) identifier; it is checked, never taken as free SQL.
    """

    function = ""
    template = "{function}({expressions})"
    arg_joiner = ", "
    arity: int | None = None

    def __init__(self, *expressions: Any, output_field: Field | None = None, function: str | None = None) -> None:
        if self.arity is not None and len(expressions) != self.arity:
            raise ParameterError(
                f"{type(self).__name__}() takes {self.arity} argument(s), got {len(expressions)}"
            )
        if function is not None:
            if not isinstance(function, str) or not _FUNCTION_NAME.match(function):
                raise ParameterError(f"Func(function=...) must be a SQL function name, got {function!r}")
            self.function = function
        if not self.function:
            raise ParameterError(f"{type(self).__name__}() needs function=")
        self.source_expressions = [parse_expression(e) for e in expressions]
        if output_field is not None:
            self.output_field = output_field
        elif self.fixed_output is not None:
            self.output_field = self.fixed_output()

    def get_source_expressions(self) -> list[Any]:
        return list(self.source_expressions)

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.source_expressions = list(exprs)

    def render_args(self, compiler: Any) -> tuple[list[str], list[Any]]:
        """Return the rendered arguments and their parameters, in order."""
        parts: list[str] = []
        params: list[Any] = []
        for expr in self.source_expressions:
            sql, p = expr.as_sql(compiler)
            parts.append(sql)
            params.extend(p)
        return parts, params

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        parts, params = self.render_args(compiler)
        return self.template.format(function=self.function, expressions=self.arg_joiner.join(parts)), params

    def shape(self) -> Hashable:
        return ("func", type(self).__name__, self.function, tuple(e.shape() for e in self.source_expressions))

    def __repr__(self) -> str:
        args = ", ".join(repr(e) for e in self.source_expressions)
        return f"{type(self).__name__}({args})"


class Cast(Func):
    """``CAST(expr AS type)``; the type comes from ``output_field`` (never from a string)."""

    function = "CAST"
    template = "CAST({expressions} AS {db_type})"
    arity = 1

    def __init__(self, expression: Any, output_field: Field) -> None:
        if not isinstance(output_field, Field):
            raise ParameterError(f"Cast() takes a field instance as output_field, got {output_field!r}")
        super().__init__(expression, output_field=output_field)

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        parts, params = self.render_args(compiler)
        assert self.output_field is not None
        return f"CAST({parts[0]} AS {self.output_field.db_type})", params

    def shape(self) -> Hashable:
        assert self.output_field is not None
        return ("cast", self.output_field.db_type, self.source_expressions[0].shape())

    def _after_resolve(self) -> None:
        field = self.output_field
        super()._after_resolve()
        self.output_field = field


class Coalesce(Func):
    """``COALESCE(a, b, ...)``: the first non-NULL argument."""

    function = "COALESCE"

    def __init__(self, *expressions: Any, output_field: Field | None = None) -> None:
        if len(expressions) < 2:
            raise ParameterError("Coalesce() needs at least two expressions")
        super().__init__(*expressions, output_field=output_field)


class Greatest(Func):
    """``GREATEST(a, b, ...)``."""

    function = "GREATEST"


class Least(Func):
    """``LEAST(a, b, ...)``."""

    function = "LEAST"


class NullIf(Func):
    """``NULLIF(a, b)``."""

    function = "NULLIF"
    arity = 2


class _TextFunc(Func):
    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = TextField()


class Lower(_TextFunc):
    """``LOWER(text)``."""

    function = "LOWER"
    arity = 1


class Upper(_TextFunc):
    """``UPPER(text)``."""

    function = "UPPER"
    arity = 1


class Trim(_TextFunc):
    """``TRIM(text)``."""

    function = "TRIM"
    arity = 1


class LTrim(_TextFunc):
    """``LTRIM(text)``."""

    function = "LTRIM"
    arity = 1


class RTrim(_TextFunc):
    """``RTRIM(text)``."""

    function = "RTRIM"
    arity = 1


class Concat(_TextFunc):
    """``CONCAT(a, b, ...)`` (NULLs are skipped); non-text arguments are cast to text."""

    function = "CONCAT"

    def render_args(self, compiler: Any) -> tuple[list[str], list[Any]]:
        parts, params = super().render_args(compiler)
        # CONCAT is variadic "any": an untyped parameter would be ambiguous.
        return [f"({p})::text" for p in parts], params


class Substr(_TextFunc):
    """``SUBSTRING(text, pos[, length])`` (1-based like PostgreSQL)."""

    function = "SUBSTRING"

    def __init__(self, expression: Any, pos: int, length: int | None = None) -> None:
        args: list[Any] = [expression, Value(_int_arg("Substr", "pos", pos))]
        if length is not None:
            args.append(Value(_int_arg("Substr", "length", length)))
        super().__init__(*args)


class Replace(_TextFunc):
    """``REPLACE(text, from, to)``."""

    function = "REPLACE"

    def __init__(self, expression: Any, text: Any, replacement: Any = "") -> None:
        super().__init__(
            expression,
            text if is_expression(text) else Value(text),
            replacement if is_expression(replacement) else Value(replacement),
        )


class Left(_TextFunc):
    """``LEFT(text, n)``."""

    function = "LEFT"

    def __init__(self, expression: Any, length: int) -> None:
        super().__init__(expression, Value(_int_arg("Left", "length", length)))


class Right(_TextFunc):
    """``RIGHT(text, n)``."""

    function = "RIGHT"

    def __init__(self, expression: Any, length: int) -> None:
        super().__init__(expression, Value(_int_arg("Right", "length", length)))


class Length(Func):
    """``LENGTH(text)`` (characters)."""

    function = "LENGTH"
    arity = 1

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = IntegerField()


class StrIndex(Func):
    """``STRPOS(text, substring)``: 1-based position, 0 when absent."""

    function = "STRPOS"

    def __init__(self, expression: Any, substring: Any) -> None:
        super().__init__(expression, substring if is_expression(substring) else Value(substring))

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = IntegerField()


class Abs(Func):
    """``ABS(x)``."""

    function = "ABS"
    arity = 1


class Round(Func):
    """``ROUND(x[, places])``."""

    function = "ROUND"

    def __init__(self, expression: Any, places: int = 0) -> None:
        if places:
            super().__init__(expression, Value(_int_arg("Round", "places", places)))
        else:
            super().__init__(expression)

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        parts, params = self.render_args(compiler)
        if len(parts) == 2:
            # ROUND(x, n) exists for numeric only.
            return f"ROUND(({parts[0]})::numeric, {parts[1]})", params
        return f"ROUND({parts[0]})", params


class Floor(Func):
    """``FLOOR(x)``."""

    function = "FLOOR"
    arity = 1


class Ceil(Func):
    """``CEIL(x)``."""

    function = "CEIL"
    arity = 1


class Sqrt(Func):
    """``SQRT(x)``."""

    function = "SQRT"
    arity = 1

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = FloatField()


class Power(Func):
    """``POWER(x, y)``."""

    function = "POWER"
    arity = 2


class Mod(Func):
    """``MOD(x, y)``."""

    function = "MOD"
    arity = 2


class Now(Func):
    """``CURRENT_TIMESTAMP`` (the transaction's start time)."""

    function = "CURRENT_TIMESTAMP"
    template = "CURRENT_TIMESTAMP"
    fixed_output = DateTimeField

    def __init__(self) -> None:
        super().__init__()

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        return "CURRENT_TIMESTAMP", []


def _int_arg(func: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"{func}(): {name} must be an integer, got {value!r}")
    return value


#: Date/time parts accepted by ``Extract`` and the ``__year``-style transforms.
#: Values are SQL keywords chosen here, never caller text.
EXTRACT_PARTS: dict[str, str] = {
    "year": "YEAR",
    "iso_year": "ISOYEAR",
    "quarter": "QUARTER",
    "month": "MONTH",
    "week": "WEEK",
    "day": "DAY",
    "week_day": "DOW",
    "iso_week_day": "ISODOW",
    "day_of_year": "DOY",
    "hour": "HOUR",
    "minute": "MINUTE",
    "second": "SECOND",
    "epoch": "EPOCH",
}

#: Units accepted by ``Trunc`` (passed to ``DATE_TRUNC`` as a bound parameter).
TRUNC_UNITS = ("microseconds", "milliseconds", "second", "minute", "hour", "day", "week", "month", "quarter", "year",
               "decade", "century", "millennium")


def extract_sql(part: str, column: str) -> str:
    """Return SQL extracting ``part`` (a key of EXTRACT_PARTS) from ``column`` as an integer."""
    keyword = EXTRACT_PARTS[part]
    if part == "week_day":
        # Django's convention: 1 = Sunday ... 7 = Saturday.
        return f"(EXTRACT(DOW FROM {column})::integer + 1)"
    if part == "second":
        return f"TRUNC(EXTRACT(SECOND FROM {column}))::integer"
    if part == "epoch":
        return f"EXTRACT(EPOCH FROM {column})"
    return f"EXTRACT({keyword} FROM {column})::integer"


class Extract(Func):
    """``EXTRACT(part FROM expr)`` as an integer: ``Extract("created_at", "year")``."""

    function = "EXTRACT"

    def __init__(self, expression: Any, part: str) -> None:
        if part not in EXTRACT_PARTS:
            raise ParameterError(f"Extract(): unknown part {part!r}; parts are: {', '.join(EXTRACT_PARTS)}")
        self.part = part
        super().__init__(expression)

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        parts, params = self.render_args(compiler)
        return extract_sql(self.part, parts[0]), params

    def shape(self) -> Hashable:
        return ("extract", self.part, self.source_expressions[0].shape())

    def _after_resolve(self) -> None:
        super()._after_resolve()
        self.output_field = FloatField() if self.part == "epoch" else IntegerField()


class Trunc(Func):
    """``DATE_TRUNC(unit, expr)``: ``Trunc("created_at", "month")``."""

    function = "DATE_TRUNC"

    def __init__(self, expression: Any, unit: str, output_field: Field | None = None) -> None:
        if unit not in TRUNC_UNITS:
            raise ParameterError(f"Trunc(): unknown unit {unit!r}; units are: {', '.join(TRUNC_UNITS)}")
        self.unit = unit
        super().__init__(expression, output_field=output_field)

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        parts, params = self.render_args(compiler)
        sql = f"DATE_TRUNC(%s, {parts[0]})"
        if isinstance(self.output_field, DateField) and not isinstance(self.output_field, DateTimeField):
            sql = f"({sql})::date"
        return sql, [self.unit, *params]

    def shape(self) -> Hashable:
        return ("trunc", type(self.output_field).__name__, self.source_expressions[0].shape())


class When(Expression):
    """One ``WHEN condition THEN result`` branch of a ``Case``.

    The condition is a ``Q`` object and/or keyword filters (``When(age__gte=18,
    then=Value("adult"))``) or a boolean expression such as ``Exists(...)``.
    """

    def __init__(self, condition: Any = None, then: Any = None, **lookups: Any) -> None:
        from matrx_orm.core.query_state import Q

        if condition is None and not lookups:
            raise ParameterError("When() needs a condition (a Q object or keyword filters)")
        if condition is not None and not isinstance(condition, Q) and not getattr(condition, "conditional", False):
            raise ParameterError(f"When() condition must be a Q object or a boolean expression, got {condition!r}")
        self.condition = condition
        self.lookups = lookups
        self.result = parse_expression(then)
        self.node: Any = None

    def get_source_expressions(self) -> list[Any]:
        return [self.result]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        (self.result,) = exprs

    def resolve_expression(self, meta: Any, annotations: dict[str, Any] | None = None) -> Any:
        from matrx_orm.core.conditions import build_filter_node

        clone = super().resolve_expression(meta, annotations)
        args = () if clone.condition is None else (clone.condition,)
        clone.node = build_filter_node(meta, annotations or {}, args, clone.lookups)
        return clone

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        if self.node is None:
            raise ParameterError("When() must be used inside Case() within a query")
        params: list[Any] = []
        cond_sql = compiler.where_sql(self.node, params)
        result_sql, result_params = self.result.as_sql(compiler)
        return f"WHEN {cond_sql} THEN {result_sql}", params + result_params

    def shape(self) -> Hashable:
        return ("when", self.node.shape() if self.node is not None else None, self.result.shape())

    def __repr__(self) -> str:
        return f"When({self.condition!r}, {self.lookups!r}, then={self.result!r})"


class Case(Expression):
    """``CASE WHEN ... THEN ... [ELSE default] END``."""

    def __init__(self, *cases: When, default: Any = None, output_field: Field | None = None) -> None:
        if not cases or not all(isinstance(c, When) for c in cases):
            raise ParameterError("Case() takes one or more When() objects")
        self.cases = list(cases)
        self.default = None if default is None else parse_expression(default)
        if output_field is not None:
            self.output_field = output_field

    def get_source_expressions(self) -> list[Any]:
        return [*self.cases, *([self.default] if self.default is not None else [])]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        if self.default is not None:
            *cases, self.default = exprs
        else:
            cases = exprs
        self.cases = list(cases)

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for case in self.cases:
            sql, p = case.as_sql(compiler)
            parts.append(sql)
            params.extend(p)
        text = "CASE " + " ".join(parts)
        if self.default is not None:
            sql, p = self.default.as_sql(compiler)
            text += f" ELSE {sql}"
            params.extend(p)
        return text + " END", params

    def shape(self) -> Hashable:
        return ("case", tuple(c.shape() for c in self.cases), self.default.shape() if self.default is not None else None)


class OrderBy(Expression):
    """An ordering term: ``F("views").desc(nulls_last=True)``."""

    def __init__(self, expression: Any, descending: bool = False, nulls_first: bool = False, nulls_last: bool = False) -> None:
        if nulls_first and nulls_last:
            raise ParameterError("OrderBy: nulls_first and nulls_last are exclusive")
        self.expression = parse_expression(expression)
        self.descending = descending
        self.nulls_first = nulls_first
        self.nulls_last = nulls_last

    def get_source_expressions(self) -> list[Any]:
        return [self.expression]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        (self.expression,) = exprs

    def suffix(self, descending: bool | None = None) -> str:
        """Return `` DESC NULLS LAST``-style text for this ordering."""
        desc = self.descending if descending is None else descending
        text = " DESC" if desc else ""
        if self.nulls_first:
            text += " NULLS FIRST"
        elif self.nulls_last:
            text += " NULLS LAST"
        return text

    def as_sql(self, compiler: Any) -> tuple[str, list[Any]]:
        sql, params = self.expression.as_sql(compiler)
        return sql + self.suffix(), params

    def reversed(self) -> OrderBy:
        """Return the opposite ordering (NULL placement flips too)."""
        return OrderBy(self.expression, not self.descending, nulls_first=self.nulls_last, nulls_last=self.nulls_first)

    def shape(self) -> Hashable:
        return ("order", self.expression.shape(), self.descending, self.nulls_first, self.nulls_last)

