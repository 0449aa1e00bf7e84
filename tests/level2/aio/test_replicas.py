"""Read replicas: a real streaming standby (``pg_basebackup``) of a private primary.

``server_info`` is a view answering ``inet_server_port()`` and
``pg_is_in_recovery()``, so every test can see which server served a read
(``use_cache=False``: the state cache would answer without asking any server).
"""

from __future__ import annotations

import pytest

from matrx_orm import ParameterError, close_pool, register_database, transaction, use_primary
from tests.level2.private_server import prepare_database, replica_pair  # noqa: F401  (fixture)
from tests.level2.reliability_db import sent_sql  # noqa: F401  (fixture)
from tests.models_reliability_async import REPLICATED_SQL, ReplicatedItem, ServerInfo

pytestmark = pytest.mark.anyio


@pytest.fixture
async def cluster(replica_pair):
    primary, replica = replica_pair
    prepare_database(primary, "replicated", REPLICATED_SQL)
    primary.wait_replayed(replica)
    register_database(
        primary.config("replicated", "replicated", replicas=[f"127.0.0.1:{replica.port}"], max_pool_size=4)
    )
    yield primary, replica
    await close_pool("replicated")


def on_primary(primary, sql, params=None):
    with primary.connect("replicated") as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


async def test_reads_outside_transactions_go_to_the_replica(cluster):
    primary, replica = cluster
    info = await ServerInfo.get(id=1, use_cache=False)
    assert (info.port, info.in_recovery) == (replica.port, True)
    on_primary(primary, "INSERT INTO fault_item (name) VALUES ('streamed')")
    primary.wait_replayed(replica)
    assert [x.name for x in await ReplicatedItem.all()] == ["streamed"]
    assert await ReplicatedItem.count() == 1 and await ReplicatedItem.exists()
    assert await ServerInfo.filter(id=1).values_list("port", flat=True) == [replica.port]


async def test_writes_and_everything_in_a_transaction_go_to_the_primary(cluster):
    primary, replica = cluster
    item = await ReplicatedItem.create(name="written")  # a standby would refuse it (read-only)
    await ReplicatedItem.filter(id=item.id).update(n=5)
    assert on_primary(primary, "SELECT name, n FROM fault_item") == [("written", 5)]
    async with transaction("replicated"):
        info = await ServerInfo.get(id=1, use_cache=False)
        assert (info.port, info.in_recovery) == (primary.port, False)
        # Read-your-writes: the new row is visible at once, no replication lag involved.
        new = await ReplicatedItem.create(name="mine")
        assert (await ReplicatedItem.get(id=new.id)).name == "mine"
        assert await ReplicatedItem.filter(name="mine").count() == 1
    primary.wait_replayed(replica)
    assert sorted(x.name for x in await ReplicatedItem.all()) == ["mine", "written"]


async def test_using_primary_and_use_primary_force_the_primary(cluster):
    primary, replica = cluster
    forced = ServerInfo.filter(id=1).using("primary")
    assert (await forced.get()).port == primary.port
    assert (await forced.filter(in_recovery=False).first()).port == primary.port  # survives chaining
    assert await forced.values_list("port", flat=True) == [primary.port]
    assert (await forced.using("replica").get()).port == replica.port
    with use_primary():
        assert (await ServerInfo.get(id=1, use_cache=False)).port == primary.port
    assert (await ServerInfo.get(id=1, use_cache=False)).port == replica.port
    with pytest.raises(ParameterError):
        ServerInfo.query().using("elsewhere")


async def test_reads_alternate_between_replicas_and_locks_stay_on_the_primary(cluster, sent_sql):
    primary, replica = cluster
    async with transaction("replicated"):
        row = await ServerInfo.query().select_for_update().first()  # FOR UPDATE: never a replica
        assert row.port == primary.port
    # Reads outside a transaction spread over the replicas: here, one replica takes them all.
    ports = {(await ServerInfo.get(id=1, use_cache=False)).port for _ in range(4)}
    assert ports == {replica.port}


async def test_a_replica_that_goes_down_hands_its_reads_to_the_primary(cluster):
    primary, replica = cluster
    assert (await ServerInfo.get(id=1, use_cache=False)).port == replica.port
    replica.stop("immediate")
    try:
        assert (await ServerInfo.get(id=1, use_cache=False)).port == primary.port  # retried on the primary
        assert (await ServerInfo.get(id=1, use_cache=False)).port == primary.port  # the replica sits out a while
        item = await ReplicatedItem.create(name="while down")
        assert (await ReplicatedItem.get(id=item.id)).name == "while down"
    finally:
        replica.start()
        primary.wait_replayed(replica)
