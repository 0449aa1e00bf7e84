# WARNING: generated from tests/level2/aio/test_pg_types.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""PostgreSQL types against PostgreSQL: JSONB, arrays, ranges, full-text search, text lookups, date parts."""

from __future__ import annotations

import datetime as dt

import pytest

from matrx_orm_sync import (
    F,
    FieldError,
    ParameterError,
    Range,
    SchemaDiff,
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
    TableFilter,
    ValidationError,
    capture_queries,
)
from tests.level2.query_db import q_db  # noqa: F401  (fixture)
from tests.level2.query_seed import seed_articles
from tests.models_query_sync import QArticle, QAuthor, QBooking, QLine

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("q_db")]

UTC = dt.timezone.utc


def titles(qs):
    return sorted(qs.values_list("title", flat=True))


def test_jsonb_key_and_path_lookups(q_db):
    seed_articles(q_db)
    assert titles(QArticle.filter(data__lang="en")) == ["Advanced SQL", "Intro to SQL", "Orphan"]
    assert titles(QArticle.filter(data__owner__name="ann")) == ["Intro to SQL"]
    assert titles(QArticle.filter(data__pages__gt=20)) == ["Advanced SQL"]
    assert titles(QArticle.filter(data__owner__name__istartswith="B")) == ["Advanced SQL"]
    assert titles(QArticle.filter(data__draft=True)) == ["Python tips"]
    assert titles(QArticle.filter(data__lang__in=["fr", "de"])) == ["Python tips"]
    assert titles(QArticle.filter(data__owner__isnull=False)) == ["Advanced SQL", "Intro to SQL"]
    expected = q_db.execute("SELECT title FROM q_article WHERE data->'owner'->>'name' = 'ann'").fetchall()
    assert [(t,) for t in titles(QArticle.filter(data__owner__name="ann"))] == expected


def test_jsonb_containment_and_keys(q_db):
    seed_articles(q_db)
    assert titles(QArticle.filter(data__contains={"lang": "en", "owner": {"name": "bo"}})) == ["Advanced SQL"]
    assert titles(QArticle.filter(data__contained_by={"lang": "en", "pages": 12, "owner": {"name": "ann"}})) == [
        "Intro to SQL", "Orphan"]
    assert titles(QArticle.filter(data__has_key="owner")) == ["Advanced SQL", "Intro to SQL"]
    assert titles(QArticle.filter(data__has_keys=["lang", "draft"])) == ["Python tips"]
    assert titles(QArticle.filter(data__has_any_keys=["draft", "pages"])) == [
        "Advanced SQL", "Intro to SQL", "Python tips"]
    # A key named like a lookup is still reachable through the key path of a JSON field.
    with pytest.raises(ParameterError):
        QArticle.filter(data__has_keys="lang")  # needs a list


def test_array_lookups(q_db):
    seed_articles(q_db)
    assert titles(QArticle.filter(tags__contains=["sql"])) == ["Advanced SQL", "Intro to SQL"]
    assert titles(QArticle.filter(tags__contained_by=["sql", "db", "python"])) == [
        "Advanced SQL", "Intro to SQL", "Orphan", "Python tips"]
    assert titles(QArticle.filter(tags__overlap=["cheese", "python"])) == ["Cheese guide", "Python tips"]
    assert titles(QArticle.filter(tags__len=2)) == ["Cheese guide", "Intro to SQL"]
    assert titles(QArticle.filter(tags__len__gte=1, tags__len__lt=2)) == ["Advanced SQL", "Python tips"]
    assert titles(QArticle.filter(tags__0="sql")) == ["Advanced SQL", "Intro to SQL"]
    assert titles(QArticle.filter(tags__1="db")) == ["Intro to SQL"]
    assert titles(QArticle.filter(scores__contains=[2, 3])) == ["Intro to SQL"]
    assert titles(QArticle.filter(scores__2__gt=2)) == ["Intro to SQL"]
    assert titles(QArticle.filter(scores__len=0)) == ["Python tips"]
    # Text fields keep LIKE semantics for contains.
    assert titles(QArticle.filter(title__contains="SQL")) == ["Advanced SQL", "Intro to SQL"]
    with pytest.raises(ValidationError):
        QArticle.filter(scores__contains=["x"])  # items are validated by the item field
    with pytest.raises(ParameterError):
        QArticle.filter(title__overlap=["a"])  # overlap needs an array or a range


def test_array_values_and_update(q_db):
    seed_articles(q_db)
    QArticle.filter(title="Orphan").update(tags=["new", "tags"])
    assert q_db.execute("SELECT tags FROM q_article WHERE title = 'Orphan'").fetchone() == (["new", "tags"],)
    rows = QArticle.filter(tags__len=2).order_by("id").values_list("tags__0", flat=True)
    assert rows == ["sql", "food", "new"]


def test_range_fields_round_trip_and_lookups(q_db):
    day = dt.datetime(2024, 5, 1, tzinfo=UTC)
    morning = Range(day.replace(hour=9), day.replace(hour=12))
    QBooking.create(room="A", during=morning, seats=Range(1, 10))
    QBooking.create(room="B", during=(day.replace(hour=11), day.replace(hour=13)), seats=(5, 20, "[]"))
    QBooking.create(room="C", during=Range(day.replace(hour=14), day.replace(hour=15)))
    row = q_db.execute("SELECT during, seats FROM q_booking WHERE room = 'A'").fetchone()
    assert row[0].lower == day.replace(hour=9) and row[0].upper == day.replace(hour=12)
    assert (row[1].lower, row[1].upper, row[1].bounds) == (1, 10, "[)")
    booking = QBooking.get(room="B")
    assert isinstance(booking.during, Range) and booking.seats.upper == 21  # int4range canonical form [5,21)

    def rooms(**filters):
        return sorted(QBooking.filter(**filters).values_list("room", flat=True))

    assert rooms(during__contains=day.replace(hour=11, minute=30)) == ["A", "B"]
    assert rooms(during__overlap=Range(day.replace(hour=12, minute=30), day.replace(hour=14, minute=30))) == ["B", "C"]
    assert rooms(during__contained_by=Range(day.replace(hour=8), day.replace(hour=13, minute=30))) == ["A", "B"]
    assert rooms(during__fully_lt=Range(day.replace(hour=13), day.replace(hour=16))) == ["A", "B"]
    assert rooms(during__fully_gt=Range(day.replace(hour=8), day.replace(hour=10))) == ["B", "C"]
    assert rooms(during__adjacent_to=Range(day.replace(hour=12), day.replace(hour=14))) == ["A", "C"]
    assert rooms(seats__contains=7) == ["A", "B"]
    assert rooms(seats__contains=Range(12, 15)) == ["B"]
    assert rooms(seats__lower__gte=5) == ["B"]
    assert rooms(seats__isempty=False) == ["A", "B"]
    with pytest.raises(ValidationError):
        QBooking.create(room="D", during=(day, day.replace(hour=0) - dt.timedelta(days=1)))
    with pytest.raises(ParameterError):
        QBooking.filter(during__fully_lt=day)  # needs a range
    assert q_db.execute("SELECT count(*) FROM q_booking").fetchone() == (3,)


def test_scalar_in_a_range_and_range_lookup(q_db):
    seed_articles(q_db)
    assert titles(QArticle.filter(views__contained_by=Range(5, 30))) == ["Intro to SQL", "Python tips"]
    assert titles(QArticle.filter(views__range=(5, 30))) == ["Advanced SQL", "Intro to SQL", "Python tips"]
    assert titles(QArticle.filter(published_on__range=(dt.date(2024, 1, 1), dt.date(2024, 12, 31)))) == [
        "Advanced SQL", "Cheese guide"]
    with pytest.raises(ParameterError):
        QArticle.filter(views__range=5)


def test_full_text_search(q_db):
    seed_articles(q_db)
    assert titles(QArticle.filter(body__search="cheese")) == ["Cheese guide"]
    assert titles(QArticle.filter(body__search=SearchQuery("cheddar brie"))) == ["Cheese guide"]
    english = SearchVector("title", "body", config="english")
    found = QArticle.query().annotate(doc=english).filter(doc=SearchQuery("expressions", config="english"))
    assert titles(found) == ["Advanced SQL"]
    assert titles(QArticle.query().annotate(doc=english).filter(doc="tips")) == ["Python tips"]
    either = SearchQuery("cheese", config="english") | SearchQuery("python", config="english")
    assert titles(QArticle.query().annotate(doc=english).filter(doc=either)) == ["Cheese guide", "Python tips"]
    not_sql = SearchQuery("sql", config="english") & ~SearchQuery("window", config="english")
    assert titles(QArticle.query().annotate(doc=english).filter(doc=not_sql)) == ["Intro to SQL"]
    web = SearchQuery('"window functions" -cheese', search_type="websearch", config="english")
    assert titles(QArticle.query().annotate(doc=english).filter(doc=web)) == ["Advanced SQL"]
    ranked = QArticle.query().annotate(
        rank=SearchRank(SearchVector("title", weight="A", config="english") + SearchVector("body", weight="B", config="english"),
                        SearchQuery("sql", config="english"))
    ).filter(rank__gt=0).order_by("-rank", "id").values_list("title", flat=True)
    assert ranked == ["Intro to SQL", "Advanced SQL"] or ranked == ["Advanced SQL", "Intro to SQL"]
    assert len(ranked) == 2
    headline = QArticle.filter(title="Cheese guide").annotate(
        snippet=SearchHeadline("body", SearchQuery("brie", config="english"), config="english")
    ).values_list("snippet", flat=True)
    assert headline == ["Cheddar and <b>brie</b> are cheeses"]


def test_search_vector_column(q_db):
    seed_articles(q_db)
    QArticle.query().update(search=SearchVector("title", "body", config="english"))
    assert q_db.execute("SELECT count(*) FROM q_article WHERE search @@ to_tsquery('english', 'cheeses')").fetchone() == (1,)
    # A tsvector column is matched as is by __search (a string or a SearchQuery).
    assert titles(QArticle.filter(search__search="cheeses")) == ["Cheese guide"]
    assert titles(QArticle.filter(search__search=SearchQuery("comprehension", config="english"))) == ["Python tips"]


def test_text_lookups(q_db):
    seed_articles(q_db)
    assert titles(QArticle.filter(title__iexact="INTRO TO sql")) == ["Intro to SQL"]
    assert titles(QArticle.filter(title__istartswith="adv")) == ["Advanced SQL"]
    assert titles(QArticle.filter(title__iendswith="SQL")) == ["Advanced SQL", "Intro to SQL"]
    assert titles(QArticle.filter(title__regex=r"^[A-C]")) == ["Advanced SQL", "Cheese guide"]
    assert titles(QArticle.filter(title__iregex=r"sql$")) == ["Advanced SQL", "Intro to SQL"]
    assert titles(QArticle.filter(title__icontains="%")) == []  # wildcards are literal
    assert titles(QArticle.exclude(title__regex="SQL")) == ["Cheese guide", "Orphan", "Python tips"]
    with pytest.raises(ParameterError):
        QArticle.filter(title__regex=3)


def test_date_part_lookups(q_db):
    seed_articles(q_db)
    assert titles(QArticle.filter(created_at__year=2024)) == ["Advanced SQL", "Cheese guide", "Python tips"]
    assert titles(QArticle.filter(created_at__year__gte=2024, created_at__month__lte=2)) == [
        "Advanced SQL", "Python tips"]
    assert titles(QArticle.filter(created_at__date=dt.date(2024, 7, 1))) == ["Cheese guide"]
    assert titles(QArticle.filter(created_at__hour=18)) == ["Python tips"]
    assert titles(QArticle.filter(created_at__quarter=1, created_at__year=2023)) == ["Intro to SQL"]
    assert titles(QArticle.filter(published_on__day=20)) == ["Advanced SQL"]
    assert titles(QArticle.filter(published_on__week_day=7)) == ["Advanced SQL"]  # 2024-01-20 is a Saturday
    assert titles(QArticle.filter(created_at__year__in=[2022, 2023])) == ["Intro to SQL", "Orphan"]
    expected = q_db.execute("SELECT title FROM q_article WHERE extract(month FROM created_at) = 3").fetchall()
    assert [(t,) for t in titles(QArticle.filter(created_at__month=3))] == expected
    with pytest.raises(ParameterError):
        QArticle.filter(published_on__hour=3)  # a date has no hour
    with pytest.raises(ValidationError):
        QArticle.filter(created_at__year="soon")
    rows = QArticle.query().order_by("-created_at__year", "title").values_list("title", flat=True)
    assert rows[:3] == ["Advanced SQL", "Cheese guide", "Python tips"]


def test_unknown_transform_names_model_and_field(q_db):
    with pytest.raises(ParameterError) as info:
        QArticle.filter(title__between="a")
    assert info.value.model == "QArticle" and "between" in info.value.message
    with pytest.raises(FieldError):
        QArticle.filter(nope__year=3)
    assert F  # imported for symmetry with the other modules


def test_transforms_and_lookups_across_relations(q_db):
    ids = seed_articles(q_db)
    authors = QAuthor.filter(q_article_set__created_at__year=2023).values_list("name", flat=True)
    assert authors == ["alice"]
    authors = sorted(QAuthor.filter(q_article_set__data__lang="fr").values_list("name", flat=True))
    assert authors == ["bob"]
    authors = sorted(QAuthor.filter(q_article_set__tags__contains=["sql"]).values_list("name", flat=True))
    assert authors == ["alice"]
    assert titles(QArticle.filter(author__name__iexact="ALICE", author__country__regex="^N")) == [
        "Advanced SQL", "Intro to SQL"]
    assert ids


def test_generated_columns_are_computed_by_postgresql_and_never_written(q_db):
    line = QLine.create(sku="ABC-1", price=250, qty=4)
    assert (line.total, line.sku_key) == (1000, "abc-1")  # RETURNING brings the computed values back
    made = QLine.bulk_create([{"sku": "B", "price": 3}, QLine(sku="C", price=5, qty=2)])
    assert [(m.total, m.sku_key) for m in made] == [(3, "b"), (10, "c")]
    line.qty = 5
    line.save()  # a full save leaves total to PostgreSQL and reads the new value back
    assert line.total == 1250
    assert q_db.execute("SELECT total FROM q_line WHERE id = %s", [line.id]).fetchone() == (1250,)
    QLine.filter(sku="B").update(price=F("price") * 2)
    assert (QLine.get(sku="B")).total == 6
    upserted = QLine.upsert({"sku": "ABC-1", "price": 100}, ["sku"])
    assert (upserted.id, upserted.total) == (line.id, 500)
    # Filter and order by them like any column.
    assert QLine.filter(total__gte=10).order_by("-total").values_list("sku", flat=True) == ["ABC-1", "C"]
    assert QLine.get_or_none(sku_key="c") is not None

    writes = [
        lambda: QLine.create(sku="D", price=1, total=9),
        lambda: QLine.bulk_create([{"sku": "D", "price": 1, "total": 9}]),
        lambda: QLine.filter(id=line.id).update(total=1),
        lambda: QLine.bulk_update([line], ["total"]),
        lambda: line.save(update_fields=["total"]),
        lambda: QLine.upsert({"sku": "E", "price": 1}, ["sku"], update_fields=["total"]),
    ]
    with capture_queries() as queries:
        for write in writes:
            with pytest.raises(FieldError, match=r"QLine\.total is GENERATED ALWAYS AS \(price \* qty\)"):
                write()
    assert queries == []
    assert q_db.execute("SELECT sku, price, qty, total FROM q_line ORDER BY sku").fetchall() == [
        ("ABC-1", 100, 5, 500), ("B", 6, 1, 6), ("C", 5, 2, 10),
    ]
    # The model describes the hand-written table exactly: makemigrations has nothing to do.
    assert SchemaDiff("test_db", models=[QLine], table_filter=TableFilter(include=["q_line"])).operations() == []


def test_instances_insert_alike_through_save_and_bulk_create(q_db):
    # Both leave the identity key and the db_default column (created_at DEFAULT now()) to PostgreSQL.
    saved = QArticle(title="saved")
    saved.save()
    made = QArticle.bulk_create([QArticle(title="bulk one"), QArticle(title="bulk two", views=3)])
    rows = q_db.execute(
        "SELECT id, title, views, created_at IS NOT NULL, created_at >= now() - interval '1 minute' FROM q_article ORDER BY id"
    ).fetchall()
    assert [r[1:] for r in rows] == [("saved", 0, True, True), ("bulk one", 0, True, True), ("bulk two", 3, True, True)]
    assert [a.id for a in [saved, *made]] == [r[0] for r in rows]
    assert all(a.created_at is not None for a in [saved, *made])
