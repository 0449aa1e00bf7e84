"""Models of the state-cache tests, declared once with ``matrx_orm`` (their own ``cache_*`` tables).

``tests/models_cache_sync.py`` exposes their sync twins for the generated sync tests.
"""

from __future__ import annotations

from matrx_orm import CharField, ForeignKey, IntegerField, JSONField, Model, TextField
from matrx_orm.state import CachePolicy

__all__ = ["CacheItem", "CacheItemAlias", "CacheParent", "CacheChild", "CacheTag", "CacheSetting", "CacheItemTag", "SCHEMA_SQL", "TABLES"]

DB = "test_db"


class CacheItem(Model):
    """A small LRU bound, a JSON column, and an M2M through a junction that is also a model."""

    id = IntegerField(primary_key=True)
    name = CharField(max_length=50, null=True)
    data = JSONField(null=True)
    views = IntegerField(default=0)

    _cache_max_entries = 5
    _many_to_many = {
        "tags": {
            "junction_table": "cache_item_tag",
            "source_column": "item_id",
            "target_column": "tag_id",
            "target_model": "CacheTag",
        }
    }
    _table_name = "cache_item"
    _database = DB


class CacheItemAlias(Model):
    """The same table declared again, through another registered name of the same database."""

    id = IntegerField(primary_key=True)
    name = CharField(max_length=50, null=True)
    data = JSONField(null=True)
    views = IntegerField(default=0)

    _cache_max_entries = 5
    _table_name = "cache_item"
    _database = "my_project"


class CacheTag(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)

    _table_name = "cache_tag"
    _database = DB


class CacheSetting(Model):
    """``cache_tag`` again, cached forever (SPEC's ``_cache_policy = CachePolicy.PERMANENT``)."""

    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)

    _cache_policy = CachePolicy.PERMANENT
    _table_name = "cache_tag"
    _database = DB


class CacheItemTag(Model):
    """The junction table of ``CacheItem.tags``, mapped as a model too (composite key)."""

    item_id = ForeignKey("CacheItem", "id")
    tag_id = ForeignKey("CacheTag", "id")
    note = TextField(null=True)

    _primary_keys = ["item_id", "tag_id"]
    _table_name = "cache_item_tag"
    _database = DB


class CacheParent(Model):
    id = IntegerField(primary_key=True)
    name = CharField(max_length=50)

    _table_name = "cache_parent"
    _database = DB


class CacheChild(Model):
    """ON DELETE SET NULL: deleting a parent changes this row without touching it through the ORM."""

    id = IntegerField(primary_key=True)
    parent_id = ForeignKey("CacheParent", "id", null=True, on_delete="SET NULL")
    name = CharField(max_length=50)

    _table_name = "cache_child"
    _database = DB


TABLES = ["cache_item_tag", "cache_item", "cache_tag", "cache_child", "cache_parent"]

SCHEMA_SQL = """
DROP TABLE IF EXISTS cache_item_tag, cache_item, cache_tag, cache_child, cache_parent CASCADE;
CREATE TABLE cache_item (
    id INTEGER PRIMARY KEY,
    name VARCHAR(50),
    data JSONB,
    views INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE cache_tag (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);
CREATE TABLE cache_item_tag (
    item_id INTEGER NOT NULL REFERENCES cache_item(id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES cache_tag(id) ON DELETE CASCADE,
    note TEXT,
    PRIMARY KEY (item_id, tag_id)
);
CREATE TABLE cache_parent (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);
CREATE TABLE cache_child (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES cache_parent(id) ON DELETE SET NULL,
    name VARCHAR(50) NOT NULL
);
"""
