"""Relations without a database: the graph, naming rules, and the SQL of relation filters/joins."""

from __future__ import annotations

import uuid

import pytest

from matrx_orm import (
    CharField,
    ConfigurationError,
    FieldError,
    ForeignKey,
    IntegerField,
    ManyToManyField,
    Model,
    ParameterError,
    Q,
    RelationNotLoaded,
    RelationshipError,
    UUIDField,
)
from matrx_orm.core.compiler import compile_count, compile_delete, compile_exists, compile_select, compile_update
from matrx_orm.core.relations import (
    FK,
    IFK,
    M2M,
    compile_m2m_add,
    compile_m2m_clear,
    compile_m2m_fetch,
    compile_m2m_keep_only,
    compile_m2m_remove,
    get_relation,
    hydrate_select_related,
    key_values,
    relations_of,
    set_related,
)
from tests.models_relations_async import (
    RelAccount,
    RelArticle,
    RelCategory,
    RelComment,
    RelMessage,
    RelPost,
    RelRecipe,
    RelTag,
    RelUser,
)

UID = uuid.UUID("6f1e7f0e-8f63-4a51-9d0c-5d7bd2b1e2a1")
POST_COLS = '"id", "title", "author_id", "views"'


def sql(qs):
    return compile_select(qs.state)


# -- models used only here (own database name, so names never collide) -----------
class L1Tag(Model):
    id = UUIDField(primary_key=True)
    label = CharField(max_length=20)

    _table_name = "tag"
    _database = "level1_relations"


class L1Post(Model):
    id = UUIDField(primary_key=True)
    tags = ManyToManyField("L1Tag")

    _table_name = "post"
    _database = "level1_relations"


class L1Recipe(Model):
    id = UUIDField(primary_key=True)
    ingredients = ManyToManyField("L1Tag", db_table="recipe_ingredients")

    _table_name = "recipe"
    _database = "level1_relations"


class L1Zebra(Model):
    # "zebra" sorts after "tag": the junction is still named from the sorted pair.
    id = UUIDField(primary_key=True)
    tags = ManyToManyField("L1Tag")

    _table_name = "zebra"
    _database = "level1_relations"


class L1Pair(Model):
    a = IntegerField()
    b = IntegerField()

    _primary_keys = ["a", "b"]
    _table_name = "pair"
    _database = "level1_relations"


class L1PairRef(Model):
    id = UUIDField(primary_key=True)
    pair_id = ForeignKey("L1Pair")
    pair_a = ForeignKey("L1Pair", "a")
    pairs = ManyToManyField("L1Pair")

    _table_name = "pair_ref"
    _database = "level1_relations"


class L1Labelled(Model):
    id = UUIDField(primary_key=True)
    tag = ForeignKey("L1Tag")

    _table_name = "labelled"
    _database = "level1_relations"


class L1Dangling(Model):
    id = UUIDField(primary_key=True)
    ghost_id = ForeignKey("L1NoSuchModel")

    _table_name = "dangling"
    _database = "level1_relations"


# -- the graph and its names ---------------------------------------------------------
def test_fk_relation_name_drops_id_suffix():
    rel = get_relation(RelPost._meta, "author")
    assert rel.kind == FK and rel.result_key == "author_id"
    assert get_relation(RelPost._meta, "author_id") is rel
    assert rel.target is RelUser._meta
    assert rel.source_field.name == "author_id" and rel.target_field.name == "id"


def test_fk_without_id_suffix_names_relation_and_field_alike():
    rel = get_relation(L1Labelled._meta, "tag")
    assert rel.kind == FK and rel.result_key == "tag"
    # The last name is the column; with more names it is the relation.
    assert compile_select(L1Labelled.filter(tag=UID).state)[0].endswith('WHERE "tag" = %s')
    text, params = compile_select(L1Labelled.filter(tag__label="x").state)
    assert 'EXISTS (SELECT 1 FROM "tag" AS "_r1" WHERE "_r1"."id" = "labelled"."tag" AND "_r1"."label" = %s)' in text


def test_declared_inverse_foreign_key():
    rel = get_relation(RelUser._meta, "posts")
    assert rel.kind == IFK and rel.declared
    assert rel.target is RelPost._meta
    assert rel.source_field.name == "id" and rel.target_field.name == "author_id"


def test_inverse_foreign_keys_are_derived_with_documented_names():
    user_rels = relations_of(RelUser._meta)
    # related_name wins; <model>_set otherwise; <model>_<relation>_set when a model has several FKs to the target.
    assert {"profile", "rel_comment_set", "rel_message_sender_set", "rel_message_recipient_set", "rel_account_set"} <= set(
        user_rels.ifks
    )
    assert not user_rels.ifks["rel_comment_set"].declared
    # The declared "posts" covers RelPost.author_id: no derived duplicate.
    assert "rel_post_set" not in user_rels.ifks
    assert relations_of(RelPost._meta).ifks["rel_comment_set"].target is RelComment._meta
    assert relations_of(RelCategory._meta).ifks["children"].target is RelCategory._meta
    sender = user_rels.ifks["rel_message_sender_set"]
    assert sender.target is RelMessage._meta and sender.target_field.name == "sender_id"


def test_reverse_many_to_many_is_derived():
    tag_rels = relations_of(RelTag._meta)
    assert tag_rels.m2ms["articles"].target is RelArticle._meta  # related_name on ManyToManyField
    reverse = tag_rels.m2ms["rel_post_set"]  # config-based _many_to_many, derived name
    assert reverse.junction == '"rel_post_tag"'
    assert (reverse.junction_source, reverse.junction_target) == ("tag_id", "post_id")


def test_config_m2m_uses_the_given_junction():
    rel = get_relation(RelPost._meta, "tags")
    assert rel.kind == M2M and rel.junction == '"rel_post_tag"'
    assert (rel.junction_source, rel.junction_target) == ("post_id", "tag_id")
    assert rel.target is RelTag._meta


def test_declarative_junction_named_from_sorted_table_names():
    rel = get_relation(L1Post._meta, "tags")
    assert rel.junction == '"post_tag"'
    assert (rel.junction_source, rel.junction_target) == ("post_id", "tag_id")
    zebra = get_relation(L1Zebra._meta, "tags")
    assert zebra.junction == '"tag_zebra"'
    assert get_relation(RelArticle._meta, "tags").junction == '"rel_article_rel_tag"'


def test_declarative_junction_db_table():
    assert get_relation(L1Recipe._meta, "ingredients").junction == '"recipe_ingredients"'
    assert get_relation(RelRecipe._meta, "ingredients").junction == '"rel_recipe_ingredients"'


def test_missing_target_model_is_a_configuration_error_naming_it():
    with pytest.raises(ConfigurationError, match="L1NoSuchModel"):
        _ = get_relation(L1Dangling._meta, "ghost").target
    with pytest.raises(ConfigurationError, match="L1NoSuchModel"):
        L1Dangling.filter(ghost__id=UID)


def test_composite_key_targets():
    # An FK to a composite key needs to_field=; naming one column works.
    with pytest.raises(ConfigurationError, match="single-column primary key"):
        _ = get_relation(L1PairRef._meta, "pair").target_field
    assert get_relation(L1PairRef._meta, "pair_a").target_field.name == "a"
    with pytest.raises(ConfigurationError, match="composite"):
        _ = get_relation(L1PairRef._meta, "pairs").target_field


def test_unknown_relation_names_model_and_choices():
    with pytest.raises(FieldError, match="choices are: author_id, tags, rel_comment_set"):
        get_relation(RelPost._meta, "writer")


# -- filters across relations -------------------------------------------------------
def test_filter_through_fk_is_exists_subquery():
    assert sql(RelPost.filter(author__username="alice")) == (
        f'SELECT {POST_COLS} FROM "rel_post" WHERE EXISTS (SELECT 1 FROM "rel_user" AS "_r1" '
        'WHERE "_r1"."id" = "rel_post"."author_id" AND "_r1"."username" = %s)',
        ["alice"],
    )


def test_filter_on_fk_target_key_reads_local_column():
    assert sql(RelPost.filter(author__id=UID)) == (
        f'SELECT {POST_COLS} FROM "rel_post" WHERE "rel_post"."author_id" = %s',
        [UID],
    )


def test_filter_by_relation_name_uses_fk_column_and_accepts_instances():
    user = RelUser(id=UID, username="u")
    assert sql(RelPost.filter(author=user)) == (f'SELECT {POST_COLS} FROM "rel_post" WHERE "author_id" = %s', [UID])
    assert sql(RelPost.filter(author=None)) == (f'SELECT {POST_COLS} FROM "rel_post" WHERE "author_id" IS NULL', [])
    assert sql(RelPost.filter(author__in=[user]))[1] == [[UID]]


def test_filter_through_m2m_joins_junction_and_target():
    assert sql(RelPost.filter(tags__name="python")) == (
        f'SELECT {POST_COLS} FROM "rel_post" WHERE EXISTS (SELECT 1 FROM "rel_post_tag" AS "_j1" '
        'JOIN "rel_tag" AS "_r1" ON "_r1"."id" = "_j1"."tag_id" '
        'WHERE "_j1"."post_id" = "rel_post"."id" AND "_r1"."name" = %s)',
        ["python"],
    )


def test_filter_on_m2m_key_reads_only_the_junction():
    assert sql(RelPost.filter(tags__id__in=[UID])) == (
        f'SELECT {POST_COLS} FROM "rel_post" WHERE EXISTS (SELECT 1 FROM "rel_post_tag" AS "_j1" '
        'WHERE "_j1"."post_id" = "rel_post"."id" AND "_j1"."tag_id" = ANY(%s::UUID[]))',
        [[UID]],
    )
    # Ending on the relation itself means its key.
    assert sql(RelPost.filter(tags=UID)) == sql(RelPost.filter(tags__id=UID))


def test_isnull_on_multi_valued_relation_means_has_none():
    text, params = sql(RelPost.filter(tags__isnull=True))
    assert text.endswith('WHERE NOT EXISTS (SELECT 1 FROM "rel_post_tag" AS "_j1" WHERE "_j1"."post_id" = "rel_post"."id")')
    assert params == []
    text, _ = sql(RelUser.filter(posts__isnull=False))
    assert text.endswith('WHERE EXISTS (SELECT 1 FROM "rel_post" AS "_r1" WHERE "_r1"."author_id" = "rel_user"."id")')


def test_filter_through_inverse_fk_declared_and_derived():
    text, params = sql(RelUser.filter(posts__title__startswith="Hello"))
    assert 'EXISTS (SELECT 1 FROM "rel_post" AS "_r1" WHERE "_r1"."author_id" = "rel_user"."id" AND "_r1"."title" LIKE %s)' in text
    assert params == ["Hello%"]
    text, _ = sql(RelPost.filter(rel_comment_set__body="hi"))
    assert 'FROM "rel_comment" AS "_r1" WHERE "_r1"."post_id" = "rel_post"."id" AND "_r1"."body" = %s' in text


def test_filter_through_several_hops():
    text, params = sql(RelComment.filter(post__author__profile__bio__icontains="chess"))
    assert text == (
        'SELECT "id", "post_id", "author_id", "body" FROM "rel_comment" WHERE EXISTS (SELECT 1 FROM "rel_post" AS "_r1" '
        'JOIN "rel_user" AS "_r2" ON "_r2"."id" = "_r1"."author_id" '
        'JOIN "rel_profile" AS "_r3" ON "_r3"."user_id" = "_r2"."id" '
        'WHERE "_r1"."id" = "rel_comment"."post_id" AND "_r3"."bio" ILIKE %s)'
    )
    assert params == ["%chess%"]
    text, _ = sql(RelUser.filter(posts__tags__name="py"))
    assert (
        'FROM "rel_post" AS "_r1" JOIN "rel_post_tag" AS "_j2" ON "_j2"."post_id" = "_r1"."id" '
        'JOIN "rel_tag" AS "_r2" ON "_r2"."id" = "_j2"."tag_id" '
        'WHERE "_r1"."author_id" = "rel_user"."id" AND "_r2"."name" = %s'
    ) in text


def test_filter_through_reverse_m2m_and_self_reference():
    text, _ = sql(RelTag.filter(articles__title="a"))
    assert 'FROM "rel_article_rel_tag" AS "_j1" JOIN "rel_article" AS "_r1" ON "_r1"."id" = "_j1"."rel_article_id"' in text
    assert 'WHERE "_j1"."rel_tag_id" = "rel_tag"."id"' in text
    text, _ = sql(RelCategory.filter(children__name="leaf"))
    assert 'FROM "rel_category" AS "_r1" WHERE "_r1"."parent_id" = "rel_category"."id"' in text


def test_exclude_and_q_across_relations():
    text, params = sql(RelPost.exclude(author__username="bob"))
    assert 'WHERE NOT (EXISTS (SELECT 1 FROM "rel_user" AS "_r1"' in text and params == ["bob"]
    text, params = sql(RelPost.filter(Q(author__username="a") | Q(tags__name="b"), views__gt=3))
    assert text.count("EXISTS") == 2 and " OR " in text
    assert params == ["a", "b", 3]


def test_relation_filters_in_count_exists_update_delete():
    qs = RelPost.filter(author__username="alice")
    text, params = compile_count(qs.state)
    assert text.startswith('SELECT COUNT(*) FROM "rel_post" WHERE EXISTS (') and params == ["alice"]
    text, _ = compile_exists(qs.state)
    assert '"_r1"."id" = "rel_post"."author_id"' in text
    text, params = compile_update(qs.state, {"views": 1})
    assert text.startswith('UPDATE "rel_post" SET "views" = %s WHERE EXISTS (') and params == [1, "alice"]
    text, params = compile_delete(qs.state)
    assert text.startswith('DELETE FROM "rel_post" WHERE EXISTS (') and params == ["alice"]


def test_unknown_names_in_relation_paths():
    with pytest.raises(FieldError, match="RelUser has no field or relation 'nickname'"):
        RelPost.filter(author__nickname="x")
    with pytest.raises(ParameterError, match="unknown lookup 'foo'"):
        RelPost.filter(author__username__foo="x")
    with pytest.raises(ParameterError, match="unknown lookup"):
        RelPost.filter(author_id__username="x")  # traversal uses the relation name, not the column


def test_relation_filter_values_are_validated_before_sql():
    from matrx_orm import ValidationError

    with pytest.raises(ValidationError, match="RelUser.id"):
        RelPost.filter(author__id="not-a-uuid")


def test_relation_sql_is_cached_per_shape():
    first = sql(RelPost.filter(author__username="a"))
    second = sql(RelPost.filter(author__username="b"))
    assert first[0] is second[0]


# -- ordering ---------------------------------------------------------------------------
def test_order_by_across_relations():
    text, _ = sql(RelPost.order_by("author__username", "-tags__name"))
    assert text.endswith(
        'ORDER BY (SELECT "_r1"."username" FROM "rel_user" AS "_r1" WHERE "_r1"."id" = "rel_post"."author_id"), '
        '(SELECT MIN("_r1"."name") FROM "rel_post_tag" AS "_j1" JOIN "rel_tag" AS "_r1" ON "_r1"."id" = "_j1"."tag_id" '
        'WHERE "_j1"."post_id" = "rel_post"."id") DESC'
    )
    text, _ = sql(RelPost.order_by("-author__id"))
    assert text.endswith('ORDER BY "rel_post"."author_id" DESC')


# -- select_related ----------------------------------------------------------------------
def test_select_related_left_joins_and_selects_columns():
    text, params = sql(RelPost.select_related("author").filter(views__gt=1))
    assert text == (
        'SELECT "rel_post"."id", "rel_post"."title", "rel_post"."author_id", "rel_post"."views", '
        '"_s0"."id", "_s0"."username", "_s0"."email" FROM "rel_post" '
        'LEFT JOIN "rel_user" AS "_s0" ON "_s0"."id" = "rel_post"."author_id" WHERE "rel_post"."views" > %s'
    )
    assert params == [1]


def test_select_related_nested_and_by_field_name():
    qs = RelComment.select_related("post_id__author")
    assert qs.state.select_related == ("post", "post__author")
    text, _ = sql(qs)
    assert (
        'LEFT JOIN "rel_post" AS "_s0" ON "_s0"."id" = "rel_comment"."post_id" '
        'LEFT JOIN "rel_user" AS "_s1" ON "_s1"."id" = "_s0"."author_id"'
    ) in text


def test_select_related_without_names_joins_fetchable_fks():
    assert RelAccount.select_related().state.select_related == ("user",)  # owner -> auth.rel_users is _unfetchable
    assert RelComment.select_related().state.select_related == ("post", "author")


def test_select_related_self_reference_and_relation_filter():
    text, _ = sql(RelCategory.select_related("parent").filter(parent__name="root"))
    assert 'LEFT JOIN "rel_category" AS "_s0" ON "_s0"."id" = "rel_category"."parent_id"' in text
    assert 'EXISTS (SELECT 1 FROM "rel_category" AS "_r1" WHERE "_r1"."id" = "rel_category"."parent_id"' in text


def test_select_related_rejects_non_fk_and_unfetchable():
    with pytest.raises(ParameterError, match="prefetch_related"):
        RelPost.select_related("tags")
    with pytest.raises(ParameterError, match="prefetch_related"):
        RelUser.select_related("posts")
    with pytest.raises(RelationshipError, match="_unfetchable"):
        RelAccount.select_related("owner")
    with pytest.raises(FieldError, match="choices are: author_id"):
        RelPost.select_related("writer")


def test_prefetch_related_validates_paths():
    qs = RelPost.prefetch_related("tags", "author__profile", "author_id")
    assert qs.state.prefetch_related == ("tags", "author__profile", "author")
    with pytest.raises(FieldError, match="RelUser"):
        RelPost.prefetch_related("author__nothing")
    with pytest.raises(RelationshipError, match="_unfetchable"):
        RelAccount.prefetch_related("owner")


def test_hydrate_select_related_splits_rows_and_caches_related():
    uid, pid, pid2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    qs = RelPost.select_related("author")
    rows = [
        (pid, "t1", uid, 0, uid, "alice", None),
        (pid2, "t2", None, 0, None, None, None),
    ]
    posts = hydrate_select_related(RelPost, qs.state, rows)
    assert [p.title for p in posts] == ["t1", "t2"]
    assert isinstance(posts[0].author, RelUser) and posts[0].author.username == "alice"
    assert posts[1].author is None
    assert posts[0].to_dict() == {"id": pid, "title": "t1", "author_id": uid, "views": 0}


# -- the per-instance cache ------------------------------------------------------------
def test_unloaded_relation_raises_relation_not_loaded():
    post = RelPost(id=UID, title="t")
    with pytest.raises(RelationNotLoaded, match="select_related"):
        _ = post.author
    assert not hasattr(post, "tags")
    assert getattr(post, "author", "default") == "default"
    with pytest.raises(AttributeError):
        _ = post.no_such_attribute


def test_cached_fk_is_dropped_when_the_fk_changes():
    user = RelUser(id=UID, username="u")
    post = RelPost(id=uuid.uuid4(), title="t", author_id=UID)
    set_related(post, get_relation(RelPost._meta, "author"), user)
    assert post.author is user and post.get_related("author_id") is user and post.is_related_loaded("author")
    post.author_id = uuid.uuid4()
    assert not post.is_related_loaded("author")


def test_m2m_field_attribute_reads_the_cache():
    article = RelArticle(id=UID, title="a")
    assert RelArticle.tags.__class__ is ManyToManyField  # the class attribute stays the field
    set_related(article, get_relation(RelArticle._meta, "tags"), [])
    assert article.tags == []


# -- many-to-many statements --------------------------------------------------------------
def test_m2m_statements():
    rel = get_relation(RelPost._meta, "tags")
    assert compile_m2m_fetch(rel) == (
        'SELECT "_j"."post_id", "_t"."id", "_t"."name" FROM "rel_post_tag" AS "_j" '
        'JOIN "rel_tag" AS "_t" ON "_t"."id" = "_j"."tag_id" WHERE "_j"."post_id" = ANY(%s::UUID[]) '
        'ORDER BY "_j"."post_id", "_t"."id"'
    )
    assert compile_m2m_add(rel) == (
        'INSERT INTO "rel_post_tag" ("post_id", "tag_id") SELECT DISTINCT %s::UUID, "_v" '
        'FROM unnest(%s::UUID[]) AS "_v" WHERE NOT EXISTS (SELECT 1 FROM "rel_post_tag" AS "_e" '
        'WHERE "_e"."post_id" = %s AND "_e"."tag_id" = "_v") ON CONFLICT DO NOTHING'
    )
    assert compile_m2m_remove(rel) == 'DELETE FROM "rel_post_tag" WHERE "post_id" = %s AND "tag_id" = ANY(%s::UUID[])'
    assert compile_m2m_keep_only(rel) == 'DELETE FROM "rel_post_tag" WHERE "post_id" = %s AND "tag_id" <> ALL(%s::UUID[])'
    assert compile_m2m_clear(rel) == 'DELETE FROM "rel_post_tag" WHERE "post_id" = %s'


def test_m2m_key_values_accept_instances_keys_and_lists():
    rel = get_relation(RelPost._meta, "tags")
    a, b = uuid.uuid4(), uuid.uuid4()
    tag = RelTag(id=a, name="x")
    assert key_values(rel, [tag, str(b), [a, b]], "add_m2m()") == [a, b]
    with pytest.raises(ParameterError, match="RelTag instances or keys"):
        key_values(rel, [RelUser(id=a, username="u")], "add_m2m()")
    from matrx_orm import ValidationError

    with pytest.raises(ValidationError, match="RelTag.id"):
        key_values(rel, ["nope"], "add_m2m()")


# -- relation paths inside expressions ------------------------------------------------------
def test_f_across_single_valued_relation_is_a_scalar_subquery():
    from matrx_orm import F

    text, _ = sql(RelPost.annotate(author_name=F("author__username")))
    assert '(SELECT "_r1"."username" FROM "rel_user" AS "_r1" WHERE "_r1"."id" = "rel_post"."author_id") AS "author_name"' in text
    text, _ = sql(RelComment.filter(body=F("post__title")))
    assert text.endswith(
        'WHERE "body" = (SELECT "_r1"."title" FROM "rel_post" AS "_r1" WHERE "_r1"."id" = "rel_comment"."post_id")'
    )


def test_f_across_multi_valued_relation_is_refused():
    from matrx_orm import F

    with pytest.raises(ParameterError, match="crosses the multi-valued relation RelPost.tags"):
        sql(RelPost.annotate(tag=F("tags__name")))
    # (Aggregates across it are subqueries: tests/level1/test_related_aggregates_sql.py.)
    # Ordering by it stays allowed (smallest related value), with annotations too.
    text, _ = sql(RelPost.annotate(v=F("views")).order_by("tags__name"))
    assert text.endswith(
        'ORDER BY (SELECT MIN("_r1"."name") FROM "rel_post_tag" AS "_j1" JOIN "rel_tag" AS "_r1" '
        'ON "_r1"."id" = "_j1"."tag_id" WHERE "_j1"."post_id" = "rel_post"."id")'
    )


def test_loaded_keys_condition_compiles_like_a_filter_in():
    # Relation loaders bind the keys of loaded rows without validating each again; same SQL.
    import uuid

    from matrx_orm.core.compiler import compile_select
    from matrx_orm.core.query_state import QueryState
    from matrx_orm.core.relations import get_relation, loaded_keys_condition
    from tests.models_relations_async import RelPost, RelUser

    rel = get_relation(RelPost._meta, "author")
    keys = [uuid.uuid4(), uuid.uuid4()]
    trusted = compile_select(QueryState(RelUser._meta).add_where(loaded_keys_condition(rel.target_field, keys)))
    assert trusted == RelUser.filter(id__in=keys).sql()
