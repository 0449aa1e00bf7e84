"""Filter lookups (``field__lookup=value``) as small registered classes.

A lookup validates and converts its value when the filter is built (so bad
input fails before any SQL is sent) and renders a SQL fragment with ``%s``
placeholders for a column. ``shape`` returns what, besides the lookup name,
changes the SQL text, so compiled SQL can be cached per query shape.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.fields import Field

__all__ = ["Lookup", "LOOKUPS", "register_lookup", "get_lookup", "escape_like"]


def escape_like(value: str) -> str:
    """Escape ``%``, ``_`` and ``\\`` so LIKE matches them literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _placeholder(field: Field) -> str:
    """Return ``%s``, cast to the column's type for arrays (psycopg sends ``[1, 2]`` as ``smallint[]``)."""
    return f"%s::{field.cast_type}" if field.is_array else "%s"


class Lookup:
    """Base lookup: ``column <operator> %s``."""

    name = ""
    operator = "="

    def prepare(self, field: Field, value: Any) -> Any:
        """Validate and convert ``value`` for ``field``; return what ``params`` needs."""
        if value is None:
            raise ParameterError(
                f"{field.model_name}.{field.name}__{self.name}: None is not a valid value; use __isnull",
                model=field.model_name,
                field=field.name,
                value=None,
            )
        return field.get_lookup_value(value)

    def shape(self, prepared: Any) -> Hashable:
        """Return the part of the value that changes SQL text (None by default)."""
        return None

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        """Return the SQL fragment for ``column``."""
        return f"{column} {self.operator} {_placeholder(field)}"

    def params(self, prepared: Any) -> list[Any]:
        """Return the bound parameters for the prepared value."""
        return [prepared]

    def null_safe(self, prepared: Any) -> bool:
        """Return True when the SQL is never NULL, even on a NULL column (``exclude`` relies on it)."""
        return False


class Exact(Lookup):
    """``field=value``; ``field=None`` is ``IS NULL``."""

    name = "exact"

    def prepare(self, field: Field, value: Any) -> Any:
        return None if value is None else field.get_lookup_value(value)

    def shape(self, prepared: Any) -> Hashable:
        return prepared is None

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        return f"{column} IS NULL" if shape else f"{column} = {_placeholder(field)}"

    def params(self, prepared: Any) -> list[Any]:
        return [] if prepared is None else [prepared]

    def null_safe(self, prepared: Any) -> bool:
        return prepared is None


class NotEqual(Lookup):
    """``field__ne=value``: ``IS DISTINCT FROM``, so rows holding NULL are kept."""

    name = "ne"

    def prepare(self, field: Field, value: Any) -> Any:
        return None if value is None else field.get_lookup_value(value)

    def shape(self, prepared: Any) -> Hashable:
        return prepared is None

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        return f"{column} IS NOT NULL" if shape else f"{column} IS DISTINCT FROM {_placeholder(field)}"

    def params(self, prepared: Any) -> list[Any]:
        return [] if prepared is None else [prepared]

    def null_safe(self, prepared: Any) -> bool:
        return True


class GreaterThan(Lookup):
    name, operator = "gt", ">"


class GreaterThanOrEqual(Lookup):
    name, operator = "gte", ">="


class LessThan(Lookup):
    name, operator = "lt", "<"


class LessThanOrEqual(Lookup):
    name, operator = "lte", "<="


class In(Lookup):
    """``field__in=[...]``: ``= ANY(%s)`` with one array parameter, whatever its length."""

    name = "in"

    def prepare(self, field: Field, value: Any) -> Any:
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
            raise ParameterError(
                f"{field.model_name}.{field.name}__in expects a list, got {type(value).__name__}",
                model=field.model_name,
                field=field.name,
                value=repr(value)[:200],
            )
        items = list(value)
        prepared = [field.get_lookup_value(v) for v in items if v is not None]
        return (prepared, any(v is None for v in items))

    def shape(self, prepared: Any) -> Hashable:
        return prepared[1]  # type: ignore[no-any-return]

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        cast = "" if field.is_array else f"::{field.cast_type}[]"
        base = f"{column} = ANY(%s{cast})"
        return f"({base} OR {column} IS NULL)" if shape else base

    def params(self, prepared: Any) -> list[Any]:
        return [prepared[0]]

    def null_safe(self, prepared: Any) -> bool:
        return bool(prepared[1])

    def expression_sql(self, lhs: str, field: Field, rhs: str, value: Any) -> str:
        """Return ``lhs IN (SELECT ...)`` for a subquery, ``lhs = ANY(array expression)`` otherwise."""
        return f"{lhs} IN {rhs}" if getattr(value, "is_subquery", False) else f"{lhs} = ANY({rhs})"


class IsNull(Lookup):
    """``field__isnull=True/False``."""

    name = "isnull"

    def prepare(self, field: Field, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ParameterError(
                f"{field.model_name}.{field.name}__isnull expects True or False, got {value!r}",
                model=field.model_name,
                field=field.name,
                value=repr(value),
            )
        return value

    def shape(self, prepared: Any) -> Hashable:
        return prepared  # type: ignore[no-any-return]

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        return f"{column} IS NULL" if shape else f"{column} IS NOT NULL"

    def params(self, prepared: Any) -> list[Any]:
        return []

    def null_safe(self, prepared: Any) -> bool:
        return True


class _Like(Lookup):
    """Pattern lookups: the value is escaped, so ``%``/``_``/``\\`` match literally."""

    operator = "LIKE"
    pattern = "%{}%"

    def prepare(self, field: Field, value: Any) -> Any:
        if not isinstance(value, str):
            raise ParameterError(
                f"{field.model_name}.{field.name}__{self.name} expects a string, got {type(value).__name__}",
                model=field.model_name,
                field=field.name,
                value=repr(value)[:200],
            )
        if "\x00" in value:
            # A bad value, like a NUL in a written string: ValidationError, before any SQL is sent.
            raise field.fail(value, f"__{self.name}: PostgreSQL text cannot contain NUL characters")
        return self.pattern.format(escape_like(value))

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        text = column if field.python_types == (str,) else f"{column}::text"
        return f"{text} {self.operator} %s"


class Contains(_Like):
    name = "contains"


class IContains(_Like):
    name, operator = "icontains", "ILIKE"


class StartsWith(_Like):
    name, pattern = "startswith", "{}%"


class EndsWith(_Like):
    name, pattern = "endswith", "%{}"


LOOKUPS: dict[str, Lookup] = {}


def register_lookup(lookup: Lookup, *, replace: bool = False) -> Lookup:
    """Register a lookup instance under its ``name``."""
    if lookup.name in LOOKUPS and not replace:
        raise ValueError(f"lookup {lookup.name!r} is already registered")
    LOOKUPS[lookup.name] = lookup
    return lookup


for _cls in (Exact, NotEqual, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual, In, IsNull,
             Contains, IContains, StartsWith, EndsWith):
    register_lookup(_cls())


def get_lookup(name: str) -> Lookup | None:
    """Return the lookup registered under ``name``, or None."""
    return LOOKUPS.get(name)


# PostgreSQL lookups (containment, keys, ranges, regex, search...) register
# themselves, replacing ``contains`` with a version that dispatches on the field.
from matrx_orm.core import pg_lookups  # noqa: E402,F401
