"""Many-to-many against PostgreSQL: SPEC's "Many-to-Many" examples, with the junction rows read back."""

from __future__ import annotations

import uuid

import pytest

from matrx_orm import (
    FieldError,
    IntegrityError,
    RelationNotLoaded,
    StateError,
    ValidationError,
    capture_queries,
    transaction,
)
from tests.level2.relations_db import rel_db  # noqa: F401  (fixture)
from tests.models_relations_async import RelArticle, RelIngredient, RelPost, RelRecipe, RelTag

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("rel_db")]


def junction(db, post):
    rows = db.execute(
        "SELECT t.name FROM rel_post_tag j JOIN rel_tag t ON t.id = j.tag_id WHERE j.post_id = %s ORDER BY t.name",
        [post.id],
    ).fetchall()
    return [r[0] for r in rows]


async def tags(*names):
    return [await RelTag.create(name=n) for n in names]


async def test_fetch_m2m_config_based(db):
    post = await RelPost.create(title="p")
    py, sq, _unused = await tags("python", "sql", "go")
    db.execute("INSERT INTO rel_post_tag (post_id, tag_id) VALUES (%s, %s), (%s, %s)", [post.id, py.id, post.id, sq.id])
    with capture_queries() as queries:
        fetched = await post.fetch_m2m("tags")
    assert sorted(t.name for t in fetched) == ["python", "sql"] == junction(db, post)
    assert all(isinstance(t, RelTag) for t in fetched)
    assert len(queries) == 1  # junction joined to target
    assert post.tags == fetched


async def test_add_m2m_is_idempotent_one_statement(db):
    post = await RelPost.create(title="p")
    t1, t2 = await tags("a", "b")
    with capture_queries() as queries:
        added = await post.add_m2m("tags", t1.id, t2.id)
    assert added == 2 and len(queries) == 1 and "ON CONFLICT DO NOTHING" in queries[0]
    assert await post.add_m2m("tags", t1.id, t2.id) == 0
    assert await post.add_m2m("tags", t2, t2.id) == 0
    assert junction(db, post) == ["a", "b"]
    assert db.execute("SELECT count(*) FROM rel_post_tag").fetchone() == (2,)


async def test_add_m2m_accepts_instances_keys_strings_and_lists(db):
    post = await RelPost.create(title="p")
    t1, t2, t3, t4 = await tags("a", "b", "c", "d")
    assert await post.add_m2m("tags", t1, str(t2.id), [t3, t4.id]) == 4
    assert junction(db, post) == ["a", "b", "c", "d"]
    assert await post.add_m2m("tags") == 0  # nothing to add: no statement


async def test_remove_m2m(db):
    post = await RelPost.create(title="p")
    t1, t2, t3 = await tags("a", "b", "c")
    await post.add_m2m("tags", t1, t2, t3)
    with capture_queries() as queries:
        removed = await post.remove_m2m("tags", t3.id, t1)
    assert removed == 2 and len(queries) == 1
    assert junction(db, post) == ["b"]
    assert await post.remove_m2m("tags", t3) == 0


async def test_set_m2m_replaces_the_set(db):
    post = await RelPost.create(title="p")
    t1, t2, t3, t4 = await tags("a", "b", "c", "d")
    await post.add_m2m("tags", t1, t3)
    await post.set_m2m("tags", [t1.id, t2.id, t4.id])
    assert junction(db, post) == ["a", "b", "d"]
    await post.set_m2m("tags", [])
    assert junction(db, post) == []


async def test_set_m2m_is_one_transaction(db):
    post = await RelPost.create(title="p")
    t1, t2 = await tags("a", "b")
    await post.add_m2m("tags", t1)
    missing = uuid.uuid4()  # no such tag: the insert violates the junction's foreign key
    with pytest.raises(IntegrityError):
        await post.set_m2m("tags", [t2.id, missing])
    assert junction(db, post) == ["a"]  # the delete was rolled back with the failed insert


async def test_set_m2m_inside_outer_transaction_rolls_back_with_it(db):
    post = await RelPost.create(title="p")
    t1, t2 = await tags("a", "b")
    with pytest.raises(RuntimeError):
        async with transaction("test_db"):
            await post.set_m2m("tags", [t1, t2])
            raise RuntimeError("abort")
    assert junction(db, post) == []


async def test_clear_m2m(db):
    post = await RelPost.create(title="p")
    other = await RelPost.create(title="q")
    t1, t2 = await tags("a", "b")
    await post.add_m2m("tags", t1, t2)
    await other.add_m2m("tags", t1)
    assert await post.clear_m2m("tags") == 2
    assert junction(db, post) == [] and junction(db, other) == ["a"]


async def test_fetch_m2ms(db):
    post = await RelPost.create(title="p")
    (t1,) = await tags("a")
    await post.add_m2m("tags", t1)
    assert {k: [t.name for t in v] for k, v in (await post.fetch_m2ms()).items()} == {"tags": ["a"]}


async def test_declarative_m2m_uses_sorted_junction_name(db):
    article = await RelArticle.create(title="a")
    t1, t2 = await tags("x", "y")
    await article.add_m2m("tags", t1, t2)
    rows = db.execute("SELECT rel_tag_id FROM rel_article_rel_tag WHERE rel_article_id = %s ORDER BY 1", [article.id])
    assert [r[0] for r in rows.fetchall()] == sorted([t1.id, t2.id])
    assert sorted(t.name for t in await article.fetch_m2m("tags")) == ["x", "y"]
    # The reverse side, named by related_name="articles".
    assert [a.title for a in await t1.fetch_m2m("articles")] == ["a"]


async def test_declarative_m2m_custom_table_without_unique_constraint(db):
    recipe = await RelRecipe.create(name="soup")
    salt = await RelIngredient.create(name="salt")
    leek = await RelIngredient.create(name="leek")
    await recipe.add_m2m("ingredients", salt, leek)
    await recipe.add_m2m("ingredients", salt.id, salt.id)
    rows = db.execute("SELECT rel_ingredient_id FROM rel_recipe_ingredients ORDER BY 1").fetchall()
    assert rows == [(salt.id,), (leek.id,)]  # still idempotent without a unique constraint
    assert [i.name for i in await recipe.fetch_m2m("ingredients")] == ["salt", "leek"]
    assert [r.name for r in await leek.fetch_m2m("rel_recipe_set")] == ["soup"]  # derived reverse name


async def test_reverse_of_config_based_m2m(db):
    post = await RelPost.create(title="p")
    (t1,) = await tags("a")
    await t1.add_m2m("rel_post_set", post)  # writes through the same junction, from the other side
    assert junction(db, post) == ["a"]
    assert [p.title for p in await t1.fetch_m2m("rel_post_set")] == ["p"]


async def test_m2m_errors_fail_before_sql(db):
    post = await RelPost.create(title="p")
    with capture_queries() as queries:
        with pytest.raises(ValidationError, match="RelTag.id"):
            await post.add_m2m("tags", "not-a-uuid")
        with pytest.raises(FieldError, match="not a many-to-many relation of RelPost; choices are: tags"):
            await post.add_m2m("labels", uuid.uuid4())
        with pytest.raises(StateError, match="save it first"):
            await RelIngredient(name="unsaved").add_m2m("rel_recipe_set", uuid.uuid4())
    assert queries == []
    assert db.execute("SELECT count(*) FROM rel_post_tag").fetchone() == (0,)


async def test_writes_drop_the_cached_list(db):
    post = await RelPost.create(title="p")
    (t1,) = await tags("a")
    assert await post.fetch_m2m("tags") == []
    await post.add_m2m("tags", t1)
    with pytest.raises(RelationNotLoaded):
        _ = post.tags
    assert [t.name for t in await post.fetch_m2m("tags")] == ["a"]
