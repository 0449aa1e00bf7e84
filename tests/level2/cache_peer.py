"""Another process for the cross-process cache tests: write through the ORM with invalidation publishing on.

Usage: python -m tests.level2.cache_peer <async|sync> '<config json>' <user id> <new email>

Registers the test database as ``test_db``, enables cross-process
invalidation (publish only), updates the user's email through the ORM and
exits. Run it as a separate process: it proves invalidations cross processes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from matrx_orm import DatabaseProjectConfig, register_database


def main(argv: list[str]) -> int:
    """Run one ORM write in this process and exit."""
    mode, config_json, user_id, email = argv
    register_database(DatabaseProjectConfig(name="test_db", **json.loads(config_json)))
    from tests.models_async import User

    if mode == "sync":
        import matrx_orm_sync

        matrx_orm_sync.enable_cross_process_invalidation("test_db", listen=False)
        count = User.sync.filter(id=user_id).update(email=email)
        matrx_orm_sync.close_pools()
    else:
        import matrx_orm

        async def write() -> int:
            await matrx_orm.enable_cross_process_invalidation("test_db", listen=False)
            try:
                return await User.filter(id=user_id).update(email=email)
            finally:
                await matrx_orm.close_pools()

        count = asyncio.run(write())
    print(json.dumps({"updated": count}))
    return 0 if count == 1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
