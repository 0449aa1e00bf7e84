"""Seed data shared by the advanced-querying tests (async and generated sync twins).

Inserted with raw SQL through the reader connection, so the tests exercise
the ORM only on the queries they check.
"""

from __future__ import annotations

import json

import psycopg

__all__ = ["seed_articles"]

ARTICLES = [
    # author, title, body, status, views, rating, tags, scores, data, created_at, published_on
    ("alice", "Intro to SQL", "select from where", "published", 10, "4.50", ["sql", "db"], [1, 2, 3],
     {"lang": "en", "owner": {"name": "ann"}, "pages": 12}, "2023-03-05 10:00+00", "2023-03-06"),
    ("alice", "Advanced SQL", "window functions and common table expressions", "published", 30, "3.00", ["sql"],
     [5], {"lang": "en", "owner": {"name": "bo"}, "pages": 40}, "2024-01-15 09:30+00", "2024-01-20"),
    ("bob", "Python tips", "list comprehension tricks", "draft", 5, None, ["python"], [],
     {"lang": "fr", "draft": True}, "2024-02-10 18:00+00", None),
    ("bob", "Cheese guide", "Cheddar and brie are cheeses", "published", 50, "5.00", ["food", "cheese"], None,
     None, "2024-07-01 12:00+00", "2024-07-02"),
    (None, "Orphan", None, "draft", 0, None, [], None, {"lang": "en"}, "2022-12-30 12:00+00", None),
]


def seed_articles(db: psycopg.Connection) -> dict[str, int]:
    """Insert authors alice (NL), bob (US), carol (no country) and five articles; return author ids."""
    ids = {}
    for name, country in (("alice", "NL"), ("bob", "US"), ("carol", None)):
        row = db.execute("INSERT INTO q_author (name, country) VALUES (%s, %s) RETURNING id", [name, country]).fetchone()
        assert row is not None
        ids[name] = row[0]
    for author, title, body, status, views, rating, tags, scores, data, created, published in ARTICLES:
        db.execute(
            "INSERT INTO q_article (author_id, title, body, status, views, rating, tags, scores, data, created_at, "
            "published_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)",
            [ids.get(author) if author else None, title, body, status, views, rating, tags, scores,
             None if data is None else json.dumps(data), created, published],
        )
    return ids
