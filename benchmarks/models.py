"""The benchmark's models, declared once with ``matrx_orm`` (sync twins via ``.sync``).

``_cache_timeout = 0`` turns the state cache off for these tables: every
``get()`` must reach PostgreSQL, otherwise "get by primary key" would measure a
dict lookup and not the ORM's query path. ``BenchPostCached`` is the same table
with the cache on (the default policy), for the cached get-by-pk workload that
is reported beside the uncached one.
"""

from __future__ import annotations

from matrx_orm import (
    AutoField,
    BigAutoField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
)

__all__ = [
    "DATABASE", "BenchUser", "BenchPost", "BenchTag", "BenchPostCached", "SyncUser", "SyncPost", "SyncTag",
    "SyncPostCached",
]

#: The name the benchmark registers its database under (models' ``_database``).
DATABASE = "matrx_bench"


class BenchUser(Model):
    id = BigAutoField()
    username = CharField(max_length=50, null=False)
    email = CharField(max_length=120, null=False)
    is_active = BooleanField(default=True, null=False)
    created_at = DateTimeField(null=False, db_default="now()")

    _table_name = "bench_user"
    _database = DATABASE
    _cache_timeout = 0


class BenchTag(Model):
    id = AutoField()
    name = CharField(max_length=50, null=False)

    _table_name = "bench_tag"
    _database = DATABASE
    _cache_timeout = 0


class BenchPost(Model):
    id = BigAutoField()
    author_id = ForeignKey("BenchUser", "id", null=False)
    title = CharField(max_length=200, null=False)
    body = TextField(null=False)
    views = IntegerField(default=0, null=False)
    published = BooleanField(default=False, null=False)
    created_at = DateTimeField(null=False, db_default="now()")

    _many_to_many = {
        "tags": {
            "junction_table": "bench_post_tag",
            "source_column": "post_id",
            "target_column": "tag_id",
            "target_model": "BenchTag",
        }
    }
    _table_name = "bench_post"
    _database = DATABASE
    _cache_timeout = 0


class BenchPostCached(Model):
    """``bench_post`` again, with the state cache on: gets by primary key are served from memory."""

    id = BigAutoField()
    author_id = ForeignKey("BenchUser", "id", null=False)
    title = CharField(max_length=200, null=False)
    body = TextField(null=False)
    views = IntegerField(default=0, null=False)
    published = BooleanField(default=False, null=False)
    created_at = DateTimeField(null=False, db_default="now()")

    _table_name = "bench_post"
    _database = DATABASE


SyncUser = BenchUser.sync
SyncPost = BenchPost.sync
SyncTag = BenchTag.sync
SyncPostCached = BenchPostCached.sync
