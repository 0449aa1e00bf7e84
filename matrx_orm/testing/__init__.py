"""Helpers for testing code that uses matrx-orm (shared by both packages; not mirrored).

``assert_num_queries`` counts statements (``with`` or ``async with``);
``rollback_transaction`` / ``sync_rollback_transaction`` run a block in a
transaction that is rolled back; ``create_test_database`` makes a throwaway
database from a cached template. The pytest plugin
(``matrx_orm.testing.pytest_plugin``) wraps them in fixtures.
"""

from __future__ import annotations

from matrx_orm.testing.database import TestDatabase, create_test_database, schema_from_models
from matrx_orm.testing.queries import QueryCounter, assert_num_queries
from matrx_orm.testing.rollback import RollbackTransaction, rollback_transaction, sync_rollback_transaction

__all__ = [
    "assert_num_queries",
    "QueryCounter",
    "rollback_transaction",
    "sync_rollback_transaction",
    "RollbackTransaction",
    "create_test_database",
    "schema_from_models",
    "TestDatabase",
]
