"""PostgreSQL-specific field types: ranges and ``tsvector``.

Range values are psycopg's ``Range`` (``Range(1, 10)`` is ``[1,10)``); a
``(lower, upper)`` or ``(lower, upper, "[]")`` tuple is accepted too. Values are
sent as the typed range class for the column (``Int4Range``...), so no cast is
needed on insert, and read back as ``Range`` by psycopg's own loaders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.range import (
    DateRange,
    Int4Range,
    Int8Range,
    NumericRange,
    Range,
    TimestampRange,
    TimestamptzRange,
)

from matrx_orm.core.fields import (
    BigIntegerField,
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    IntegerField,
)

__all__ = [
    "Range",
    "RangeField",
    "IntegerRangeField",
    "BigIntegerRangeField",
    "DecimalRangeField",
    "DateRangeField",
    "DateTimeRangeField",
    "SearchVectorField",
]

_BOUNDS = {"[)", "(]", "()", "[]"}


class RangeField(Field):
    """Base class of range columns; ``subtype_field`` validates each bound."""

    python_types = (Range,)
    range_class: type[Range[Any]] = Range
    #: Field class of the bounds (an instance per field is made in ``__init__``:
    #: a Field instance as a class attribute would act as a descriptor).
    subtype_class: type[Field] = Field

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subtype_field: Field = self.subtype_class()

    def to_python(self, value: Any) -> Any:
        if isinstance(value, Range):
            lower, upper, bounds, empty = value.lower, value.upper, value.bounds, value.isempty
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value) in (2, 3):
            lower, upper = value[0], value[1]
            bounds = value[2] if len(value) == 3 else "[)"
            empty = False
            if bounds not in _BOUNDS:
                raise self.fail(value, f"range bounds must be one of {sorted(_BOUNDS)}")
        else:
            raise self.fail(value, "expected a Range or a (lower, upper) pair")
        if empty:
            return self.range_class(empty=True)
        sub = self.subtype_field
        lower = None if lower is None else sub.to_python(lower)
        upper = None if upper is None else sub.to_python(upper)
        if lower is not None and upper is not None and lower > upper:
            raise self.fail(value, "the lower bound is greater than the upper bound")
        return self.range_class(lower, upper, bounds)

    def prep(self, value: Any) -> Any:
        if type(value) is not self.range_class:
            if value.isempty:
                return self.range_class(empty=True)
            return self.range_class(value.lower, value.upper, value.bounds)
        return value


class IntegerRangeField(RangeField):
    """``INT4RANGE``."""

    base_db_type = "INT4RANGE"
    range_class = Int4Range
    subtype_class = IntegerField


class BigIntegerRangeField(RangeField):
    """``INT8RANGE``."""

    base_db_type = "INT8RANGE"
    range_class = Int8Range
    subtype_class = BigIntegerField


class DecimalRangeField(RangeField):
    """``NUMRANGE`` (bounds are ``Decimal``)."""

    base_db_type = "NUMRANGE"
    range_class = NumericRange
    subtype_class = DecimalField


class DateRangeField(RangeField):
    """``DATERANGE``."""

    base_db_type = "DATERANGE"
    range_class = DateRange
    subtype_class = DateField


class DateTimeRangeField(RangeField):
    """``TSTZRANGE`` (``timezone=False``: ``TSRANGE``)."""

    def __init__(self, *, timezone: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timezone = timezone
        self.range_class = TimestamptzRange if timezone else TimestampRange
        self.subtype_field = DateTimeField(timezone=timezone)

    @property
    def db_type(self) -> str:
        return "TSTZRANGE" if self.timezone else "TSRANGE"

    def deconstruct(self) -> dict[str, Any]:
        out = super().deconstruct()
        if not self.timezone:
            out["timezone"] = False
        return out


class SearchVectorField(Field):
    """A ``TSVECTOR`` column (typically a generated column kept by PostgreSQL)."""

    base_db_type = "TSVECTOR"
    python_types = (str,)

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise self.fail(value, "expected tsvector text")
        return value


def range_type_for(field: Field) -> str | None:
    """Return the range type whose elements are ``field``'s values (for ``__contained_by``)."""
    if isinstance(field, BigIntegerField):
        return "INT8RANGE"
    if isinstance(field, IntegerField):
        return "INT4RANGE"
    if isinstance(field, DecimalField):
        return "NUMRANGE"
    if isinstance(field, DateTimeField):
        return "TSTZRANGE" if field.timezone else "TSRANGE"
    if isinstance(field, DateField):
        return "DATERANGE"
    return None

