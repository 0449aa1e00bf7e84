"""Relation I/O: fetch foreign keys, inverse foreign keys and many-to-many, and prefetch them.

The relation graph, the SQL and the per-instance cache are pure
(``matrx_orm.core.relations``); this module only runs statements. Loading
related objects for many instances is one query per relation, whatever the
number of instances: never one query per row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from matrx_orm._cache_hooks import cache_writing_junction
from matrx_orm._executor import execute, fetch_all, run_statements
from matrx_orm.core.compat_async import MODE
from matrx_orm.core.exceptions import ORMException, StateError
from matrx_orm.core.hydrate import hydrate_rows
from matrx_orm.core.relations import (
    FK,
    IFK,
    M2M,
    NOT_LOADED,
    RelatedCacheMixin,
    Relation,
    cached_related,
    compile_m2m_add,
    compile_m2m_clear,
    compile_m2m_fetch,
    compile_m2m_keep_only,
    compile_m2m_remove,
    forget_related,
    get_relation,
    key_values,
    loaded_keys_condition,
    loaded_value,
    model_class,
    prefetch_tree,
    relations_of,
    set_related,
)

__all__ = ["RelationsMixin", "prefetch_related_objects"]

logger = logging.getLogger("matrx_orm")


def _warn_unfetchable(obj: Any, rel: Relation, operation: str) -> None:
    logger.warning(
        "%s.%s: skipped %r -> %s (%s): the model is _unfetchable",
        obj._meta.name, operation, rel.result_key, rel.target.name, rel.target.label,
    )


def _warn_failed(obj: Any, rel: Relation, operation: str, error: BaseException) -> None:
    message = error.message if isinstance(error, ORMException) else str(error)
    logger.warning(
        "%s.%s: could not fetch %r -> %s: %s: %s",
        obj._meta.name, operation, rel.result_key, rel.target_name, type(error).__name__, message,
    )


class RelationsMixin(RelatedCacheMixin):
    """Relation methods of every model instance (``fetch_fk``, ``add_m2m``...)."""

    __slots__ = ()

    # -- querysets --------------------------------------------------------
    @classmethod
    def select_related(cls, *names: str) -> Any:
        """Return a queryset that joins the foreign keys ``names`` (one query)."""
        return cls.query().select_related(*names)  # type: ignore[attr-defined]

    @classmethod
    def prefetch_related(cls, *names: str) -> Any:
        """Return a queryset that loads the relations ``names`` with one extra query each."""
        return cls.query().prefetch_related(*names)  # type: ignore[attr-defined]

    # -- foreign keys -----------------------------------------------------
    async def fetch_fk(self, name: str) -> Any:
        """Return the instance the foreign key ``name`` (``"author_id"`` or ``"author"``) points at, or None.

        A target marked ``_unfetchable`` is never queried: this returns None and
        logs one warning.
        """
        rel = get_relation(self._meta, name, kinds=(FK,), operation="fetch_fk()")
        if rel.target.unfetchable:
            _warn_unfetchable(self, rel, "fetch_fk()")
            return None
        value = loaded_value(self, rel.source_field.name)
        if value is None:
            related = None
        else:
            target_cls = model_class(rel.target, MODE)
            related = await target_cls.get_or_none(**{rel.target_field.name: value})
        set_related(self, rel, related)
        return related

    async def fetch_fks(self) -> dict[str, Any]:
        """Return ``{fk_field_name: instance or None}`` for every foreign key.

        Resilient: a relation that fails (or points to an ``_unfetchable``
        model) is logged in one warning line and gives None; the others load.
        """
        out: dict[str, Any] = {}
        for rel in relations_of(self._meta).fks.values():
            out[rel.result_key] = await self._fetch_resilient(rel, "fetch_fks()", None)
        return out

    # -- inverse foreign keys ---------------------------------------------
    async def fetch_ifk(self, name: str) -> list[Any]:
        """Return the instances whose foreign key points at this one (relation ``name``)."""
        rel = get_relation(self._meta, name, kinds=(IFK,), operation="fetch_ifk()")
        if rel.target.unfetchable:
            _warn_unfetchable(self, rel, "fetch_ifk()")
            return []
        related = await _load_ifk(rel, [self])
        return related

    async def fetch_ifks(self) -> dict[str, list[Any]]:
        """Return ``{name: [instances]}`` for every inverse foreign key (declared and derived), resiliently."""
        out: dict[str, list[Any]] = {}
        for rel in relations_of(self._meta).ifks.values():
            out[rel.name] = await self._fetch_resilient(rel, "fetch_ifks()", [])
        return out

    # -- many-to-many -----------------------------------------------------
    async def fetch_m2m(self, name: str) -> list[Any]:
        """Return the instances related through many-to-many relation ``name`` (one query)."""
        rel = get_relation(self._meta, name, kinds=(M2M,), operation="fetch_m2m()")
        if rel.target.unfetchable:
            _warn_unfetchable(self, rel, "fetch_m2m()")
            return []
        return await _load_m2m(rel, [self])

    async def fetch_m2ms(self) -> dict[str, list[Any]]:
        """Return ``{name: [instances]}`` for every many-to-many relation, resiliently."""
        out: dict[str, list[Any]] = {}
        for rel in relations_of(self._meta).m2ms.values():
            out[rel.name] = await self._fetch_resilient(rel, "fetch_m2ms()", [])
        return out

    async def add_m2m(self, name: str, *items: Any) -> int:
        """Link instances or keys (or lists of them) in one idempotent statement; return rows added."""
        rel, source_key = self._m2m_write_target(name, "add_m2m()")
        keys = key_values(rel, items, "add_m2m()")
        forget_related(self, rel)
        if not keys:
            return 0
        async with cache_writing_junction(rel):
            return await execute(
                self._meta.database, compile_m2m_add(rel), [source_key, keys, source_key],
                model=self._meta.name, operation=f"{self._meta.name}.add_m2m({name!r})",
            )

    async def remove_m2m(self, name: str, *items: Any) -> int:
        """Unlink instances or keys in one statement; return rows removed."""
        rel, source_key = self._m2m_write_target(name, "remove_m2m()")
        keys = key_values(rel, items, "remove_m2m()")
        forget_related(self, rel)
        if not keys:
            return 0
        async with cache_writing_junction(rel):
            return await execute(
                self._meta.database, compile_m2m_remove(rel), [source_key, keys],
                model=self._meta.name, operation=f"{self._meta.name}.remove_m2m({name!r})",
            )

    async def set_m2m(self, name: str, items: Sequence[Any]) -> None:
        """Make ``items`` exactly the related set, in one transaction (unlink the rest, link the new)."""
        rel, source_key = self._m2m_write_target(name, "set_m2m()")
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            items = [items]
        keys = key_values(rel, list(items), "set_m2m()")
        forget_related(self, rel)
        statements: list[tuple[str, list[Any]]] = [(compile_m2m_keep_only(rel), [source_key, keys])]
        if keys:
            statements.append((compile_m2m_add(rel), [source_key, keys, source_key]))
        async with cache_writing_junction(rel):
            await run_statements(
                self._meta.database, statements,
                model=self._meta.name, operation=f"{self._meta.name}.set_m2m({name!r})",
            )

    async def clear_m2m(self, name: str) -> int:
        """Unlink every related instance; return rows removed."""
        rel, source_key = self._m2m_write_target(name, "clear_m2m()")
        forget_related(self, rel)
        async with cache_writing_junction(rel):
            return await execute(
                self._meta.database, compile_m2m_clear(rel), [source_key],
                model=self._meta.name, operation=f"{self._meta.name}.clear_m2m({name!r})",
            )

    def _m2m_write_target(self, name: str, operation: str) -> tuple[Relation, Any]:
        meta = self._meta
        rel = get_relation(meta, name, kinds=(M2M,), operation=operation)
        value = loaded_value(self, rel.source_field.name)
        if value is None:
            raise StateError(
                f"{meta.name}.{operation}: the instance has no {rel.source_field.name} yet; save it first",
                model=meta.name,
                operation=operation,
            )
        return rel, rel.source_field.get_db_prep_value(value)

    # -- everything -------------------------------------------------------
    async def fetch_all_related(self) -> dict[str, dict[str, Any]]:
        """Return every relation at once, resiliently.

        Shape: ``{"foreign_keys": {field: obj}, "inverse_foreign_keys": {name: [...]},
        "many_to_many": {name: [...]}}``; one query per relation.
        """
        return {
            "foreign_keys": await self.fetch_fks(),
            "inverse_foreign_keys": await self.fetch_ifks(),
            "many_to_many": await self.fetch_m2ms(),
        }

    async def _fetch_resilient(self, rel: Relation, operation: str, default: Any) -> Any:
        try:
            if rel.target.unfetchable:
                _warn_unfetchable(self, rel, operation)
                return default
            if rel.kind == FK:
                return await self.fetch_fk(rel.name)
            if rel.kind == IFK:
                return await _load_ifk(rel, [self])
            return await _load_m2m(rel, [self])
        except ORMException as error:
            _warn_failed(self, rel, operation, error)
            return default


# -- loaders: one query per relation for any number of instances -----------------------
def _source_keys(rel: Relation, instances: Sequence[Any]) -> list[Any]:
    name = rel.source_field.name
    seen: set[Any] = set()
    out = []
    for obj in instances:
        value = loaded_value(obj, name)
        if value is not None and value not in seen:
            seen.add(value)
            out.append(value)
    return out


async def _related_rows(rel: Relation, keys: list[Any], ordered: bool) -> list[Any]:
    """Return the target rows whose ``rel.target_field`` is one of ``keys`` (one query)."""
    target = rel.target
    qs = model_class(target, MODE).query()
    state = qs._state.add_where(loaded_keys_condition(rel.target_field, keys))
    if ordered and target.pk_names:
        state = state.clone(order_by=tuple((n, False) for n in target.pk_names))
    return await qs._with(state).all()  # type: ignore[no-any-return]


async def _load_fk(rel: Relation, instances: Sequence[Any]) -> list[Any]:
    """Cache each instance's FK target; return the distinct targets."""
    out: list[Any] = []
    pending = []
    seen: set[int] = set()
    for obj in instances:
        related = cached_related(obj, rel)
        if related is NOT_LOADED:
            pending.append(obj)
        elif related is not None and id(related) not in seen:
            seen.add(id(related))
            out.append(related)
    if pending:
        keys = _source_keys(rel, pending)
        by_key: dict[Any, Any] = {}
        if keys:
            name = rel.target_field.name
            for related in await _related_rows(rel, keys, ordered=False):
                by_key[related.__dict__.get(name)] = related
        source = rel.source_field.name
        for obj in pending:
            related = by_key.get(obj.__dict__.get(source))
            set_related(obj, rel, related)
            if related is not None and id(related) not in seen:
                seen.add(id(related))
                out.append(related)
    return out


async def _load_ifk(rel: Relation, instances: Sequence[Any]) -> list[Any]:
    """Cache each instance's list of referencing rows; return them all."""
    keys = _source_keys(rel, instances)
    groups: dict[Any, list[Any]] = {}
    related: list[Any] = []
    if keys:
        name = rel.target_field.name
        related = await _related_rows(rel, keys, ordered=True)
        for obj in related:
            groups.setdefault(obj.__dict__.get(name), []).append(obj)
    source = rel.source_field.name
    for obj in instances:
        set_related(obj, rel, groups.get(obj.__dict__.get(source), []))
    return related


async def _load_m2m(rel: Relation, instances: Sequence[Any]) -> list[Any]:
    """Cache each instance's list of targets (junction joined to target, one query); return them all."""
    keys = _source_keys(rel, instances)
    groups: dict[Any, list[Any]] = {}
    related: list[Any] = []
    if keys:
        source_meta = rel.source
        target = rel.target
        prep = rel.source_field.prep  # keys of loaded rows: bound as they are (see loaded_keys_condition)
        params = [[prep(k) for k in keys]]
        rows = await fetch_all(
            source_meta.database, compile_m2m_fetch(rel), params,
            model=source_meta.name, operation=f"{source_meta.name}.fetch_m2m({rel.name!r})",
        )
        # One instance per target row, shared by every source linked to it (as the FK loader
        # shares an author among its posts): tags of 100 posts are a few dozen instances, not 300.
        at = target.field_names.index(rel.target_field.name) + 1  # row[0] is the junction's source key
        position: dict[Any, int] = {}
        distinct: list[Any] = []
        for row in rows:
            if row[at] not in position:
                position[row[at]] = len(distinct)
                distinct.append(row[1:])
        related = hydrate_rows(model_class(target, MODE), target.field_names, distinct)
        for row in rows:
            groups.setdefault(row[0], []).append(related[position[row[at]]])
    source = rel.source_field.name
    for obj in instances:
        set_related(obj, rel, groups.get(obj.__dict__.get(source), []))
    return related


_LOADERS = {FK: _load_fk, IFK: _load_ifk, M2M: _load_m2m}


async def prefetch_related_objects(instances: Sequence[Any], *paths: str) -> None:
    """Load the relations ``paths`` (``"author"``, ``"tags"``, ``"author__profile"``) for ``instances``.

    One query per relation and level, whatever the number of instances;
    results are cached on each instance (``post.author``, ``post.tags``).
    """
    if not instances or not paths:
        return
    tree = prefetch_tree(instances[0]._meta, paths)
    await _prefetch_level(list(instances), tree)


async def _prefetch_level(instances: list[Any], tree: dict[Relation, Any]) -> None:
    for rel, subtree in tree.items():
        related = await _LOADERS[rel.kind](rel, instances)
        if subtree and related:
            await _prefetch_level(related, subtree)
