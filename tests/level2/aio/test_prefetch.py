"""No N+1: select_related and prefetch_related issue a bounded number of queries, whatever the row count."""

from __future__ import annotations

import pytest

from matrx_orm import capture_queries, prefetch_related_objects
from tests.level2.relations_db import rel_db  # noqa: F401  (fixture)
from tests.models_relations_async import RelCategory, RelComment, RelPost, RelProfile, RelTag, RelUser

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("rel_db")]

N = 100


async def make_posts(db, n=N):
    """``n`` posts by 10 authors (each with a profile), every post tagged with 1-3 of 5 tags."""
    users = await RelUser.bulk_create([{"username": f"user{i}"} for i in range(10)])
    await RelProfile.bulk_create([{"user_id": u.id, "bio": f"bio of {u.username}"} for u in users])
    tags = await RelTag.bulk_create([{"name": f"tag{i}"} for i in range(5)])
    posts = await RelPost.bulk_create(
        [{"title": f"post{i:03d}", "author_id": users[i % 10].id, "views": i} for i in range(n)]
    )
    db.execute(
        """
        INSERT INTO rel_post_tag (post_id, tag_id)
        SELECT p.id, t.id FROM rel_post p JOIN rel_tag t ON t.name <= 'tag' || (p.views % 3)::text
        """
    )
    return users, tags, posts


def db_tags(db):
    rows = db.execute(
        "SELECT p.title, t.name FROM rel_post_tag j JOIN rel_post p ON p.id = j.post_id "
        "JOIN rel_tag t ON t.id = j.tag_id ORDER BY p.title, t.name"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for title, name in rows:
        out.setdefault(title, []).append(name)
    return out


def db_authors(db):
    return dict(
        db.execute("SELECT p.title, u.username FROM rel_post p LEFT JOIN rel_user u ON u.id = p.author_id").fetchall()
    )


async def test_prefetch_m2m_tags_of_100_posts_is_two_queries(db):
    await make_posts(db)
    with capture_queries() as queries:
        posts = await RelPost.prefetch_related("tags").order_by("title").all()
    assert len(posts) == N
    assert len(queries) == 2  # the posts, then every tag of every post
    expected = db_tags(db)
    assert {p.title: sorted(t.name for t in p.tags) for p in posts} == {p.title: expected.get(p.title, []) for p in posts}
    # One instance per tag row, shared by every post that has it (as an author is among its posts).
    by_name: dict = {}
    for post in posts:
        for tag in post.tags:
            assert by_name.setdefault(tag.name, tag) is tag
    assert set(by_name) == {name for names in expected.values() for name in names}


async def test_select_related_100_posts_with_authors_is_one_query(db):
    await make_posts(db)
    await RelPost.create(title="no author")
    with capture_queries() as queries:
        posts = await RelPost.select_related("author").all()
    assert len(queries) == 1 and "LEFT JOIN" in queries[0]
    assert len(posts) == N + 1
    authors = db_authors(db)
    assert {p.title: (p.author.username if p.author else None) for p in posts} == authors
    assert all(isinstance(p.author, RelUser) for p in posts if p.title != "no author")


async def test_prefetch_fk_100_posts_with_authors_is_two_queries(db):
    await make_posts(db)
    with capture_queries() as queries:
        posts = await RelPost.prefetch_related("author").all()
    assert len(queries) == 2
    assert {p.title: p.author.username for p in posts} == db_authors(db)
    # One instance per distinct author, shared by that author's posts.
    assert len({id(p.author) for p in posts}) == 10


async def test_prefetch_inverse_fk(db):
    await make_posts(db)
    await RelUser.create(username="lurker")
    with capture_queries() as queries:
        users = await RelUser.prefetch_related("posts").all()
    assert len(queries) == 2
    counts = dict(db.execute(
        "SELECT u.username, count(p.id) FROM rel_user u LEFT JOIN rel_post p ON p.author_id = u.id GROUP BY 1"
    ).fetchall())
    assert {u.username: len(u.posts) for u in users} == counts
    assert counts["lurker"] == 0 and counts["user0"] == 10


async def test_prefetch_nested_paths_one_query_per_level(db):
    await make_posts(db)
    with capture_queries() as queries:
        posts = await RelPost.prefetch_related("author__profile", "author__posts", "tags").all()
    assert len(queries) == 5  # posts, authors, profiles, authors' posts, tags
    bios = dict(db.execute("SELECT u.username, pr.bio FROM rel_user u JOIN rel_profile pr ON pr.user_id = u.id").fetchall())
    for post in posts:
        assert [p.bio for p in post.author.profile] == [bios[post.author.username]]
        assert post in post.author.posts


async def test_prefetch_reverse_m2m(db):
    await make_posts(db)
    with capture_queries() as queries:
        tags = await RelTag.prefetch_related("rel_post_set").order_by("name").all()
    assert len(queries) == 2
    counts = dict(db.execute(
        "SELECT t.name, count(j.post_id) FROM rel_tag t LEFT JOIN rel_post_tag j ON j.tag_id = t.id GROUP BY 1"
    ).fetchall())
    assert {t.name: len(t.rel_post_set) for t in tags} == counts


async def test_select_related_nested_chain(db):
    users, _tags, posts = await make_posts(db, n=20)
    await RelComment.bulk_create([{"post_id": p.id, "author_id": users[0].id, "body": p.title} for p in posts])
    with capture_queries() as queries:
        comments = await RelComment.select_related("post__author", "author").order_by("body").all()
    assert len(queries) == 1
    authors = db_authors(db)
    assert [c.post.title for c in comments] == [c.body for c in comments]
    assert all(c.post.author.username == authors[c.post.title] for c in comments)
    assert all(c.author.username == "user0" for c in comments)


async def test_select_related_with_prefetch_reuses_the_join(db):
    await make_posts(db, n=30)
    with capture_queries() as queries:
        posts = await RelPost.select_related("author").prefetch_related("author__profile").all()
    assert len(queries) == 2  # the joined posts+authors, then the profiles
    assert all(p.author.profile[0].user_id == p.author.id for p in posts)


async def test_select_related_with_relation_filter_order_and_fields(db):
    await make_posts(db, n=30)
    posts = await (
        RelPost.select_related("author")
        .filter(author__username__in=["user1", "user2"], tags__name="tag1")
        .order_by("-author__username", "title")
        .select("title", "author_id")
        .all()
    )
    expected = db.execute(
        """
        SELECT p.title, u.username FROM rel_post p JOIN rel_user u ON u.id = p.author_id
        WHERE u.username IN ('user1', 'user2')
          AND EXISTS (SELECT 1 FROM rel_post_tag j JOIN rel_tag t ON t.id = j.tag_id WHERE j.post_id = p.id AND t.name = 'tag1')
        ORDER BY u.username DESC, p.title
        """
    ).fetchall()
    assert [(p.title, p.author.username) for p in posts] == expected and expected


async def test_self_referencing_select_related(db):
    root = await RelCategory.create(name="root")
    await RelCategory.create(name="leaf", parent_id=root.id)
    cats = await RelCategory.select_related("parent").order_by("name").all()
    assert [(c.name, c.parent.name if c.parent else None) for c in cats] == [("leaf", "root"), ("root", None)]


async def test_prefetch_on_get_first_and_empty_results(db):
    await make_posts(db, n=5)
    post = await RelPost.prefetch_related("tags", "author").get(title="post001")
    assert post.author.username == "user1" and sorted(t.name for t in post.tags) == db_tags(db)["post001"]
    first = await RelPost.prefetch_related("tags").order_by("title").first()
    assert first.title == "post000" and first.is_related_loaded("tags")
    with capture_queries() as queries:
        assert await RelPost.prefetch_related("tags").filter(title="nope").all() == []
    assert len(queries) == 1


async def test_prefetch_related_objects_on_a_list(db):
    await make_posts(db, n=12)
    posts = await RelPost.all()
    with capture_queries() as queries:
        await prefetch_related_objects(posts, "tags", "rel_comment_set")
    assert len(queries) == 2
    assert all(p.is_related_loaded("tags") and p.rel_comment_set == [] for p in posts)


async def test_fetch_all_related_query_count_is_independent_of_row_count(db):
    users, _tags, _posts = await make_posts(db)
    user = await RelUser.get(id=users[0].id)
    with capture_queries() as queries:
        related = await user.fetch_all_related()
    assert len(related["inverse_foreign_keys"]["posts"]) == 10
    # One query per inverse relation (RelUser has no FK or M2M of its own).
    assert len(queries) == len(related["inverse_foreign_keys"])
