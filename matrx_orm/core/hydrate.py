"""Turn result rows into model instances with as little Python work as possible.

Rows come back as tuples in the order of the SELECT list, which the compiler
built from the model's fields, so no cursor description lookup is needed.
Only fields whose database values need conversion pay a per-value call.

Building one dict per row is most of the cost, so the dicts are built by a
small function generated once per column list: a comprehension with a dict
display, ``[{"id": _0, "title": _1} for _0, _1 in rows]``, which CPython runs
about twice as fast as ``dict(zip(names, row))`` (or psycopg's ``dict_row``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

from matrx_orm.core.model_meta import ModelMeta

__all__ = ["hydrate_rows", "hydrate_row", "row_names", "dict_maker", "rows_to_dicts"]

_new = object.__new__

RowsToDicts = Callable[[Sequence[Sequence[Any]]], list[dict[str, Any]]]
_makers: dict[tuple[str, ...], RowsToDicts] = {}


def dict_maker(names: tuple[str, ...]) -> RowsToDicts:
    """Return a function turning rows into dicts keyed by ``names`` (generated once per column list)."""
    maker = _makers.get(names)
    if maker is None:
        maker = _build_dict_maker(names)
        if len(_makers) < 1024:  # column lists are few in practice; never unbounded
            _makers[names] = maker
    return maker


def rows_to_dicts(names: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Return one ``{name: value}`` dict per row."""
    return dict_maker(names)(rows)


def _zip_dicts(names: tuple[str, ...]) -> RowsToDicts:
    return lambda rows: list(map(dict, map(zip, repeat(names), rows)))


def _build_dict_maker(names: tuple[str, ...]) -> RowsToDicts:
    if not names or not all(isinstance(n, str) for n in names):
        return _zip_dicts(names)
    # Only repr() of the names reaches the source (string literals) and the
    # loop variables are positional: no text of the caller is executed.
    targets = ", ".join(f"_{i}" for i in range(len(names))) + ("," if len(names) == 1 else "")
    items = ", ".join(f"{name!r}: _{i}" for i, name in enumerate(names))
    namespace: dict[str, Any] = {}
    exec(compile(f"def make(rows):\n    return [{{{items}}} for {targets} in rows]\n", "<matrx_orm rows>", "exec"), namespace)
    fast = namespace["make"]
    slow = _zip_dicts(names)

    def make(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        try:
            return fast(rows)  # type: ignore[no-any-return]
        except ValueError:
            return slow(rows)  # a row of another width: zip's semantics (extra values ignored)

    return make


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
    dicts = dict_maker(names)(rows)
    if converters:
        for values in dicts:
            for name, convert in converters:
                value = values[name]
                if value is not None:
                    values[name] = convert(value)
    out: list[Any] = list(map(_new, repeat(cls, len(dicts))))
    for obj, values in zip(out, dicts):
        obj.__dict__ = values
    return out


def hydrate_row(cls: type, names: tuple[str, ...], row: Sequence[Any]) -> Any:
    """Return one instance of ``cls`` for ``row``."""
    if _converters(cls._meta, names):  # type: ignore[attr-defined]
        return hydrate_rows(cls, names, (row,))[0]
    obj: Any = _new(cls)
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
