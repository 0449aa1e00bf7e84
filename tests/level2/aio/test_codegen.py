"""Schema introspection and code generation against PostgreSQL: database -> models -> database.

Round trip one: a varied schema created by SQL -> generated models and managers
-> imported -> ``makemigrations`` finds nothing to do -> CRUD and relation
fetches through the generated classes work, read back from the database.
Round trip two: models -> ``makemigrations`` + ``migrate_and_rebuild`` ->
the generated models describe the same schema as the originals.
Each test has a database of its own (``tests.codegen_support``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from pathlib import Path

import psycopg
import pytest

from matrx_orm import (
    AutoField,
    BigAutoField,
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    FieldError,
    ForeignKey,
    IntegerField,
    JSONField,
    ManyToManyField,
    Model,
    SchemaDiff,
    TextField,
    UUIDField,
    close_pool,
    makemigrations,
    migrate_and_rebuild,
)
from matrx_orm.core.compat_async import MODE
from matrx_orm.core.ddl import models_snapshot
from matrx_orm.schema_builder import SchemaManager, run_generate_models
from matrx_orm_sync import close_pool as close_sync_pool
from tests.codegen_support import (  # noqa: F401 (fixture)
    GENERATED_SCHEMAS,
    VARIED_SCHEMA_SQL,
    cg_server,
    import_generated,
    new_cg_database,
    schema_signature,
)

pytestmark = pytest.mark.anyio

# The generated package holds both modes: async classes in models.py, their sync
# twins in models_sync.py; each manager module has XManager and XManagerSync.
MODELS_MODULE = "models" if MODE == "async" else "models_sync"
MANAGER_SUFFIX = "" if MODE == "async" else "Sync"


@pytest.fixture
async def cg(cg_server, tmp_path):  # noqa: F811
    database = new_cg_database(cg_server, tmp_path, MODE)
    try:
        yield database
    finally:
        for name in [database.name, *database.aliases]:
            await close_pool(name)
            close_sync_pool(name)
        database.cleanup()
        database.conn.close()


def _manager(managers, model: str):
    return getattr(managers, f"{model}Manager{MANAGER_SUFFIX}")()


def _relative(paths: list[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


# ---------------------------------------------------------------- database -> models -> database
async def test_generated_models_are_a_fixed_point_of_makemigrations(cg):
    cg.conn.execute(VARIED_SCHEMA_SQL)
    out, package = cg.package("fixed")
    paths = await run_generate_models(database_project=cg.name, output_dir=out, schemas=GENERATED_SCHEMAS)
    assert _relative(paths, out) == {
        "__init__.py", "models.py", "models_sync.py", "managers/__init__.py",
        *(f"managers/{t}.py" for t in (
            "cg_author", "cg_post", "cg_tag", "cg_post_tag", "cg_follow", "cg_membership", "cg_everything", "cg_event",
        )),
    }
    models = import_generated(out, package, MODELS_MODULE)
    assert models.CgEvent._meta.db_schema == "cg_other"
    assert models.Users._meta.unfetchable and models.Users._meta.db_schema == "cg_auth"
    assert models.CgPost._meta.m2m_config["cg_tags"]["junction_table"] == "cg_post_tag"
    assert models.CgMembership._meta.pk_names == ("author_id", "org")
    assert models.CgMembership._meta.fields["author_id"].on_update == "CASCADE"

    # The database already is what the models declare: nothing to migrate.
    assert await SchemaDiff(cg.name).operations() == []
    assert await makemigrations(cg.name, cg.dir / "migrations") is None
    assert not (cg.dir / "migrations").exists() or not list((cg.dir / "migrations").glob("*.py"))

    # Same database, byte-identical files.
    again, _ = cg.package("again")
    await run_generate_models(database_project=cg.name, output_dir=again, schemas=GENERATED_SCHEMAS)
    for relative in _relative(paths, out):
        assert (again / relative).read_bytes() == (out / relative).read_bytes(), relative
    # Nothing changed: a rerun rewrites nothing.
    before = {p: p.stat().st_mtime_ns for p in paths}
    await run_generate_models(database_project=cg.name, output_dir=out, schemas=GENERATED_SCHEMAS)
    assert {p: p.stat().st_mtime_ns for p in paths} == before


async def test_crud_and_relations_through_generated_models_and_managers(cg, caplog):
    cg.conn.execute(VARIED_SCHEMA_SQL)
    out, package = cg.package("crud")
    await run_generate_models(database_project=cg.name, output_dir=out, schemas=GENERATED_SCHEMAS)
    models = import_generated(out, package, MODELS_MODULE)
    managers = import_generated(out, package, "managers")
    authors = _manager(managers, "CgAuthor")
    posts = _manager(managers, "CgPost")
    tags = _manager(managers, "CgTag")

    alice = await authors.create_item(username="alice", bio="writes")
    bob = await models.CgAuthor.create(username="bob")
    assert isinstance(alice, models.CgAuthor) and alice.id is not None
    assert cg.query("SELECT id, username, created_at IS NOT NULL FROM cg_author ORDER BY id") == [
        (alice.id, "alice", True), (bob.id, "bob", True),
    ]

    post = await posts.create_item(author_id=alice.id, title="Hello", reviewer_id=bob.id)
    assert cg.query("SELECT author_id, title, views, rating, published, status FROM cg_post WHERE id = %s", [post.id]) == [
        (alice.id, "Hello", 0, decimal.Decimal("1.50"), False, "draft"),
    ]
    red = await tags.create_item(name="red")
    blue = await tags.create_item(name="blue")  # GENERATED ALWAYS identity: the database numbers it
    assert red.id is not None and blue.id == red.id + 1

    # many-to-many through the junction table, both sides
    assert await posts.add_m2m(post.id, "cg_tags", red.id, blue.id) == 2
    assert sorted(cg.query("SELECT tag_id FROM cg_post_tag WHERE post_id = %s", [post.id])) == [(red.id,), (blue.id,)]
    loaded = await posts.load_by_id(post.id)
    assert sorted(t.name for t in await loaded.fetch_m2m("cg_tags")) == ["blue", "red"]
    assert [p.title for p in await red.fetch_m2m("cg_posts")] == ["Hello"]
    # self-referential many-to-many
    await authors.add_m2m(alice.id, "followees", bob.id)
    assert cg.query("SELECT follower_id, followee_id FROM cg_follow") == [(alice.id, bob.id)]
    assert [a.username for a in await bob.fetch_m2m("followers")] == ["alice"]

    # foreign keys and inverse foreign keys
    assert (await loaded.fetch_fk("author_id")).username == "alice"
    assert (await loaded.fetch_fk("reviewer_id")).username == "bob"
    assert [p.title for p in await alice.fetch_ifk("cg_posts_by_author")] == ["Hello"]
    assert [p.title for p in await bob.fetch_ifk("cg_posts_by_reviewer")] == ["Hello"]
    item, related = await posts.get_item_with_all_related(post.id)
    assert related["foreign_keys"]["author_id"].id == alice.id
    assert sorted(t.name for t in related["many_to_many"]["cg_tags"]) == ["blue", "red"]

    # a foreign key to the out-of-scope cg_auth.users stub: never fetched, no error
    auth_id = cg.query("INSERT INTO cg_auth.users (email) VALUES ('a@x') RETURNING id")[0][0]
    alice = await authors.update_item(alice.id, auth_user_id=auth_id)
    assert cg.query("SELECT auth_user_id FROM cg_author WHERE id = %s", [alice.id]) == [(auth_id,)]
    with caplog.at_level(logging.WARNING, logger="matrx_orm"):
        assert (await alice.fetch_fks())["auth_user_id"] is None
    assert any("_unfetchable" in r.getMessage() and "cg_auth.users" in r.getMessage() for r in caplog.records)

    # composite primary key
    memberships = _manager(managers, "CgMembership")
    await memberships.create_item(author_id=alice.id, org="acme")
    member = await memberships.load_by_id((alice.id, "acme"))
    assert member.role == "member"
    assert cg.query("SELECT author_id, org, role FROM cg_membership") == [(alice.id, "acme", "member")]

    # the second schema, with an enum column and a JSONB default
    events = _manager(managers, "CgEvent")
    event = await events.create_item(author_id=alice.id, kind="sad", region="eu", day=dt.date(2024, 1, 2))
    assert cg.query("SELECT kind::text, payload, region FROM cg_other.cg_event WHERE id = %s", [event.id]) == [
        ("sad", {}, "eu"),
    ]
    assert [e.kind for e in await alice.fetch_ifk("cg_events")] == ["sad"]

    # update, delete
    await posts.update_item(post.id, title="Changed", views=3)
    assert cg.query("SELECT title, views FROM cg_post") == [("Changed", 3)]
    assert await posts.delete_item(post.id) == 1
    assert cg.query("SELECT count(*) FROM cg_post_tag") == [(0,)]  # ON DELETE CASCADE


def _server_parses_xml(cg) -> bool:
    try:
        cg.conn.execute("SELECT '<a/>'::xml")
        return True
    except psycopg.errors.FeatureNotSupported:
        return False


async def test_every_column_type_round_trips_through_generated_fields(cg):
    cg.conn.execute(VARIED_SCHEMA_SQL)
    out, package = cg.package("types")
    await run_generate_models(database_project=cg.name, output_dir=out, schemas=GENERATED_SCHEMAS)
    import_generated(out, package, MODELS_MODULE)
    managers = import_generated(out, package, "managers")
    everything = _manager(managers, "CgEverything")
    values = {
        "c_uuid": "5f0c4f4e-8a5b-4f3c-9d2e-1a2b3c4d5e6f",
        "c_varchar": "free length",
        "c_int": 7,
        "c_dec": decimal.Decimal("12.345"),
        "c_numeric": decimal.Decimal("3.14159"),
        "c_ts": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc),
        "c_ts_naive": dt.datetime(2024, 5, 6, 7, 8, 9),
        "c_time": dt.time(10, 11, 12),
        "c_bool_arr": [True, False],
        "c_uuid_arr": ["5f0c4f4e-8a5b-4f3c-9d2e-1a2b3c4d5e6f"],
        "c_jsonb_arr": [{"k": 1}],
        "c_varchar_arr": ["a", "b"],
        "c_inet": "10.0.0.1",
        "c_cidr": "10.0.0.0/8",
        "c_mac": "AA:BB:CC:DD:EE:FF",
        "c_hstore": {"a": "1", "b": None},
        "c_point": (1.5, -2.0),
        "c_money": decimal.Decimal("12.34"),
        "c_bytea": b"\x00\x01binary",
        "c_int4range": (1, 10),
        "c_daterange": (dt.date(2024, 1, 1), dt.date(2024, 2, 1)),
        "c_tsv": "'a' 'b'",
        "c_real": 1.5,
        "c_xml": "<a>1</a>",
        "c_json_plain": {"plain": [1, 2]},
        "c_mood": "sad",
        "c_char_fixed": "abc",
        "c_ts3": dt.datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=dt.timezone.utc),
        "count_": 3,
        "class_": "first",
        "Mixed_Case": "mixed",
    }
    # A server built without libxml (the embedded wheel) has the xml type but cannot parse values.
    xml_expected = "<a>1</a>" if _server_parses_xml(cg) else None
    values["c_xml"] = xml_expected
    row = await everything.create_item(**values)
    got = cg.query(
        """SELECT c_char, c_big, c_small, c_float, c_bool, c_date = CURRENT_DATE, c_json, c_text_arr, c_int_arr,
                  c_interval, c_mood::text, c_total, c_real, c_xml::text, c_json_plain::text, c_hstore -> 'a',
                  c_money::numeric, "count", "class", "Mixed Case", host(c_inet), c_mac::text
           FROM cg_everything WHERE id = %s""",
        [row.id],
    )[0]
    assert got == (
        "it's", 9000000000, -1, 0.5, True, True, {"a": 1}, [], [1, 2], dt.timedelta(days=1), "sad",
        decimal.Decimal("24.690"), 1.5, xml_expected, '{"plain": [1, 2]}', "1", decimal.Decimal("12.34"),
        3, "first", "mixed", "10.0.0.1", "aa:bb:cc:dd:ee:ff",
    )
    loaded = await everything.load_by_id(row.id, use_cache=False)
    assert loaded.c_dec == decimal.Decimal("12.345") and loaded.c_money == decimal.Decimal("12.34")
    assert loaded.c_hstore == {"a": "1", "b": None} and loaded.c_point == (1.5, -2.0)
    assert loaded.c_bytea == b"\x00\x01binary" and loaded.c_varchar_arr == ["a", "b"]
    assert loaded.c_int4range.lower == 1 and loaded.c_int4range.upper == 10
    assert loaded.c_mood == "sad" and loaded.count_ == 3 and loaded.Mixed_Case == "mixed"
    assert loaded.c_total == decimal.Decimal("24.690")  # generated column, read only
    filtered = await everything.load_items(c_mood="sad", count_=3)
    assert [r.id for r in filtered] == [row.id]
    # The generated model declares it db_generated: a full save() leaves it to PostgreSQL and
    # reads the recomputed value back; writing it is refused before SQL.
    loaded.c_dec = decimal.Decimal("1.5")
    await loaded.save()
    assert loaded.c_total == decimal.Decimal("3.000")
    assert cg.query("SELECT c_total FROM cg_everything WHERE id = %s", [row.id]) == [(decimal.Decimal("3.000"),)]
    with pytest.raises(FieldError, match=r"c_total is GENERATED ALWAYS AS \(\(c_dec \* \(2\)::numeric\)\)"):
        await everything.update_item(row.id, c_total=1)


async def test_schema_manager_include_and_exclude_from_async_code(cg):
    cg.conn.execute(VARIED_SCHEMA_SQL)
    out, package = cg.package("scoped")
    # SPEC's calls, without await: SchemaManager does its I/O through matrx_orm_sync.
    manager = SchemaManager(schema="public", database_project=cg.name, include_tables={"cg_author", "cg_post"})
    manager.initialize()
    paths = manager.schema.generate_models(output_dir=out)
    assert sorted(manager.schema.tables) == ["cg_author", "cg_post"]
    assert _relative(paths, out) == {
        "__init__.py", "models.py", "models_sync.py", "managers/__init__.py", "managers/cg_author.py",
        "managers/cg_post.py",
    }
    models = import_generated(out, package, MODELS_MODULE)
    assert models.__all__ == ["CgAuthor", "CgPost", "Users"]
    assert await SchemaDiff(cg.name, table_filter=manager.table_filter).operations() == []

    out2, package2 = cg.package("excluded")
    other = cg.alias("excluded")
    manager = SchemaManager(schema="public", database_project=other, exclude_tables={"cg_everything", "cg_tag"})
    manager.initialize()
    manager.schema.generate_models(output_dir=out2)
    models2 = import_generated(out2, package2, MODELS_MODULE)
    assert "CgEverything" not in models2.__all__
    # cg_post_tag still references cg_tag, which is now a reference-only stub
    assert models2.CgTag._meta.unfetchable and "CgPostTag" in models2.__all__
    assert not models2.CgPost._meta.m2m_config


async def test_regenerating_follows_schema_changes(cg):
    cg.conn.execute(VARIED_SCHEMA_SQL)
    out, package = cg.package("evolve")
    await run_generate_models(database_project=cg.name, output_dir=out, schemas=GENERATED_SCHEMAS)
    cg.conn.execute("ALTER TABLE cg_author ADD COLUMN karma integer NOT NULL DEFAULT 10")
    cg.conn.execute("DROP TABLE cg_follow")
    cg.conn.execute("CREATE TABLE cg_note (id serial PRIMARY KEY, body text)")
    paths = await run_generate_models(database_project=cg.name, output_dir=out, schemas=GENERATED_SCHEMAS)
    assert "managers/cg_note.py" in _relative(paths, out)
    assert not (out / "managers" / "cg_follow.py").exists()
    source = (out / "models.py").read_text()
    assert "karma = IntegerField(null=False, default=10)" in source and "CgFollow" not in source
    import_generated(out, package, MODELS_MODULE)
    assert await SchemaDiff(cg.name).operations() == []


# ---------------------------------------------------------------- models -> database -> models
async def test_models_to_database_to_models_describes_the_same_schema(cg):
    name = cg.name

    class RtAuthorSpec(Model):
        id = AutoField(primary_key=True)
        handle = CharField(max_length=60, unique=True, null=False)
        bio = TextField()
        karma = IntegerField(default=0, null=False)
        joined = DateTimeField(auto_now_add=True)
        _table_name = "rt_author"
        _database = name

    class RtTagSpec(Model):
        id = BigAutoField(primary_key=True)
        label = CharField(max_length=30, null=False)
        _table_name = "rt_tag"
        _database = name

    class RtPostSpec(Model):
        id = UUIDField(primary_key=True)
        author_id = ForeignKey("RtAuthorSpec", "id", null=False, index=True)
        editor_id = ForeignKey("RtAuthorSpec", "id", on_delete="SET NULL")
        title = CharField(max_length=200, null=False)
        price = DecimalField(max_digits=8, decimal_places=2, default=decimal.Decimal("9.99"))
        published = BooleanField(default=False, null=False)
        extra = JSONField(default=dict)
        tags = ManyToManyField("RtTagSpec")
        _table_name = "rt_post"
        _database = name
        _indexes = [{"fields": ["title"], "name": "rt_post_title_published", "where": "published"}]
        _unique_together = [("author_id", "title")]

    class RtMembershipSpec(Model):
        author_id = ForeignKey("RtAuthorSpec", "id", null=False)
        org = CharField(max_length=40, null=False)
        role = CharField(max_length=20, default="member", null=False)
        _table_name = "rt_membership"
        _database = name
        _primary_keys = ["author_id", "org"]

    originals = [RtAuthorSpec, RtTagSpec, RtPostSpec, RtMembershipSpec]
    migrations = cg.dir / "migrations"
    assert await makemigrations(name, migrations, models=originals) is not None
    out, package = cg.package("rebuilt")
    applied = await migrate_and_rebuild(name, migrations, output_dir=out)
    assert len(applied) == 1
    assert sorted(cg.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) == [
        ("_matrx_migrations",), ("rt_author",), ("rt_membership",), ("rt_post",), ("rt_post_rt_tag",), ("rt_tag",),
    ]
    generated = import_generated(out, package, "models")
    assert generated.__all__ == ["RtAuthor", "RtMembership", "RtPost", "RtPostRtTag", "RtTag"]

    original_schema = schema_signature(models_snapshot([m._meta for m in originals]))
    generated_schema = schema_signature(models_snapshot([getattr(generated, n)._meta for n in generated.__all__]))
    assert generated_schema == original_schema
    # ...and the generated models need no migration either
    assert await makemigrations(name, migrations, models=generated) is None
    # the declarative M2M came back as config on both sides, through the same junction table
    assert generated.RtPost._meta.m2m_config["rt_tags"]["junction_table"] == "rt_post_rt_tag"
    assert generated.RtTag._meta.m2m_config["rt_posts"]["target_model"] == "RtPost"
