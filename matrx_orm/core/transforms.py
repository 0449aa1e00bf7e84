"""Transforms: the parts of a filter key between the field and the lookup.

``created_at__year__gte=2024``, ``data__owner__name="x"``, ``tags__len=2``,
``tags__0="a"``: each middle part turns the column into another SQL value
(``EXTRACT(YEAR FROM ...)``, ``data -> 'owner'``, ``cardinality(tags)``...)
with its own output field, which then validates the filter value and picks
the lookup's SQL. JSON keys and array indexes are bound parameters.

``resolve_transforms`` returns a *copy* of the output field carrying
``transforms`` (the chain) and ``source_field``; the compiler renders the
chain through ``render_condition_sql``, which also places the parameters of
expressions and transforms in text order whatever the lookup's template.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Hashable
from typing import Any

from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.expressions import EXTRACT_PARTS, extract_sql
from matrx_orm.core.fields import (
    DateField,
    DateTimeField,
    Field,
    HStoreField,
    IntegerField,
    JSONField,
    TextField,
    TimeField,
)
from matrx_orm.core.lookups import LOOKUPS, Lookup

__all__ = [
    "Transform",
    "KeyTransform",
    "KeyTextTransform",
    "register_transform",
    "resolve_transforms",
    "render_condition_sql",
    "transforms_shape",
]


class Transform:
    """Base class: turn ``lhs`` SQL into another value (``name`` is the filter-key part)."""

    name = ""

    @classmethod
    def applies_to(cls, field: Field) -> bool:
        """Return True when the transform makes sense on ``field``."""
        return False

    def output_field(self, field: Field) -> Field:
        """Return the field describing the transformed value."""
        return field

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        """Return the transformed SQL and its parameters (``params`` are the lhs's)."""
        return lhs, params

    def shape(self) -> Hashable:
        """Return what changes the SQL text."""
        return self.name


class DatePart(Transform):
    """``field__year`` (and month, day, hour...): the part as an integer."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.name = part

    def output_field(self, field: Field) -> Field:
        return IntegerField()

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        return extract_sql(self.part, lhs), params


_TIME_PARTS = {"hour", "minute", "second"}


def _date_part_applies(field: Field, part: str) -> bool:
    if isinstance(field, DateTimeField):
        return True
    if isinstance(field, DateField):
        return part not in _TIME_PARTS
    if isinstance(field, TimeField):
        return part in _TIME_PARTS
    return False


class DateCast(Transform):
    """``datetime_field__date``: the date part (in the session time zone)."""

    name = "date"

    @classmethod
    def applies_to(cls, field: Field) -> bool:
        return isinstance(field, DateTimeField)

    def output_field(self, field: Field) -> Field:
        return DateField()

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        return f"({lhs})::date", params


class TimeCast(Transform):
    """``datetime_field__time``: the time of day."""

    name = "time"

    @classmethod
    def applies_to(cls, field: Field) -> bool:
        return isinstance(field, DateTimeField)

    def output_field(self, field: Field) -> Field:
        return TimeField()

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        return f"({lhs})::time", params


class ArrayLength(Transform):
    """``array_field__len``: the number of elements (0 for an empty array)."""

    name = "len"

    @classmethod
    def applies_to(cls, field: Field) -> bool:
        return field.is_array

    def output_field(self, field: Field) -> Field:
        return IntegerField()

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        return f"cardinality({lhs})", params


class ArrayIndex(Transform):
    """``array_field__0``: one element (0-based, as in Python; NULL past the end)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.name = str(index)

    def output_field(self, field: Field) -> Field:
        return field.item_field  # type: ignore[attr-defined, no-any-return]

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        # PostgreSQL arrays are 1-based.
        return f"({lhs})[%s::integer]", [*params, self.index + 1]

    def shape(self) -> Hashable:
        return "index"


class KeyTransform(Transform):
    """``json_field__key``: the value under ``key`` as JSONB (``->``); digits index JSON arrays."""

    operator = "->"

    def __init__(self, key: str) -> None:
        self.key: str | int = int(key) if key.isdigit() else key
        self.name = key

    def output_field(self, field: Field) -> Field:
        return JSONField()

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        cast = "integer" if isinstance(self.key, int) else "text"
        return f"({lhs} {self.operator} %s::{cast})", [*params, self.key]

    def shape(self) -> Hashable:
        return (self.operator, isinstance(self.key, int))


class KeyTextTransform(KeyTransform):
    """``json_field__key`` under a text lookup: the value as text (``->>``)."""

    operator = "->>"

    def output_field(self, field: Field) -> Field:
        return TextField()


class HStoreKey(Transform):
    """``hstore_field__key``: the text value under ``key``."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.name = key

    def output_field(self, field: Field) -> Field:
        return TextField()

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        return f"({lhs} -> %s::text)", [*params, self.key]

    def shape(self) -> Hashable:
        return "hkey"


class RangeBound(Transform):
    """``range_field__lower`` / ``__upper``: a bound of the range."""

    def __init__(self, which: str) -> None:
        self.name = which

    @classmethod
    def applies_to(cls, field: Field) -> bool:
        return getattr(field, "subtype_field", None) is not None

    def output_field(self, field: Field) -> Field:
        return field.subtype_field  # type: ignore[attr-defined, no-any-return]

    def as_sql(self, compiler: Any, lhs: str, params: list[Any]) -> tuple[str, list[Any]]:
        return f"{self.name}({lhs})", params


#: Transforms found by name (besides JSON/hstore keys, array indexes and date parts).
_TRANSFORMS: dict[str, list[Any]] = {}


def register_transform(name: str, factory: Any) -> None:
    """Register ``factory`` (a Transform class with ``applies_to``, or a callable) under ``name``."""
    _TRANSFORMS.setdefault(name, []).append(factory)


register_transform("date", DateCast)
register_transform("time", TimeCast)
register_transform("len", ArrayLength)
register_transform("lower", lambda field: RangeBound("lower") if RangeBound.applies_to(field) else None)
register_transform("upper", lambda field: RangeBound("upper") if RangeBound.applies_to(field) else None)


def find_transform(field: Field, name: str) -> Transform | None:
    """Return the transform called ``name`` for ``field``, or None."""
    if isinstance(field, JSONField):
        return KeyTransform(name)
    if isinstance(field, HStoreField):
        return HStoreKey(name)
    if field.is_array and name.isdigit():
        return ArrayIndex(int(name))
    if name in EXTRACT_PARTS and _date_part_applies(field, name):
        return DatePart(name)
    for factory in _TRANSFORMS.get(name, ()):
        if isinstance(factory, type):
            if factory.applies_to(field):  # type: ignore[attr-defined]
                return factory()  # type: ignore[no-any-return]
        else:
            found = factory(field)
            if found is not None:
                return found  # type: ignore[no-any-return]
    return None


def resolve_transforms(
    model_name: str, field: Field, parts: list[str], lookup_name: str, key: str
) -> tuple[Field, Lookup]:
    """Return (output field carrying the transform chain, lookup) for ``field__part__part``."""
    chain: list[Transform] = []
    current = field
    for part in parts:
        transform = find_transform(current, part)
        if transform is None:
            raise ParameterError(
                f"{model_name}: unknown lookup or transform {part!r} for field {current.name or field.name!r} "
                f"in filter {key!r}; lookups are: {', '.join(sorted(LOOKUPS))}",
                model=model_name,
                field=field.name,
                lookup=part,
            )
        chain.append(transform)
        current = transform.output_field(current)
    lookup = LOOKUPS[lookup_name]
    if chain and type(chain[-1]) is KeyTransform and getattr(lookup, "text_lookup", False):
        # Text lookups compare the JSON value's text, not its JSON form.
        last = chain[-1]
        chain[-1] = KeyTextTransform(str(last.key))
        current = TextField()
    out = copy.copy(current)
    out.name = "__".join([field.name, *parts])
    out.column = field.column  # the chain starts from the source column
    out.model_name = model_name
    out.transforms = tuple(chain)  # type: ignore[attr-defined]
    out.source_field = field  # type: ignore[attr-defined]
    return out, lookup


def transforms_shape(field: Any) -> Hashable:
    """Return the shape of ``field``'s transform chain (None without transforms)."""
    chain = getattr(field, "transforms", None)
    if not chain:
        return None
    return tuple(t.shape() for t in chain)


_LHS = "\x00L\x00"
_RHS = "\x00R\x00"
_TOKENS = re.compile("(\x00L\x00|\x00R\x00|%s)")


def render_condition_sql(compiler: Any, lhs_sql: str, lhs_params: list[Any], cond: Any, params: list[Any] | None) -> str:
    """Render ``cond`` against ``lhs_sql``, applying its transforms and expression value.

    The lookup's template is rendered with markers in place of the column and
    of an expression value, then walked once, so every parameter (transform
    keys, expression values, lookup values) is appended in text order even
    when a lookup repeats the column.
    """
    lookup = cond.lookup
    field = cond.field
    chain = getattr(field, "transforms", None) or ()
    lhs_params = list(lhs_params)
    for transform in chain:
        lhs_sql, lhs_params = transform.as_sql(compiler, lhs_sql, lhs_params)
    value = cond.value
    rhs_sql = ""
    rhs_params: list[Any] = []
    if getattr(value, "as_sql", None) is not None:
        rhs_sql, rhs_params = value.as_sql(compiler)
        builder = getattr(lookup, "expression_sql", None)
        if builder is not None:
            template = builder(_LHS, field, _RHS, value)
        else:
            template = lookup.sql(_LHS, field, None).replace("%s", _RHS, 1)
        value_params: list[Any] = []
    else:
        template = lookup.sql(_LHS, field, lookup.shape(value))
        value_params = list(lookup.params(value))
    out: list[str] = []
    index = 0
    for token in _TOKENS.split(template):
        if token == _LHS:
            out.append(lhs_sql)
            if params is not None:
                params.extend(lhs_params)
        elif token == _RHS:
            out.append(rhs_sql)
            if params is not None:
                params.extend(rhs_params)
        elif token == "%s":
            out.append("%s")
            if params is not None:
                params.append(value_params[index])
            index += 1
        else:
            out.append(token)
    return "".join(out)
