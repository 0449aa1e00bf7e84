# WARNING: generated from tests/level2/aio/test_manager.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""BaseManager against PostgreSQL: SPEC's "BaseManager" examples and every built-in method, read back."""

from __future__ import annotations

import uuid
from uuid import uuid4

import pytest

from matrx_orm_sync import BaseManager, ConfigurationError, DoesNotExist, ParameterError, StaleObjectError, capture_queries
from tests.level2.relations_db import rel_db  # noqa: F401  (fixture)
from tests.models_sync import Document, Membership, Post, User
from tests.models_relations_sync import RelPost, RelTag, RelUser

pytestmark = pytest.mark.anyio


class PostManager(BaseManager):
    model = Post

    def get_published(self):
        return self.load_items(is_published=True)

    def publish(self, post_id):
        self.update_item(post_id, is_published=True)


class RelPostManager(BaseManager):
    model = RelPost


def author():
    return User.create(username=f"author-{uuid4().hex[:6]}", email="a@example.com")


def post_row(db, post_id):
    return db.execute("SELECT title, is_published, views FROM post WHERE id = %s", [post_id]).fetchone()


# -- SPEC's subclass ----------------------------------------------------------------------
def test_spec_subclass_business_methods(db):
    manager = PostManager()
    writer = author()
    draft = manager.create_item(id=str(uuid4()), title="Hello", author_id=writer.id)
    manager.create_item(id=str(uuid4()), title="Other", author_id=writer.id)
    assert manager.get_published() == []
    manager.publish(draft.id)
    published = manager.get_published()
    assert [p.title for p in published] == ["Hello"]
    assert post_row(db, draft.id) == ("Hello", True, 0)


def test_manager_uses_its_own_modes_class_whichever_twin_it_was_given(db):
    assert PostManager().model is Post
    assert BaseManager(Post.sync).model is Post
    assert BaseManager(Post.aio).model is Post
    with pytest.raises(ConfigurationError, match="needs a model"):
        BaseManager()


# -- basic CRUD ---------------------------------------------------------------------------
def test_load_by_id_and_load_all(db):
    manager = PostManager()
    writer = author()
    first = manager.create_item(id=str(uuid4()), title="A", author_id=writer.id)
    second = manager.create_item(id=str(uuid4()), title="B", author_id=writer.id)
    item = manager.load_by_id(first.id)
    assert item.title == "A" and isinstance(item, Post)
    assert (manager.load_by_id(str(first.id))).id == first.id
    with capture_queries() as queries:
        manager.load_by_id(first.id)  # served by the state cache
    assert queries == []
    assert {p.id for p in manager.load_all()} == {first.id, second.id}
    with pytest.raises(DoesNotExist) as info:
        manager.load_by_id(uuid4())
    assert info.value.model == "Post"
    assert manager.load_by_id_or_none(uuid4()) is None


def test_load_items_filters_and_queryset(db):
    manager = PostManager()
    writer = author()
    manager.create_item(id=str(uuid4()), title="pub", author_id=writer.id, is_published=True, views=5)
    manager.create_item(id=str(uuid4()), title="draft", author_id=writer.id, views=1)
    assert [p.title for p in manager.load_items(is_published=True)] == ["pub"]
    assert [p.title for p in manager.load_items(views__gte=1, is_published=False)] == ["draft"]
    assert [p.title for p in manager.filter(views__gt=0).order_by("-views").all()] == ["pub", "draft"]
    assert (manager.load_item(title="pub")).views == 5
    assert manager.load_item_or_none(title="nope") is None


def test_load_items_by_ids_keeps_order_skips_missing_and_fetches_only_misses(db):
    manager = PostManager()
    writer = author()
    posts = [manager.create_item(id=str(uuid4()), title=f"p{i}", author_id=writer.id) for i in range(4)]
    manager.load_by_id(posts[2].id)  # cached
    wanted = [posts[3].id, uuid4(), str(posts[0].id), posts[2].id, posts[3].id]
    with capture_queries() as queries:
        items = manager.load_items_by_ids(wanted)
    assert [p.title for p in items] == ["p3", "p0", "p2", "p3"]
    assert len(queries) == 1  # one query for every miss; posts[2] came from the cache
    with capture_queries() as queries:
        again = manager.load_items_by_ids([posts[0].id, posts[3].id])
    assert queries == [] and [p.title for p in again] == ["p0", "p3"]
    assert manager.load_items_by_ids([]) == []


def test_load_items_by_ids_composite_key(db):
    user = User.create(username="m", email="m@x")
    Membership.create(user_id=user.id, group_name="a", role="owner")
    Membership.create(user_id=user.id, group_name="b")
    manager = BaseManager(Membership)
    items = manager.load_items_by_ids([(user.id, "b"), {"user_id": user.id, "group_name": "a"}, (user.id, "zz")])
    assert [(m.group_name, m.role) for m in items] == [("b", "member"), ("a", "owner")]
    assert (manager.load_by_id((user.id, "a"))).role == "owner"
    with pytest.raises(ParameterError, match="composite key"):
        manager.load_by_id(user.id)


def test_create_update_delete_item(db):
    manager = PostManager()
    writer = author()
    item = manager.create_item(id=str(uuid4()), title="Hello", author_id=writer.id)
    assert isinstance(item.id, uuid.UUID) and post_row(db, item.id) == ("Hello", False, 0)

    manager.load_by_id(item.id)  # cached before the update
    updated = manager.update_item(item.id, title="Updated", views=3)
    assert (updated.title, updated.views) == ("Updated", 3)
    assert post_row(db, item.id) == ("Updated", False, 3)
    assert (manager.load_by_id(item.id)).title == "Updated"
    with pytest.raises(DoesNotExist):
        manager.update_item(uuid4(), title="x")

    count = manager.delete_item(item.id)
    assert count == 1
    assert post_row(db, item.id) is None
    assert manager.load_by_id_or_none(item.id) is None
    assert manager.delete_item(item.id) == 0


def test_update_item_with_a_version_field_checks_the_version(db):
    manager = BaseManager(Document)
    doc = manager.create_item(title="v1")
    updated = manager.update_item(doc.id, title="v2")
    assert (updated.title, updated.version) == ("v2", 2)
    assert db.execute("SELECT title, version FROM archive.document WHERE id = %s", [doc.id]).fetchone() == ("v2", 2)
    stale = Document.get(id=doc.id)
    manager.update_item(doc.id, title="v3")
    stale.title = "lost update"
    with pytest.raises(StaleObjectError):
        stale.save()


def test_count_exists_and_bulk_methods(db):
    manager = PostManager()
    writer = author()
    created = manager.bulk_create([
        {"id": str(uuid4()), "title": "a", "author_id": writer.id, "views": 1},
        {"id": str(uuid4()), "title": "b", "author_id": writer.id, "views": 2},
        {"id": str(uuid4()), "title": "c", "author_id": writer.id, "views": 3},
    ])
    assert manager.count() == 3
    assert manager.count(views__gte=2) == 2
    assert manager.exists(created[0].id)
    assert manager.exists(title="b")
    assert not manager.exists(uuid4())

    for post in created:
        post.views += 10
    assert manager.bulk_update(created, ["views"]) == 3
    assert [r[0] for r in db.execute("SELECT views FROM post ORDER BY views").fetchall()] == [11, 12, 13]

    assert manager.bulk_delete([created[0], created[1].id]) == 2
    assert db.execute("SELECT title FROM post").fetchall() == [("c",)]
    more = manager.create_items([{"id": str(uuid4()), "title": "d", "author_id": writer.id}])
    assert manager.delete_items(more) == 1


def test_upsert_update_where_delete_where(db):
    manager = BaseManager(User)
    alice = manager.upsert(
        data={"id": str(uuid4()), "email": "alice@example.com", "username": "alice"}, conflict_fields=["username"]
    )
    again = manager.upsert(
        data={"id": str(uuid4()), "email": "alice@new.example.com", "username": "alice"},
        conflict_fields=["username"],
        update_fields=["email"],
    )
    assert again.id == alice.id and again.email == "alice@new.example.com"
    users = manager.bulk_upsert(
        [{"username": "bob", "email": "b@x"}, {"username": "alice", "email": "a2@x"}], conflict_fields=["username"]
    )
    assert sorted(u.username for u in users) == ["alice", "bob"]
    assert db.execute('SELECT email FROM "user" WHERE username = %s', ["alice"]).fetchone() == ("a2@x",)

    result = manager.update_where({"username": "bob"}, status="archived")
    assert result["rows_affected"] == 1 and result["updated_rows"][0]["status"] == "archived"
    assert manager.delete_where(status="archived") == 1
    assert db.execute('SELECT username FROM "user"').fetchall() == [("alice",)]


# -- relationships -------------------------------------------------------------------------
def seed_relations():
    user = RelUser.create(username=f"u-{uuid4().hex[:6]}")
    post = RelPost.create(title="post", author_id=user.id)
    tags = [RelTag.create(name=f"t{i}-{uuid4().hex[:6]}") for i in range(4)]
    return user, post, tags


def linked(db, post):
    rows = db.execute("SELECT tag_id FROM rel_post_tag WHERE post_id = %s", [post.id]).fetchall()
    return {r[0] for r in rows}


def test_get_item_with_all_related(rel_db):
    user, post, tags = seed_relations()
    post.add_m2m("tags", tags[0], tags[1])
    item, related = RelPostManager().get_item_with_all_related(post.id)
    assert item.id == post.id
    assert set(related) == {"foreign_keys", "inverse_foreign_keys", "many_to_many"}
    assert related["foreign_keys"]["author_id"].id == user.id
    assert {t.id for t in related["many_to_many"]["tags"]} == {tags[0].id, tags[1].id}
    user_item, user_related = BaseManager(RelUser).get_item_with_all_related(user.id)
    assert [p.id for p in user_related["inverse_foreign_keys"]["posts"]] == [post.id]
    _item, author_obj = RelPostManager().get_item_with_fk(post.id, "author_id")
    assert author_obj.id == user.id
    _user, posts = BaseManager(RelUser).get_item_with_ifk(user.id, "posts")
    assert [p.id for p in posts] == [post.id]


def test_m2m_convenience_methods(rel_db):
    _user, post, (tag1, tag2, tag3, tag4) = seed_relations()
    manager = RelPostManager()
    assert manager.add_m2m(post.id, "tags", tag1.id, tag2.id, tag3.id) == 3
    assert linked(rel_db, post) == {tag1.id, tag2.id, tag3.id}
    assert manager.add_m2m(post.id, "tags", tag1.id) == 0  # idempotent

    item, tags = manager.get_item_with_m2m(post.id, "tags")
    assert item.id == post.id and {t.id for t in tags} == {tag1.id, tag2.id, tag3.id}

    assert manager.remove_m2m(post.id, "tags", tag3.id) == 1
    assert linked(rel_db, post) == {tag1.id, tag2.id}

    manager.set_m2m(post.id, "tags", [tag1.id, tag4.id])
    assert linked(rel_db, post) == {tag1.id, tag4.id}

    assert manager.clear_m2m(post.id, "tags") == 2
    assert linked(rel_db, post) == set()
    with pytest.raises(DoesNotExist):
        manager.add_m2m(uuid4(), "tags", tag1.id)
