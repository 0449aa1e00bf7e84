"""``matrx-orm demo`` end to end, in a subprocess, against the test server.

The demo runs as a user would run it (``python -m matrx_orm.cli demo``) with
``DATABASE_URL`` pointing at the server the test session uses (local or
embedded). The output must show each step's real result, and the throwaway
database must be gone afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

from matrx_orm import DatabaseProjectConfig

ROOT = Path(__file__).resolve().parents[2]


def _url(config: DatabaseProjectConfig) -> str:
    auth = config.user + (f":{config.password}" if config.password else "")
    return f"postgresql://{auth}@{config.host}:{config.port}/{config.database_name}"


def _run_demo(config: DatabaseProjectConfig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATRX_")}
    env["DATABASE_URL"] = _url(config)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "matrx_orm.cli", "demo", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _result_of(output: str, call: str) -> str:
    """Return the ``-> result`` line printed under the step whose call starts with ``call``."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith(call):
            return lines[index + 1].strip().removeprefix("-> ")
    raise AssertionError(f"step {call!r} not in the demo output:\n{output}")


def test_demo_runs_async_and_sync_tours_and_drops_its_database(registered_db: DatabaseProjectConfig) -> None:
    result = _run_demo(registered_db)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout

    assert "(DATABASE_URL)" in out.splitlines()[2]
    assert 'CREATE TABLE "user"' in out and 'CREATE TABLE "post"' in out
    # async tour
    assert "username='alice'" in _result_of(out, 'await User.create(username="alice"')
    assert _result_of(out, 'await User.get_or_none(username="nobody")') == "None"
    assert _result_of(out, 'await User.get(username="nobody")') == "raises DoesNotExist"
    assert _result_of(out, 'await Post.filter(is_published=True).order_by("-views").all()') == (
        "['Why PostgreSQL', 'Hello World']"
    )
    assert _result_of(out, "await Post.filter(views__gte=100).count()") == "2"
    assert _result_of(out, 'await Post.filter(title="Async tips").update(is_published=True)') == "1"
    assert _result_of(out, 'bob.email = "bob@example.org"') == "bob@example.org"
    assert _result_of(out, "async with transaction()") == "raises IntegrityError; rolled back, carol exists: False"
    # sync tour, on the same tables
    assert _result_of(out, "SyncUser = User.sync") == "(True, True)"
    assert _result_of(out, "SyncUser.count()") == "2"
    assert _result_of(out, 'SyncPost.filter(title__startswith="Async").first().tags') == "['python', 'async']"
    assert _result_of(out, 'SyncUser.update_where({"is_active": False}') == "1"
    assert _result_of(out, 'SyncUser.order_by("username")') == "['alice', 'bob']"
    assert _result_of(out, "SyncPost.count()") == "3"

    # The throwaway database was created on this server and is gone now.
    name = re.search(r"^Database: (matrx_demo_\w+) ", out, re.MULTILINE)
    assert name is not None, out
    assert f"Dropped database {name.group(1)}. Done." in out
    admin = DatabaseProjectConfig(**{**registered_db.__dict__, "database_name": "postgres"})
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'matrx_demo_%%'").fetchall()
    assert (name.group(1),) not in left


def test_demo_reports_an_unreachable_server_in_one_line(registered_db: DatabaseProjectConfig) -> None:
    closed = DatabaseProjectConfig(**{**registered_db.__dict__, "host": "127.0.0.1", "port": "1"})
    result = _run_demo(closed)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: cannot reach postgresql://"), result.stderr
    assert ":1/" in result.stderr and len(result.stderr.strip().splitlines()) == 1
