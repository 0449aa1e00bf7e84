# WARNING: generated from tests/level2/aio/test_replicas.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Read replicas: a real streaming standby (``pg_basebackup``) of a private primary.

``server_info`` is a view answering ``inet_server_port()`` and
``pg_is_in_recovery()``, so every test can see which server served a read
(``use_cache=False``: the state cache would answer without asking any server).
"""

from __future__ import annotations

import pytest

from matrx_orm_sync import ParameterError, close_pool, register_database, transaction, use_primary
from tests.level2.private_server import prepare_database, replica_pair  # noqa: F401  (fixture)
from tests.level2.reliability_db import sent_sql  # noqa: F401  (fixture)
from tests.models_reliability_sync import REPLICATED_SQL, ReplicatedItem, ServerInfo

pytestmark = pytest.mark.anyio


@pytest.fixture
def cluster(replica_pair):
    primary, replica = replica_pair
    prepare_database(primary, "replicated", REPLICATED_SQL)
    primary.wait_replayed(replica)
    register_database(
        primary.config("replicated", "replicated", replicas=[f"127.0.0.1:{replica.port}"], max_pool_size=4)
    )
    yield primary, replica
    close_pool("replicated")


def on_primary(primary, sql, params=None):
    with primary.connect("replicated") as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def test_reads_outside_transactions_go_to_the_replica(cluster):
    primary, replica = cluster
    info = ServerInfo.get(id=1, use_cache=False)
    assert (info.port, info.in_recovery) == (replica.port, True)
    on_primary(primary, "INSERT INTO fault_item (name) VALUES ('streamed')")
    primary.wait_replayed(replica)
    assert [x.name for x in ReplicatedItem.all()] == ["streamed"]
    assert ReplicatedItem.count() == 1 and ReplicatedItem.exists()
    assert ServerInfo.filter(id=1).values_list("port", flat=True) == [replica.port]


def test_writes_and_everything_in_a_transaction_go_to_the_primary(cluster):
    primary, replica = cluster
    item = ReplicatedItem.create(name="written")  # a standby would refuse it (read-only)
    ReplicatedItem.filter(id=item.id).update(n=5)
    assert on_primary(primary, "SELECT name, n FROM fault_item") == [("written", 5)]
    with transaction("replicated"):
        info = ServerInfo.get(id=1, use_cache=False)
        assert (info.port, info.in_recovery) == (primary.port, False)
        # Read-your-writes: the new row is visible at once, no replication lag involved.
        new = ReplicatedItem.create(name="mine")
        assert (ReplicatedItem.get(id=new.id)).name == "mine"
        assert ReplicatedItem.filter(name="mine").count() == 1
    primary.wait_replayed(replica)
    assert sorted(x.name for x in ReplicatedItem.all()) == ["mine", "written"]


def test_using_primary_and_use_primary_force_the_primary(cluster):
    primary, replica = cluster
    forced = ServerInfo.filter(id=1).using("primary")
    assert (forced.get()).port == primary.port
    assert (forced.filter(in_recovery=False).first()).port == primary.port  # survives chaining
    assert forced.values_list("port", flat=True) == [primary.port]
    assert (forced.using("replica").get()).port == replica.port
    with use_primary():
        assert (ServerInfo.get(id=1, use_cache=False)).port == primary.port
    assert (ServerInfo.get(id=1, use_cache=False)).port == replica.port
    with pytest.raises(ParameterError):
        ServerInfo.query().using("elsewhere")


def test_reads_alternate_between_replicas_and_locks_stay_on_the_primary(cluster, sent_sql):
    primary, replica = cluster
    with transaction("replicated"):
        row = ServerInfo.query().select_for_update().first()  # FOR UPDATE: never a replica
        assert row.port == primary.port
    # Reads outside a transaction spread over the replicas: here, one replica takes them all.
    ports = {(ServerInfo.get(id=1, use_cache=False)).port for _ in range(4)}
    assert ports == {replica.port}


def test_a_replica_that_goes_down_hands_its_reads_to_the_primary(cluster):
    primary, replica = cluster
    assert (ServerInfo.get(id=1, use_cache=False)).port == replica.port
    replica.stop("immediate")
    try:
        assert (ServerInfo.get(id=1, use_cache=False)).port == primary.port  # retried on the primary
        assert (ServerInfo.get(id=1, use_cache=False)).port == primary.port  # the replica sits out a while
        item = ReplicatedItem.create(name="while down")
        assert (ReplicatedItem.get(id=item.id)).name == "while down"
    finally:
        replica.start()
        primary.wait_replayed(replica)
