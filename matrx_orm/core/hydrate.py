"""Turn result rows into model instances with as little Python work as possible.

Rows come back as tuples in the order of the SELECT list, which the compiler
built from the model's fields, so no cursor description lookup is needed.
Only fields whose database values need conversion pay a per-value call.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import Any

from matrx_orm.core.model_meta import ModelMeta

__all__ = ["hydrate_rows", "hydrate_row", "row_names"]

_new = object.__new__


def row_names(meta: ModelMeta, fields: Sequence[str] | None) -> tuple[str, ...]:
    """Return the attribute names of the selected columns, in order."""
    return meta.field_names if fields is None else tuple(fields)


def _converters(meta: ModelMeta, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    # Cached per model and column list: ``needs_conversion`` is a property on
    # some fields (a foreign key asks its target), too slow to ask per query.
    cache: dict[tuple[str, ...], list[tuple[str, Any]]] | None = meta.__dict__.get("_hydrate_converters")
    if cache is None:
        cache = meta.__dict__.setdefault("_hydrate_converters", {})
    found = cache.get(names)
    if found is None:
        if names is meta.field_names:
            found = [(f.name, f.from_db) for _i, f in meta.converting_fields()]
        else:
            found = [(n, meta.fields[n].from_db) for n in names if meta.fields[n].needs_conversion]
        if len(cache) < 256:  # a few column lists per model in practice; never unbounded
            cache[names] = found
    return found


def hydrate_rows(cls: type, names: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> list[Any]:
    """Return one instance of ``cls`` per row, attributes named by ``names``."""
    converters = _converters(cls._meta, names)  # type: ignore[attr-defined]
    if not converters:
        # The per-row work runs in C (map/zip/dict); the only Python-level
        # step left per row is the ``__dict__`` assignment.
        out = list(map(_new, repeat(cls, len(rows))))
        for obj, values in zip(out, map(dict, map(zip, repeat(names), rows))):
            obj.__dict__ = values
        return out
    out = []
    append = out.append
    for row in rows:
        values = dict(zip(names, row))
        for name, convert in converters:
            value = values[name]
            if value is not None:
                values[name] = convert(value)
        obj = _new(cls)
        obj.__dict__ = values
        append(obj)
    return out


def hydrate_row(cls: type, names: tuple[str, ...], row: Sequence[Any]) -> Any:
    """Return one instance of ``cls`` for ``row``."""
    if _converters(cls._meta, names):  # type: ignore[attr-defined]
        return hydrate_rows(cls, names, (row,))[0]
    obj = _new(cls)
    obj.__dict__ = dict(zip(names, row))
    return obj


def convert_values(meta: ModelMeta, names: tuple[str, ...], row: Sequence[Any]) -> dict[str, Any]:
    """Return ``{name: python value}`` for a row (used by ``values()``)."""
    values = dict(zip(names, row))
    for name in names:
        field = meta.fields.get(name)
        if field is not None and field.needs_conversion and values[name] is not None:
            values[name] = field.from_db(values[name])
    return values
