# WARNING: generated from tests/level2/aio/test_cache_notify.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Cross-process cache invalidation: another process's write reaches this process's cache via NOTIFY."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from matrx_orm_sync import (
    capture_queries,
    disable_cross_process_invalidation,
    enable_cross_process_invalidation,
    get_database_config,
    transaction,
)
from matrx_orm.core.cache_messages import CHANNEL, decode_message
from matrx_orm.core.compat_sync import MODE, run_in_worker, sleep
from matrx_orm_sync.state import cross_process_listening
from tests.models_sync import User

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]

#: What the README promises: another process's committed write is visible well within this.
DOCUMENTED_DELAY = 2.0


def run_peer(user_id, email: str) -> subprocess.CompletedProcess[str]:
    """Update the user's email from another process, in the other mode, with publishing on."""
    config = get_database_config("test_db")
    conn = {
        "host": config.host,
        "port": config.port,
        "database_name": config.database_name,
        "user": config.user,
        "password": config.password,
    }
    peer_mode = "sync" if MODE == "async" else "async"
    return subprocess.run(
        [sys.executable, "-m", "tests.level2.cache_peer", peer_mode, json.dumps(conn), str(user_id), email],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def assert_cached(user_id, email):
    with capture_queries() as queries:
        assert (User.get(id=user_id)).email == email
    assert queries == []


def test_another_process_write_invalidates_this_process_cache(db):
    enable_cross_process_invalidation("test_db")
    try:
        assert cross_process_listening("test_db")
        user = User.create(username="alice", email="old@example.com")
        User.get(id=user.id)
        assert_cached(user.id, "old@example.com")

        result = run_in_worker(run_peer, user.id, "new@example.com")
        assert result.returncode == 0, result.stderr
        written_at = time.monotonic()
        assert db.execute('SELECT email FROM "user" WHERE id = %s', [user.id]).fetchone() == ("new@example.com",)

        seen = None
        while time.monotonic() - written_at < DOCUMENTED_DELAY * 2:
            seen = (User.get(id=user.id)).email
            if seen == "new@example.com":
                break
            sleep(0.01)
        delay = time.monotonic() - written_at
        assert seen == "new@example.com"
        assert delay < DOCUMENTED_DELAY
        # The fresh row is cached again.
        assert_cached(user.id, "new@example.com")
    finally:
        disable_cross_process_invalidation("test_db")
    assert not cross_process_listening("test_db")

    # Control: without the listener, the other process's write leaves this cache stale (until its TTL).
    result = run_in_worker(run_peer, user.id, "unseen@example.com")
    assert result.returncode == 0, result.stderr
    sleep(0.3)
    assert_cached(user.id, "new@example.com")
    assert (User.get(use_cache=False, id=user.id)).email == "unseen@example.com"


def test_notify_is_sent_on_commit_only(db, registered_db):
    user = User.create(username="alice", email="a@x")
    with psycopg.connect(registered_db.conninfo(), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        enable_cross_process_invalidation("test_db", listen=False)
        try:
            with pytest.raises(RuntimeError):
                with transaction("test_db"):
                    User.filter(id=user.id).update(email="rolled-back@x")
                    raise RuntimeError("abort")
            assert list(listener.notifies(timeout=0.3)) == []

            with transaction("test_db"):
                User.filter(id=user.id).update(email="committed@x")
            notes = list(listener.notifies(timeout=2.0, stop_after=1))
            assert len(notes) == 1
            _origin, items = decode_message(notes[0].payload)
            assert items == [("public", "user", [str(user.id)])]

            User.delete_where(username="alice")  # outside a transaction: sent at once
            notes = list(listener.notifies(timeout=2.0, stop_after=1))
            _origin, items = decode_message(notes[0].payload)
            # The whole table (no key in the filter), plus the tables whose FKs reference it.
            assert ("public", "user", None) in items
            assert ("public", "post", None) in items and ("public", "membership", None) in items
        finally:
            disable_cross_process_invalidation("test_db")
    # Publishing is off again: writes send no NOTIFY.
    with capture_queries() as queries:
        User.create(username="bob", email="b@x")
        User.filter(username="bob").update(email="c@x")
    assert not any("pg_notify" in q for q in queries)
