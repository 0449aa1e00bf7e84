"""Sync twins of ``tests.models_cache_async`` (shared metadata, via ``Model.sync``)."""

from __future__ import annotations

from tests import models_cache_async as _models
from tests.models_cache_async import SCHEMA_SQL, TABLES

CacheItem = _models.CacheItem.sync
CacheItemAlias = _models.CacheItemAlias.sync
CacheTag = _models.CacheTag.sync
CacheSetting = _models.CacheSetting.sync
CacheItemTag = _models.CacheItemTag.sync
CacheParent = _models.CacheParent.sync
CacheChild = _models.CacheChild.sync

__all__ = ["CacheItem", "CacheItemAlias", "CacheParent", "CacheChild", "CacheTag", "CacheSetting", "CacheItemTag", "SCHEMA_SQL", "TABLES"]
