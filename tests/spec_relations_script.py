"""SPEC's "Relationships" and "Many-to-Many" examples, verbatim, run in a fresh process.

SPEC names its models ``User``, ``Post``, ``Tag`` in the database ``my_project``;
a separate process keeps those names from meeting the test suite's own models
in the model registry. ``tests/level2/test_spec_relations.py`` runs this script
against an empty database, once with the config-based ``_many_to_many`` form of
``Post`` and once with the declarative ``ManyToManyField`` form (both use the
junction ``post_tag``), then reads the tables back.

Usage: ``python -m tests.spec_relations_script <conninfo> config|declarative``.
Prints one JSON document describing what the examples returned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any
from uuid import uuid4

import psycopg

from matrx_orm import (
    BooleanField,
    CharField,
    DatabaseProjectConfig,
    ForeignKey,
    ManyToManyField,
    Model,
    TextField,
    UUIDField,
    register_database,
)

CONNINFO = sys.argv[1]
FORM = sys.argv[2]

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE "user" (id UUID PRIMARY KEY, username VARCHAR(100) UNIQUE, email VARCHAR(255), bio TEXT,
                     is_active BOOLEAN DEFAULT TRUE);
CREATE TABLE post (id UUID PRIMARY KEY, title VARCHAR(200), body TEXT,
                   author_id UUID REFERENCES "user"(id), is_published BOOLEAN DEFAULT FALSE);
CREATE TABLE tag (id UUID PRIMARY KEY, name VARCHAR(50));
CREATE TABLE post_tag (post_id UUID REFERENCES post(id), tag_id UUID REFERENCES tag(id), PRIMARY KEY (post_id, tag_id));
CREATE TABLE auth.users (id UUID PRIMARY KEY, email VARCHAR(255));
CREATE TABLE account (id UUID PRIMARY KEY, owner_id UUID REFERENCES auth.users(id));
CREATE TABLE recipe (id UUID PRIMARY KEY, name VARCHAR(200));
CREATE TABLE ingredient (id UUID PRIMARY KEY, name VARCHAR(200));
CREATE TABLE recipe_ingredients (recipe_id UUID REFERENCES recipe(id), ingredient_id UUID REFERENCES ingredient(id),
                                 PRIMARY KEY (recipe_id, ingredient_id));
"""

with psycopg.connect(CONNINFO, autocommit=True) as _conn:
    _conn.execute(SCHEMA_SQL)
    _info = _conn.info
    register_database(DatabaseProjectConfig(
        name="my_project",
        host=_info.host,
        port=str(_info.port),
        database_name=_info.dbname,
        user=_info.user,
        password=_info.password or "",
        alias="main",
    ))


# -- SPEC: Quick Start / Relationships ------------------------------------------------------------
class User(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True)
    email = CharField(max_length=255)
    bio = TextField(null=True)
    is_active = BooleanField(default=True)

    _inverse_foreign_keys = {
        "posts": {
            "from_model": "Post",
            "from_field": "author_id",
            "referenced_field": "id",
        }
    }
    _table_name = "user"
    _database = "my_project"


if FORM == "config":

    class Post(Model):
        id = UUIDField(primary_key=True)
        title = CharField(max_length=200)
        body = TextField(null=True)
        author_id = ForeignKey("User", "id")  # stores user PK
        is_published = BooleanField(default=False)

        _many_to_many = {
            "tags": {
                "junction_table": "post_tag",
                "source_column": "post_id",
                "target_column": "tag_id",
                "target_model": "Tag",
            }
        }
        _table_name = "post"
        _database = "my_project"

else:

    class Post(Model):  # type: ignore[no-redef]
        id = UUIDField(primary_key=True)
        title = CharField(max_length=200)
        body = TextField(null=True)
        author_id = ForeignKey("User", "id")
        is_published = BooleanField(default=False)
        tags = ManyToManyField("Tag")             # junction table: "post_tag" (sorted names)

        _table_name = "post"
        _database = "my_project"


class Tag(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=50)

    _table_name = "tag"
    _database = "my_project"


class Users(Model):
    id = UUIDField(primary_key=True)
    email = CharField(max_length=255)

    _table_name = "users"
    _db_schema = "auth"
    _unfetchable = True       # never query this table; skip gracefully in fetch_fks()
    _database = "my_project"


class Account(Model):
    id = UUIDField(primary_key=True)
    owner_id = ForeignKey("Users", "id")

    _table_name = "account"
    _database = "my_project"


class Ingredient(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=200)

    _table_name = "ingredient"
    _database = "my_project"


# Custom junction table name:
class Recipe(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=200)
    ingredients = ManyToManyField("Ingredient", db_table="recipe_ingredients")

    _table_name = "recipe"
    _database = "my_project"


warnings: list[str] = []


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        warnings.append(record.getMessage())


logging.getLogger("matrx_orm").addHandler(_Collect(level=logging.WARNING))


def names(objs: list[Any]) -> list[str]:
    return sorted(o.name for o in objs)


async def run_async() -> dict[str, Any]:
    out: dict[str, Any] = {}
    user = await User.create(id=str(uuid4()), username="alice", email="alice@example.com")
    post = await Post.create(id=str(uuid4()), title="Hello World", author_id=user.id)
    post_id, user_id = post.id, user.id
    tag1_id, tag2_id, tag3_id, tag4_id = [(await Tag.create(id=str(uuid4()), name=f"t{i}")).id for i in (1, 2, 3, 4)]

    # Relationships > Foreign Key
    post = await Post.get(id=post_id)
    author = await post.fetch_fk("author_id")       # returns User | None
    fk_results = await post.fetch_fks()             # dict[str, Model | None]
    out["author"] = author.username
    out["fk_results"] = {k: v.username for k, v in fk_results.items()}

    # Relationships > Inverse Foreign Key
    user = await User.get(id=user_id)
    posts = await user.fetch_ifk("posts")           # list[Post]
    ifk_results = await user.fetch_ifks()           # dict[str, list[Model]]
    out["posts"] = [p.title for p in posts]
    out["ifk_results"] = {k: [p.title for p in v] for k, v in ifk_results.items()}

    # Relationships > Unfetchable FKs
    owner_id = uuid4()
    with psycopg.connect(CONNINFO, autocommit=True) as conn:
        conn.execute("INSERT INTO auth.users (id, email) VALUES (%s, 'o@example.com')", [owner_id])
    account = await Account.create(id=str(uuid4()), owner_id=owner_id)
    out["unfetchable_fks"] = {k: v for k, v in (await account.fetch_fks()).items()}
    out["unfetchable_all"] = await account.fetch_all_related()

    # Many-to-Many > M2M operations
    post = await Post.get(id=post_id)
    await post.add_m2m("tags", tag1_id, tag2_id)
    await post.add_m2m("tags", tag1_id, tag2_id)            # idempotent
    tags = await post.fetch_m2m("tags")                     # list[Tag]
    out["after_add"] = names(tags)
    await post.add_m2m("tags", tag3_id)
    await post.remove_m2m("tags", tag3_id)
    out["after_remove"] = names(await post.fetch_m2m("tags"))
    await post.set_m2m("tags", [tag1_id, tag2_id, tag4_id])
    out["after_set"] = names(await post.fetch_m2m("tags"))
    m2m_results = await post.fetch_m2ms()                   # dict[str, list[Model]]
    out["m2m_results"] = {k: names(v) for k, v in m2m_results.items()}

    # Many-to-Many > Fetch everything at once
    await post.set_m2m("tags", [tag1_id, tag2_id])
    all_related = await post.fetch_all_related()
    out["all_related"] = {
        "keys": list(all_related),
        "foreign_keys": {k: v.username for k, v in all_related["foreign_keys"].items()},
        "inverse_foreign_keys": all_related["inverse_foreign_keys"],
        "many_to_many": {k: names(v) for k, v in all_related["many_to_many"].items()},
    }
    await post.clear_m2m("tags")
    out["after_clear"] = names(await post.fetch_m2m("tags"))

    # Declarative M2M with db_table
    recipe = await Recipe.create(id=str(uuid4()), name="soup")
    salt = await Ingredient.create(id=str(uuid4()), name="salt")
    await recipe.add_m2m("ingredients", salt)
    out["ingredients"] = names(await recipe.fetch_m2m("ingredients"))
    out["post_id"] = str(post_id)
    return out


def run_sync() -> dict[str, Any]:
    # The same models from matrx_orm_sync: the twins share metadata and tables.
    SUser, SPost, STag = User.sync, Post.sync, Tag.sync
    out: dict[str, Any] = {}
    user = SUser.create(id=str(uuid4()), username="bob", email="bob@example.com")
    post = SPost.create(id=str(uuid4()), title="Sync post", author_id=user.id)
    tag_ids = [STag.create(id=str(uuid4()), name=f"s{i}").id for i in (1, 2, 3)]
    post = SPost.get(id=post.id)
    out["author"] = post.fetch_fk("author_id").username
    out["posts"] = [p.title for p in SUser.get(id=user.id).fetch_ifk("posts")]
    post.add_m2m("tags", tag_ids[0], tag_ids[1])
    post.remove_m2m("tags", tag_ids[0])
    post.set_m2m("tags", [tag_ids[1], tag_ids[2]])
    out["after_set"] = names(post.fetch_m2m("tags"))
    all_related = post.fetch_all_related()
    out["all_related_keys"] = list(all_related)
    out["post_id"] = str(post.id)
    return out


result = {"async": asyncio.run(run_async()), "sync": run_sync(), "warnings": warnings}
print(json.dumps(result, default=str))
