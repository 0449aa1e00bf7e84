# WARNING: generated from tests/level2/aio/test_expressions.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Expressions against PostgreSQL: F, arithmetic, Q, functions, Case/When, RawSQL, atomic updates.

Every result is checked against what the database holds (the ``q_db`` reader).
"""

from __future__ import annotations

import decimal

import pytest

from matrx_orm_sync import (
    Case,
    Cast,
    Coalesce,
    Concat,
    DoesNotExist,
    Extract,
    F,
    FieldError,
    Greatest,
    IntegerField,
    Length,
    Lower,
    Now,
    ParameterError,
    Q,
    RawSQL,
    Round,
    Substr,
    Trunc,
    Upper,
    Value,
    When,
)
from tests.level2.query_db import q_db  # noqa: F401  (fixture)
from tests.level2.query_seed import seed_articles
from tests.models_query_sync import QArticle, QAuthor

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("q_db")]


def titles(rows):
    return sorted(a.title for a in rows)


def test_q_objects_and_or_not_mixed_with_keywords(q_db):
    seed_articles(q_db)
    rows = QArticle.filter(Q(views__gte=30) | Q(title__startswith="Intro"), status="published").all()
    assert titles(rows) == ["Advanced SQL", "Cheese guide", "Intro to SQL"]
    rows = QArticle.filter(~Q(status="published")).all()
    assert titles(rows) == ["Orphan", "Python tips"]
    rows = QArticle.filter(Q(views__lt=10) & ~Q(title="Orphan")).all()
    assert titles(rows) == ["Python tips"]
    rows = QArticle.exclude(Q(views__gt=5) | Q(author_id=None)).all()
    assert titles(rows) == ["Python tips"]
    # Nested groups and an empty Q (which matches everything).
    rows = QArticle.filter(Q(Q(views=10) | Q(views=50)) & Q(), Q()).all()
    assert titles(rows) == ["Cheese guide", "Intro to SQL"]
    expected = q_db.execute("SELECT title FROM q_article WHERE views >= 30 OR title LIKE 'Intro%' ORDER BY title").fetchall()
    rows = QArticle.filter(Q(views__gte=30) | Q(title__startswith="Intro")).order_by("title").all()
    assert [(a.title,) for a in rows] == expected


def test_f_expressions_in_filters(q_db):
    seed_articles(q_db)
    q_db.execute("UPDATE q_article SET rating = 10 WHERE title = 'Python tips'")
    rows = QArticle.filter(rating__gt=F("views")).all()
    assert titles(rows) == ["Python tips"]
    rows = QArticle.filter(views__gte=F("rating") * 10).all()
    assert titles(rows) == ["Advanced SQL", "Cheese guide"]
    with pytest.raises(FieldError) as info:
        QArticle.filter(views__gt=F("nope"))
    assert info.value.model == "QArticle" and "nope" in info.value.message


def test_update_with_f_is_atomic_in_the_database(q_db):
    seed_articles(q_db)
    count = QArticle.filter(status="published").update(views=F("views") + 1)
    assert count == 3
    assert q_db.execute("SELECT sum(views) FROM q_article WHERE status = 'published'").fetchone() == (93,)
    QArticle.filter(title="Cheese guide").update(views=F("views") * 2 - 10, title=Upper("title"))
    assert q_db.execute("SELECT title, views FROM q_article WHERE id = 4").fetchone() == ("CHEESE GUIDE", 92)
    # Concurrent-safe: two increments computed by the database both count.
    article = QArticle.get(title="Orphan")
    other = QArticle.get(title="Orphan")
    article.increment("views")
    other.increment("views", 5)
    assert other.views == 6
    assert q_db.execute("SELECT views FROM q_article WHERE title = 'Orphan'").fetchone() == (6,)
    other.decrement("views", 2)
    assert other.views == 4
    assert q_db.execute("SELECT views FROM q_article WHERE title = 'Orphan'").fetchone() == (4,)


def test_increment_errors_and_many_fields(q_db):
    seed_articles(q_db)
    article = QArticle.get(title="Intro to SQL")
    article.increment(views=2, rating=decimal.Decimal("0.25"))
    assert (article.views, article.rating) == (12, decimal.Decimal("4.75"))
    assert q_db.execute("SELECT views, rating FROM q_article WHERE id = %s", [article.id]).fetchone() == (
        12, decimal.Decimal("4.75"))
    with pytest.raises(ParameterError):
        article.increment("views", "1")
    with pytest.raises(FieldError):
        article.increment("nope")
    q_db.execute("DELETE FROM q_article WHERE id = %s", [article.id])
    with pytest.raises(DoesNotExist):
        article.increment("views")


def test_annotate_with_functions_and_arithmetic(q_db):
    seed_articles(q_db)
    rows = QArticle.query().annotate(
        shout=Upper("title"),
        short=Substr("title", 1, 5),
        title_len=Length("title"),
        doubled=F("views") * 2,
        label=Concat("title", Value(" ("), "status", Value(")")),
        safe_rating=Coalesce("rating", Value(decimal.Decimal("0"))),
    ).order_by("id").all()
    first = rows[0]
    assert (first.shout, first.short, first.title_len, first.doubled) == ("INTRO TO SQL", "Intro", 12, 20)
    assert first.label == "Intro to SQL (published)"
    assert [r.safe_rating for r in rows] == [
        decimal.Decimal(v) if v is not None else decimal.Decimal("0")
        for (v,) in q_db.execute("SELECT rating FROM q_article ORDER BY id").fetchall()
    ]
    # Annotations are filterable and orderable.
    rows = QArticle.query().annotate(title_len=Length("title")).filter(title_len__lt=12).order_by("-title_len").all()
    expected = q_db.execute("SELECT title FROM q_article WHERE length(title) < 12 ORDER BY length(title) DESC, id").fetchall()
    assert [r.title for r in rows] == [t for (t,) in expected]


def test_case_when(q_db):
    seed_articles(q_db)
    rows = QArticle.query().annotate(
        bucket=Case(
            When(views__gte=30, then=Value("hot")),
            When(Q(views__gte=10) | Q(status="draft"), then=Value("warm")),
            default=Value("cold"),
        )
    ).order_by("id").values_list("title", "bucket")
    assert rows == [
        ("Intro to SQL", "warm"),
        ("Advanced SQL", "hot"),
        ("Python tips", "warm"),
        ("Cheese guide", "hot"),
        ("Orphan", "warm"),
    ]
    # Case in an update: computed row by row in the database.
    QArticle.query().update(views=Case(When(status="draft", then=Value(-1)), default=F("views")))
    assert q_db.execute("SELECT title FROM q_article WHERE views = -1 ORDER BY title").fetchall() == [
        ("Orphan",), ("Python tips",)]


def test_date_functions_and_now(q_db):
    seed_articles(q_db)
    rows = QArticle.query().annotate(year=Extract("created_at", "year"), month=Trunc("created_at", "month")).order_by(
        "id").all()
    assert [r.year for r in rows] == [2023, 2024, 2024, 2024, 2022]
    assert rows[0].month.day == 1 and rows[0].month.month == 3
    before = QArticle.filter(created_at__lt=Now()).count()
    assert before == 5
    QArticle.filter(title="Orphan").update(created_at=Now())
    (fresh,) = q_db.execute("SELECT created_at > now() - interval '1 minute' FROM q_article WHERE title = 'Orphan'").fetchone()
    assert fresh is True


def test_greatest_round_cast(q_db):
    seed_articles(q_db)
    rows = QArticle.filter(rating__isnull=False).annotate(
        best=Greatest("views", Value(20)), r=Round("rating", 0), as_int=Cast("rating", IntegerField())
    ).order_by("id").values("best", "r", "as_int")
    assert rows == [
        {"best": 20, "r": decimal.Decimal("5"), "as_int": 5},
        {"best": 30, "r": decimal.Decimal("3"), "as_int": 3},
        {"best": 50, "r": decimal.Decimal("5"), "as_int": 5},
    ]


def test_raw_sql_binds_its_parameters(q_db):
    seed_articles(q_db)
    hostile = "x'); DROP TABLE q_article; --"
    rows = QArticle.query().annotate(tagged=RawSQL("%s || title", [hostile])).filter(views__gt=RawSQL("%s", [20])).all()
    assert sorted(r.tagged for r in rows) == [hostile + "Advanced SQL", hostile + "Cheese guide"]
    assert q_db.execute("SELECT count(*) FROM q_article").fetchone() == (5,)
    with pytest.raises(ParameterError):
        RawSQL("%s and %s", [1])


def test_lower_in_filter_and_order_by_expression(q_db):
    seed_articles(q_db)
    rows = QArticle.query().annotate(lt=Lower("title")).filter(lt__startswith="advanced").all()
    assert titles(rows) == ["Advanced SQL"]
    rows = QArticle.query().order_by(F("rating").desc(nulls_last=True), "id").all()
    expected = q_db.execute("SELECT title FROM q_article ORDER BY rating DESC NULLS LAST, id").fetchall()
    assert [(r.title,) for r in rows] == expected
    rows = QArticle.query().order_by(F("rating").asc(nulls_first=True), "id").all()
    expected = q_db.execute("SELECT title FROM q_article ORDER BY rating ASC NULLS FIRST, id").fetchall()
    assert [(r.title,) for r in rows] == expected
    # first()/last() respect expression ordering.
    assert (QArticle.query().order_by(Length("title"), "id").first()).title == "Orphan"
    assert (QArticle.query().order_by(Length("title"), "id").last()).title == "Cheese guide"


def test_unknown_names_fail_before_sql(q_db):
    with pytest.raises(FieldError) as info:
        QArticle.query().annotate(x=Upper("nope"))
    assert "QArticle" in info.value.message and "nope" in info.value.message
    with pytest.raises(ParameterError):
        QArticle.query().annotate(views=F("views"))  # conflicts with a field
    with pytest.raises(ParameterError):
        QArticle.query().annotate(x="views")  # a bare string is not an expression
    with pytest.raises(FieldError):
        QArticle.query().update(views=F("nope") + 1)
    assert q_db.execute("SELECT count(*) FROM q_article").fetchone() == (0,)


def test_values_with_expressions_and_paths(q_db):
    ids = seed_articles(q_db)
    rows = QArticle.filter(author_id=ids["alice"]).order_by("id").values("title", "created_at__year", upper=Upper("title"))
    assert rows == [
        {"title": "Intro to SQL", "created_at__year": 2023, "upper": "INTRO TO SQL"},
        {"title": "Advanced SQL", "created_at__year": 2024, "upper": "ADVANCED SQL"},
    ]
    flat = QArticle.query().order_by("id").values_list("data__lang", flat=True)
    assert flat == ["en", "en", "fr", None, "en"]
    assert QAuthor.query().order_by("name").values_list(initial=Substr("name", 1, 1), flat=True) == ["a", "b", "c"]
