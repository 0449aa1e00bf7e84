"""Code generation from hand-built snapshots (no database): types, defaults, keys, relations, files.

The strongest check is the fixed point: the generated models, imported, must
describe the very schema they came from (``diff_schemas`` finds nothing to do).
"""

from __future__ import annotations

import decimal
import itertools
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from matrx_orm import ConfigurationError, StateError
from matrx_orm.core.codegen import (
    GENERATED_MARKER,
    class_name_for,
    enum_labels,
    generate_files,
    generation_scope,
    plan_models,
    pluralize,
    render_files,
    write_files,
)
from matrx_orm.core.ddl import models_snapshot
from matrx_orm.core.raw_fields import RawField, SmallAutoField
from matrx_orm.core.relations import relations_of
from matrx_orm.core.schema_diff import diff_schemas
from matrx_orm.core.schema_snapshot import (
    CheckSnapshot,
    ColumnSnapshot,
    ForeignKeySnapshot,
    IndexSnapshot,
    SchemaSnapshot,
    TableSnapshot,
    UniqueSnapshot,
)
from matrx_orm.core.table_filter import TableFilter
from matrx_orm.schema_builder import SchemaManager
from tests.codegen_support import forget_generated, import_generated

_counter = itertools.count(1)

# column type (as format_type prints it) -> field class the generated model uses
TYPE_CASES = {
    "uuid": "UUIDField",
    "character varying(50)": "CharField",
    "character varying": "CharField",
    "text": "TextField",
    "integer": "IntegerField",
    "bigint": "BigIntegerField",
    "smallint": "SmallIntegerField",
    "double precision": "FloatField",
    "numeric(10,3)": "DecimalField",
    "numeric": "DecimalField",
    "boolean": "BooleanField",
    "timestamp with time zone": "DateTimeField",
    "timestamp without time zone": "DateTimeField",
    "date": "DateField",
    "time without time zone": "TimeField",
    "jsonb": "JSONField",
    "text[]": "TextArrayField",
    "integer[]": "IntegerArrayField",
    "boolean[]": "BooleanArrayField",
    "uuid[]": "UUIDArrayField",
    "jsonb[]": "JSONBArrayField",
    "character varying(20)[]": "ArrayField",
    "numeric(8,2)[]": "ArrayField",
    "inet": "IPAddressField",
    "cidr": "IPNetworkField",
    "macaddr": "MacAddressField",
    "hstore": "HStoreField",
    "point": "PointField",
    "money": "MoneyField",
    "bytea": "BinaryField",
    "interval": "TimeDeltaField",
    "int4range": "IntegerRangeField",
    "int8range": "BigIntegerRangeField",
    "numrange": "DecimalRangeField",
    "daterange": "DateRangeField",
    "tstzrange": "DateTimeRangeField",
    "tsrange": "DateTimeRangeField",
    "tsvector": "SearchVectorField",
    # no dedicated field: RawField keeps the exact type
    "real": "RawField",
    "xml": "RawField",
    "json": "RawField",
    "character(3)": "RawField",
    "timestamp(3) with time zone": "RawField",
    "time with time zone": "RawField",
    "bit(8)": "RawField",
    "mood": "RawField",
    "mood[]": "RawField",
    "macaddr8[]": "RawField",
}


def _database() -> str:
    return f"cg_l1_{next(_counter)}"


def _table(schema: str, name: str, *columns: ColumnSnapshot, pk: tuple[str, ...] = ()) -> TableSnapshot:
    table = TableSnapshot(schema, name)
    for column in columns:
        table.add_column(column)
    table.primary_key = pk
    return table


def _snapshot(*tables: TableSnapshot) -> SchemaSnapshot:
    snapshot = SchemaSnapshot()
    for table in tables:
        snapshot.add_table(table)
    return snapshot


def _generate(tmp_path: Path, snapshot: SchemaSnapshot, **options: object) -> tuple[dict[str, str], ModuleType, str]:
    database = str(options.pop("database", _database()))
    files = generate_files(snapshot, database=database, **options)  # type: ignore[arg-type]
    package = f"cg_l1_pkg_{database}"
    write_files(tmp_path / package, files)
    module = import_generated(tmp_path / package, package, "models")
    return files, module, package


@pytest.fixture(autouse=True)
def _forget_packages():
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("cg_l1_pkg_"):
            forget_generated(name.split(".")[0])


def _assert_fixed_point(module: ModuleType, snapshot: SchemaSnapshot, schemas: set[str]) -> None:
    metas = [getattr(module, name)._meta for name in module.__all__]
    declared = models_snapshot([m for m in metas if not m.unfetchable])
    operations = diff_schemas(declared, snapshot, schemas=schemas)
    assert operations == [], [str(op) for op in operations]


def _field(module: ModuleType, model: str, name: str):
    return getattr(module, model)._meta.fields[name]


# ---------------------------------------------------------------- types
def test_every_column_type_maps_to_its_field_and_the_models_reproduce_the_table(tmp_path: Path) -> None:
    columns = [ColumnSnapshot("id", "bigint", nullable=False, identity="d")]
    names = {}
    for index, type_text in enumerate(TYPE_CASES):
        name = f"c{index}"
        names[name] = type_text
        columns.append(ColumnSnapshot(name, type_text))
    snapshot = _snapshot(_table("public", "every_type", *columns, pk=("id",)))
    snapshot.extensions = {"hstore"}
    files, module, _ = _generate(tmp_path, snapshot, enums={"mood": ("happy", "sad")})
    meta = module.EveryType._meta
    for name, type_text in names.items():
        assert type(meta.fields[name]).__name__ == TYPE_CASES[type_text], (name, type_text)
    assert type(meta.fields["id"]).__name__ == "BigAutoField"
    # the exact type survives in RawField, with the enum's labels as choices
    assert meta.fields[_name_of(names, "xml")].db_type == "xml"
    mood = meta.fields[_name_of(names, "mood")]
    assert isinstance(mood, RawField) and mood.choices == ("happy", "sad")
    assert meta.fields[_name_of(names, "timestamp without time zone")].timezone is False
    assert meta.fields[_name_of(names, "character varying(50)")].max_length == 50
    decimal_field = meta.fields[_name_of(names, "numeric(10,3)")]
    assert (decimal_field.max_digits, decimal_field.decimal_places) == (10, 3)
    assert meta.fields[_name_of(names, "character varying(20)[]")].item_field.max_length == 20
    assert "no dedicated field type" in files["models.py"]
    _assert_fixed_point(module, snapshot, {"public"})


def _name_of(names: dict[str, str], type_text: str) -> str:
    return next(name for name, value in names.items() if value == type_text)


def test_identity_and_serial_columns_become_auto_fields(tmp_path: Path) -> None:
    snapshot = _snapshot(
        _table("public", "a_int", ColumnSnapshot("id", "integer", False, "nextval('a_int_id_seq'::regclass)"), pk=("id",)),
        _table("public", "a_big", ColumnSnapshot("id", "bigint", False, identity="a"), pk=("id",)),
        _table(
            "public", "a_small", ColumnSnapshot("id", "smallint", False, identity="d"),
            ColumnSnapshot("seq", "integer", False, identity="d"), pk=("id",),
        ),
    )
    files, module, _ = _generate(tmp_path, snapshot)
    assert type(_field(module, "AInt", "id")).__name__ == "AutoField"
    assert type(_field(module, "ABig", "id")).__name__ == "BigAutoField"
    assert isinstance(_field(module, "ASmall", "id"), SmallAutoField)
    seq = _field(module, "ASmall", "seq")
    assert type(seq).__name__ == "AutoField" and not seq.primary_key
    assert "GENERATED ALWAYS AS IDENTITY" in files["models.py"]
    _assert_fixed_point(module, snapshot, {"public"})


# ---------------------------------------------------------------- defaults
def test_defaults_numbers_as_numbers_and_sql_functions_as_db_default(tmp_path: Path) -> None:
    table = _table(
        "public", "defaults",
        ColumnSnapshot("id", "uuid", False, "gen_random_uuid()"),
        ColumnSnapshot("n_int", "integer", False, "0"),
        ColumnSnapshot("n_neg", "smallint", True, "'-1'::integer"),
        ColumnSnapshot("n_big", "bigint", True, "9000000000"),
        ColumnSnapshot("n_float", "double precision", True, "0.5"),
        ColumnSnapshot("n_dec", "numeric(6,2)", True, "1.50"),
        ColumnSnapshot("flag", "boolean", False, "true"),
        ColumnSnapshot("label", "character varying(20)", False, "'it''s'::character varying"),
        ColumnSnapshot("doc", "jsonb", True, "'{\"a\": [1, 2]}'::jsonb"),
        ColumnSnapshot("tags", "text[]", True, "'{}'::text[]"),
        ColumnSnapshot("nums", "integer[]", True, "'{1,2,3}'::integer[]"),
        ColumnSnapshot("created", "timestamp with time zone", False, "now()"),
        ColumnSnapshot("today", "date", True, "CURRENT_DATE"),
        ColumnSnapshot("ttl", "interval", True, "'01:00:00'::interval"),
        ColumnSnapshot("expr", "integer", True, "(1 + 2)"),
        ColumnSnapshot("token", "uuid", True, "gen_random_uuid()"),
        pk=("id",),
    )
    snapshot = _snapshot(table)
    files, module, _ = _generate(tmp_path, snapshot)
    source = files["models.py"]
    fields = module.Defaults._meta.fields
    assert fields["n_int"].default == 0 and isinstance(fields["n_int"].default, int)
    assert fields["n_neg"].default == -1
    assert fields["n_big"].default == 9000000000
    assert fields["n_float"].default == 0.5
    assert fields["n_dec"].default == decimal.Decimal("1.50")
    assert 'default=Decimal("1.50")' in source and "from decimal import Decimal" in source
    assert fields["flag"].default is True
    assert fields["label"].default == "it's"
    assert fields["doc"].default == {"a": [1, 2]}
    assert fields["tags"].default == [] and fields["nums"].default == [1, 2, 3]
    assert fields["created"].db_default == "now()" and not fields["created"].has_default()
    assert fields["id"].db_default == "gen_random_uuid()" and not fields["id"].has_default()
    assert fields["token"].db_default == "gen_random_uuid()"
    assert fields["today"].db_default == "CURRENT_DATE"
    assert fields["ttl"].db_default == "'01:00:00'::interval"
    assert fields["expr"].db_default == "(1 + 2)"
    assert 'created = DateTimeField(null=False, db_default="now()")' in source
    _assert_fixed_point(module, snapshot, {"public"})


def test_uuid_key_without_database_default_is_filled_by_the_orm_not_by_ddl(tmp_path: Path) -> None:
    snapshot = _snapshot(_table("public", "plain_key", ColumnSnapshot("id", "uuid", False), pk=("id",)))
    files, module, _ = _generate(tmp_path, snapshot)
    assert "id = UUIDField(primary_key=True, default=uuid.uuid4)" in files["models.py"]
    assert "import uuid" in files["models.py"]
    assert module.PlainKey().id is not None  # the ORM fills new keys
    _assert_fixed_point(module, snapshot, {"public"})


# ---------------------------------------------------------------- keys, uniques, indexes
def test_composite_key_uniques_and_indexes(tmp_path: Path) -> None:
    table = _table(
        "public", "membership",
        ColumnSnapshot("org", "text", False),
        ColumnSnapshot("member", "integer", False),
        ColumnSnapshot("email", "text", False),
        ColumnSnapshot("region", "text"),
        ColumnSnapshot("day", "date"),
        ColumnSnapshot("score", "integer"),
        pk=("org", "member"),
    )
    table.uniques.append(UniqueSnapshot("membership_email_key", ("email",)))
    table.uniques.append(UniqueSnapshot("membership_region_day_key", ("region", "day")))
    table.indexes.append(IndexSnapshot("idx_membership_score", ("score",)))
    table.indexes.append(IndexSnapshot("membership_lower_email", ("lower(email)",)))
    table.indexes.append(IndexSnapshot("membership_score_partial", ("score",), where="(score > 0)"))
    table.indexes.append(IndexSnapshot("membership_day_uidx", ("day",), unique=True))
    table.indexes.append(IndexSnapshot("membership_region_brin", ("region",), method="brin"))
    table.checks.append(CheckSnapshot("membership_score_check", "CHECK ((score >= 0))"))
    snapshot = _snapshot(table)
    files, module, _ = _generate(tmp_path, snapshot)
    meta = module.Membership._meta
    assert meta.pk_names == ("org", "member")
    assert meta.fields["email"].unique
    assert meta.unique_together == [("region", "day")]
    assert meta.fields["score"].index
    names = {entry["name"] for entry in meta.indexes}
    assert names == {"membership_lower_email", "membership_score_partial", "membership_day_uidx", "membership_region_brin"}
    by_name = {entry["name"]: entry for entry in meta.indexes}
    assert by_name["membership_score_partial"]["where"] == "(score > 0)"
    assert by_name["membership_day_uidx"]["unique"] is True
    assert by_name["membership_region_brin"]["method"] == "brin"
    assert "CHECK constraint membership_score_check" in files["models.py"]
    _assert_fixed_point(module, snapshot, {"public"})


# ---------------------------------------------------------------- relations
def _blog_snapshot() -> SchemaSnapshot:
    author = _table(
        "public", "author", ColumnSnapshot("id", "integer", False, identity="d"),
        ColumnSnapshot("name", "text", False), ColumnSnapshot("auth_id", "uuid"), pk=("id",),
    )
    author.foreign_keys.append(ForeignKeySnapshot("author_auth_id_fkey", ("auth_id",), "auth", "users", ("id",), "SET NULL"))
    post = _table(
        "public", "post", ColumnSnapshot("id", "uuid", False, "gen_random_uuid()"),
        ColumnSnapshot("author_id", "integer", False), ColumnSnapshot("editor_id", "integer"), pk=("id",),
    )
    post.foreign_keys.append(ForeignKeySnapshot("post_author_id_fkey", ("author_id",), "public", "author", ("id",), "CASCADE"))
    post.foreign_keys.append(
        ForeignKeySnapshot("post_editor_id_fkey", ("editor_id",), "public", "author", ("id",), on_update="CASCADE")
    )
    tag = _table("public", "tag", ColumnSnapshot("id", "bigint", False, identity="a"), ColumnSnapshot("name", "text"), pk=("id",))
    post_tag = _table(
        "public", "post_tag", ColumnSnapshot("post_id", "uuid", False), ColumnSnapshot("tag_id", "bigint", False),
        ColumnSnapshot("created_at", "timestamp with time zone", True, "now()"), pk=("post_id", "tag_id"),
    )
    post_tag.foreign_keys.append(ForeignKeySnapshot("post_tag_post_id_fkey", ("post_id",), "public", "post", ("id",), "CASCADE"))
    post_tag.foreign_keys.append(ForeignKeySnapshot("post_tag_tag_id_fkey", ("tag_id",), "public", "tag", ("id",), "CASCADE"))
    follow = _table(
        "public", "follow", ColumnSnapshot("follower_id", "integer", False), ColumnSnapshot("followee_id", "integer", False),
        pk=("follower_id", "followee_id"),
    )
    follow.foreign_keys.append(ForeignKeySnapshot("follow_follower_fkey", ("follower_id",), "public", "author", ("id",), "CASCADE"))
    follow.foreign_keys.append(ForeignKeySnapshot("follow_followee_fkey", ("followee_id",), "public", "author", ("id",), "CASCADE"))
    # a surrogate key beside a unique pair is a junction too
    likes = _table(
        "public", "likes", ColumnSnapshot("id", "bigint", False, identity="d"), ColumnSnapshot("author_id", "integer", False),
        ColumnSnapshot("post_id", "uuid", False), pk=("id",),
    )
    likes.uniques.append(UniqueSnapshot("likes_author_id_post_id_key", ("author_id", "post_id")))
    likes.foreign_keys.append(ForeignKeySnapshot("likes_author_fkey", ("author_id",), "public", "author", ("id",), "CASCADE"))
    likes.foreign_keys.append(ForeignKeySnapshot("likes_post_fkey", ("post_id",), "public", "post", ("id",), "CASCADE"))
    # a payload column without a default makes it a table of its own, not a junction
    review = _table(
        "public", "review", ColumnSnapshot("author_id", "integer", False), ColumnSnapshot("post_id", "uuid", False),
        ColumnSnapshot("stars", "integer", False), pk=("author_id", "post_id"),
    )
    review.foreign_keys.append(ForeignKeySnapshot("review_author_fkey", ("author_id",), "public", "author", ("id",), "CASCADE"))
    review.foreign_keys.append(ForeignKeySnapshot("review_post_fkey", ("post_id",), "public", "post", ("id",), "CASCADE"))
    return _snapshot(author, post, tag, post_tag, follow, likes, review)


def test_junction_tables_become_many_to_many_on_both_sides(tmp_path: Path) -> None:
    snapshot = _blog_snapshot()
    files, module, _ = _generate(tmp_path, snapshot)
    post, tag, author = module.Post._meta, module.Tag._meta, module.Author._meta
    assert post.m2m_config["tags"] == {
        "junction_table": "post_tag", "source_column": "post_id", "target_column": "tag_id",
        "target_model": "Tag", "related_name": "posts",
    }
    assert tag.m2m_config["posts"]["target_model"] == "Post"
    assert tag.m2m_config["posts"]["source_column"] == "tag_id"
    # self-referential: one relation per direction, named after the other column
    assert author.m2m_config["followees"]["source_column"] == "follower_id"
    assert author.m2m_config["followers"]["source_column"] == "followee_id"
    # surrogate key + unique pair
    assert post.m2m_config["authors"]["junction_table"] == "likes"
    assert author.m2m_config["posts"]["junction_table"] == "likes"
    # a table with a payload column is not a junction
    assert all(c["junction_table"] != "review" for c in [*post.m2m_config.values(), *author.m2m_config.values()])
    assert "Junction table public.post_tag (many-to-many between Post and Tag)." in files["models.py"]
    # declared names suppress the derived duplicates; each relation resolves
    rels = relations_of(tag)
    assert "posts" in rels.m2ms and "post_set" not in rels.by_name
    assert relations_of(post).get("tags").target is tag
    _assert_fixed_point(module, snapshot, {"public"})


def test_reverse_references_become_inverse_foreign_keys(tmp_path: Path) -> None:
    snapshot = _blog_snapshot()
    _files, module, _ = _generate(tmp_path, snapshot)
    author = module.Author._meta
    assert author.inverse_fk_config["posts_by_author"] == {
        "from_model": "Post", "from_field": "author_id", "referenced_field": "id",
    }
    assert author.inverse_fk_config["posts_by_editor"]["from_field"] == "editor_id"
    assert author.inverse_fk_config["reviews"]["from_model"] == "Review"
    assert module.Tag._meta.inverse_fk_config["post_tags"]["from_field"] == "tag_id"
    post_author = module.Post._meta.fields["author_id"]
    assert post_author.on_delete == "CASCADE" and post_author.target_meta() is author
    editor = module.Post._meta.fields["editor_id"]
    assert (editor.on_delete, editor.on_update) == ("NO ACTION", "CASCADE")
    _assert_fixed_point(module, snapshot, {"public"})
    ifk = relations_of(author).get("posts_by_author")
    assert ifk is not None and ifk.target is module.Post._meta


def test_references_outside_the_scope_become_unfetchable_stubs(tmp_path: Path) -> None:
    snapshot = _blog_snapshot()
    files, module, _ = _generate(tmp_path, snapshot)
    stub = module.Users._meta
    assert stub.unfetchable and stub.db_schema == "auth" and stub.table_name == "users"
    assert stub.pk_names == ("id",) and type(stub.fields["id"]).__name__ == "UUIDField"
    assert module.Author._meta.fields["auth_id"].target_meta() is stub
    assert "_unfetchable = True" in files["models.py"]
    assert "managers/users.py" not in files  # stubs have no manager

    # a table left out by the filter is a stub too, typed from the snapshot
    filtered, module2, _ = _generate(tmp_path, snapshot, table_filter=TableFilter(exclude={"tag"}))
    tag = module2.Tag._meta
    assert tag.unfetchable and type(tag.fields["id"]).__name__ == "BigIntegerField"
    assert list(tag.fields) == ["id"]
    assert "managers/tag.py" not in filtered


def test_scope_by_schema_and_class_name_collisions(tmp_path: Path) -> None:
    snapshot = _snapshot(
        _table("public", "user", ColumnSnapshot("id", "integer", False, identity="d"), pk=("id",)),
        _table("analytics", "user", ColumnSnapshot("id", "integer", False, identity="d"), pk=("id",)),
        _table("analytics", "model", ColumnSnapshot("id", "integer", False, identity="d"), pk=("id",)),
        _table("other", "ignored", ColumnSnapshot("id", "integer", False), pk=("id",)),
        _table("public", "_matrx_migrations", ColumnSnapshot("id", "integer", False), pk=("id",)),
    )
    files, module, _ = _generate(tmp_path, snapshot, schemas=["public", "analytics"])
    assert module.__all__ == ["User", "AnalyticsModel", "AnalyticsUser"]
    assert module.AnalyticsUser._meta.db_schema == "analytics"
    assert "Ignored" not in files["models.py"] and "MatrxMigrations" not in files["models.py"]
    assert set(files) == {
        "__init__.py", "models.py", "models_sync.py", "managers/__init__.py", "managers/user.py",
        "managers/analytics_user.py", "managers/analytics_model.py",
    }


def test_column_names_that_are_not_safe_attributes(tmp_path: Path) -> None:
    snapshot = _snapshot(
        _table(
            "public", "odd",
            ColumnSnapshot("id", "integer", False, identity="d"),
            ColumnSnapshot("count", "integer"),
            ColumnSnapshot("class", "text"),
            ColumnSnapshot("Mixed Case", "text"),
            ColumnSnapshot("2fa", "boolean"),
            ColumnSnapshot("save", "text"),
            pk=("id",),
        )
    )
    files, module, _ = _generate(tmp_path, snapshot)
    fields = module.Odd._meta.fields
    assert {name: f.column for name, f in fields.items()} == {
        "id": "id", "count_": "count", "class_": "class", "Mixed_Case": "Mixed Case", "f_2fa": "2fa", "save_": "save",
    }
    assert callable(module.Odd.save) and callable(module.Odd.count)
    _assert_fixed_point(module, snapshot, {"public"})


# ---------------------------------------------------------------- files
def test_output_is_deterministic_whatever_the_snapshot_order(tmp_path: Path) -> None:
    snapshot = _blog_snapshot()
    reordered = _snapshot(*reversed(list(snapshot.tables.values())))
    first = generate_files(snapshot, database="cg_det")
    assert generate_files(snapshot, database="cg_det") == first
    assert generate_files(reordered, database="cg_det") == first
    for path, text in first.items():
        assert text.startswith(GENERATED_MARKER), path
        assert "\r" not in text and text.endswith("\n") and not text.endswith("\n\n")


def _ruff() -> str | None:
    candidate = Path(sys.executable).with_name("ruff")
    return str(candidate) if candidate.exists() else shutil.which("ruff")


def test_generated_files_pass_ruff_check_and_format(tmp_path: Path) -> None:
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed")
    columns = [ColumnSnapshot("id", "bigint", False, identity="d")]
    columns += [ColumnSnapshot(f"column_with_a_long_name_{i}", t, False, None) for i, t in enumerate(TYPE_CASES)]
    columns.append(ColumnSnapshot("described", "character varying(100)", False, "'x'::character varying", comment="A long comment " * 8))
    snapshot = _blog_snapshot()
    snapshot.add_table(_table("public", "every_type_with_a_long_table_name", *columns, pk=("id",)))
    out = tmp_path / "generated"
    write_files(out, generate_files(snapshot, database="cg_ruff", enums={"mood": ("a", "b")}))
    check = subprocess.run(
        [ruff, "check", "--isolated", "--select", "E,F,W,I,UP,B", "--ignore", "E501", "--target-version", "py310", str(out)],
        capture_output=True, text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([ruff, "format", "--isolated", "--check", "--diff", str(out)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_generated_package_imports_with_sync_twins_and_managers(tmp_path: Path) -> None:
    _files, module, package = _generate(tmp_path, _blog_snapshot())
    sync_models = import_generated(tmp_path / package, package, "models_sync")
    managers = import_generated(tmp_path / package, package, "managers")
    assert sync_models.Post is module.Post.sync and sync_models.Post._meta is module.Post._meta
    assert sync_models.Post.__matrx_mode__ == "sync" and module.Post.__matrx_mode__ == "async"
    assert managers.PostManager().model is module.Post
    assert managers.PostManagerSync().model is module.Post.sync
    assert not hasattr(managers, "UsersManager")


def test_write_files_rewrites_only_changes_and_removes_only_stale_generated_files(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    snapshot = _blog_snapshot()
    written = write_files(out, generate_files(snapshot, database="cg_write"))
    assert (out / "managers" / "tag.py").exists() and len(written) == len(list(out.rglob("*.py")))
    (out / "managers" / "custom.py").write_text("# mine\n")
    (out / "notes.txt").write_text("keep")
    assert write_files(out, generate_files(snapshot, database="cg_write")) == []
    del snapshot.tables[("public", "tag")]
    del snapshot.tables[("public", "post_tag")]
    changed = write_files(out, generate_files(snapshot, database="cg_write"))
    assert out / "managers" / "tag.py" in changed and not (out / "managers" / "tag.py").exists()
    assert (out / "managers" / "custom.py").read_text() == "# mine\n" and (out / "notes.txt").exists()


# ---------------------------------------------------------------- helpers and options
def test_names_and_plurals() -> None:
    assert class_name_for("post_tag") == "PostTag"
    assert class_name_for("HTTPLog") == "HTTPLog"
    assert class_name_for("2fa-codes") == "T2faCodes"
    assert [pluralize(w) for w in ("tag", "category", "box", "class", "posts", "day")] == [
        "tags", "categories", "boxes", "classes", "posts", "days",
    ]


def test_enum_labels_by_bare_and_qualified_name() -> None:
    labels = enum_labels([("public", "mood", ["a", "b"]), ("x", "mood", ["c"]), ("x", "level", ["lo", "hi"])])
    assert labels["mood"] == ("a", "b") and labels["x.mood"] == ("c",) and labels["level"] == ("lo", "hi")


def test_include_and_exclude_are_mutually_exclusive() -> None:
    with pytest.raises(ConfigurationError, match="mutually exclusive"):
        SchemaManager(schema="public", database_project="x", include_tables={"a"}, exclude_tables={"b"})
    with pytest.raises(ConfigurationError, match="mutually exclusive"):
        generation_scope("public", ["a"], ["b"])
    assert generation_scope(None, ["analytics.event", "post"])[0] == ("analytics", "public")


def test_schema_manager_needs_initialize_first() -> None:
    manager = SchemaManager(schema="public", database_project="x", exclude_tables={"legacy"})
    with pytest.raises(StateError, match="initialize"):
        _ = manager.schema


def test_plan_refuses_an_empty_database_name() -> None:
    with pytest.raises(ConfigurationError):
        plan_models(_blog_snapshot(), database="")


def test_raw_field_sends_json_for_json_columns_and_refuses_statement_text() -> None:
    from psycopg.types.json import Json

    assert isinstance(RawField("json").prep({"a": 1}), Json)
    assert RawField("xml").prep("<a/>") == "<a/>"
    with pytest.raises(ConfigurationError):
        RawField("text; DROP TABLE x")
    with pytest.raises(ConfigurationError):
        RawField("")


def test_render_files_lists_one_manager_per_table() -> None:
    plan = plan_models(_blog_snapshot(), database="cg_render")
    files = render_files(plan)
    managers = sorted(p for p in files if p.startswith("managers/") and not p.endswith("__init__.py"))
    assert managers == [f"managers/{m.module_name}.py" for m in sorted(plan.tables, key=lambda m: m.module_name)]
    assert "class PostManager(BaseManager[Post]):" in files["managers/post.py"]
    assert "class PostManagerSync(SyncBaseManager[Post]):" in files["managers/post.py"]


def test_an_empty_scope_gives_an_importable_clean_package(tmp_path: Path) -> None:
    files, module, package = _generate(tmp_path, SchemaSnapshot(), schemas=["public"])
    assert module.__all__ == [] and "from matrx_orm import" not in files["models.py"]
    assert import_generated(tmp_path / package, package, "models_sync").__all__ == []
    assert import_generated(tmp_path / package, package, "managers").__all__ == []
    ruff = _ruff()
    if ruff is not None:
        check = subprocess.run([ruff, "check", "--isolated", str(tmp_path / package)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout


def test_junction_on_unique_columns_names_the_key_fields_and_chained_keys_keep_their_type(tmp_path: Path) -> None:
    account = _table(
        "public", "account", ColumnSnapshot("id", "integer", False, identity="d"), ColumnSnapshot("code", "text", False),
        pk=("id",),
    )
    account.uniques.append(UniqueSnapshot("account_code_key", ("code",)))
    group = _table("public", "group", ColumnSnapshot("slug", "character varying(40)", False), pk=("slug",))
    link = _table(
        "public", "account_group", ColumnSnapshot("account_code", "text", False),
        ColumnSnapshot("group_slug", "character varying(40)", False), pk=("account_code", "group_slug"),
    )
    link.foreign_keys.append(ForeignKeySnapshot("l1", ("account_code",), "public", "account", ("code",), "CASCADE"))
    link.foreign_keys.append(ForeignKeySnapshot("l2", ("group_slug",), "public", "group", ("slug",), "CASCADE"))
    # a key that is itself a foreign key, referenced again (profile.account_id -> account.id; badge -> profile)
    profile = _table("public", "profile", ColumnSnapshot("account_id", "integer", False), pk=("account_id",))
    profile.foreign_keys.append(ForeignKeySnapshot("p1", ("account_id",), "public", "account", ("id",), "CASCADE"))
    badge = _table("public", "badge", ColumnSnapshot("profile_id", "integer", False), ColumnSnapshot("name", "text"))
    badge.foreign_keys.append(ForeignKeySnapshot("b1", ("profile_id",), "public", "profile", ("account_id",), "CASCADE"))
    snapshot = _snapshot(account, group, link, profile, badge)
    _files, module, _ = _generate(tmp_path, snapshot)
    config = module.Account._meta.m2m_config["groups"]
    assert config["source_field"] == "code" and "target_field" not in config
    assert module.Group._meta.m2m_config["accounts"]["target_field"] == "code"
    assert type(module.Badge._meta.fields["profile_id"]).__name__ == "ForeignKey"
    assert module.Badge._meta.pk_names == ()  # a table without a primary key is modelled too
    assert relations_of(module.Account._meta).get("groups").target is module.Group._meta
    _assert_fixed_point(module, snapshot, {"public"})
