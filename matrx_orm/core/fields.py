"""Field types: each knows its PostgreSQL type, how to validate a Python value,
how to send it (``get_db_prep_value``) and how to read it back (``to_python``).

Reading is the hot path, so ``from_db`` is only called for fields whose
``needs_conversion`` is true; for the rest psycopg's own adapters already produce
the right Python type and hydration costs nothing per field.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, overload

from psycopg.types.json import Jsonb

from matrx_orm.core import registry as _registry
from matrx_orm.core.exceptions import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from typing_extensions import Self

    from matrx_orm.core.model_meta import ModelMeta

__all__ = [
    "NOT_PROVIDED",
    "Field",
    "AutoField",
    "BigAutoField",
    "UUIDField",
    "CharField",
    "TextField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "FloatField",
    "DecimalField",
    "BooleanField",
    "DateTimeField",
    "DateField",
    "TimeField",
    "JSONField",
    "JSONBField",
    "ArrayField",
    "TextArrayField",
    "IntegerArrayField",
    "BooleanArrayField",
    "UUIDArrayField",
    "JSONBArrayField",
    "EnumField",
    "IPAddressField",
    "IPNetworkField",
    "MacAddressField",
    "HStoreField",
    "PointField",
    "MoneyField",
    "BinaryField",
    "TimeDeltaField",
    "ForeignKey",
    "ManyToManyField",
    "VersionField",
]


class _NotProvided:
    def __repr__(self) -> str:
        return "NOT_PROVIDED"

    def __bool__(self) -> bool:
        return False

    # A singleton: fields inherited from an abstract base are deep-copied, and
    # ``default is NOT_PROVIDED`` must stay true for the copies.
    def __copy__(self) -> _NotProvided:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _NotProvided:
        return self

    def __reduce__(self) -> str:
        return "NOT_PROVIDED"


NOT_PROVIDED: Any = _NotProvided()


class Field:
    """A column of a model.

    ``null`` defaults to True as in SPEC; a primary key is never nullable.
    ``default`` may be a value or a zero-argument callable. ``db_default`` is
    a SQL expression used only in DDL (``"now()"``, ``"gen_random_uuid()"``).
    ``db_generated`` makes the column ``GENERATED ALWAYS AS (<expression>) STORED``:
    PostgreSQL computes it, the ORM reads it and never writes it.
    """

    #: PostgreSQL type of the column, as written in DDL.
    base_db_type: str = "TEXT"
    #: True when values read from PostgreSQL must pass through ``from_db``.
    needs_conversion: bool = False
    #: Python type(s) a value may have after ``to_python``.
    python_types: tuple[type, ...] = (object,)
    #: True for fields that are not columns (many-to-many).
    is_relation_only: bool = False
    #: Lookups that make sense on this field; None means "every scalar lookup".
    is_array: bool = False
    #: Allowed values (``choices=``), or None; ``choice_labels`` maps each to its label.
    choices: tuple[Any, ...] | None = None
    choice_labels: dict[Any, str] | None = None

    creation_counter = 0

    def __init__(
        self,
        *,
        primary_key: bool = False,
        null: bool = True,
        unique: bool = False,
        default: Any = NOT_PROVIDED,
        index: bool = False,
        db_default: str | None = None,
        db_column: str | None = None,
        help_text: str = "",
        choices: Iterable[Any] | None = None,
        db_generated: str | None = None,
    ) -> None:
        if db_generated is not None:
            if not isinstance(db_generated, str) or not db_generated.strip():
                raise ConfigurationError(f"db_generated= takes a SQL expression, got {db_generated!r}")
            if primary_key or default is not NOT_PROVIDED or db_default is not None:
                # PostgreSQL computes the value: nothing else may supply one.
                raise ConfigurationError(
                    f"db_generated={db_generated!r} cannot be combined with primary_key, default or db_default"
                )
        if choices is not None:
            # Values or (value, label) pairs; checked by validate() before any SQL is sent.
            pairs = [c if isinstance(c, tuple) and len(c) == 2 else (c, str(c)) for c in choices]
            if not pairs:
                raise ConfigurationError("choices= needs at least one value")
            self.choices = tuple(v for v, _label in pairs)
            self.choice_labels = {v: str(label) for v, label in pairs}
        self.primary_key = primary_key
        self.null = False if primary_key else null
        self.unique = unique
        self.default = default
        self.index = index
        self.db_default = db_default
        self.db_generated = db_generated
        self.help_text = help_text
        self.name: str = ""
        self.column: str = db_column or ""
        self._db_column = db_column
        self.model_name: str = "?"
        self.meta: ModelMeta | None = None
        Field.creation_counter += 1
        self._order = Field.creation_counter

    # -- wiring -----------------------------------------------------------
    def bind(self, name: str, meta: ModelMeta) -> None:
        """Attach the field to its model's metadata under ``name``."""
        self.name = name
        self.column = self._db_column or name
        self.meta = meta
        self.model_name = meta.name

    def __set_name__(self, owner: type, name: str) -> None:
        if not self.name:
            self.name = name
            self.column = self._db_column or name

    # Non-data descriptor: ``User.username`` returns the field, while an
    # instance's own ``__dict__`` wins for ``user.username`` (plain dict speed).
    # To a type checker: the field on the class, a value (Any) on an instance.
    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> Any: ...
    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        raise AttributeError(self.name)

    # -- metadata ---------------------------------------------------------
    @property
    def db_type(self) -> str:
        """Return the column's PostgreSQL type as written in DDL."""
        return self.base_db_type

    @property
    def cast_type(self) -> str:
        """Return the type used when a bound array of this field's values is cast."""
        return self.db_type

    def has_default(self) -> bool:
        """Return True when the field provides a Python-side default."""
        return self.default is not NOT_PROVIDED

    def get_default(self) -> Any:
        """Return the default value, calling it when it is callable."""
        default = self.default
        if callable(default) and not isinstance(default, type):
            return default()
        if isinstance(default, (list, dict, set)):
            return type(default)(default)  # never share a mutable default
        return default

    def deconstruct(self) -> dict[str, Any]:
        """Return the keyword arguments that recreate this field (for codegen)."""
        out: dict[str, Any] = {}
        if self.primary_key:
            out["primary_key"] = True
        if not self.null and not self.primary_key:
            out["null"] = False
        if self.unique:
            out["unique"] = True
        if self.index:
            out["index"] = True
        if self.default is not NOT_PROVIDED:
            out["default"] = self.default
        if self.db_default is not None:
            out["db_default"] = self.db_default
        if self.db_generated is not None:
            out["db_generated"] = self.db_generated
        if self.choice_labels is not None:
            out["choices"] = list(self.choice_labels.items())
        return out

    # -- errors -----------------------------------------------------------
    def fail(self, value: Any, reason: str) -> ValidationError:
        """Build a ValidationError naming model, field and value."""
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        return ValidationError(
            f"{self.model_name}.{self.name}: {reason} (got {shown})",
            model=self.model_name,
            field=self.name,
            value=shown,
        )

    # -- conversion -------------------------------------------------------
    def to_python(self, value: Any) -> Any:
        """Convert a user-supplied or database value to this field's Python type."""
        return value

    def from_db(self, value: Any) -> Any:
        """Convert a value read from PostgreSQL (only if ``needs_conversion``)."""
        return self.to_python(value)

    def validate(self, value: Any) -> None:
        """Raise ValidationError when ``value`` (already ``to_python``'d) is invalid."""
        if value is None and not self.null and not self.primary_key:
            raise self.fail(value, "NULL is not allowed")
        if value is not None and self.choice_labels is not None and value not in self.choices:  # type: ignore[operator]
            raise self.fail(value, f"not one of the choices {list(self.choices)}")  # type: ignore[arg-type]

    def clean(self, value: Any) -> Any:
        """Return ``value`` converted and validated, ready to store on an instance."""
        if value is None:
            self.validate(None)
            return None
        try:
            value = self.to_python(value)
        except ValidationError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self.fail(value, f"not a valid {type(self).__name__} value: {exc}") from exc
        self.validate(value)
        return value

    def prep(self, value: Any) -> Any:
        """Return the bound parameter for a Python value (the DB side of ``to_python``)."""
        return value

    def get_db_prep_value(self, value: Any) -> Any:
        """Validate ``value`` and return what psycopg should bind for it."""
        if value is None:
            self.validate(None)
            return None
        return self.prep(self.clean(value))

    def get_lookup_value(self, value: Any) -> Any:
        """Convert a value used in a filter (NULL is allowed in lookups)."""
        if value is None:
            return None
        return self.prep(self.clean(value))

    def __repr__(self) -> str:
        name = f"{self.model_name}.{self.name}" if self.name else ""
        return f"<{type(self).__name__} {name}>"


# ---------------------------------------------------------------- numbers
class IntegerField(Field):
    """A 32-bit integer (``INTEGER``)."""

    base_db_type = "INTEGER"
    python_types = (int,)
    min_value = -(2**31)
    max_value = 2**31 - 1

    def to_python(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise self.fail(value, "expected an integer, not a bool")
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if not value.is_integer():
                raise self.fail(value, "expected an integer")
            return int(value)
        if isinstance(value, (str, decimal.Decimal)):
            try:
                result = decimal.Decimal(str(value).strip())
            except decimal.InvalidOperation as exc:
                raise self.fail(value, "expected an integer") from exc
            if result != result.to_integral_value():
                raise self.fail(value, "expected an integer")
            return int(result)
        raise self.fail(value, "expected an integer")

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not (self.min_value <= value <= self.max_value):
            raise self.fail(value, f"out of range for {self.base_db_type}")


class BigIntegerField(IntegerField):
    """A 64-bit integer (``BIGINT``)."""

    base_db_type = "BIGINT"
    min_value = -(2**63)
    max_value = 2**63 - 1


class SmallIntegerField(IntegerField):
    """A 16-bit integer (``SMALLINT``)."""

    base_db_type = "SMALLINT"
    min_value = -(2**15)
    max_value = 2**15 - 1


class AutoField(IntegerField):
    """An ``INTEGER`` identity primary key generated by PostgreSQL."""

    base_db_type = "INTEGER"
    identity = True

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("primary_key", True)
        super().__init__(**kwargs)


class BigAutoField(AutoField):
    """A ``BIGINT`` identity primary key generated by PostgreSQL."""

    base_db_type = "BIGINT"
    min_value = -(2**63)
    max_value = 2**63 - 1


class VersionField(IntegerField):
    """An integer version for optimistic locking; ``save()`` checks and bumps it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default", 1)
        kwargs.setdefault("null", False)
        super().__init__(**kwargs)


class FloatField(Field):
    """A double-precision float (``FLOAT``)."""

    base_db_type = "DOUBLE PRECISION"
    python_types = (float,)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise self.fail(value, "expected a number, not a bool")
        if isinstance(value, float):
            return value
        if isinstance(value, (int, decimal.Decimal, str)):
            return float(value)
        raise self.fail(value, "expected a number")


class DecimalField(Field):
    """An exact ``NUMERIC(max_digits, decimal_places)``."""

    python_types = (decimal.Decimal,)

    def __init__(self, max_digits: int | None = None, decimal_places: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_digits = max_digits
        self.decimal_places = decimal_places

    @property
    def db_type(self) -> str:
        if self.max_digits is None:
            return "NUMERIC"
        return f"NUMERIC({self.max_digits}, {self.decimal_places or 0})"

    def to_python(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise self.fail(value, "expected a decimal, not a bool")
        if isinstance(value, decimal.Decimal):
            return value
        if isinstance(value, float):
            return decimal.Decimal(repr(value))
        if isinstance(value, (int, str)):
            try:
                return decimal.Decimal(str(value).strip())
            except decimal.InvalidOperation as exc:
                raise self.fail(value, "expected a decimal") from exc
        raise self.fail(value, "expected a decimal")

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None or self.max_digits is None or not value.is_finite():
            return
        places = self.decimal_places or 0
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        int_digits = len(digits) + exponent if exponent < 0 else len(digits) + exponent
        if int_digits > self.max_digits - places:
            raise self.fail(value, f"more than {self.max_digits - places} digits before the decimal point")

    deconstruct_keys = ("max_digits", "decimal_places")

    def deconstruct(self) -> dict[str, Any]:
        out = {"max_digits": self.max_digits, "decimal_places": self.decimal_places}
        out.update(super().deconstruct())
        return {k: v for k, v in out.items() if v is not None}


class MoneyField(DecimalField):
    """PostgreSQL ``MONEY``, read and written as ``Decimal``."""

    needs_conversion = True
    _strip = re.compile(r"[^0-9.\-]")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    @property
    def db_type(self) -> str:
        return "MONEY"

    def from_db(self, value: Any) -> Any:
        if value is None or isinstance(value, decimal.Decimal):
            return value
        text = str(value)
        negative = text.startswith("-") or text.startswith("(")
        number = decimal.Decimal(self._strip.sub("", text) or "0")
        return -abs(number) if negative else number

    def prep(self, value: Any) -> Any:
        # Sent as an untyped literal so PostgreSQL casts it to money itself
        # (numeric has no implicit cast to money in comparisons).
        return str(value)

    def deconstruct(self) -> dict[str, Any]:
        return Field.deconstruct(self)


# ---------------------------------------------------------------- text
class CharField(Field):
    """A ``VARCHAR(max_length)``; ``max_length`` is enforced before SQL is sent."""

    python_types = (str,)

    def __init__(self, max_length: int | None = 255, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length

    @property
    def db_type(self) -> str:
        return f"VARCHAR({self.max_length})" if self.max_length else "VARCHAR"

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, enum.Enum):
            return str(value.value)
        if isinstance(value, (int, float, decimal.Decimal, uuid.UUID)) and not isinstance(value, bool):
            return str(value)
        raise self.fail(value, "expected a string")

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None:
            if "\x00" in value:
                raise self.fail(value, "PostgreSQL text cannot contain NUL characters")
            if self.max_length is not None and len(value) > self.max_length:
                raise self.fail(value, f"longer than max_length={self.max_length} ({len(value)} characters)")

    def deconstruct(self) -> dict[str, Any]:
        out: dict[str, Any] = {"max_length": self.max_length}
        out.update(super().deconstruct())
        return out


class TextField(CharField):
    """Unbounded ``TEXT``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", None)
        super().__init__(**kwargs)

    @property
    def db_type(self) -> str:
        return "TEXT"

    def deconstruct(self) -> dict[str, Any]:
        return Field.deconstruct(self)


class EnumField(CharField):
    """A ``VARCHAR`` restricted to an ``enum.Enum`` class or a list of choices.

    With ``enum_class`` values read back are enum members; with ``choices``
    they are plain strings. Anything else is rejected before SQL is sent.
    """

    def __init__(
        self,
        enum_class: type[enum.Enum] | None = None,
        choices: Iterable[str] | None = None,
        max_length: int | None = None,
        **kwargs: Any,
    ) -> None:
        if enum_class is None and choices is None:
            raise ConfigurationError("EnumField needs enum_class= or choices=")
        self.enum_class = enum_class
        if enum_class is not None:
            self.choices: tuple[str, ...] = tuple(str(m.value) for m in enum_class)
        else:
            self.choices = tuple(str(c) for c in (choices or ()))
        if max_length is None:
            max_length = max([len(c) for c in self.choices] + [1])
            max_length = max(max_length, 50)
        super().__init__(max_length=max_length, **kwargs)
        self.needs_conversion = enum_class is not None

    def to_python(self, value: Any) -> Any:
        if self.enum_class is not None:
            if isinstance(value, self.enum_class):
                return value
            if isinstance(value, enum.Enum):
                value = value.value
            for member in self.enum_class:
                if member.value == value or str(member.value) == str(value):
                    return member
            raise self.fail(value, f"not one of {list(self.choices)}")
        text = value.value if isinstance(value, enum.Enum) else value
        if not isinstance(text, str):
            text = str(text)
        if text not in self.choices:
            raise self.fail(value, f"not one of {list(self.choices)}")
        return text

    def validate(self, value: Any) -> None:
        Field.validate(self, value)

    def prep(self, value: Any) -> Any:
        return str(value.value) if isinstance(value, enum.Enum) else value

    def deconstruct(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.enum_class is not None:
            out["enum_class"] = self.enum_class
        else:
            out["choices"] = list(self.choices)
        out.update(Field.deconstruct(self))
        return out


# ---------------------------------------------------------------- misc scalars
class UUIDField(Field):
    """A PostgreSQL ``UUID``; accepts ``uuid.UUID`` or its string form, returns ``uuid.UUID``.

    A UUID primary key without a default gets ``uuid4`` so ``create()`` needs no id.
    """

    base_db_type = "UUID"
    python_types = (uuid.UUID,)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.primary_key and self.default is NOT_PROVIDED and self.db_default is None:
            self.default = uuid.uuid4
            self._implicit_default = True
        else:
            self._implicit_default = False

    def to_python(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError as exc:
                raise self.fail(value, "not a valid UUID") from exc
        if isinstance(value, bytes) and len(value) == 16:
            return uuid.UUID(bytes=value)
        raise self.fail(value, "not a valid UUID")

    def deconstruct(self) -> dict[str, Any]:
        out = super().deconstruct()
        if self._implicit_default:
            out.pop("default", None)
        return out


class BooleanField(Field):
    """A ``BOOLEAN``; only real bools are accepted (``"false"`` is not True)."""

    base_db_type = "BOOLEAN"
    python_types = (bool,)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        raise self.fail(value, "expected a bool")


class DateTimeField(Field):
    """A timestamp. ``timezone=True`` (the default) is ``TIMESTAMPTZ``.

    ISO-8601 strings are parsed before binding. ``auto_now_add`` / ``auto_now``
    fill the value on insert / on every save.
    """

    python_types = (_dt.datetime,)

    def __init__(self, *, timezone: bool = True, auto_now: bool = False, auto_now_add: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timezone = timezone
        self.auto_now = auto_now
        self.auto_now_add = auto_now_add

    @property
    def db_type(self) -> str:
        return "TIMESTAMPTZ" if self.timezone else "TIMESTAMP"

    def now(self) -> _dt.datetime:
        """Return the current time in the field's flavour (aware or naive UTC)."""
        now = _dt.datetime.now(_dt.timezone.utc)
        return now if self.timezone else now.replace(tzinfo=None)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            pass
        elif isinstance(value, _dt.date):
            return _dt.datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            text = value.strip().replace("Z", "+00:00") if value.strip().endswith("Z") else value.strip()
            try:
                value = _dt.datetime.fromisoformat(text)
            except ValueError as exc:
                raise self.fail(value, "not an ISO-8601 datetime") from exc
        if not isinstance(value, _dt.datetime):
            raise self.fail(value, "expected a datetime")
        if not self.timezone and value.tzinfo is not None:
            # TIMESTAMP has no zone: store the UTC wall time, not the session time zone's.
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return value

    def deconstruct(self) -> dict[str, Any]:
        out = super().deconstruct()
        if not self.timezone:
            out["timezone"] = False
        if self.auto_now:
            out["auto_now"] = True
        if self.auto_now_add:
            out["auto_now_add"] = True
        return out


class DateField(Field):
    """A ``DATE``; ISO strings are parsed."""

    base_db_type = "DATE"
    python_types = (_dt.date,)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, str):
            try:
                return _dt.date.fromisoformat(value.strip()[:10])
            except ValueError as exc:
                raise self.fail(value, "not an ISO-8601 date") from exc
        raise self.fail(value, "expected a date")


class TimeField(Field):
    """A ``TIME``; ISO strings are parsed."""

    base_db_type = "TIME"
    python_types = (_dt.time,)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, _dt.time):
            return value
        if isinstance(value, str):
            try:
                return _dt.time.fromisoformat(value.strip())
            except ValueError as exc:
                raise self.fail(value, "not an ISO-8601 time") from exc
        raise self.fail(value, "expected a time")


class TimeDeltaField(Field):
    """An ``INTERVAL``, as ``datetime.timedelta``; numbers are seconds."""

    base_db_type = "INTERVAL"
    python_types = (_dt.timedelta,)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, _dt.timedelta):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _dt.timedelta(seconds=value)
        raise self.fail(value, "expected a timedelta")


class BinaryField(Field):
    """A ``BYTEA``, as ``bytes``."""

    base_db_type = "BYTEA"
    python_types = (bytes,)
    needs_conversion = True

    def to_python(self, value: Any) -> Any:
        if isinstance(value, bytes):
            return value
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        raise self.fail(value, "expected bytes")


class JSONField(Field):
    """A ``JSONB`` document (any JSON-serialisable value)."""

    base_db_type = "JSONB"
    python_types = (dict, list, str, int, float, bool)

    def to_python(self, value: Any) -> Any:
        return value

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None:
            try:
                # allow_nan=False: NaN/Infinity are not JSON and PostgreSQL rejects them.
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise self.fail(value, f"not JSON-serialisable: {exc}") from exc
            if _has_nul(value):
                raise self.fail(value, "PostgreSQL jsonb cannot contain NUL characters (\\u0000)")

    def get_db_prep_value(self, value: Any) -> Any:
        if value is None:
            self.validate(None)
            return None
        self.validate(value)
        return Jsonb(value)

    def get_lookup_value(self, value: Any) -> Any:
        if value is not None and _has_nul(value):
            raise self.fail(value, "PostgreSQL jsonb cannot contain NUL characters (\\u0000)")
        return None if value is None else Jsonb(value)


def _has_nul(value: Any) -> bool:
    """Return True when a NUL character hides in a string, a key or a nested item."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class JSONBField(JSONField):
    """Alias of ``JSONField`` (``JSONB``)."""


class IPAddressField(Field):
    """An ``INET`` address, as ``ipaddress.IPv4Address``/``IPv6Address``."""

    base_db_type = "INET"
    python_types = (ipaddress.IPv4Address, ipaddress.IPv6Address)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
            return value
        if isinstance(value, str):
            try:
                if "/" in value:
                    return ipaddress.ip_interface(value)
                return ipaddress.ip_address(value)
            except ValueError as exc:
                raise self.fail(value, "not an IP address") from exc
        raise self.fail(value, "expected an IP address")


class IPNetworkField(Field):
    """A ``CIDR`` network, as ``ipaddress.IPv4Network``/``IPv6Network``."""

    base_db_type = "CIDR"
    python_types = (ipaddress.IPv4Network, ipaddress.IPv6Network)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return value
        if isinstance(value, str):
            try:
                return ipaddress.ip_network(value)
            except ValueError as exc:
                raise self.fail(value, "not a CIDR network") from exc
        raise self.fail(value, "expected a network")


class MacAddressField(Field):
    """A ``MACADDR``, as a lower-case ``aa:bb:cc:dd:ee:ff`` string."""

    base_db_type = "MACADDR"
    python_types = (str,)
    _pattern = re.compile(r"^[0-9a-f]{2}([:\-.]?[0-9a-f]{2}){5}$")

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise self.fail(value, "expected a MAC address string")
        text = value.strip().lower()
        if not self._pattern.match(text):
            raise self.fail(value, "not a MAC address")
        hexdigits = re.sub(r"[^0-9a-f]", "", text)
        return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))


class HStoreField(Field):
    """An ``HSTORE`` (needs the hstore extension), as ``dict[str, str | None]``."""

    base_db_type = "HSTORE"
    python_types = (dict,)
    extension = "hstore"

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise self.fail(value, "expected a dict of strings")
        for key, item in value.items():
            if not isinstance(key, str) or not (item is None or isinstance(item, str)):
                raise self.fail(value, "hstore keys and values must be strings (values may be None)")
            if _has_nul(key) or _has_nul(item):
                raise self.fail(value, "PostgreSQL hstore cannot contain NUL characters")
        return value

    # Sent as hstore text and parsed back here, so no per-connection type
    # registration is needed (the extension may be created after the pool opened).
    needs_conversion = True
    _pair = re.compile(
        r'"((?:[^"\\]|\\.)*)"\s*=>\s*(?:NULL|"((?:[^"\\]|\\.)*)")(?:\s*,\s*|$)', re.IGNORECASE
    )
    _unescape = re.compile(r"\\(.)")

    def prep(self, value: Any) -> Any:
        def quote(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

        return ", ".join(f"{quote(k)}=>{'NULL' if v is None else quote(v)}" for k, v in value.items())

    def from_db(self, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        out: dict[str, str | None] = {}
        for match in self._pair.finditer(value):
            key = self._unescape.sub(r"\1", match.group(1))
            raw = match.group(2)
            out[key] = None if raw is None else self._unescape.sub(r"\1", raw)
        return out


class PointField(Field):
    """A geometric ``POINT``, as an ``(x, y)`` tuple of floats."""

    base_db_type = "POINT"
    python_types = (tuple,)
    needs_conversion = True
    _pattern = re.compile(r"^\(\s*([^,\s]+)\s*,\s*([^)\s]+)\s*\)$")

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            match = self._pattern.match(value.strip())
            if not match:
                raise self.fail(value, "not a point '(x,y)'")
            return (float(match.group(1)), float(match.group(2)))
        if isinstance(value, Sequence) and len(value) == 2:
            try:
                return (float(value[0]), float(value[1]))
            except (TypeError, ValueError) as exc:
                raise self.fail(value, "point coordinates must be numbers") from exc
        raise self.fail(value, "expected an (x, y) pair")

    def prep(self, value: Any) -> Any:
        return f"({value[0]!r},{value[1]!r})"


# ---------------------------------------------------------------- arrays
class ArrayField(Field):
    """A PostgreSQL array of ``item_field`` (``ArrayField(IntegerField())``)."""

    is_array = True
    python_types = (list,)

    def __init__(self, item_field: Field | type[Field] | None = None, **kwargs: Any) -> None:
        if "item_type" in kwargs:
            item_field = kwargs.pop("item_type")
        if item_field is None:
            raise ConfigurationError("ArrayField needs an item field, e.g. ArrayField(IntegerField())")
        super().__init__(**kwargs)
        self.item_field: Field = item_field() if isinstance(item_field, type) else item_field
        self.needs_conversion = self.item_field.needs_conversion

    def bind(self, name: str, meta: ModelMeta) -> None:
        super().bind(name, meta)
        self.item_field.name = f"{name}[]"
        self.item_field.model_name = meta.name

    @property
    def db_type(self) -> str:
        return f"{self.item_field.db_type}[]"

    def to_python(self, value: Any) -> Any:
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
            raise self.fail(value, "expected a list")
        return [None if item is None else self.item_field.to_python(item) for item in value]

    def from_db(self, value: Any) -> Any:
        if value is None:
            return None
        return [None if item is None else self.item_field.from_db(item) for item in value]

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None:
            for item in value:
                if item is not None:
                    self.item_field.validate(item)

    def prep(self, value: Any) -> Any:
        return [None if item is None else self.item_field.prep(item) for item in value]

    def deconstruct(self) -> dict[str, Any]:
        out: dict[str, Any] = {"item_field": self.item_field}
        out.update(super().deconstruct())
        return out


class TextArrayField(ArrayField):
    """``TEXT[]``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(TextField(), **kwargs)

    def deconstruct(self) -> dict[str, Any]:
        return Field.deconstruct(self)


class IntegerArrayField(ArrayField):
    """``INTEGER[]``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(IntegerField(), **kwargs)

    def deconstruct(self) -> dict[str, Any]:
        return Field.deconstruct(self)


class BooleanArrayField(ArrayField):
    """``BOOLEAN[]``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(BooleanField(), **kwargs)

    def deconstruct(self) -> dict[str, Any]:
        return Field.deconstruct(self)


class UUIDArrayField(ArrayField):
    """``UUID[]`` (SPEC lists TEXT[]; DESIGN maps UUIDs to the UUID type)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(UUIDField(), **kwargs)

    def deconstruct(self) -> dict[str, Any]:
        return Field.deconstruct(self)


class JSONBArrayField(ArrayField):
    """``JSONB[]``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(JSONField(), **kwargs)

    def prep(self, value: Any) -> Any:
        return [None if item is None else Jsonb(item) for item in value]

    def deconstruct(self) -> dict[str, Any]:
        return Field.deconstruct(self)


# ---------------------------------------------------------------- relations
_ON_DELETE = {"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION", "PROTECT", "DO_NOTHING"}
_ON_UPDATE = {"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"}


_MODEL_BASE: list[type] = []


def _model_base() -> type:
    # model_meta imports this module: resolved on first use, then a list lookup
    # (an import statement on every foreign-key value costs more than the check).
    if not _MODEL_BASE:
        from matrx_orm.core.model_meta import ModelBase

        _MODEL_BASE.append(ModelBase)
    return _MODEL_BASE[0]


class _ResolvedTarget:
    """A foreign key's resolved target, valid while no model is (re)registered.

    Every value written through a foreign key is validated and converted by
    the target field, so resolving it through the registry each time would
    cost three registry lookups per value on bulk paths. Copies (inherited
    fields are deep-copied) start empty.
    """

    __slots__ = ("generation", "meta", "field")

    def __init__(self) -> None:
        self.generation = -1
        self.meta: Any = None
        self.field: Any = None

    def __deepcopy__(self, memo: dict[int, Any]) -> _ResolvedTarget:
        return _ResolvedTarget()

    def __copy__(self) -> _ResolvedTarget:
        return _ResolvedTarget()


class ForeignKey(Field):
    """A column holding the primary key (or ``to_field``) of another model.

    ``to`` is the target model's class name (resolved lazily, so models may
    reference each other in any order) or the class itself. The column takes
    the type of the referenced field. The relation name is the field name
    without its ``_id`` suffix (``author_id`` -> ``author``), or ``related_name``
    for the inverse side.
    """

    python_types = (object,)

    def __init__(
        self,
        to: str | type,
        to_field: str | None = None,
        *,
        on_delete: str = "CASCADE",
        related_name: str | None = None,
        db_constraint: bool = True,
        on_update: str = "NO ACTION",
        **kwargs: Any,
    ) -> None:
        # SPEC's positional form ForeignKey("User", "id").
        super().__init__(**kwargs)
        self.to = to
        self.to_field_name = to_field
        normalized = on_delete.upper().replace("_", " ")
        if normalized == "PROTECT":
            normalized = "RESTRICT"
        if normalized == "DO NOTHING":
            normalized = "NO ACTION"
        if normalized not in _ON_DELETE:
            raise ConfigurationError(f"ForeignKey on_delete={on_delete!r} is not one of {sorted(_ON_DELETE)}")
        self.on_delete = normalized
        # ON UPDATE of the constraint (generated models keep what the database has).
        on_update_normalized = on_update.upper().replace("_", " ")
        if on_update_normalized not in _ON_UPDATE:
            raise ConfigurationError(f"ForeignKey on_update={on_update!r} is not one of {sorted(_ON_UPDATE)}")
        self.on_update = on_update_normalized
        self.related_name = related_name
        self.db_constraint = db_constraint
        self._resolved = _ResolvedTarget()

    @property
    def relation_name(self) -> str:
        """Return the name of the relation (``author_id`` -> ``author``)."""
        return self.name[:-3] if self.name.endswith("_id") and len(self.name) > 3 else self.name

    @property
    def target_name(self) -> str:
        """Return the referenced model's class name."""
        return self.to if isinstance(self.to, str) else self.to.__name__

    def target_meta(self) -> ModelMeta:
        """Return the metadata of the referenced model (resolved lazily)."""
        resolved = self._resolved
        generation = _registry.registry_generation()
        if resolved.generation == generation and resolved.meta is not None:
            return resolved.meta  # type: ignore[no-any-return]
        assert self.meta is not None
        meta = _registry.resolve_meta(self.to, self.meta, f"{self.model_name}.{self.name}")
        if resolved.generation != generation:
            resolved.field = None
        resolved.meta, resolved.generation = meta, generation
        return meta

    def target_field(self) -> Field:
        """Return the referenced field (the target's primary key by default)."""
        resolved = self._resolved
        if resolved.field is not None and resolved.generation == _registry.registry_generation():
            return resolved.field  # type: ignore[no-any-return]
        field = self._find_target_field()
        resolved.field = field
        return field

    def _find_target_field(self) -> Field:
        meta = self.target_meta()
        if self.to_field_name:
            try:
                return meta.fields[self.to_field_name]
            except KeyError:
                raise ConfigurationError(
                    f"{self.model_name}.{self.name} references {meta.name}.{self.to_field_name}, "
                    f"which is not a field of {meta.name}",
                    model=self.model_name,
                    field=self.name,
                ) from None
        if len(meta.pk_fields) != 1:
            raise ConfigurationError(
                f"{self.model_name}.{self.name} references {meta.name}, which has no single-column primary key; "
                "pass to_field=",
                model=self.model_name,
                field=self.name,
            )
        return meta.pk_fields[0]

    @property
    def db_type(self) -> str:
        target = self.target_field()
        if isinstance(target, AutoField):
            return target.base_db_type
        return target.db_type

    @property
    def needs_conversion(self) -> bool:  # type: ignore[override]
        try:
            return self.target_field().needs_conversion
        except Exception:
            return False

    def to_python(self, value: Any) -> Any:
        target = self.target_field()
        if isinstance(value, _model_base()):
            # An instance stands for its key, but only an instance of the target model:
            # a User where a Post is expected would silently write the wrong row's id.
            if value._meta.key != self.target_meta().key:  # type: ignore[attr-defined]
                raise self.fail(value, f"expected a {self.target_name} instance or key, not a {type(value).__name__}")
            instance = value
            # getattr when the key was left out by only()/defer(): it raises saying so.
            loaded = instance.__dict__
            value = loaded[target.name] if target.name in loaded else getattr(instance, target.name)
            if value is None:
                # An unsaved instance: writing NULL (or failing on NULL) would hide the mistake.
                raise self.fail(instance, f"the {self.target_name} given has no {target.name} yet: save it first")
        try:
            return target.to_python(value)
        except ValidationError as exc:
            raise self.fail(value, exc.message.split(": ", 1)[-1].rsplit(" (got ", 1)[0]) from None

    def validate(self, value: Any) -> None:
        Field.validate(self, value)
        if value is not None:
            # The column holds the target's values: its max_length / range apply here.
            try:
                self.target_field().validate(value)
            except ValidationError as exc:
                raise self.fail(value, exc.message.split(": ", 1)[-1].rsplit(" (got ", 1)[0]) from None

    def prep(self, value: Any) -> Any:
        return self.target_field().prep(value)

    def from_db(self, value: Any) -> Any:
        return self.target_field().from_db(value)

    def deconstruct(self) -> dict[str, Any]:
        out = super().deconstruct()
        if self.on_delete != "CASCADE":
            out["on_delete"] = self.on_delete
        if self.on_update != "NO ACTION":
            out["on_update"] = self.on_update
        if self.related_name:
            out["related_name"] = self.related_name
        return out


class ManyToManyField(Field):
    """A many-to-many relation through a junction table (not a column).

    The junction table is named from the two table names sorted
    (``post`` + ``tag`` -> ``post_tag``) unless ``db_table`` is given; its
    columns are ``<table>_id`` for each side.
    """

    is_relation_only = True

    def __init__(
        self,
        to: str | type,
        *,
        db_table: str | None = None,
        related_name: str | None = None,
        source_column: str | None = None,
        target_column: str | None = None,
    ) -> None:
        super().__init__(null=True)
        self.to = to
        self.db_table = db_table
        self.related_name = related_name
        self.source_column = source_column
        self.target_column = target_column

    @property
    def target_name(self) -> str:
        """Return the target model's class name."""
        return self.to if isinstance(self.to, str) else self.to.__name__

    def target_meta(self) -> ModelMeta:
        """Return the metadata of the target model (resolved lazily)."""
        from matrx_orm.core.registry import resolve_meta

        assert self.meta is not None
        return resolve_meta(self.to, self.meta, f"{self.model_name}.{self.name}")

    def junction_config(self) -> dict[str, Any]:
        """Return the ``_many_to_many``-style config for this field."""
        assert self.meta is not None
        target = self.target_meta()
        source_table = self.meta.table_name
        target_table = target.table_name
        if self.db_table:
            junction = self.db_table
        else:
            junction = "_".join(sorted([source_table, target_table]))
        source_column = self.source_column or f"{source_table}_id"
        target_column = self.target_column or f"{target_table}_id"
        if source_column == target_column:  # self-referential M2M
            source_column, target_column = f"from_{source_table}_id", f"to_{target_table}_id"
        return {
            "junction_table": junction,
            "source_column": source_column,
            "target_column": target_column,
            "target_model": target.name,
            "junction_schema": self.meta.db_schema,
            "declarative": True,
        }


def field_kind(field: Field) -> str:
    """Return the field's class name (used by codegen and error messages)."""
    return type(field).__name__


FieldFactory = Callable[..., Field]
