"""Models for the relationship tests, declared once with ``matrx_orm``.

``tests/models_relations_sync.py`` exposes their sync twins. Tables are
prefixed ``rel_`` so they never clash with the shared test tables; the
declarative junction ``rel_article_rel_tag`` still follows SPEC's rule
(the two table names, sorted).

The graph:

- ``RelUser`` <- ``RelProfile.user_id`` (inverse declared via ``related_name="profile"``)
- ``RelUser`` <- ``RelPost.author_id`` (inverse declared in ``_inverse_foreign_keys`` as ``posts``)
- ``RelPost`` <-> ``RelTag`` through the existing junction ``rel_post_tag`` (config-based ``_many_to_many``)
- ``RelPost`` <- ``RelComment.post_id`` (inverse derived: ``rel_comment_set``)
- ``RelComment.author_id`` -> ``RelUser`` (derived inverse on RelUser: ``rel_comment_set``)
- ``RelArticle.tags`` = ``ManyToManyField("RelTag")`` (declarative, junction ``rel_article_rel_tag``)
- ``RelRecipe.ingredients`` = ``ManyToManyField("RelIngredient", db_table="rel_recipe_ingredients")``
- ``RelMessage`` has two FKs to ``RelUser`` (derived names ``rel_message_sender_set`` / ``..._recipient_set``)
- ``RelAccount.owner_id`` -> ``AuthUser`` (``auth.rel_users``, ``_unfetchable``)
- ``RelCategory.parent_id`` -> ``RelCategory`` (self reference)
- ``RelAudit.ghost_id`` -> ``RelGhost``, whose table does not exist (a relation that fails)
"""

from __future__ import annotations

from matrx_orm import (
    AutoField,
    CharField,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    Model,
    TextField,
    UUIDField,
)

__all__ = [
    "RelUser",
    "RelProfile",
    "RelPost",
    "RelTag",
    "RelComment",
    "RelArticle",
    "RelRecipe",
    "RelIngredient",
    "RelMessage",
    "AuthUser",
    "RelAccount",
    "RelCategory",
    "RelGhost",
    "RelAudit",
    "SCHEMA_SQL",
    "TABLES",
]

DB = "test_db"


class RelUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True, null=False)
    email = CharField(max_length=255, null=True)

    _inverse_foreign_keys = {
        "posts": {
            "from_model": "RelPost",
            "from_field": "author_id",
            "referenced_field": "id",
        }
    }
    _table_name = "rel_user"
    _database = DB


class RelProfile(Model):
    id = AutoField()
    user_id = ForeignKey("RelUser", "id", related_name="profile")
    bio = TextField(null=True)

    _table_name = "rel_profile"
    _database = DB


class RelPost(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    author_id = ForeignKey("RelUser", "id", null=True)
    views = IntegerField(default=0)

    _many_to_many = {
        "tags": {
            "junction_table": "rel_post_tag",
            "source_column": "post_id",
            "target_column": "tag_id",
            "target_model": "RelTag",
        }
    }
    _table_name = "rel_post"
    _database = DB


class RelTag(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=50, unique=True)

    _table_name = "rel_tag"
    _database = DB


class RelComment(Model):
    id = AutoField()
    post_id = ForeignKey("RelPost")
    author_id = ForeignKey("RelUser", null=True)
    body = TextField()

    _table_name = "rel_comment"
    _database = DB


class RelArticle(Model):
    id = UUIDField(primary_key=True)
    title = CharField(max_length=200)
    tags = ManyToManyField("RelTag", related_name="articles")

    _table_name = "rel_article"
    _database = DB


class RelIngredient(Model):
    id = AutoField()
    name = CharField(max_length=100)

    _table_name = "rel_ingredient"
    _database = DB


class RelRecipe(Model):
    id = UUIDField(primary_key=True)
    name = CharField(max_length=200)
    ingredients = ManyToManyField("RelIngredient", db_table="rel_recipe_ingredients")

    _table_name = "rel_recipe"
    _database = DB


class RelMessage(Model):
    id = AutoField()
    sender_id = ForeignKey("RelUser")
    recipient_id = ForeignKey("RelUser")
    text = TextField()

    _table_name = "rel_message"
    _database = DB


class AuthUser(Model):
    id = UUIDField(primary_key=True)
    email = CharField(max_length=255)

    _table_name = "rel_users"
    _db_schema = "auth"
    _unfetchable = True
    _database = DB


class RelAccount(Model):
    id = AutoField()
    name = CharField(max_length=100)
    owner_id = ForeignKey("AuthUser", "id")
    user_id = ForeignKey("RelUser", null=True)

    _table_name = "rel_account"
    _database = DB


class RelCategory(Model):
    id = AutoField()
    name = CharField(max_length=100)
    parent_id = ForeignKey("RelCategory", null=True, related_name="children")

    _table_name = "rel_category"
    _database = DB


class RelGhost(Model):
    # Its table is never created: fetching it fails, which the resilient fetches must survive.
    id = AutoField()

    _table_name = "rel_ghost"
    _database = DB


class RelAudit(Model):
    id = AutoField()
    user_id = ForeignKey("RelUser", null=True)
    ghost_id = ForeignKey("RelGhost", null=True, db_constraint=False)

    _table_name = "rel_audit"
    _database = DB


SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS auth;
DROP TABLE IF EXISTS rel_account, auth.rel_users, rel_message, rel_recipe_ingredients, rel_recipe,
    rel_ingredient, rel_article_rel_tag, rel_article, rel_comment, rel_post_tag, rel_tag, rel_post,
    rel_profile, rel_user, rel_category, rel_audit, rel_ghost CASCADE;
CREATE TABLE rel_user (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    username VARCHAR(100) NOT NULL UNIQUE,
    email VARCHAR(255)
);
CREATE TABLE rel_profile (
    id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id UUID REFERENCES rel_user(id) ON DELETE CASCADE,
    bio TEXT
);
CREATE TABLE rel_post (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    title VARCHAR(200),
    author_id UUID REFERENCES rel_user(id) ON DELETE CASCADE,
    views INTEGER DEFAULT 0
);
CREATE TABLE rel_tag (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(50) UNIQUE
);
CREATE TABLE rel_post_tag (
    post_id UUID NOT NULL REFERENCES rel_post(id) ON DELETE CASCADE,
    tag_id UUID NOT NULL REFERENCES rel_tag(id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
CREATE TABLE rel_comment (
    id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    post_id UUID REFERENCES rel_post(id) ON DELETE CASCADE,
    author_id UUID REFERENCES rel_user(id) ON DELETE CASCADE,
    body TEXT
);
CREATE TABLE rel_article (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    title VARCHAR(200)
);
CREATE TABLE rel_article_rel_tag (
    rel_article_id UUID NOT NULL REFERENCES rel_article(id) ON DELETE CASCADE,
    rel_tag_id UUID NOT NULL REFERENCES rel_tag(id) ON DELETE CASCADE,
    PRIMARY KEY (rel_article_id, rel_tag_id)
);
CREATE TABLE rel_ingredient (
    id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name VARCHAR(100)
);
CREATE TABLE rel_recipe (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(200)
);
-- No unique constraint on purpose: add_m2m must stay idempotent without one.
CREATE TABLE rel_recipe_ingredients (
    rel_recipe_id UUID NOT NULL REFERENCES rel_recipe(id) ON DELETE CASCADE,
    rel_ingredient_id INTEGER NOT NULL REFERENCES rel_ingredient(id) ON DELETE CASCADE
);
CREATE TABLE rel_message (
    id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    sender_id UUID REFERENCES rel_user(id),
    recipient_id UUID REFERENCES rel_user(id),
    text TEXT
);
CREATE TABLE auth.rel_users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email VARCHAR(255)
);
CREATE TABLE rel_account (
    id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name VARCHAR(100),
    owner_id UUID REFERENCES auth.rel_users(id),
    user_id UUID REFERENCES rel_user(id)
);
CREATE TABLE rel_audit (
    id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id UUID REFERENCES rel_user(id),
    ghost_id INTEGER
);
CREATE TABLE rel_category (
    id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name VARCHAR(100),
    parent_id INTEGER REFERENCES rel_category(id)
);
"""

TABLES = [
    "rel_audit",
    "rel_account",
    "auth.rel_users",
    "rel_message",
    "rel_recipe_ingredients",
    "rel_recipe",
    "rel_ingredient",
    "rel_article_rel_tag",
    "rel_article",
    "rel_comment",
    "rel_post_tag",
    "rel_tag",
    "rel_post",
    "rel_profile",
    "rel_user",
    "rel_category",
]
