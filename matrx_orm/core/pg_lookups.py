"""PostgreSQL lookups: containment, keys, overlap, ranges, regex, full-text search...

Lookups receive the field they filter on and dispatch on its type: ``contains``
is ``LIKE`` for text and ``@>`` (containment) for arrays, JSONB, hstore and
ranges. A lookup that does not apply to a field's type fails when the filter
is built, naming the model and the field. Registered on import by
``matrx_orm.core.lookups``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.fields import Field, HStoreField, JSONField
from matrx_orm.core.lookups import Exact, Lookup, _Like, register_lookup
from matrx_orm.core.pg_fields import Range, RangeField, SearchVectorField, range_type_for

__all__ = ["container_kind"]


def container_kind(field: Field) -> str | None:
    """Return ``"array"``, ``"json"``, ``"hstore"`` or ``"range"`` for container fields, else None."""
    if field.is_array:
        return "array"
    if isinstance(field, JSONField):
        return "json"
    if isinstance(field, HStoreField):
        return "hstore"
    if isinstance(field, RangeField):
        return "range"
    return None


def _fail(field: Field, lookup: str, reason: str, value: Any = None) -> ParameterError:
    return ParameterError(
        f"{field.model_name}.{field.name}__{lookup}: {reason}",
        model=field.model_name,
        field=field.name,
        lookup=lookup,
        value=repr(value)[:200],
    )


def _no_none(field: Field, lookup: str, value: Any) -> None:
    if value is None:
        raise _fail(field, lookup, "None is not a valid value; use __isnull", value)


def _container_param(field: Field, kind: str, lookup: str, value: Any) -> tuple[str, Any]:
    """Return (cast type, bound value) for a containment-style comparison."""
    _no_none(field, lookup, value)
    if kind == "range":
        if isinstance(value, (Range, tuple, list)):
            return field.db_type, field.get_lookup_value(value)
        # An element: range @> element.
        sub = field.subtype_field  # type: ignore[attr-defined]
        return sub.db_type, sub.get_lookup_value(value)
    if kind == "json":
        return "JSONB", field.get_lookup_value(value)
    return field.db_type, field.get_lookup_value(value)


class _Container(Lookup):
    """``column <op> %s::type`` for container fields."""

    operator = "@>"
    kinds: tuple[str, ...] = ("array", "json", "hstore", "range")

    def prepare(self, field: Field, value: Any) -> Any:
        kind = container_kind(field)
        if kind not in self.kinds:
            raise _fail(field, self.name, f"applies to {', '.join(self.kinds)} fields, not {type(field).__name__}", value)
        return _container_param(field, kind, self.name, value)  # type: ignore[arg-type, unused-ignore]

    def shape(self, prepared: Any) -> Hashable:
        return prepared[0]  # type: ignore[no-any-return]

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        return f"{column} {self.operator} %s::{shape}"

    def params(self, prepared: Any) -> list[Any]:
        return [prepared[1]]

    def expression_sql(self, lhs: str, field: Field, rhs: str, value: Any) -> str:
        """Return the SQL when the value is an expression."""
        return f"{lhs} {self.operator} {rhs}"


class Contains(_Like):
    """``contains``: LIKE ``%value%`` for text; ``@>`` for arrays, JSONB, hstore and ranges."""

    name = "contains"

    def prepare(self, field: Field, value: Any) -> Any:
        kind = container_kind(field)
        if kind is None:
            return ("like", super().prepare(field, value))
        return (kind, _container_param(field, kind, self.name, value))

    def shape(self, prepared: Any) -> Hashable:
        if prepared[0] == "like":
            return None
        return prepared[1][0]  # type: ignore[no-any-return]

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        if shape is None:
            return super().sql(column, field, shape)
        return f"{column} @> %s::{shape}"

    def params(self, prepared: Any) -> list[Any]:
        if prepared[0] == "like":
            return [prepared[1]]
        return [prepared[1][1]]

    def expression_sql(self, lhs: str, field: Field, rhs: str, value: Any) -> str:
        """Return the SQL when the value is an expression."""
        if container_kind(field) is None:
            text = lhs if field.python_types == (str,) else f"{lhs}::text"
            return f"{text} LIKE '%%' || {rhs} || '%%'"
        return f"{lhs} @> {rhs}"


class ContainedBy(_Container):
    """``contained_by``: ``<@`` (also a scalar inside a range: ``age__contained_by=Range(18, 65)``)."""

    name = "contained_by"
    operator = "<@"

    def prepare(self, field: Field, value: Any) -> Any:
        if container_kind(field) is None:
            range_type = range_type_for(field)
            if range_type is None or not isinstance(value, (Range, tuple, list)):
                raise _fail(field, self.name, "applies to arrays, JSONB, hstore, ranges, or numbers/dates in a range", value)
            lower, upper = (value.lower, value.upper) if isinstance(value, Range) else (value[0], value[1])
            bounds = value.bounds if isinstance(value, Range) else (value[2] if len(value) == 3 else "[)")
            lower = None if lower is None else field.get_lookup_value(lower)
            upper = None if upper is None else field.get_lookup_value(upper)
            return (range_type, Range(lower, upper, bounds))
        return super().prepare(field, value)


class Overlap(_Container):
    """``overlap``: ``&&`` (arrays sharing an element, ranges sharing a point)."""

    name = "overlap"
    operator = "&&"
    kinds = ("array", "range")


class _RangeOperator(_Container):
    kinds = ("range",)

    def prepare(self, field: Field, value: Any) -> Any:
        prepared = super().prepare(field, value)
        if prepared[0] != field.db_type:
            raise _fail(field, self.name, "expects a range value", value)
        return prepared


class FullyLessThan(_RangeOperator):
    """``fully_lt``: ``<<`` (strictly left of)."""

    name, operator = "fully_lt", "<<"


class FullyGreaterThan(_RangeOperator):
    """``fully_gt``: ``>>`` (strictly right of)."""

    name, operator = "fully_gt", ">>"


class NotLessThan(_RangeOperator):
    """``not_lt``: ``&>`` (does not extend to the left of)."""

    name, operator = "not_lt", "&>"


class NotGreaterThan(_RangeOperator):
    """``not_gt``: ``&<`` (does not extend to the right of)."""

    name, operator = "not_gt", "&<"


class AdjacentTo(_RangeOperator):
    """``adjacent_to``: ``-|-``."""

    name, operator = "adjacent_to", "-|-"


class IsEmpty(Lookup):
    """``range_field__isempty=True``."""

    name = "isempty"

    def prepare(self, field: Field, value: Any) -> Any:
        if not isinstance(field, RangeField):
            raise _fail(field, self.name, "applies to range fields", value)
        if not isinstance(value, bool):
            raise _fail(field, self.name, "expects True or False", value)
        return value

    def shape(self, prepared: Any) -> Hashable:
        return prepared  # type: ignore[no-any-return]

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        return f"isempty({column})" if shape else f"NOT isempty({column})"

    def params(self, prepared: Any) -> list[Any]:
        return []


class HasKey(Lookup):
    """``has_key``: the JSONB object (or hstore) has the key (``?``)."""

    name = "has_key"
    operator = "?"
    many = False

    def prepare(self, field: Field, value: Any) -> Any:
        if container_kind(field) not in ("json", "hstore"):
            raise _fail(field, self.name, "applies to JSONB and hstore fields", value)
        if self.many:
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise _fail(field, self.name, "expects a list of keys", value)
            keys = list(value)
        else:
            keys = [value]
        for key in keys:
            if not isinstance(key, str):
                raise _fail(field, self.name, "keys must be strings", value)
        return keys if self.many else keys[0]

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        cast = "text[]" if self.many else "text"
        return f"{column} {self.operator} %s::{cast}"


class HasKeys(HasKey):
    """``has_keys``: every key is present (``?&``)."""

    name, operator, many = "has_keys", "?&", True


class HasAnyKeys(HasKey):
    """``has_any_keys``: at least one key is present (``?|``)."""

    name, operator, many = "has_any_keys", "?|", True


class IExact(Lookup):
    """``iexact``: case-insensitive equality."""

    name = "iexact"
    text_lookup = True

    def prepare(self, field: Field, value: Any) -> Any:
        _no_none(field, self.name, value)
        if not isinstance(value, str):
            raise _fail(field, self.name, f"expects a string, got {type(value).__name__}", value)
        return value

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        text = column if field.python_types == (str,) else f"{column}::text"
        return f"UPPER({text}) = UPPER(%s::text)"


class IStartsWith(_Like):
    """``istartswith``: case-insensitive prefix (``ILIKE value%``)."""

    name, operator, pattern = "istartswith", "ILIKE", "{}%"
    text_lookup = True


class IEndsWith(_Like):
    """``iendswith``: case-insensitive suffix (``ILIKE %value``)."""

    name, operator, pattern = "iendswith", "ILIKE", "%{}"
    text_lookup = True


class Regex(Lookup):
    """``regex``: POSIX regular expression match (``~``), PostgreSQL syntax."""

    name = "regex"
    operator = "~"
    text_lookup = True

    def prepare(self, field: Field, value: Any) -> Any:
        _no_none(field, self.name, value)
        if not isinstance(value, str):
            raise _fail(field, self.name, f"expects a pattern string, got {type(value).__name__}", value)
        return value

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        text = column if field.python_types == (str,) else f"{column}::text"
        return f"{text} {self.operator} %s::text"


class IRegex(Regex):
    """``iregex``: case-insensitive regular expression match (``~*``)."""

    name, operator = "iregex", "~*"


class RangeLookup(Lookup):
    """``range=(low, high)``: ``BETWEEN low AND high`` (both inclusive)."""

    name = "range"

    def prepare(self, field: Field, value: Any) -> Any:
        if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
            raise _fail(field, self.name, "expects a (low, high) pair", value)
        low, high = value
        _no_none(field, self.name, low)
        _no_none(field, self.name, high)
        return (field.get_lookup_value(low), field.get_lookup_value(high))

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        return f"{column} BETWEEN %s AND %s"

    def params(self, prepared: Any) -> list[Any]:
        return list(prepared)

    def expression_sql(self, lhs: str, field: Field, rhs: str, value: Any) -> str:
        """Reject an expression: the range needs two values."""
        raise ParameterError(f"{field.model_name}.{field.name}__range takes a (low, high) pair, not an expression")


class Search(Lookup):
    """``search``: full-text match (``to_tsvector(column) @@ plainto_tsquery(value)``).

    The value is a string or a ``SearchQuery``; a ``SearchVectorField`` column
    is matched as is.
    """

    name = "search"

    def prepare(self, field: Field, value: Any) -> Any:
        _no_none(field, self.name, value)
        if not isinstance(value, str):
            raise _fail(field, self.name, "expects a string or a SearchQuery", value)
        return value

    @staticmethod
    def vector(column: str, field: Field) -> str:
        """Return the tsvector SQL for ``column``."""
        if isinstance(field, SearchVectorField):
            return column
        return f"to_tsvector(COALESCE({column}::text, ''))"

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        return f"{self.vector(column, field)} @@ plainto_tsquery(%s::text)"

    def expression_sql(self, lhs: str, field: Field, rhs: str, value: Any) -> str:
        """Return the SQL when the value is a SearchQuery (or another tsquery expression)."""
        return f"{self.vector(lhs, field)} @@ {rhs}"


class SearchVectorExact(Exact):
    """``exact`` on a tsvector (column or ``SearchVector`` annotation) means ``@@``."""

    def prepare(self, field: Field, value: Any) -> Any:
        _no_none(field, "exact", value)
        if not isinstance(value, str):
            raise _fail(field, "exact", "expects a string or a SearchQuery", value)
        return value

    def sql(self, column: str, field: Field, shape: Hashable) -> str:
        return f"{column} @@ plainto_tsquery(%s::text)"

    def expression_sql(self, lhs: str, field: Field, rhs: str, value: Any) -> str:
        """Return the SQL when the value is a SearchQuery."""
        return f"{lhs} @@ {rhs}"


#: The lookup used for ``exact`` on a tsvector (see ``conditions``).
SEARCH_VECTOR_EXACT = SearchVectorExact()

# The text-pattern lookups compare JSON key values as text (``->>``).
for _name in ("icontains", "startswith", "endswith"):
    from matrx_orm.core.lookups import LOOKUPS as _LOOKUPS

    _LOOKUPS[_name].text_lookup = True  # type: ignore[attr-defined]

register_lookup(Contains(), replace=True)
for _cls in (ContainedBy, Overlap, FullyLessThan, FullyGreaterThan, NotLessThan, NotGreaterThan, AdjacentTo, IsEmpty,
             HasKey, HasKeys, HasAnyKeys, IExact, IStartsWith, IEndsWith, Regex, IRegex, RangeLookup, Search):
    register_lookup(_cls())
