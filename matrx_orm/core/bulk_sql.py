"""Bulk INSERT / UPDATE through ``unnest``: one array parameter per column, whatever the row count.

A multi-row ``VALUES`` list binds ``rows x columns`` parameters and its SQL
text changes with the number of rows, so every batch size is a new statement
to parse and plan (and psycopg's prepared statements never help). With
``unnest(%s::type[], ...)`` the statement binds one array per column: its text
depends only on the columns, PostgreSQL parses the arrays in C, and the same
prepared statement serves 10 rows or 10,000.

Only columns whose values travel safely as a one-dimensional typed array use
this path (numbers, text, booleans, UUIDs, dates and times, and foreign keys to
those). Anything else -- arrays (``unnest`` would flatten them), JSON, HStore,
money, network and geometric types -- keeps the multi-row ``VALUES`` statement.
The casts name the base type (``TEXT``, ``NUMERIC``) rather than ``VARCHAR(n)``
/ ``NUMERIC(p, s)``: an explicit cast to ``VARCHAR(n)`` would silently
truncate, while the assignment to the column checks it as ``VALUES`` would.

The arrays are bound in binary format (``%b``): psycopg dumps a binary list in
C, about ten times faster than the text format, which quotes every element
with regular expressions in Python. A list is dumped with one element dumper,
so a date-time column whose values mix naive and aware datetimes cannot be
one array (one flavour would be misread): such rows keep the ``VALUES``
statement, where each value is bound on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matrx_orm.core.compiler import _cached
from matrx_orm.core.fields import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    Field,
    FloatField,
    ForeignKey,
    IntegerField,
    MoneyField,
    TimeField,
    UUIDField,
)
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.naming import quote_ident

__all__ = [
    "array_cast",
    "unnest_columns_ok",
    "compile_unnest_insert",
    "compile_unnest_update",
    "column_arrays",
    "mixed_timezones",
    "array_batches",
]


def array_cast(field: Field) -> str | None:
    """Return the element type to cast ``field``'s array parameter to, or None when unnest is unsafe."""
    if isinstance(field, ForeignKey):
        try:
            target = field.target_field()
        except Exception:
            return None  # unresolved target: let the VALUES path report it
        return array_cast(target)
    if getattr(field, "transforms", None):
        return None
    if isinstance(field, MoneyField):
        return None
    if isinstance(field, IntegerField):
        return field.base_db_type  # INTEGER / BIGINT / SMALLINT (AutoField included)
    if isinstance(field, BooleanField):
        return "BOOLEAN"
    if isinstance(field, FloatField):
        return "DOUBLE PRECISION"
    if isinstance(field, DecimalField):
        return "NUMERIC"
    if isinstance(field, CharField):
        return "TEXT"  # CharField, TextField, EnumField: validated, stored as strings
    if isinstance(field, UUIDField):
        return "UUID"
    if isinstance(field, DateTimeField):
        return "TIMESTAMPTZ" if field.timezone else "TIMESTAMP"
    if isinstance(field, (DateField, TimeField)):
        return field.db_type
    return None


def _casts(meta: ModelMeta, names: Sequence[str]) -> list[str] | None:
    casts = []
    for name in names:
        cast = array_cast(meta.fields[name])
        if cast is None:
            return None
        casts.append(cast)
    return casts


def unnest_columns_ok(meta: ModelMeta, names: Sequence[str]) -> bool:
    """Return True when every column of ``names`` can be bound as a typed array."""
    return bool(names) and _casts(meta, names) is not None


def mixed_timezones(meta: ModelMeta, names: Sequence[str], arrays: Sequence[Sequence[Any]]) -> bool:
    """Return True when a date-time column of ``arrays`` mixes naive and aware values."""
    for index, name in enumerate(names):
        if array_cast(meta.fields[name]) in _TZ_SENSITIVE:
            if len({v.tzinfo is None for v in arrays[index] if v is not None}) > 1:
                return True
    return False


_TZ_SENSITIVE = frozenset({"TIMESTAMPTZ", "TIMESTAMP", "TIME", "TIME WITH TIME ZONE", "TIMETZ"})


def _arrays_sql(casts: Sequence[str]) -> str:
    return ", ".join(f"%b::{cast}[]" for cast in casts)


def column_arrays(rows: Sequence[Sequence[Any]], ncols: int) -> list[list[Any]]:
    """Transpose row-major values into one list per column (the unnest parameters)."""
    if not rows:
        return [[] for _ in range(ncols)]
    return [list(column) for column in zip(*rows)]


def array_batches(arrays: list[list[Any]], size: int | None) -> list[list[list[Any]]]:
    """Split column arrays into batches of at most ``size`` rows (one batch when ``size`` is None)."""
    total = len(arrays[0]) if arrays else 0
    if not size or size >= total:
        return [arrays]
    return [[column[start : start + size] for column in arrays] for start in range(0, total, size)]


def compile_unnest_insert(
    meta: ModelMeta,
    names: tuple[str, ...],
    *,
    returning: bool = True,
    ignore_conflicts: bool = False,
) -> str:
    """Return ``INSERT INTO t (cols) SELECT * FROM unnest(%b::type[], ...)`` (params: one list per column)."""

    def build() -> str:
        casts = _casts(meta, names)
        if casts is None:
            raise ValueError(f"{meta.name}: columns {names} cannot use the unnest bulk path")
        cols = ", ".join(meta.quoted_columns[n] for n in names)
        arrays = _arrays_sql(casts)
        text = f"INSERT INTO {meta.quoted_table} ({cols}) SELECT * FROM unnest({arrays})"
        if ignore_conflicts:
            text += " ON CONFLICT DO NOTHING"
        if returning:
            text += f" RETURNING {meta.select_list}"
        return text

    return _cached(("unnest_insert", id(meta), names, returning, ignore_conflicts), build)


def compile_unnest_update(meta: ModelMeta, field_names: tuple[str, ...]) -> str:
    """Return one ``UPDATE ... FROM unnest(...)`` setting ``field_names`` row by row by primary key.

    Params: one list per primary-key column, then one per field, all of the same length.
    """
    pk_names = meta.pk_names

    def build() -> str:
        names = pk_names + field_names
        casts = _casts(meta, names)
        if casts is None:
            raise ValueError(f"{meta.name}: columns {names} cannot use the unnest bulk path")
        v = quote_ident("_v")
        aliases = [quote_ident(f"c{i}") for i in range(len(names))]
        arrays = _arrays_sql(casts)
        sets = ", ".join(
            f"{meta.quoted_columns[n]} = {v}.{aliases[len(pk_names) + i]}" for i, n in enumerate(field_names)
        )
        match = " AND ".join(
            f"{meta.quoted_table}.{meta.quoted_columns[n]} = {v}.{aliases[i]}" for i, n in enumerate(pk_names)
        )
        return (
            f"UPDATE {meta.quoted_table} SET {sets} FROM unnest({arrays}) AS {v}({', '.join(aliases)}) "
            f"WHERE {match}"
        )

    return _cached(("unnest_update", id(meta), field_names), build)
