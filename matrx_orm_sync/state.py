# WARNING: generated from matrx_orm/state.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""State caching: ``StateManager`` (manual cache control) and ``CachePolicy``.

Every model has a per-process cache of rows by primary key. ``Model.get`` /
``get_or_none`` by primary key fill it and are served from it; every ORM write
invalidates what it touched (in this mode and in the other one: an async model
and its sync twin share one cache). ``StateManager`` is the manual side:
cache, remove, clear and count rows, and switch cross-process invalidation on.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from matrx_orm_sync._cache_notify import (
    cross_process_listening,
    disable_cross_process_invalidation,
    enable_cross_process_invalidation,
)
from matrx_orm.core.cache_store import STORE, CachePolicy, instance_key, pk_key
from matrx_orm.core.compat_sync import MODE
from matrx_orm.core.exceptions import CacheError
from matrx_orm.core.model_meta import ModelBase, ModelMeta
from matrx_orm.core.registry import twin

__all__ = [
    "StateManager",
    "CachePolicy",
    "enable_cross_process_invalidation",
    "disable_cross_process_invalidation",
    "cross_process_listening",
]


def _meta_of(model: Any, operation: str) -> ModelMeta:
    meta = getattr(model, "_meta", None)
    if not isinstance(meta, ModelMeta):
        raise CacheError(f"StateManager.{operation}() takes a model class, got {model!r}", operation=operation)
    if meta.abstract:
        raise CacheError(f"{meta.name} is abstract: it has no rows to cache", model=meta.name, operation=operation)
    return meta


def _key_of(meta: ModelMeta, item: Any, operation: str) -> Hashable:
    if isinstance(item, ModelBase):
        if item._meta.key != meta.key:
            raise CacheError(
                f"StateManager.{operation}(): got a {type(item).__name__}, expected a {meta.name}",
                model=meta.name,
                operation=operation,
            )
        return instance_key(item)
    return pk_key(meta, item)


class StateManager:
    """Manual control of the per-process state cache (all methods are class methods)."""

    @classmethod
    def cache(cls, model: Any, obj: Any) -> None:
        """Cache ``obj`` (an instance of ``model``) under its primary key, with the model's TTL."""
        meta = _meta_of(model, "cache")
        if not isinstance(obj, ModelBase) or obj._meta.key != meta.key:
            raise CacheError(
                f"StateManager.cache() takes a {meta.name} instance, got {obj!r}", model=meta.name, operation="cache"
            )
        STORE.put(meta, obj)

    @classmethod
    def remove(cls, model: Any, obj: Any) -> None:
        """Forget the cached row of ``obj`` (an instance, or a primary-key value)."""
        meta = _meta_of(model, "remove")
        STORE.invalidate(meta, [_key_of(meta, obj, "remove")])

    @classmethod
    def clear_cache(cls, model: Any) -> None:
        """Forget every cached row of ``model``'s table."""
        STORE.clear(_meta_of(model, "clear_cache"))

    @classmethod
    def clear_all(cls) -> None:
        """Forget every cached row of every model."""
        STORE.clear_all()

    @classmethod
    def count(cls, model: Any) -> int:
        """Return how many unexpired rows of ``model`` are cached."""
        return STORE.count(_meta_of(model, "count"))

    @classmethod
    def get(cls, model: Any, pk: Any) -> Any:
        """Return the cached instance for primary key ``pk``, or None (never queries the database)."""
        meta = _meta_of(model, "get")
        values = STORE.get(meta, _key_of(meta, pk, "get"))
        if values is None:
            return None
        obj: Any = object.__new__(twin(model, MODE))
        obj.__dict__ = values
        return obj

    @classmethod
    def stats(cls, model: Any) -> dict[str, int]:
        """Return ``{"entries", "hits", "misses", "evictions", "max_entries"}`` for ``model``."""
        return STORE.stats(_meta_of(model, "stats"))

    @classmethod
    def configure(cls, *, enabled: bool | None = None, max_entries: int | None = None) -> None:
        """Switch caching on/off for the process, or set the default per-model entry bound (LRU)."""
        STORE.configure(enabled=enabled, max_entries=max_entries)
