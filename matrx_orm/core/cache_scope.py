"""Which cached rows a write touches.

A write names the rows it changed as precisely as it can: an instance write or
a ``RETURNING`` statement knows its primary keys; a queryset write whose filter
pins the primary key (``filter(id=x)``, ``filter(id__in=[...], ...)``) knows
them too; anything else invalidates the whole table. Deleting rows can also
change other tables through foreign keys (``ON DELETE CASCADE`` / ``SET NULL``),
so a delete also invalidates every table whose foreign keys reference the
deleted one, transitively.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from matrx_orm.core.cache_store import TableKey, instance_key, pk_key, table_key
from matrx_orm.core.exceptions import ORMException
from matrx_orm.core.registry import all_metas, registry_generation

if TYPE_CHECKING:
    from matrx_orm.core.model_meta import ModelMeta
    from matrx_orm.core.query_state import QueryState

__all__ = ["keys_from_state", "keys_of_instances", "keys_of_values", "dependent_tables", "metas_of_table"]


def keys_of_instances(objs: Iterable[Any]) -> list[Hashable]:
    """Return the cache keys of model instances."""
    return [instance_key(obj) for obj in objs]


def keys_of_values(meta: ModelMeta, values: Iterable[Any]) -> list[Hashable]:
    """Return the cache keys of primary-key values (tuples or dicts for composite keys)."""
    return [pk_key(meta, v) for v in values]


def keys_from_state(state: QueryState) -> list[Hashable] | None:
    """Return the keys a filtered UPDATE/DELETE can touch, or None when it may touch any row.

    Only a top-level AND that pins every primary-key column with ``exact`` (or
    the single key column with ``in``) narrows the set; every other condition
    can only remove rows from it.
    """
    meta = state.meta
    where = state.where
    pk_fields = meta.pk_fields
    if where is None or not pk_fields or where.negated or where.connector != "AND":
        return None
    pinned: dict[str, list[Any]] = {}
    for child in where.children:
        path = getattr(child, "path", None)
        if path is None or len(path) != 1:
            continue
        name = path[0]
        field = meta.fields.get(name)
        if field is None or not field.primary_key or child.field is not field:  # type: ignore[union-attr]
            continue
        value = child.value  # type: ignore[union-attr]
        if getattr(value, "as_sql", None) is not None:
            continue
        lookup = child.lookup.name  # type: ignore[union-attr]
        if lookup == "exact" and value is not None:
            values = [value]
        elif lookup == "in" and len(pk_fields) == 1 and isinstance(value, tuple) and isinstance(value[0], list):
            values = list(value[0])
        else:
            continue
        if name in pinned:
            # Two conditions on the key: the rows touched are in both sets.
            keep = set(map(repr, values))
            pinned[name] = [v for v in pinned[name] if repr(v) in keep]
        else:
            pinned[name] = values
    if len(pk_fields) == 1:
        single = pinned.get(pk_fields[0].name)
        return None if single is None else [pk_key(meta, v) for v in single]
    if not all(f.name in pinned and len(pinned[f.name]) == 1 for f in pk_fields):
        return None
    return [pk_key(meta, tuple(pinned[f.name][0] for f in pk_fields))]


def _references(fk: Any) -> ModelMeta | None:
    try:
        return fk.target_meta()  # type: ignore[no-any-return]
    except ORMException:
        return None


def dependent_tables(meta: ModelMeta) -> list[tuple[ModelMeta, TableKey]]:
    """Return the models whose foreign keys (transitively) reference ``meta``'s table.

    Their rows can change when rows of ``meta`` are deleted (cascade, SET NULL).
    One model per table; ``meta``'s own table is excluded. Memoised per
    registry generation: a delete does not walk every model's foreign keys.
    """
    try:
        root = table_key(meta)
    except ORMException:
        return []
    generation = registry_generation()
    memo = meta.__dict__.get("_cache_dependents")
    if memo is not None and memo[0] == generation and memo[1] == root:
        return memo[2]  # type: ignore[no-any-return]
    result = _walk_dependents(root)
    meta.__dict__["_cache_dependents"] = (generation, root, result)
    return result


def _walk_dependents(root: TableKey) -> list[tuple[ModelMeta, TableKey]]:
    metas = []
    for other in all_metas():
        if other.fk_fields and not other.abstract:
            try:
                metas.append((other, table_key(other)))
            except ORMException:
                continue
    found: dict[TableKey, ModelMeta] = {}
    frontier = [root]
    seen = {root}
    while frontier:
        target = frontier.pop()
        for other, other_key in metas:
            if other_key in seen:
                continue
            for fk in other.fk_fields.values():
                ref = _references(fk)
                if ref is None:
                    continue
                try:
                    ref_key = table_key(ref)
                except ORMException:
                    continue
                if ref_key == target:
                    seen.add(other_key)
                    found[other_key] = other
                    frontier.append(other_key)
                    break
    return [(m, k) for k, m in found.items()]


_tables_memo: dict[tuple[Any, ...], list[ModelMeta]] = {}


def metas_of_table(database: str | None, schema: str | None, table: str) -> list[ModelMeta]:
    """Return the registered models mapped to ``schema.table`` of ``database`` (memoised per registry generation)."""
    memo_key = (registry_generation(), _identity(database), schema or "public", table)
    found = _tables_memo.get(memo_key)
    if found is None:
        if len(_tables_memo) > 1024:
            _tables_memo.clear()
        found = _tables_memo[memo_key] = _metas_of_table(database, schema, table)
    return found


def _metas_of_table(database: str | None, schema: str | None, table: str) -> list[ModelMeta]:
    out = []
    for meta in all_metas():
        if meta.table_name != table or (meta.db_schema or "public") != (schema or "public") or meta.abstract:
            continue
        try:
            if table_key(meta)[:3] != _identity(database):
                continue
        except ORMException:
            continue
        out.append(meta)
    return out


def _identity(database: str | None) -> tuple[str, ...]:
    from matrx_orm.core.cache_store import database_identity

    return database_identity(database)
