"""Validate and convert the values of writes (insert rows, updates, upserts).

Shared by both modes so that every write path fails the same way, before any
SQL is sent, with a message naming the model, the field and the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from matrx_orm.core.exceptions import FieldError, ParameterError
from matrx_orm.core.fields import AutoField, DateTimeField
from matrx_orm.core.model_meta import ModelBase, ModelMeta, computed_field_error, field_values_for_insert

__all__ = [
    "prepare_update_values",
    "prepare_insert_rows",
    "instance_insert_data",
    "group_rows_by_columns",
    "pk_values_of",
    "batch_size_for",
    "check_field_names",
]

#: PostgreSQL accepts at most 65535 bind parameters in one statement.
MAX_PARAMS = 65535


def check_field_names(meta: ModelMeta, names: Iterable[str], what: str, *, written: bool = False) -> tuple[str, ...]:
    """Return ``names`` as field names, raising FieldError on an unknown one.

    ``written=True``: the fields are about to be written, so a ``db_generated`` one is refused.
    """
    out = []
    for name in names:
        if not isinstance(name, str):
            raise ParameterError(f"{meta.name}.{what}: field names must be strings, got {name!r}", model=meta.name)
        field = meta.field(name)
        if written and field.db_generated is not None:
            raise computed_field_error(field, name)
        out.append(field.name)
    return tuple(out)


def prepare_update_values(meta: ModelMeta, values: dict[str, Any]) -> dict[str, Any]:
    """Return ``{field: bound value or expression}`` for an UPDATE."""
    if not values:
        raise ParameterError(f"{meta.name}.update() needs at least one field=value", model=meta.name)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in meta.fields:
            if key in meta.m2m_fields:
                raise FieldError(
                    f"{meta.name}.{key} is a many-to-many relation; use set_m2m()/add_m2m()",
                    model=meta.name,
                    field=key,
                )
            try:
                field = meta.write_field(key)
            except FieldError as exc:
                raise exc.with_value(value) from None
        else:
            field = meta.fields[key]
        if field.db_generated is not None:
            raise computed_field_error(field, value)
        if field.name in out:
            raise ParameterError(
                f"{meta.name}.update(): two keywords set {meta.name}.{field.name} ({key}= is one); pass one of them",
                model=meta.name,
                field=field.name,
            )
        if getattr(value, "as_sql", None) is not None:
            # An expression (F("views") + 1, Case(...)): validate its names against the model now.
            resolve = getattr(value, "resolve_expression", None)
            out[field.name] = resolve(meta) if resolve is not None else value
        else:
            out[field.name] = field.get_db_prep_value(value)
    return out


def instance_insert_data(obj: ModelBase) -> dict[str, Any]:
    """Return what inserting ``obj`` writes: its loaded fields, minus what the database fills.

    An unset identity key or ``db_default`` column (None) is left to PostgreSQL, and a
    ``db_generated`` column always is (the instance may carry a value it was read with).
    ``save()`` and ``bulk_create()`` of instances share this, so they insert alike.
    """
    meta = obj._meta
    values = obj.__dict__
    data = {n: values[n] for n in meta.field_names if n in values}
    for field in meta.computed_fields:
        data.pop(field.name, None)
    for field in meta.fields.values():
        if data.get(field.name, 0) is None and (field.db_default is not None or isinstance(field, AutoField)):
            del data[field.name]
    return data


def _as_dict(meta: ModelMeta, item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    if isinstance(item, ModelBase):
        if item._meta.key != meta.key:
            raise ParameterError(f"{meta.name}: got a {type(item).__name__} instance", model=meta.name)
        return instance_insert_data(item)
    raise ParameterError(
        f"{meta.name}: expected a dict or a {meta.name} instance, got {type(item).__name__}", model=meta.name
    )


def prepare_insert_rows(meta: ModelMeta, items: Sequence[Any]) -> list[dict[str, Any]]:
    """Return one dict of bound values per row (Python defaults applied)."""
    return [field_values_for_insert(meta, _as_dict(meta, item)) for item in items]


def group_rows_by_columns(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[int]]]:
    """Group row indexes by their column set, keeping first-seen order.

    Rows that leave different columns to database defaults cannot share one
    ``VALUES`` list (a bound parameter cannot say DEFAULT).
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(tuple(row), []).append(index)
    return list(groups.items())


def batch_size_for(ncols: int, requested: int | None) -> int:
    """Return how many rows fit in one statement."""
    limit = max(1, MAX_PARAMS // max(ncols, 1))
    return min(requested, limit) if requested else limit


def pk_values_of(meta: ModelMeta, items: Iterable[Any], operation: str) -> list[Any]:
    """Return primary-key values (tuples for composite keys) of instances or raw keys."""
    pk_fields = meta.require_pk(operation)
    out: list[Any] = []
    for item in items:
        if isinstance(item, ModelBase):
            value = item.pk
        elif isinstance(item, dict):
            value = tuple(item.get(f.name) for f in pk_fields) if len(pk_fields) > 1 else item.get(pk_fields[0].name)
        else:
            value = item
        if len(pk_fields) == 1:
            out.append(pk_fields[0].get_db_prep_value(value))
        else:
            if not isinstance(value, tuple) or len(value) != len(pk_fields):
                raise ParameterError(
                    f"{meta.name}.{operation}: composite key needs a tuple of {len(pk_fields)} values, got {value!r}",
                    model=meta.name,
                )
            out.append(tuple(f.get_db_prep_value(v) for f, v in zip(pk_fields, value)))
    return out


def instance_update_values(obj: ModelBase, names: Sequence[str] | None) -> dict[str, Any]:
    """Return bound values of ``obj``'s non-key fields (``names`` only when given)."""
    meta = obj._meta
    for stamped in meta.auto_now_fields:
        obj.__dict__[stamped.name] = stamped.now()
    # Fields deferred by only()/defer() were never loaded: saving must not overwrite them with NULL.
    chosen = names if names is not None else [n for n in meta.field_names if n not in meta.pk_names and n in obj.__dict__]
    out: dict[str, Any] = {}
    for name in chosen:
        field = meta.field(name)
        if isinstance(field, AutoField) or field.primary_key:
            continue
        if field.db_generated is not None:
            if names is not None:
                raise computed_field_error(field, obj.__dict__.get(field.name))
            continue
        if meta.version_field is not None and field is meta.version_field:
            continue
        value = obj.__dict__.get(field.name)
        out[field.name] = field.get_db_prep_value(value)
    return out


def is_auto_now(field: Any) -> bool:
    """Return True for a DateTimeField with auto_now."""
    return isinstance(field, DateTimeField) and field.auto_now
