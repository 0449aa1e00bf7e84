# WARNING: generated from tests/level2/aio/test_relations.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Foreign keys, inverse foreign keys, _unfetchable models and relation-spanning filters, against PostgreSQL.

SPEC's "Relationships" examples, with the relationship test models
(``tests/models_relations_async.py``); every result is checked against the
rows the database holds.
"""

from __future__ import annotations

import logging
import uuid

import pytest

from matrx_orm_sync import FieldError, RelationNotLoaded, ValidationError, capture_queries
from tests.level2.relations_db import rel_db  # noqa: F401  (fixture)
from tests.models_relations_sync import (
    AuthUser,
    RelAccount,
    RelAudit,
    RelCategory,
    RelComment,
    RelMessage,
    RelPost,
    RelProfile,
    RelTag,
    RelUser,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("rel_db")]


def make_blog():
    """alice (2 posts: python+sql tags, python tag) and bob (1 untagged post); carol has none."""
    alice = RelUser.create(username="alice", email="a@example.com")
    bob = RelUser.create(username="bob", email="b@example.com")
    carol = RelUser.create(username="carol")
    RelProfile.create(user_id=alice.id, bio="plays chess")
    py = RelTag.create(name="python")
    sqltag = RelTag.create(name="sql")
    p1 = RelPost.create(title="Hello World", author_id=alice.id, views=10)
    p2 = RelPost.create(title="Second", author_id=alice.id, views=5)
    p3 = RelPost.create(title="Bob's post", author_id=bob.id, views=1)
    p1.add_m2m("tags", py, sqltag)
    p2.add_m2m("tags", py.id)
    RelComment.create(post_id=p1.id, author_id=bob.id, body="nice")
    RelComment.create(post_id=p1.id, author_id=carol.id, body="great")
    return {"alice": alice, "bob": bob, "carol": carol, "py": py, "sql": sqltag, "p1": p1, "p2": p2, "p3": p3}


# -- foreign keys -------------------------------------------------------------------------
def test_fetch_fk_returns_related_instance(db):
    b = make_blog()
    post = RelPost.get(id=b["p1"].id)
    author = post.fetch_fk("author_id")
    assert isinstance(author, RelUser)
    row = db.execute("SELECT u.username FROM rel_post p JOIN rel_user u ON u.id = p.author_id WHERE p.id = %s",
                         [post.id]).fetchone()
    assert author.username == row[0] == "alice"
    # Cached on the instance under the relation name; the field keeps the key.
    assert post.author is author and post.author_id == author.id
    assert post.fetch_fk("author") == author


def test_fetch_fk_null_is_none_without_query(db):
    post = RelPost.create(title="orphan")
    assert db.execute("SELECT author_id FROM rel_post WHERE id = %s", [post.id]).fetchone() == (None,)
    with capture_queries() as queries:
        assert post.fetch_fk("author_id") is None
    assert queries == []
    assert post.author is None


def test_fetch_fk_unknown_name(db):
    post = RelPost.create(title="x")
    with pytest.raises(FieldError, match="'writer' is not a foreign key of RelPost; choices are: author_id"):
        post.fetch_fk("writer")
    with pytest.raises(FieldError, match="not a foreign key"):
        post.fetch_fk("tags")


def test_fetch_fks_returns_dict_by_field_name(db):
    b = make_blog()
    comment = RelComment.get(body="nice")
    results = comment.fetch_fks()
    assert set(results) == {"post_id", "author_id"}
    assert results["post_id"].title == "Hello World" and results["author_id"].username == "bob"
    assert db.execute("SELECT post_id, author_id FROM rel_comment WHERE body = 'nice'").fetchone() == (
        b["p1"].id, b["bob"].id,
    )


def test_fetch_fks_keeps_going_when_one_relation_fails(db, caplog):
    user = RelUser.create(username="dave")
    audit = RelAudit.create(user_id=user.id, ghost_id=7)
    assert db.execute("SELECT ghost_id FROM rel_audit").fetchone() == (7,)
    with caplog.at_level(logging.WARNING, logger="matrx_orm"):
        results = audit.fetch_fks()
    assert results["ghost_id"] is None  # its table does not exist
    assert results["user_id"].username == "dave"
    warnings = [r for r in caplog.records if r.name == "matrx_orm" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ghost_id" in warnings[0].getMessage() and "RelGhost" in warnings[0].getMessage()


def test_self_referencing_fk_and_its_inverse(db):
    root = RelCategory.create(name="root")
    leaf = RelCategory.create(name="leaf", parent_id=root.id)
    assert (leaf.fetch_fk("parent_id")).name == "root"
    assert [c.name for c in root.fetch_ifk("children")] == ["leaf"]
    assert db.execute("SELECT parent_id FROM rel_category WHERE name = 'leaf'").fetchone() == (root.id,)


# -- inverse foreign keys ---------------------------------------------------------------------
def test_fetch_ifk_declared(db):
    b = make_blog()
    user = RelUser.get(id=b["alice"].id)
    posts = user.fetch_ifk("posts")
    expected = db.execute("SELECT id FROM rel_post WHERE author_id = %s ORDER BY id", [user.id]).fetchall()
    assert [p.id for p in posts] == [r[0] for r in expected] and len(posts) == 2
    assert all(isinstance(p, RelPost) for p in posts)
    assert user.posts == posts


def test_fetch_ifk_derived_names(db):
    b = make_blog()
    post = RelPost.get(id=b["p1"].id)
    comments = post.fetch_ifk("rel_comment_set")
    assert sorted(c.body for c in comments) == ["great", "nice"]
    assert db.execute("SELECT count(*) FROM rel_comment WHERE post_id = %s", [post.id]).fetchone() == (2,)
    profile = (RelUser.get(username="alice")).fetch_ifk("profile")  # related_name
    assert [p.bio for p in profile] == ["plays chess"]
    message = RelMessage.create(sender_id=b["alice"].id, recipient_id=b["bob"].id, text="hi")
    assert [m.id for m in b["alice"].fetch_ifk("rel_message_sender_set")] == [message.id]
    assert b["alice"].fetch_ifk("rel_message_recipient_set") == []
    assert [m.id for m in b["bob"].fetch_ifk("rel_message_recipient_set")] == [message.id]


def test_fetch_ifks_returns_every_inverse_relation(db):
    b = make_blog()
    results = b["alice"].fetch_ifks()
    assert {"posts", "profile", "rel_comment_set", "rel_message_sender_set"} <= set(results)
    assert sorted(p.title for p in results["posts"]) == ["Hello World", "Second"]
    assert results["rel_comment_set"] == []
    assert all(isinstance(v, list) for v in results.values())


def test_fetch_ifk_unknown_name(db):
    user = RelUser.create(username="x")
    with pytest.raises(FieldError, match="not an inverse foreign key of RelUser"):
        user.fetch_ifk("postz")


# -- _unfetchable -----------------------------------------------------------------------------
def test_fetch_fks_skips_unfetchable_with_one_warning_and_no_query(db, caplog):
    owner_id = uuid.uuid4()
    db.execute("INSERT INTO auth.rel_users (id, email) VALUES (%s, 'o@example.com')", [owner_id])
    user = RelUser.create(username="erin")
    account = RelAccount.create(name="acme", owner_id=owner_id, user_id=user.id)
    with caplog.at_level(logging.WARNING, logger="matrx_orm"), capture_queries() as queries:
        results = account.fetch_fks()
    assert results == {"owner_id": None, "user_id": user}
    assert len(queries) == 1 and "rel_users" not in queries[0]
    warnings = [r for r in caplog.records if r.name == "matrx_orm"]
    assert len(warnings) == 1
    assert "owner_id" in warnings[0].getMessage() and "_unfetchable" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()


def test_fetch_all_related_skips_unfetchable(db, caplog):
    owner_id = uuid.uuid4()
    db.execute("INSERT INTO auth.rel_users (id, email) VALUES (%s, 'o@example.com')", [owner_id])
    account = RelAccount.create(name="acme", owner_id=owner_id)
    with caplog.at_level(logging.WARNING, logger="matrx_orm"), capture_queries() as queries:
        related = account.fetch_all_related()
    assert related == {
        "foreign_keys": {"owner_id": None, "user_id": None},
        "inverse_foreign_keys": {},
        "many_to_many": {},
    }
    assert queries == []  # user_id is NULL and owner is never queried
    assert len([r for r in caplog.records if r.name == "matrx_orm"]) == 1


def test_fetch_fk_on_unfetchable_returns_none_with_warning(db, caplog):
    owner_id = uuid.uuid4()
    db.execute("INSERT INTO auth.rel_users (id, email) VALUES (%s, 'o@example.com')", [owner_id])
    account = RelAccount.create(name="acme", owner_id=owner_id)
    with caplog.at_level(logging.WARNING, logger="matrx_orm"), capture_queries() as queries:
        assert account.fetch_fk("owner_id") is None
    assert queries == []
    assert len([r for r in caplog.records if r.name == "matrx_orm"]) == 1
    assert AuthUser._meta.unfetchable


# -- fetch_all_related ------------------------------------------------------------------------
def test_fetch_all_related_shape_and_bounded_queries(db):
    b = make_blog()
    post = RelPost.get(id=b["p1"].id)
    with capture_queries() as queries:
        related = post.fetch_all_related()
    assert set(related) == {"foreign_keys", "inverse_foreign_keys", "many_to_many"}
    assert related["foreign_keys"] == {"author_id": b["alice"]}
    assert set(related["inverse_foreign_keys"]) == {"rel_comment_set"}
    assert sorted(c.body for c in related["inverse_foreign_keys"]["rel_comment_set"]) == ["great", "nice"]
    tag_names = db.execute(
        "SELECT t.name FROM rel_post_tag j JOIN rel_tag t ON t.id = j.tag_id WHERE j.post_id = %s ORDER BY t.id",
        [post.id],
    ).fetchall()
    assert [t.name for t in related["many_to_many"]["tags"]] == [r[0] for r in tag_names]
    assert len(queries) == 3  # one per relation, whatever the number of related rows


# -- relation-spanning filters ------------------------------------------------------------------
def test_filter_across_fk(db):
    b = make_blog()
    posts = RelPost.filter(author__username="alice").order_by("title").all()
    assert [p.title for p in posts] == ["Hello World", "Second"]
    expected = db.execute(
        "SELECT p.title FROM rel_post p JOIN rel_user u ON u.id = p.author_id WHERE u.username = 'alice' ORDER BY 1"
    ).fetchall()
    assert [p.title for p in posts] == [r[0] for r in expected]
    assert RelPost.filter(author=b["bob"]).count() == 1
    assert [p.title for p in RelPost.exclude(author__username="alice").all()] == ["Bob's post"]


def test_filter_across_m2m_has_no_duplicates(db):
    make_blog()
    posts = RelPost.filter(tags__name__in=["python", "sql"]).order_by("title").all()
    assert [p.title for p in posts] == ["Hello World", "Second"]  # Hello World has both tags: once
    untagged = RelPost.filter(tags__isnull=True).all()
    assert [p.title for p in untagged] == ["Bob's post"]
    assert db.execute(
        "SELECT count(*) FROM rel_post p WHERE NOT EXISTS (SELECT 1 FROM rel_post_tag j WHERE j.post_id = p.id)"
    ).fetchone() == (1,)


def test_filter_across_inverse_and_several_hops(db):
    make_blog()
    users = RelUser.filter(posts__tags__name="python").all()
    assert [u.username for u in users] == ["alice"]  # two matching posts, one row
    assert [u.username for u in RelUser.filter(posts__isnull=True).order_by("username").all()] == ["carol"]
    commenters = RelUser.filter(rel_comment_set__post__author__profile__bio__icontains="CHESS").order_by("username").all()
    assert [u.username for u in commenters] == ["bob", "carol"]
    tags = RelTag.filter(rel_post_set__author__username="alice").order_by("name").all()
    assert [t.name for t in tags] == ["python", "sql"]


def test_relation_filters_in_count_update_delete(db):
    make_blog()
    assert RelPost.filter(tags__name="python").count() == 2
    assert RelPost.filter(author__username="bob").exists()
    updated = RelPost.filter(author__username="alice").update(views=100)
    assert updated == 2
    assert db.execute(
        "SELECT count(*) FROM rel_post p JOIN rel_user u ON u.id = p.author_id WHERE u.username = 'alice' AND views = 100"
    ).fetchone() == (2,)
    deleted = RelPost.filter(tags__isnull=True).delete()
    assert deleted == 1
    assert db.execute("SELECT title FROM rel_post ORDER BY title").fetchall() == [("Hello World",), ("Second",)]


def test_order_by_across_relations(db):
    make_blog()
    RelUser.create(username="aaron")
    posts = RelPost.order_by("-author__username", "title").all()
    assert [p.title for p in posts] == ["Bob's post", "Hello World", "Second"]
    expected = db.execute(
        "SELECT p.title FROM rel_post p JOIN rel_user u ON u.id = p.author_id ORDER BY u.username DESC, p.title"
    ).fetchall()
    assert [p.title for p in posts] == [r[0] for r in expected]
    # Multi-valued: ordered by the smallest related value (python < sql); untagged last.
    by_tag = RelPost.order_by("tags__name", "title").all()
    assert [p.title for p in by_tag] == ["Hello World", "Second", "Bob's post"]


def test_unloaded_relation_is_an_error_not_a_query(db):
    b = make_blog()
    post = RelPost.get(id=b["p1"].id)
    with capture_queries() as queries:
        with pytest.raises(RelationNotLoaded, match="fetch_fk"):
            _ = post.author
    assert queries == []


# -- writing through a relation name ------------------------------------------------------
def test_create_and_update_by_relation_name(db):
    alice = RelUser.create(username="alice")
    bob = RelUser.create(username="bob")
    post = RelPost.create(title="By name", author=alice)
    assert db.execute("SELECT author_id FROM rel_post WHERE id = %s", [post.id]).fetchone() == (alice.id,)
    # The instance given is remembered: no query to read it back.
    with capture_queries() as queries:
        assert post.author is alice
    assert queries == []
    post.update(author=bob)
    assert db.execute("SELECT author_id FROM rel_post WHERE id = %s", [post.id]).fetchone() == (bob.id,)
    assert post.author_id == bob.id and post.author is bob
    # A key works as well as an instance; the relation cache is then stale and not served.
    post.update(author=alice.id)
    assert db.execute("SELECT author_id FROM rel_post WHERE id = %s", [post.id]).fetchone() == (alice.id,)
    assert not post.is_related_loaded("author")


def test_bulk_create_upsert_and_get_or_create_by_relation_name(db):
    alice = RelUser.create(username="alice")
    bob = RelUser.create(username="bob")
    made = RelPost.bulk_create([{"title": "one", "author": alice}, {"title": "two", "author": bob.id}])
    assert [p.author_id for p in made] == [alice.id, bob.id]
    # upsert's default update list is the keys given: "author" counts as author_id.
    RelPost.upsert({"id": made[0].id, "title": "one", "author": bob}, ["id"])
    assert db.execute("SELECT author_id FROM rel_post WHERE id = %s", [made[0].id]).fetchone() == (bob.id,)
    post, created = RelPost.get_or_create(title="three", defaults={"author": alice})
    assert created and post.author_id == alice.id
    post, created = RelPost.update_or_create(title="three", defaults={"author": bob})
    assert not created
    assert db.execute("SELECT author_id FROM rel_post WHERE title = 'three'").fetchone() == (bob.id,)
    rows = db.execute("SELECT title, author_id FROM rel_post ORDER BY title").fetchall()
    assert rows == [("one", bob.id), ("three", bob.id), ("two", bob.id)]


def test_foreign_key_refuses_an_instance_of_another_model_before_sql(db):
    alice = RelUser.create(username="alice")
    tag = RelTag.create(name="python")
    with capture_queries() as queries:
        with pytest.raises(ValidationError, match=r"RelPost\.author_id: expected a RelUser instance or key, not a RelTag"):
            RelPost.create(title="wrong", author_id=tag)
        with pytest.raises(ValidationError, match="expected a RelUser"):
            RelPost.create(title="wrong", author=tag)
        with pytest.raises(FieldError, match="RelPost has no field 'writer'"):
            RelPost.create(title="wrong", writer=alice)
    assert queries == []
    assert db.execute("SELECT count(*) FROM rel_post").fetchone() == (0,)
