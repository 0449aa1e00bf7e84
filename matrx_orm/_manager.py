"""``BaseManager``: a per-model service object with the everyday operations, ready to subclass.

A manager names its model once (``model = Post``) and offers id-based CRUD,
filtered loads, bulk work, relations and many-to-many edits on top of the model
API, so application code can say ``await posts.update_item(post_id, title=...)``
and put business logic in a subclass. Reads by id go through the state cache;
``load_items_by_ids`` fetches only the ids the cache misses, in one query.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

from matrx_orm._cache_hooks import cache_fill, cache_fill_source, cache_read_many
from matrx_orm._queryset import QuerySet
from matrx_orm.core.cache_store import pk_key
from matrx_orm.core.compat_async import MODE
from matrx_orm.core.exceptions import ConfigurationError, DoesNotExist, ParameterError
from matrx_orm.core.model_meta import ModelBase, ModelMeta
from matrx_orm.core.query_state import Q
from matrx_orm.core.registry import twin

__all__ = ["BaseManager"]

M = TypeVar("M")


class BaseManager(Generic[M]):
    """Operations on one model, addressed by primary key; subclass it and set ``model``.

    ``model`` may be the async class or its sync twin: each package's manager
    uses its own mode's class.
    """

    model: type[Any]

    def __init__(self, model: type[M] | None = None) -> None:
        chosen = model if model is not None else getattr(type(self), "model", None)
        meta = getattr(chosen, "_meta", None)
        if chosen is None or not isinstance(meta, ModelMeta):
            raise ConfigurationError(
                f"{type(self).__name__} needs a model: set `model = YourModel` on the class or pass it in",
            )
        if meta.abstract:
            raise ConfigurationError(f"{type(self).__name__}: {meta.name} is abstract", model=meta.name)
        # An instance attribute shadows the class attribute: always this mode's class.
        self.model = chosen if getattr(chosen, "__matrx_mode__", None) == MODE else twin(chosen, MODE)

    @property
    def meta(self) -> ModelMeta:
        """Return the model's metadata."""
        return self.model._meta  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} model={self.meta.name}>"

    # -- ids --------------------------------------------------------------
    def pk_filter(self, item_id: Any) -> dict[str, Any]:
        """Return ``{pk: value}`` for an id (a tuple or dict for composite keys, or an instance)."""
        meta = self.meta
        meta.require_pk(f"{type(self).__name__} ids")
        pk_names = meta.pk_names
        if isinstance(item_id, ModelBase):
            if item_id._meta.key != meta.key:
                raise ParameterError(f"{meta.name}: got a {type(item_id).__name__} instance", model=meta.name)
            return item_id.pk_filter()
        if len(pk_names) == 1:
            if item_id is None:
                raise ParameterError(f"{meta.name}: an id is required, got None", model=meta.name)
            return {pk_names[0]: item_id}
        if isinstance(item_id, dict):
            missing = [n for n in pk_names if n not in item_id]
            if missing:
                raise ParameterError(f"{meta.name}: the id is missing key columns {missing}", model=meta.name)
            return {n: item_id[n] for n in pk_names}
        if not isinstance(item_id, (tuple, list)) or len(item_id) != len(pk_names):
            raise ParameterError(
                f"{meta.name} has a composite key {pk_names}: pass a tuple or dict, got {item_id!r}",
                model=meta.name,
            )
        return dict(zip(pk_names, item_id))

    def _not_found(self, item_id: Any, operation: str) -> DoesNotExist:
        meta = self.meta
        return DoesNotExist(
            f"No {meta.name} with id {item_id!r}",
            model=meta.name,
            operation=f"{type(self).__name__}.{operation}()",
            filters=self.pk_filter(item_id),
        )

    # -- reading ----------------------------------------------------------
    async def load_by_id(self, item_id: Any, *, use_cache: bool = True) -> M:
        """Return the item with primary key ``item_id``; raise DoesNotExist when there is none."""
        item = await self.model.get_or_none(use_cache=use_cache, **self.pk_filter(item_id))
        if item is None:
            raise self._not_found(item_id, "load_by_id")
        return item  # type: ignore[no-any-return]

    async def load_by_id_or_none(self, item_id: Any, *, use_cache: bool = True) -> M | None:
        """Return the item with primary key ``item_id``, or None."""
        return await self.model.get_or_none(use_cache=use_cache, **self.pk_filter(item_id))  # type: ignore[no-any-return]

    async def load_item(self, *args: Any, use_cache: bool = True, **filters: Any) -> M:
        """Return the one item matching the filters; raise DoesNotExist / MultipleObjectsReturned."""
        return await self.model.get(*args, use_cache=use_cache, **filters)  # type: ignore[no-any-return]

    async def load_item_or_none(self, *args: Any, use_cache: bool = True, **filters: Any) -> M | None:
        """Return the one item matching the filters, or None."""
        return await self.model.get_or_none(*args, use_cache=use_cache, **filters)  # type: ignore[no-any-return]

    async def load_all(self) -> list[M]:
        """Return every item (ordered by primary key)."""
        qs = self.model.query()
        if self.meta.pk_names:
            qs = qs.order_by(*self.meta.pk_names)
        return await qs.all()  # type: ignore[no-any-return]

    async def load_items(self, *args: Any, **filters: Any) -> list[M]:
        """Return the items matching the filters (``Q`` objects and ``field__lookup=value``)."""
        return await self.model.filter(*args, **filters).all()  # type: ignore[no-any-return]

    def filter(self, *args: Any, **filters: Any) -> QuerySet[M]:
        """Return a lazy queryset of the items matching the filters, for further chaining."""
        return self.model.filter(*args, **filters)  # type: ignore[no-any-return]

    async def load_items_by_ids(self, item_ids: Sequence[Any]) -> list[M]:
        """Return the items with these ids, in the order given (missing ids are skipped).

        Cached items are served from the cache; the rest come in one query.
        """
        meta = self.meta
        if isinstance(item_ids, (str, bytes)):
            raise ParameterError(f"{meta.name}: load_items_by_ids() takes a list of ids", model=meta.name)
        filters = [self.pk_filter(i) for i in item_ids]
        keys: list[Hashable] = [pk_key(meta, f) for f in filters]
        found, tickets = cache_read_many(self.model, keys)
        wanted: dict[Hashable, dict[str, Any]] = {}
        for key, flt in zip(keys, filters):
            if key not in found and key not in wanted:
                wanted[key] = flt
        if wanted:
            if len(meta.pk_names) == 1:
                name = meta.pk_names[0]
                qs = self.model.filter(**{f"{name}__in": [f[name] for f in wanted.values()]})
            else:
                conditions = [Q(**flt) for flt in wanted.values()]
                condition = conditions[0]
                for other in conditions[1:]:
                    condition = condition | other
                qs = self.model.filter(condition)
            with cache_fill_source(tickets):
                fetched = await qs.all()
            for obj in fetched:
                key = pk_key(meta, obj.pk_filter())
                found[key] = obj
                cache_fill(tickets.get(key), obj)
        return [found[key] for key in keys if key in found]

    async def count(self, *args: Any, **filters: Any) -> int:
        """Return how many items match the filters (all items without filters)."""
        return await self.model.count(*args, **filters)  # type: ignore[no-any-return]

    async def exists(self, item_id: Any = None, **filters: Any) -> bool:
        """Return True when the item ``item_id`` exists (or, without an id, when any item matches ``filters``)."""
        if item_id is not None:
            filters = {**filters, **self.pk_filter(item_id)}
        return await self.model.exists(**filters)  # type: ignore[no-any-return]

    # -- writing ----------------------------------------------------------
    async def create_item(self, **data: Any) -> M:
        """Insert one item and return it as the database stored it."""
        return await self.model.create(**data)  # type: ignore[no-any-return]

    async def create_items(
        self, items_data: Sequence[dict[str, Any]], *, batch_size: int | None = None, ignore_conflicts: bool = False
    ) -> list[M]:
        """Insert many items atomically (one statement per batch); return them."""
        return await self.model.bulk_create(  # type: ignore[no-any-return]
            items_data, batch_size=batch_size, ignore_conflicts=ignore_conflicts
        )

    bulk_create = create_items

    async def update_item(self, item_id: Any, **fields: Any) -> M:
        """Set ``fields`` on the item ``item_id`` and return it as stored; raise DoesNotExist when absent.

        One ``UPDATE ... RETURNING`` (``auto_now`` fields are refreshed); models
        with a ``VersionField`` load the row first and save it with the version check.
        """
        meta = self.meta
        if not fields:
            return await self.load_by_id(item_id)
        if meta.version_field is not None:
            item = await self.load_by_id(item_id, use_cache=False)
            return await item.update(**fields)  # type: ignore[attr-defined, no-any-return]
        values = dict(fields)
        for field in meta.auto_now_fields:
            values.setdefault(field.name, field.now())
        rows = await self.model.filter(**self.pk_filter(item_id)).update_returning(**values)
        if not rows:
            raise self._not_found(item_id, "update_item")
        return rows[0]  # type: ignore[no-any-return]

    async def update_items(self, objects: Sequence[M], fields: Sequence[str], *, batch_size: int | None = None) -> int:
        """Write ``fields`` of each instance to its row (one statement per batch); return rows updated."""
        return await self.model.bulk_update(objects, fields, batch_size=batch_size)  # type: ignore[no-any-return]

    bulk_update = update_items

    async def delete_item(self, item_id: Any) -> int:
        """Delete the item ``item_id``; return the number of rows deleted (0 when it did not exist)."""
        return await self.model.filter(**self.pk_filter(item_id)).delete()  # type: ignore[no-any-return]

    async def delete_items(self, items: Sequence[Any]) -> int:
        """Delete items given as instances or ids, in one statement; return rows deleted."""
        return await self.model.bulk_delete(list(items))  # type: ignore[no-any-return]

    bulk_delete = delete_items

    async def upsert(
        self, data: dict[str, Any], conflict_fields: Sequence[str], update_fields: Sequence[str] | None = None
    ) -> M:
        """Insert an item or update the existing one on conflict (``INSERT ... ON CONFLICT DO UPDATE``)."""
        return await self.model.upsert(data, conflict_fields, update_fields)  # type: ignore[no-any-return]

    async def bulk_upsert(
        self,
        objects_data: Sequence[dict[str, Any]],
        conflict_fields: Sequence[str],
        update_fields: Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> list[M]:
        """Upsert many items atomically; return them."""
        return await self.model.bulk_upsert(  # type: ignore[no-any-return]
            objects_data, conflict_fields, update_fields, batch_size=batch_size
        )

    async def update_where(self, filters: dict[str, Any], **updates: Any) -> dict[str, Any]:
        """Update the items matching ``filters``; return ``{"rows_affected": n, "updated_rows": [...]}``."""
        return await self.model.update_where(filters, **updates)  # type: ignore[no-any-return]

    async def delete_where(self, *args: Any, **filters: Any) -> int:
        """Delete the items matching the filters; return the row count."""
        return await self.model.delete_where(*args, **filters)  # type: ignore[no-any-return]

    # -- relations --------------------------------------------------------
    async def get_item_with_all_related(self, item_id: Any) -> tuple[M, dict[str, dict[str, Any]]]:
        """Return ``(item, {"foreign_keys": ..., "inverse_foreign_keys": ..., "many_to_many": ...})``."""
        item = await self.load_by_id(item_id)
        return item, await item.fetch_all_related()  # type: ignore[attr-defined]

    async def get_item_with_fk(self, item_id: Any, fk_name: str) -> tuple[M, Any]:
        """Return ``(item, the instance its foreign key fk_name points at, or None)``."""
        item = await self.load_by_id(item_id)
        return item, await item.fetch_fk(fk_name)  # type: ignore[attr-defined]

    async def get_item_with_ifk(self, item_id: Any, name: str) -> tuple[M, list[Any]]:
        """Return ``(item, [instances whose foreign key points at it through relation name])``."""
        item = await self.load_by_id(item_id)
        return item, await item.fetch_ifk(name)  # type: ignore[attr-defined]

    async def get_item_with_m2m(self, item_id: Any, relation_name: str) -> tuple[M, list[Any]]:
        """Return ``(item, [instances related through the many-to-many relation])``."""
        item = await self.load_by_id(item_id)
        return item, await item.fetch_m2m(relation_name)  # type: ignore[attr-defined]

    async def add_m2m(self, item_id: Any, relation_name: str, *target_ids: Any) -> int:
        """Link the item to targets (instances or ids); return the links added (existing ones are kept)."""
        item = await self.load_by_id(item_id)
        return await item.add_m2m(relation_name, *target_ids)  # type: ignore[attr-defined, no-any-return]

    async def remove_m2m(self, item_id: Any, relation_name: str, *target_ids: Any) -> int:
        """Unlink the item from targets (instances or ids); return the links removed."""
        item = await self.load_by_id(item_id)
        return await item.remove_m2m(relation_name, *target_ids)  # type: ignore[attr-defined, no-any-return]

    async def set_m2m(self, item_id: Any, relation_name: str, target_ids: Sequence[Any]) -> None:
        """Make ``target_ids`` exactly the item's related set (one transaction)."""
        item = await self.load_by_id(item_id)
        await item.set_m2m(relation_name, target_ids)  # type: ignore[attr-defined]

    async def clear_m2m(self, item_id: Any, relation_name: str) -> int:
        """Unlink every target from the item; return the links removed."""
        item = await self.load_by_id(item_id)
        return await item.clear_m2m(relation_name)  # type: ignore[attr-defined, no-any-return]
