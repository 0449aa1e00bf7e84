"""Reading shapes and write conveniences against PostgreSQL.

only()/defer(), in_bulk, get_or_create, update_or_create, earliest/latest,
paginators (offset and keyset), RETURNING, bulk_create(ignore_conflicts),
optimistic locking, abstract models, choices, clean() and signals.
"""

from __future__ import annotations

import pytest

from matrx_orm import (
    ConfigurationError,
    CursorPaginator,
    DoesNotExist,
    F,
    FieldError,
    IntegrityError,
    MultipleObjectsReturned,
    Paginator,
    ParameterError,
    StaleObjectError,
    ValidationError,
    capture_queries,
    post_delete,
    post_save,
    pre_delete,
    pre_save,
    transaction,
)
from tests.level2.query_db import q_db  # noqa: F401  (fixture)
from tests.level2.query_seed import seed_articles
from tests.models_async import Document
from tests.models_query_async import QArticle, QAuthor, QEvent, QNote, QTimestamped

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("q_db")]


async def test_only_and_defer_load_fewer_columns_and_save_keeps_the_rest(q_db):
    seed_articles(q_db)
    with capture_queries() as queries:
        light = await QArticle.query().only("title").order_by("id").all()
    assert '"body"' not in queries[0] and '"title"' in queries[0]
    assert [a.title for a in light][:2] == ["Intro to SQL", "Advanced SQL"]
    assert "body" not in light[0].__dict__ and light[0].id == 1
    deferred = await QArticle.query().defer("body", "data", "search").get(title="Cheese guide")
    assert "body" not in deferred.__dict__ and deferred.views == 50
    deferred.views = 51
    await deferred.save()  # writes only what was loaded
    assert q_db.execute("SELECT views, body FROM q_article WHERE id = %s", [deferred.id]).fetchone() == (
        51, "Cheddar and brie are cheeses")
    await deferred.refresh()
    assert deferred.body == "Cheddar and brie are cheeses"


async def test_in_bulk(q_db):
    ids = seed_articles(q_db)
    authors = await QAuthor.in_bulk([ids["alice"], ids["carol"], 999])
    assert set(authors) == {ids["alice"], ids["carol"]} and authors[ids["carol"]].name == "carol"
    by_name = await QAuthor.in_bulk(["bob"], field_name="name")
    assert by_name["bob"].id == ids["bob"]
    assert len(await QAuthor.in_bulk()) == 3
    with capture_queries() as queries:
        assert await QAuthor.in_bulk([]) == {}
    assert len(queries) == 0
    with pytest.raises(ParameterError):
        await QAuthor.in_bulk(["NL"], field_name="country")  # not unique


async def test_get_or_create(q_db):
    author, created = await QAuthor.get_or_create(name="dora", defaults={"country": "DE"})
    assert created is True and author.country == "DE"
    again, created = await QAuthor.get_or_create(name="dora", defaults={"country": "FR"})
    assert created is False and again.id == author.id and again.country == "DE"
    assert q_db.execute("SELECT name, country FROM q_author").fetchall() == [("dora", "DE")]
    # Lookups with __ filter but are not copied into the new row.
    found, created = await QAuthor.filter(country="DE").get_or_create(name__startswith="do", defaults={"name": "x"})
    assert created is False and found.id == author.id
    await QAuthor.create(name="dup1", country="XX")
    await QAuthor.create(name="dup2", country="XX")
    with pytest.raises(MultipleObjectsReturned):
        await QAuthor.get_or_create(country="XX")


async def test_get_or_create_inside_a_transaction_survives_a_lost_race(q_db):
    async with transaction("test_db"):
        created_elsewhere = False
        author, created = await QAuthor.get_or_create(name="eve")
        assert created is True
        # Simulate the race: the row exists now, and the insert would violate the unique constraint.
        qs = QAuthor.filter(name="eve", country="nowhere")
        with pytest.raises(DoesNotExist):
            await qs.get()
        with pytest.raises(IntegrityError):
            await QAuthor.query().get_or_create(name="eve", country="nowhere")
        # The savepoint kept the transaction usable.
        assert await QAuthor.count() == 1
        assert not created_elsewhere
    assert q_db.execute("SELECT count(*) FROM q_author").fetchone() == (1,)


async def test_update_or_create(q_db):
    author, created = await QAuthor.update_or_create(name="fay", defaults={"country": "IT"})
    assert created is True
    author, created = await QAuthor.update_or_create(name="fay", defaults={"country": "ES"})
    assert created is False and author.country == "ES"
    assert q_db.execute("SELECT country FROM q_author WHERE name = 'fay'").fetchone() == ("ES",)
    seed_articles(q_db)
    article, created = await QArticle.update_or_create(title="Orphan", defaults={"views": F("views") + 7})
    assert created is False
    assert q_db.execute("SELECT views FROM q_article WHERE title = 'Orphan'").fetchone() == (7,)


async def test_earliest_and_latest(q_db):
    seed_articles(q_db)
    assert (await QArticle.earliest("created_at")).title == "Orphan"
    assert (await QArticle.latest("created_at")).title == "Cheese guide"
    assert (await QArticle.filter(status="draft").latest("views", "id")).title == "Python tips"
    assert (await QArticle.query().earliest("-views")).title == "Cheese guide"
    with pytest.raises(DoesNotExist):
        await QArticle.filter(views__gt=999).latest("created_at")
    with pytest.raises(ParameterError):
        await QArticle.latest()


async def test_offset_paginator(q_db):
    seed_articles(q_db)
    paginator = Paginator(QArticle.query().order_by("id"), per_page=2)
    with capture_queries() as queries:
        first = await paginator.page(1)
        last = await paginator.page(3)
    assert len(queries) == 3  # one count, then one query per page
    assert [a.title for a in first] == ["Intro to SQL", "Advanced SQL"]
    assert (first.total, first.num_pages, first.has_next, first.has_previous) == (5, 3, True, False)
    assert [a.title for a in last] == ["Orphan"] and last.has_next is False and last.previous_number == 2
    assert (last.start_index, last.end_index) == (5, 5)
    with pytest.raises(ParameterError):
        await paginator.page(4)
    with pytest.raises(ParameterError):
        await paginator.page(0)
    empty = await Paginator(QArticle.filter(views__gt=999), 10).page(1)
    assert empty.items == [] and empty.num_pages == 1


async def test_cursor_paginator_walks_every_row_once(q_db):
    seed_articles(q_db)
    for i in range(7):
        q_db.execute("INSERT INTO q_article (title, views) VALUES (%s, %s)", [f"extra {i}", 10])
    expected = [t for (t,) in q_db.execute("SELECT title FROM q_article ORDER BY views DESC, id DESC").fetchall()]
    paginator = CursorPaginator(QArticle.query(), per_page=3, ordering=("-views",))
    seen: list[str] = []
    page = await paginator.page()
    pages = 1
    while True:
        seen += [a.title for a in page]
        if not page.has_next:
            break
        page = await paginator.page(after=page.next_cursor)
        pages += 1
    assert seen == expected and pages == 4
    # Going back from the last page returns the page before it.
    back = await paginator.page(before=page.previous_cursor)
    assert [a.title for a in back] == expected[6:9]
    with pytest.raises(ParameterError):
        await paginator.page(after="not-a-cursor")
    # Ordering by a timestamp ascending, with a filter, taken from order_by().
    by_date = CursorPaginator(QArticle.filter(author_id__isnull=False).order_by("created_at"), per_page=2)
    p1 = await by_date.page()
    p2 = await by_date.page(after=p1.next_cursor)
    assert [a.title for a in p1] + [a.title for a in p2] == ["Intro to SQL", "Advanced SQL", "Python tips", "Cheese guide"]
    assert p2.has_next is False


async def test_update_and_delete_returning(q_db):
    seed_articles(q_db)
    updated = await QArticle.filter(status="draft").update_returning(views=F("views") + 100)
    assert sorted((a.title, a.views) for a in updated) == [("Orphan", 100), ("Python tips", 105)]
    deleted = await QArticle.filter(views__gte=100).delete_returning()
    assert sorted(a.title for a in deleted) == ["Orphan", "Python tips"]
    assert q_db.execute("SELECT count(*) FROM q_article").fetchone() == (3,)


async def test_bulk_create_ignore_conflicts(q_db):
    await QAuthor.create(name="gus")
    created = await QAuthor.bulk_create(
        [{"name": "gus", "country": "SE"}, {"name": "hal", "country": "NO"}, {"name": "ida"}], ignore_conflicts=True
    )
    assert sorted(a.name for a in created) == ["hal", "ida"]
    assert q_db.execute("SELECT name, country FROM q_author ORDER BY name").fetchall() == [
        ("gus", None), ("hal", "NO"), ("ida", None)]
    with pytest.raises(IntegrityError):
        await QAuthor.bulk_create([{"name": "gus"}])


async def test_optimistic_locking_with_a_version_field(q_db):
    doc = await Document.create(title="draft")
    assert doc.version == 1
    mine = await Document.get(id=doc.id, use_cache=False)
    theirs = await Document.get(id=doc.id, use_cache=False)
    theirs.title = "theirs"
    await theirs.save()
    assert theirs.version == 2
    mine.title = "mine"
    with pytest.raises(StaleObjectError) as info:
        await mine.save()
    assert info.value.model == "Document" and "stale" in info.value.message
    assert q_db.execute("SELECT title, version FROM archive.document WHERE id = %s", [doc.id]).fetchone() == ("theirs", 2)
    await mine.refresh()
    mine.title = "mine"
    await mine.save()
    assert q_db.execute("SELECT title, version FROM archive.document WHERE id = %s", [doc.id]).fetchone() == ("mine", 3)


async def test_abstract_models_inherit_fields_and_have_no_table(q_db):
    assert QTimestamped._meta.abstract
    assert list(QNote._meta.fields) == ["created", "updated", "id", "text"]
    note = await QNote.create(text="hello")
    assert note.created is not None and note.updated is not None
    row = q_db.execute("SELECT text, created IS NOT NULL, updated IS NOT NULL FROM q_note").fetchone()
    assert row == ("hello", True, True)
    with pytest.raises(ConfigurationError):
        QTimestamped(created=None)
    with pytest.raises(ConfigurationError):
        await QTimestamped.filter(created__isnull=True).all()


async def test_field_choices(q_db):
    article = await QArticle.create(title="t", status="published")
    assert article.get_display("status") == "Published"
    with pytest.raises(ValidationError) as info:
        await QArticle.create(title="u", status="archived")
    assert "QArticle.status" in info.value.message and "archived" in info.value.message
    with pytest.raises(ValidationError):
        await QArticle.filter(title="t").update(status="nope")
    assert q_db.execute("SELECT title, status FROM q_article").fetchall() == [("t", "published")]
    assert QArticle._meta.fields["status"].deconstruct()["choices"] == [("draft", "Draft"), ("published", "Published")]


async def test_clean_runs_on_save_and_create(q_db):
    with pytest.raises(ValidationError) as info:
        await QEvent.create(name="bad", starts_at=5, ends_at=1)
    assert "ends before it starts" in info.value.message
    event = await QEvent.create(name="ok", starts_at=1, ends_at=5)
    event.ends_at = 0
    with pytest.raises(ValidationError):
        await event.save()
    assert q_db.execute("SELECT name, ends_at FROM q_event").fetchall() == [("ok", 5)]
    event.ends_at = "7"
    event.full_clean()
    assert event.ends_at == 7
    event.starts_at = "x"
    with pytest.raises(ValidationError) as info:
        event.full_clean()
    assert "starts_at" in info.value.details["errors"]


async def test_signals_fire_for_instance_operations(q_db):
    calls: list[tuple[str, str, object]] = []

    def before(sender, instance, created, update_fields):
        calls.append(("pre_save", instance.text, created))
        instance.text = instance.text.strip()

    async def after(sender, instance, created, update_fields):
        calls.append(("post_save", instance.text, created))

    def deleting(sender, instance):
        calls.append(("pre_delete", instance.text, instance.id))

    def deleted(sender, instance):
        calls.append(("post_delete", instance.text, instance.id))

    pre_save.connect(before, sender=QNote)
    post_save.connect(after, sender=QNote)
    pre_delete.connect(deleting, sender=QNote)
    post_delete.connect(deleted)
    try:
        note = await QNote.create(text="  padded  ")
        assert note.text == "padded"
        assert q_db.execute("SELECT text FROM q_note").fetchone() == ("padded",)
        note.text = "edited"
        await note.save()
        await note.delete()
        await QAuthor.create(name="no-signal-for-pre-save")  # only post_delete listens to every model
    finally:
        pre_save.disconnect(before, sender=QNote)
        post_save.disconnect(after, sender=QNote)
        pre_delete.disconnect(deleting, sender=QNote)
        post_delete.disconnect(deleted)
    assert calls == [
        ("pre_save", "  padded  ", True),
        ("post_save", "padded", True),
        ("pre_save", "edited", False),
        ("post_save", "edited", False),
        ("pre_delete", "edited", 1),
        ("post_delete", "edited", 1),
    ]
    assert q_db.execute("SELECT count(*) FROM q_note").fetchone() == (0,)
    await QNote.create(text="quiet")  # disconnected: nothing recorded
    assert len(calls) == 6


async def test_bad_arguments_fail_before_sql(q_db):
    with pytest.raises(FieldError):
        QArticle.query().defer("nope")
    with pytest.raises(ParameterError):
        Paginator(QArticle.query(), per_page=0)
    with pytest.raises(ParameterError):
        CursorPaginator(QArticle.query(), per_page=2, ordering=("-views",)).page  # noqa: B018
        await CursorPaginator(QArticle.query(), per_page=2, ordering=("-views",)).page(after="a", before="b")
    with pytest.raises(FieldError):
        await QAuthor.get_or_create(nope=1)
    assert q_db.execute("SELECT count(*) FROM q_author").fetchone() == (0,)
