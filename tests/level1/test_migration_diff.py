"""Schema diff (pure): operations, their order, destructive flags, filters and the cross-scope warning."""

from __future__ import annotations

import warnings

import pytest

from matrx_orm import AutoField, CharField, ConfigurationError, ForeignKey, IntegerField, Model, TableFilter, UUIDField
from matrx_orm.core import ddl
from matrx_orm.core.schema_diff import diff_schemas, suggest_migration_name
from matrx_orm.core.schema_snapshot import (
    ColumnSnapshot,
    ForeignKeySnapshot,
    IndexSnapshot,
    SchemaSnapshot,
    TableSnapshot,
    UniqueSnapshot,
)
from matrx_orm.core.table_filter import cross_scope_fk_message

DB = "level1_diff"


class DiffUser(Model):
    id = UUIDField(primary_key=True)
    username = CharField(max_length=100, unique=True, null=False)
    age = IntegerField(null=True)
    _table_name = "user"
    _database = DB


class DiffPost(Model):
    id = AutoField()
    title = CharField(max_length=200, null=False, index=True)
    author_id = ForeignKey("DiffUser", "id")
    _table_name = "post"
    _database = DB


def model_snapshot(*models):
    return ddl.models_snapshot([m._meta for m in models])


def live_like_postgres():
    """The live snapshot PostgreSQL would report after creating DiffUser and DiffPost."""
    live = SchemaSnapshot(schemas={"public"}, extensions={"plpgsql"})
    user = TableSnapshot("public", "user", primary_key=("id",), primary_key_name="user_pkey")
    user.add_column(ColumnSnapshot("id", "uuid", False, "gen_random_uuid()"))
    user.add_column(ColumnSnapshot("username", "character varying(100)", False))
    user.add_column(ColumnSnapshot("age", "integer", True))
    user.uniques.append(UniqueSnapshot("user_username_key", ("username",)))
    post = TableSnapshot("public", "post", primary_key=("id",), primary_key_name="post_pkey")
    post.add_column(ColumnSnapshot("id", "integer", False, None, "d"))
    post.add_column(ColumnSnapshot("title", "character varying(200)", False))
    post.add_column(ColumnSnapshot("author_id", "uuid", True))
    post.indexes.append(IndexSnapshot("idx_post_title", ("title",), definition='CREATE INDEX idx_post_title ON public.post USING btree (title)'))
    post.foreign_keys.append(ForeignKeySnapshot("post_author_id_fkey", ("author_id",), "public", "user", ("id",), "CASCADE"))
    live.add_table(user)
    live.add_table(post)
    return live


def test_matching_database_produces_no_operation():
    assert diff_schemas(model_snapshot(DiffUser, DiffPost), live_like_postgres()) == []


def test_empty_database_creates_tables_before_foreign_keys():
    ops = diff_schemas(model_snapshot(DiffPost, DiffUser), SchemaSnapshot(schemas={"public"}))
    assert [str(op) for op in ops] == [
        "create table user",
        "create table post",
        "create index idx_post_title on post",
        "add foreign key post(author_id) -> user(id)",
    ]
    assert not any(op.destructive for op in ops)
    assert ops[0].down == ['DROP TABLE IF EXISTS "user"']


def test_column_changes_and_their_reversal():
    live = live_like_postgres()
    user = live.tables[("public", "user")]
    user.columns["age"] = ColumnSnapshot("age", "character varying(10)", False, "'0'::character varying")
    user.add_column(ColumnSnapshot("nickname", "text", True))
    del user.columns["username"]
    user.uniques.clear()
    ops = diff_schemas(model_snapshot(DiffUser, DiffPost), live)
    assert [(op.kind, op.destructive) for op in ops] == [
        ("add_column", False),
        ("alter_column", False),
        ("drop_column", True),
        ("add_unique", False),
    ]
    add, alter, drop, unique = ops
    assert add.up == ['ALTER TABLE "user" ADD COLUMN "username" VARCHAR(100) NOT NULL']
    assert "NOT NULL without a default" in add.note
    assert alter.up == [
        'ALTER TABLE "user" ALTER COLUMN "age" TYPE INTEGER USING "age"::INTEGER',
        'ALTER TABLE "user" ALTER COLUMN "age" DROP DEFAULT',
        'ALTER TABLE "user" ALTER COLUMN "age" DROP NOT NULL',
    ]
    assert alter.down == [
        'ALTER TABLE "user" ALTER COLUMN "age" SET NOT NULL',
        "ALTER TABLE \"user\" ALTER COLUMN \"age\" SET DEFAULT '0'::character varying",
        'ALTER TABLE "user" ALTER COLUMN "age" TYPE character varying(10) USING "age"::character varying(10)',
    ]
    assert drop.up == ['ALTER TABLE "user" DROP COLUMN IF EXISTS "nickname"']
    assert drop.down == ['ALTER TABLE "user" ADD COLUMN "nickname" text']
    assert unique.up == ['ALTER TABLE "user" ADD CONSTRAINT "user_username_key" UNIQUE ("username")']


def test_unmodelled_table_is_dropped_last_with_its_foreign_keys_first():
    live = live_like_postgres()
    old = TableSnapshot("public", "old_comment", primary_key=("id",), primary_key_name="old_comment_pkey")
    old.add_column(ColumnSnapshot("id", "integer", False, "nextval('old_comment_id_seq'::regclass)"))
    old.add_column(ColumnSnapshot("post_id", "integer", True))
    old.foreign_keys.append(ForeignKeySnapshot("old_comment_post_id_fkey", ("post_id",), "public", "post", ("id",)))
    live.add_table(old)
    ops = diff_schemas(model_snapshot(DiffUser, DiffPost), live)
    assert [op.kind for op in ops] == ["drop_foreign_key", "drop_table"]
    assert ops[1].destructive and "DESTRUCTIVE" in ops[1].note
    # Undo recreates the table (serial restored as identity) before the FK is re-added.
    assert ops[1].down[0].startswith('CREATE TABLE "old_comment" (\n    "id" integer GENERATED BY DEFAULT AS IDENTITY NOT NULL')
    assert ops[0].down == [
        'ALTER TABLE "old_comment" ADD CONSTRAINT "old_comment_post_id_fkey" FOREIGN KEY ("post_id") '
        'REFERENCES "post" ("id")'
    ]


def test_several_dropped_tables_go_in_reverse_dependency_order():
    live = SchemaSnapshot(schemas={"public"})
    parent = TableSnapshot("public", "parent")
    parent.add_column(ColumnSnapshot("id", "integer"))
    child = TableSnapshot("public", "child")
    child.add_column(ColumnSnapshot("parent_id", "integer"))
    child.foreign_keys.append(ForeignKeySnapshot("child_parent_id_fkey", ("parent_id",), "public", "parent", ("id",)))
    live.add_table(parent)
    live.add_table(child)
    ops = diff_schemas(SchemaSnapshot(), live, schemas="public")
    assert [str(op) for op in ops] == [
        "drop foreign key child_parent_id_fkey child(parent_id) -> parent(id)",
        "drop table child [DESTRUCTIVE]",
        "drop table parent [DESTRUCTIVE]",
    ]


def test_foreign_key_action_change_drops_and_re_adds():
    live = live_like_postgres()
    live.tables[("public", "post")].foreign_keys[0].on_delete = "NO ACTION"
    ops = diff_schemas(model_snapshot(DiffUser, DiffPost), live)
    assert [op.kind for op in ops] == ["drop_foreign_key", "add_foreign_key"]
    assert ops[1].up[0].endswith("ON DELETE CASCADE")


def test_index_changes_and_hand_made_indexes_are_left_alone():
    live = live_like_postgres()
    post = live.tables[("public", "post")]
    post.indexes = [
        IndexSnapshot("idx_post_author_id", ("author_id",), definition="CREATE INDEX idx_post_author_id ON public.post USING btree (author_id)"),
        IndexSnapshot("my_manual_index", ("title", "id")),
    ]
    ops = diff_schemas(model_snapshot(DiffUser, DiffPost), live)
    assert [str(op) for op in ops] == ["drop index idx_post_author_id on post", "create index idx_post_title on post"]
    assert ops[0].down == ["CREATE INDEX idx_post_author_id ON public.post USING btree (author_id)"]


def test_identity_and_serial_compare_equal():
    live = live_like_postgres()
    live.tables[("public", "post")].columns["id"] = ColumnSnapshot("id", "integer", False, "nextval('post_id_seq'::regclass)")
    assert diff_schemas(model_snapshot(DiffUser, DiffPost), live) == []


def test_table_filter_include_exclude_and_both():
    with pytest.raises(ConfigurationError, match="either include= or exclude=, not both"):
        TableFilter(include={"a"}, exclude={"b"})
    only_user = TableFilter(include={"user"})
    assert only_user.allows("public", "user") and not only_user.allows("public", "post")
    assert TableFilter(include={"analytics.event"}).allows("analytics", "event")
    not_post = TableFilter(exclude={"post"})
    assert not_post.allows("public", "user") and not not_post.allows("public", "post")
    assert TableFilter.from_options(None, None) is None
    with pytest.raises(ConfigurationError):
        TableFilter(include="user")


def test_excluded_live_tables_are_never_touched():
    live = live_like_postgres()
    legacy = TableSnapshot("public", "legacy_audit")
    legacy.add_column(ColumnSnapshot("id", "integer"))
    live.add_table(legacy)
    ops = diff_schemas(model_snapshot(DiffUser, DiffPost), live, table_filter=TableFilter(exclude={"legacy_audit"}))
    assert ops == []


def test_cross_scope_fk_warning_has_specs_text():
    with pytest.warns(UserWarning) as caught:
        ops = diff_schemas(
            model_snapshot(DiffUser, DiffPost), SchemaSnapshot(schemas={"public"}), table_filter=TableFilter(include={"post"})
        )
    assert [str(w.message) for w in caught] == [
        "[matrx-orm] Cross-scope FK detected: 'post.author_id' references 'user', which is outside the current "
        "migration scope. The FK constraint will be included in the generated SQL, but 'user' will not be created "
        "or managed by this migration set. Ensure it already exists in the target database."
    ]
    assert caught[0].filename.endswith("table_filter.py")
    assert [op.kind for op in ops] == ["create_table", "create_index", "add_foreign_key"]
    assert cross_scope_fk_message("post", "author_id", "user") == str(caught[0].message)


def test_specs_filter_recipe_silences_the_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=UserWarning, module="matrx_orm")
        diff_schemas(
            model_snapshot(DiffUser, DiffPost), SchemaSnapshot(schemas={"public"}), table_filter=TableFilter(include={"post"})
        )


def test_suggested_names():
    ops = diff_schemas(model_snapshot(DiffPost, DiffUser), SchemaSnapshot(schemas={"public"}))
    assert suggest_migration_name(ops, initial=True) == "initial"
    assert suggest_migration_name(ops) == "create_user_and_more"
    assert suggest_migration_name(ops[:1]) == "create_user"


def test_a_generated_column_in_the_database_but_not_in_the_model_drops_its_expression():
    live = live_like_postgres()
    live.tables[("public", "user")].columns["age"] = ColumnSnapshot("age", "integer", True, generated="(length(username))")
    ops = diff_schemas(model_snapshot(DiffUser, DiffPost), live)
    assert [(op.kind, op.destructive) for op in ops] == [("drop_expression", False)]
    assert ops[0].up == ['ALTER TABLE "user" ALTER COLUMN "age" DROP EXPRESSION']
    assert ops[0].down == [
        'ALTER TABLE "user" DROP COLUMN IF EXISTS "age"',
        'ALTER TABLE "user" ADD COLUMN "age" integer GENERATED ALWAYS AS ((length(username))) STORED',
    ]


def test_a_column_the_model_generates_is_dropped_and_added_back_destructively():
    class DiffUserGenerated(Model):
        id = UUIDField(primary_key=True)
        username = CharField(max_length=100, unique=True, null=False)
        age = IntegerField(db_generated="length(username)")
        _table_name = "user"
        _database = DB

    ops = diff_schemas(model_snapshot(DiffUserGenerated, DiffPost), live_like_postgres())
    assert [(str(op), op.destructive) for op in ops] == [
        ("make column user.age GENERATED ALWAYS AS (length(username)) [DESTRUCTIVE]", True)
    ]
    assert ops[0].up[1] == 'ALTER TABLE "user" ADD COLUMN "age" INTEGER GENERATED ALWAYS AS (length(username)) STORED'
