"""The state cache with read replicas: it fills from the primary, so replica lag never becomes a TTL of staleness."""

from __future__ import annotations

import pytest

from matrx_orm import close_pool, close_pools, register_database, unregister_database
from matrx_orm.core.routing import routing
from tests.level2.private_server import prepare_database, replica_pair  # noqa: F401  (fixture)
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
    # Leave no replica pools or routing behind: later tests must not read through a
    # replica that no longer exists.
    await close_pools()
    unregister_database("replicated")
    routing.enabled = False


async def test_a_cache_miss_reads_the_primary_while_the_replica_lags(cluster):
    primary, replica = cluster
    item = await ReplicatedItem.create(name="v1")
    primary.wait_replayed(replica)
    with replica.connect("replicated") as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            await ReplicatedItem.filter(id=item.id).update(name="v2")  # the replica does not see it
            assert standby.execute("SELECT name FROM fault_item WHERE id = %s", [item.id]).fetchone() == ("v1",)
            # Plain reads still go to the (lagging) replica...
            assert (await ServerInfo.get(id=1, use_cache=False)).port == replica.port
            assert [x.name for x in await ReplicatedItem.filter(id=item.id).all()] == ["v1"]
            # ...but the read that fills the cache asks the primary, and what is cached is current.
            assert (await ReplicatedItem.get(id=item.id)).name == "v2"
            assert (await ReplicatedItem.get(id=item.id)).name == "v2"
            # use_cache=False reads go where routing sends them and are not kept.
            assert (await ReplicatedItem.get(id=item.id, use_cache=False)).name == "v1"
            assert (await ReplicatedItem.get(id=item.id)).name == "v2"
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
