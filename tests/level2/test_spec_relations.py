"""SPEC's Relationships and Many-to-Many examples run as written (async and sync), in a fresh process.

See ``tests/spec_relations_script.py``: SPEC's model names (``User``, ``Post``,
``Tag``) would collide with the suite's own models in one process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from matrx_orm.devdb import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("form", ["config", "declarative"])
def test_spec_relationship_examples(registered_db, form):
    name = f"matrx_spec_rel_{form}_{os.getpid()}"
    config = create_database(registered_db, name)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.spec_relations_script", config.conninfo(), form],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        aio, sync = result["async"], result["sync"]

        assert aio["author"] == "alice" and aio["fk_results"] == {"author_id": "alice"}
        assert aio["posts"] == ["Hello World"] and aio["ifk_results"] == {"posts": ["Hello World"]}
        assert aio["unfetchable_fks"] == {"owner_id": None}
        assert aio["unfetchable_all"] == {
            "foreign_keys": {"owner_id": None}, "inverse_foreign_keys": {}, "many_to_many": {},
        }
        # One warning line per skipped relation: fetch_fks() and fetch_all_related() each met owner_id once.
        assert len(result["warnings"]) == 2 and all("owner_id" in w and "\n" not in w for w in result["warnings"])
        assert aio["after_add"] == ["t1", "t2"]
        assert aio["after_remove"] == ["t1", "t2"]
        assert aio["after_set"] == ["t1", "t2", "t4"]
        assert aio["m2m_results"] == {"tags": ["t1", "t2", "t4"]}
        assert aio["all_related"] == {
            "keys": ["foreign_keys", "inverse_foreign_keys", "many_to_many"],
            "foreign_keys": {"author_id": "alice"},
            "inverse_foreign_keys": {},
            "many_to_many": {"tags": ["t1", "t2"]},
        }
        assert aio["after_clear"] == []
        assert aio["ingredients"] == ["salt"]
        assert sync["author"] == "bob" and sync["posts"] == ["Sync post"]
        assert sync["after_set"] == ["s2", "s3"]
        assert sync["all_related_keys"] == ["foreign_keys", "inverse_foreign_keys", "many_to_many"]

        with psycopg.connect(config.conninfo(), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM post_tag WHERE post_id = %s", [aio["post_id"]]).fetchone() == (0,)
            rows = conn.execute(
                "SELECT t.name FROM post_tag j JOIN tag t ON t.id = j.tag_id WHERE j.post_id = %s ORDER BY 1",
                [sync["post_id"]],
            ).fetchall()
            assert rows == [("s2",), ("s3",)]
            assert conn.execute(
                "SELECT i.name FROM recipe_ingredients j JOIN ingredient i ON i.id = j.ingredient_id"
            ).fetchall() == [("salt",)]
            assert conn.execute(
                "SELECT u.username FROM post p JOIN \"user\" u ON u.id = p.author_id ORDER BY 1"
            ).fetchall() == [("alice",), ("bob",)]
    finally:
        drop_database(registered_db, name)
