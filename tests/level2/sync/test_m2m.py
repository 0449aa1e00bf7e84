# WARNING: generated from tests/level2/aio/test_m2m.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Many-to-many against PostgreSQL: SPEC's "Many-to-Many" examples, with the junction rows read back."""

from __future__ import annotations

import uuid

import pytest

from matrx_orm_sync import (
    FieldError,
    IntegrityError,
    RelationNotLoaded,
    StateError,
    ValidationError,
    capture_queries,
    transaction,
)
from tests.level2.relations_db import rel_db  # noqa: F401  (fixture)
from tests.models_relations_sync import RelArticle, RelIngredient, RelPost, RelRecipe, RelTag

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("rel_db")]


def junction(db, post):
    rows = db.execute(
        "SELECT t.name FROM rel_post_tag j JOIN rel_tag t ON t.id = j.tag_id WHERE j.post_id = %s ORDER BY t.name",
        [post.id],
    ).fetchall()
    return [r[0] for r in rows]


def tags(*names):
    return [RelTag.create(name=n) for n in names]


def test_fetch_m2m_config_based(db):
    post = RelPost.create(title="p")
    py, sq, _unused = tags("python", "sql", "go")
    db.execute("INSERT INTO rel_post_tag (post_id, tag_id) VALUES (%s, %s), (%s, %s)", [post.id, py.id, post.id, sq.id])
    with capture_queries() as queries:
        fetched = post.fetch_m2m("tags")
    assert sorted(t.name for t in fetched) == ["python", "sql"] == junction(db, post)
    assert all(isinstance(t, RelTag) for t in fetched)
    assert len(queries) == 1  # junction joined to target
    assert post.tags == fetched


def test_add_m2m_is_idempotent_one_statement(db):
    post = RelPost.create(title="p")
    t1, t2 = tags("a", "b")
    with capture_queries() as queries:
        added = post.add_m2m("tags", t1.id, t2.id)
    assert added == 2 and len(queries) == 1 and "ON CONFLICT DO NOTHING" in queries[0]
    assert post.add_m2m("tags", t1.id, t2.id) == 0
    assert post.add_m2m("tags", t2, t2.id) == 0
    assert junction(db, post) == ["a", "b"]
    assert db.execute("SELECT count(*) FROM rel_post_tag").fetchone() == (2,)


def test_add_m2m_accepts_instances_keys_strings_and_lists(db):
    post = RelPost.create(title="p")
    t1, t2, t3, t4 = tags("a", "b", "c", "d")
    assert post.add_m2m("tags", t1, str(t2.id), [t3, t4.id]) == 4
    assert junction(db, post) == ["a", "b", "c", "d"]
    assert post.add_m2m("tags") == 0  # nothing to add: no statement


def test_remove_m2m(db):
    post = RelPost.create(title="p")
    t1, t2, t3 = tags("a", "b", "c")
    post.add_m2m("tags", t1, t2, t3)
    with capture_queries() as queries:
        removed = post.remove_m2m("tags", t3.id, t1)
    assert removed == 2 and len(queries) == 1
    assert junction(db, post) == ["b"]
    assert post.remove_m2m("tags", t3) == 0


def test_set_m2m_replaces_the_set(db):
    post = RelPost.create(title="p")
    t1, t2, t3, t4 = tags("a", "b", "c", "d")
    post.add_m2m("tags", t1, t3)
    post.set_m2m("tags", [t1.id, t2.id, t4.id])
    assert junction(db, post) == ["a", "b", "d"]
    post.set_m2m("tags", [])
    assert junction(db, post) == []


def test_set_m2m_is_one_transaction(db):
    post = RelPost.create(title="p")
    t1, t2 = tags("a", "b")
    post.add_m2m("tags", t1)
    missing = uuid.uuid4()  # no such tag: the insert violates the junction's foreign key
    with pytest.raises(IntegrityError):
        post.set_m2m("tags", [t2.id, missing])
    assert junction(db, post) == ["a"]  # the delete was rolled back with the failed insert


def test_set_m2m_inside_outer_transaction_rolls_back_with_it(db):
    post = RelPost.create(title="p")
    t1, t2 = tags("a", "b")
    with pytest.raises(RuntimeError):
        with transaction("test_db"):
            post.set_m2m("tags", [t1, t2])
            raise RuntimeError("abort")
    assert junction(db, post) == []


def test_clear_m2m(db):
    post = RelPost.create(title="p")
    other = RelPost.create(title="q")
    t1, t2 = tags("a", "b")
    post.add_m2m("tags", t1, t2)
    other.add_m2m("tags", t1)
    assert post.clear_m2m("tags") == 2
    assert junction(db, post) == [] and junction(db, other) == ["a"]


def test_fetch_m2ms(db):
    post = RelPost.create(title="p")
    (t1,) = tags("a")
    post.add_m2m("tags", t1)
    assert {k: [t.name for t in v] for k, v in (post.fetch_m2ms()).items()} == {"tags": ["a"]}


def test_declarative_m2m_uses_sorted_junction_name(db):
    article = RelArticle.create(title="a")
    t1, t2 = tags("x", "y")
    article.add_m2m("tags", t1, t2)
    rows = db.execute("SELECT rel_tag_id FROM rel_article_rel_tag WHERE rel_article_id = %s ORDER BY 1", [article.id])
    assert [r[0] for r in rows.fetchall()] == sorted([t1.id, t2.id])
    assert sorted(t.name for t in article.fetch_m2m("tags")) == ["x", "y"]
    # The reverse side, named by related_name="articles".
    assert [a.title for a in t1.fetch_m2m("articles")] == ["a"]


def test_declarative_m2m_custom_table_without_unique_constraint(db):
    recipe = RelRecipe.create(name="soup")
    salt = RelIngredient.create(name="salt")
    leek = RelIngredient.create(name="leek")
    recipe.add_m2m("ingredients", salt, leek)
    recipe.add_m2m("ingredients", salt.id, salt.id)
    rows = db.execute("SELECT rel_ingredient_id FROM rel_recipe_ingredients ORDER BY 1").fetchall()
    assert rows == [(salt.id,), (leek.id,)]  # still idempotent without a unique constraint
    assert [i.name for i in recipe.fetch_m2m("ingredients")] == ["salt", "leek"]
    assert [r.name for r in leek.fetch_m2m("rel_recipe_set")] == ["soup"]  # derived reverse name


def test_reverse_of_config_based_m2m(db):
    post = RelPost.create(title="p")
    (t1,) = tags("a")
    t1.add_m2m("rel_post_set", post)  # writes through the same junction, from the other side
    assert junction(db, post) == ["a"]
    assert [p.title for p in t1.fetch_m2m("rel_post_set")] == ["p"]


def test_m2m_errors_fail_before_sql(db):
    post = RelPost.create(title="p")
    with capture_queries() as queries:
        with pytest.raises(ValidationError, match="RelTag.id"):
            post.add_m2m("tags", "not-a-uuid")
        with pytest.raises(FieldError, match="not a many-to-many relation of RelPost; choices are: tags"):
            post.add_m2m("labels", uuid.uuid4())
        with pytest.raises(StateError, match="save it first"):
            RelIngredient(name="unsaved").add_m2m("rel_recipe_set", uuid.uuid4())
    assert queries == []
    assert db.execute("SELECT count(*) FROM rel_post_tag").fetchone() == (0,)


def test_writes_drop_the_cached_list(db):
    post = RelPost.create(title="p")
    (t1,) = tags("a")
    assert post.fetch_m2m("tags") == []
    post.add_m2m("tags", t1)
    with pytest.raises(RelationNotLoaded):
        _ = post.tags
    assert [t.name for t in post.fetch_m2m("tags")] == ["a"]
