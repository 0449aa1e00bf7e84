"""SPEC's own models, as SPEC's Quick Start writes them, for the tests that run SPEC's examples.

They live in database ``"my_project"`` (registered by ``tests/conftest.py`` on the
test database, alias ``"main"``, with ``search_path=spec``), so their tables are
``spec."user"`` and ``spec.post``, apart from the shared ``"user"``/``"post"`` used
with ``"test_db"``. The class names ``User``/``Post`` are taken here once for the
suite; ``tests/spec_models_sync.py`` exposes their sync twins.

``User`` adds, after SPEC's five fields, the columns SPEC's CRUD and Querying
examples filter on (``age``, ``status``, ``role``, ``created_at``, ``deleted_at``).
The table puts a UNIQUE constraint on ``email`` because SPEC's upsert example uses
it as the conflict target.
"""

from __future__ import annotations

from matrx_orm import BooleanField, CharField, DateTimeField, ForeignKey, IntegerField, Model, TextField, UUIDField

__all__ = ["User", "Post", "SCHEMA_SQL", "TABLES"]


class User(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True)
    email = CharField(max_length=255)
    bio = TextField(null=True)
    is_active = BooleanField(default=True)
    # Used by SPEC's CRUD (update_where/delete_where) and Querying examples.
    age = IntegerField(null=True)
    status = CharField(max_length=20, null=True)
    role = CharField(max_length=20, null=True)
    created_at = DateTimeField(null=True)
    deleted_at = DateTimeField(null=True)

    _table_name = "user"
    _database = "my_project"


class Post(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    body = TextField(null=True)
    author_id = ForeignKey("User", "id")
    is_published = BooleanField(default=False)

    _table_name = "post"
    _database = "my_project"


TABLES = ["spec.post", 'spec."user"']

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS spec;
DROP TABLE IF EXISTS spec.post, spec."user" CASCADE;
CREATE TABLE spec."user" (
    id UUID PRIMARY KEY,
    username VARCHAR(100) UNIQUE,
    email VARCHAR(255) UNIQUE,
    bio TEXT,
    is_active BOOLEAN DEFAULT true,
    age INTEGER,
    status VARCHAR(20),
    role VARCHAR(20),
    created_at TIMESTAMPTZ DEFAULT now(),
    deleted_at TIMESTAMPTZ
);
CREATE TABLE spec.post (
    id UUID PRIMARY KEY,
    title VARCHAR(200),
    body TEXT,
    author_id UUID REFERENCES spec."user"(id) ON DELETE CASCADE,
    is_published BOOLEAN DEFAULT false
);
"""
