# WARNING: generated from tests/level2/aio/test_pool_faults.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Pool faults on a private server: restarts, dead connections, exhaustion, interrupts, timeouts.

The server is private (see ``tests/level2/private_server.py``) so it can be
restarted and its backends killed. Faults are injected by the database itself:
``flaky_item`` is a view whose first read terminates its own backend, a
trigger terminates the backend that writes a row named ``'die'``, and
``sleepy_item`` sleeps 3 seconds before answering.
"""

from __future__ import annotations

import time

import pytest

from matrx_orm_sync import (
    ConnectionError,
    ParameterError,
    StatementTimeout,
    close_pool,
    get_pool,
    register_database,
    statement_timeout,
    transaction,
)
from tests.level2.private_server import prepare_database, private_server  # noqa: F401  (fixture)
from tests.level2.reliability_db import sent_sql  # noqa: F401  (fixture)
from tests.models_reliability_sync import FAULTS_SQL, FaultItem, FlakyItem, SleepyItem
from tests.reliability_tools_sync import INTERRUPTED, interrupt_after

pytestmark = pytest.mark.anyio


@pytest.fixture
def faults(private_server):
    """Register database ``faults`` on the private server (small pool), reset its tables."""
    prepare_database(private_server, "faults", FAULTS_SQL)
    register_database(private_server.config("faults", "faults", min_pool_size=2, max_pool_size=3, pool_timeout=2))
    yield private_server
    close_pool("faults")


def rows(server, query="SELECT name FROM fault_item ORDER BY id"):
    with server.connect("faults") as conn:
        return conn.execute(query).fetchall()


def selects(sent, view):
    return [q for q in sent if q.startswith("SELECT") and view in q]


def test_server_restart_next_operations_succeed(faults):
    FaultItem.create(name="before")
    pool = get_pool("faults")
    with pool.connection(), pool.connection():
        pass  # two connections now sit idle in the pool
    faults.restart()  # every pooled connection is now dead
    # Reads and writes, more of them than the pool has connections: none may fail.
    for i in range(6):
        assert FaultItem.count() == 1 + i
        FaultItem.create(name=f"after{i}")
    assert rows(faults) == [("before",)] + [(f"after{i}",) for i in range(6)]


def test_server_crash_next_operations_succeed(faults):
    FaultItem.create(name="before")
    faults.restart(mode="immediate")  # a crash: no goodbye message to clients
    assert [x.name for x in FaultItem.all()] == ["before"]
    FaultItem.create(name="after")
    assert rows(faults) == [("before",), ("after",)]


def test_read_on_dead_connection_is_retried_once(faults, sent_sql):
    FaultItem.create(name="a")
    # The view kills the backend serving the first read: the ORM retries once, on a fresh connection.
    assert [x.name for x in FlakyItem.all()] == ["a"]
    assert len(selects(sent_sql, "flaky_item")) == 2


def test_read_in_transaction_is_not_retried(faults, sent_sql):
    FaultItem.create(name="a")
    with pytest.raises(ConnectionError) as info:
        with transaction("faults"):
            FlakyItem.all()
    assert len(selects(sent_sql, "flaky_item")) == 1
    assert "faults" in str(info.value)
    assert [x.name for x in FlakyItem.all()] == ["a"]  # the pool recovered


def test_write_on_dead_connection_raises_and_is_never_retried(faults, sent_sql):
    FaultItem.create(name="a")
    with pytest.raises(ConnectionError) as info:
        FaultItem.create(name="die")
    assert info.value.details.get("database") == "faults"
    with pytest.raises(ConnectionError):
        FaultItem.filter(name="a").update(name="die")
    # Each write was sent exactly once: "a", then "die" (failed), then the update (failed).
    assert [q.split()[0] for q in sent_sql if q.split()[0] in ("INSERT", "UPDATE")] == ["INSERT", "INSERT", "UPDATE"]
    assert rows(faults) == [("a",)]  # nothing half-written, nothing written twice
    FaultItem.create(name="b")  # and the pool still works
    assert rows(faults) == [("a",), ("b",)]


def test_pool_exhausted_error_names_the_pool_size_and_database(faults):
    pool = get_pool("faults")
    started = time.monotonic()
    with pool.connection(), pool.connection(), pool.connection():
        with pytest.raises(ConnectionError) as info:
            FaultItem.count()
    assert 1.5 < time.monotonic() - started < 10
    message = str(info.value)
    assert "faults" in message and "max_pool_size=3" in message and "exhausted" in message
    assert info.value.details.get("database") == "faults"
    assert FaultItem.count() == 0  # connections came back


def test_interrupted_query_gives_back_a_clean_connection(faults):
    FaultItem.create(name="a")
    with pytest.raises(INTERRUPTED):
        interrupt_after(0.3, lambda: SleepyItem.all())
    # The server-side query was cancelled, not left running on a pooled connection.
    deadline = time.monotonic() + 5
    while rows(faults, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%sleepy_item%' AND state = 'active' "
                       "AND pid <> pg_backend_pid()") != [(0,)]:
        assert time.monotonic() < deadline, "the interrupted query is still running"
        time.sleep(0.05)
    for _ in range(4):
        with transaction("faults") as conn:
            cur = conn.execute("SELECT count(*) FROM fault_item")
            assert (cur.fetchone()) == (1,)
    assert [x.name for x in FaultItem.all()] == ["a"]


def test_interrupted_transaction_rolls_back_and_leaves_no_transaction_open(faults):
    def work():
        with transaction("faults") as conn:
            FaultItem.create(name="partial")
            conn.execute("SELECT pg_sleep(3)")

    with pytest.raises(INTERRUPTED):
        interrupt_after(0.3, work)
    with pytest.raises(KeyboardInterrupt):
        with transaction("faults"):
            FaultItem.create(name="partial2")
            raise KeyboardInterrupt
    assert rows(faults) == []
    # Every pooled connection is idle, outside any transaction: the next user starts fresh.
    for _ in range(3):
        with transaction("faults") as conn:
            cur = conn.execute("SELECT pg_current_xact_id_if_assigned() IS NULL, count(*) FROM fault_item")
            assert (cur.fetchone()) == (True, 0)
    stats = (get_pool("faults")).get_stats()
    assert stats["pool_available"] == stats["pool_size"]
    assert rows(faults, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'faults' "
                        "AND state LIKE 'idle in transaction%'") == [(0,)]


def test_statement_timeout_per_database(faults):
    register_database(faults.config("faults", "faults", statement_timeout=200, max_pool_size=2, pool_timeout=2))
    close_pool("faults")
    started = time.monotonic()
    with pytest.raises(StatementTimeout) as info:
        SleepyItem.all()
    assert time.monotonic() - started < 2.5
    assert info.value.details.get("sqlstate") == "57014"
    FaultItem.create(name="fast")  # fast statements are unaffected
    assert rows(faults) == [("fast",)]


def test_statement_timeout_per_call(faults):
    with pytest.raises(ParameterError):
        with statement_timeout(-1, "faults"):
            pass
    started = time.monotonic()
    with pytest.raises(StatementTimeout):
        with statement_timeout(200, "faults"):
            FaultItem.create(name="rolled back")
            SleepyItem.all()
    assert time.monotonic() - started < 2.5
    assert rows(faults) == []  # the block's transaction rolled back
    with statement_timeout(5000, "faults") as conn:
        FaultItem.create(name="kept")
        cur = conn.execute("SHOW statement_timeout")
        assert (cur.fetchone()) == ("5s",)
    assert rows(faults) == [("kept",)]
    with transaction("faults") as conn:
        with statement_timeout(1234, "faults"):
            cur = conn.execute("SHOW statement_timeout")
            assert (cur.fetchone()) == ("1234ms",)
        cur = conn.execute("SHOW statement_timeout")
        assert (cur.fetchone()) == ("0",)  # restored when the nested block ended
    for _ in range(3):  # and never leaked to a pooled connection
        with transaction("faults") as conn:
            cur = conn.execute("SHOW statement_timeout")
            assert (cur.fetchone()) == ("0",)
