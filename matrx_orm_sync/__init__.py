# WARNING: generated from matrx_orm/__init__.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""matrx-orm: an async-first PostgreSQL ORM on psycopg 3.

This package is the async API; ``matrx_orm_sync`` is its generated sync twin
with the same names. Models declared with either package are usable from the
other through ``Model.sync`` / ``Model.aio``.
"""

from __future__ import annotations

from matrx_orm_sync._manager import BaseManager
from matrx_orm_sync._model import Model
from matrx_orm_sync._pool import close_pool, close_pools, get_pool
from matrx_orm_sync._queryset import QuerySet
from matrx_orm_sync._relations import prefetch_related_objects
from matrx_orm_sync._transaction import in_transaction, on_commit, transaction
from matrx_orm.core.config import (
    DatabaseProjectConfig,
    get_database_config,
    register_database,
    register_database_url,
    registered_databases,
    unregister_database,
)
from matrx_orm.core.exceptions import (
    CacheError,
    ConfigurationError,
    ConnectionError,
    DatabaseError,
    DoesNotExist,
    FieldError,
    IntegrityError,
    MigrationError,
    MultipleObjectsReturned,
    ORMException,
    ParameterError,
    QueryError,
    RelationNotLoaded,
    RelationshipError,
    StaleObjectError,
    StateError,
    TransactionError,
    UnknownDatabaseError,
    ValidationError,
)
from matrx_orm.core.fields import (
    ArrayField,
    AutoField,
    BigAutoField,
    BigIntegerField,
    BinaryField,
    BooleanArrayField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    EnumField,
    Field,
    FloatField,
    ForeignKey,
    HStoreField,
    IntegerArrayField,
    IntegerField,
    IPAddressField,
    IPNetworkField,
    JSONBArrayField,
    JSONBField,
    JSONField,
    MacAddressField,
    ManyToManyField,
    MoneyField,
    PointField,
    SmallIntegerField,
    TextArrayField,
    TextField,
    TimeDeltaField,
    TimeField,
    UUIDArrayField,
    UUIDField,
    VersionField,
)
from matrx_orm.core.query_log import capture_queries, set_slow_query_threshold
from matrx_orm.core.query_state import Q
from matrx_orm.core.table_filter import TableFilter
from matrx_orm_sync.state import (
    CachePolicy,
    StateManager,
    disable_cross_process_invalidation,
    enable_cross_process_invalidation,
)
from matrx_orm_sync.migrations import (
    SchemaDiff,
    create_empty,
    makemigrations,
    migrate,
    migrate_and_rebuild,
    migration_status,
    rollback,
)

__version__ = "2.0.0"

__all__ = [
    "Model",
    "QuerySet",
    "BaseManager",
    "StateManager",
    "CachePolicy",
    "enable_cross_process_invalidation",
    "disable_cross_process_invalidation",
    "Q",
    "transaction",
    "on_commit",
    "in_transaction",
    "get_pool",
    "close_pool",
    "close_pools",
    "DatabaseProjectConfig",
    "register_database",
    "register_database_url",
    "unregister_database",
    "registered_databases",
    "get_database_config",
    "capture_queries",
    "prefetch_related_objects",
    "set_slow_query_threshold",
    # fields
    "Field",
    "AutoField",
    "BigAutoField",
    "UUIDField",
    "CharField",
    "TextField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "FloatField",
    "DecimalField",
    "BooleanField",
    "DateTimeField",
    "DateField",
    "TimeField",
    "JSONField",
    "JSONBField",
    "ArrayField",
    "TextArrayField",
    "IntegerArrayField",
    "BooleanArrayField",
    "UUIDArrayField",
    "JSONBArrayField",
    "EnumField",
    "IPAddressField",
    "IPNetworkField",
    "MacAddressField",
    "HStoreField",
    "PointField",
    "MoneyField",
    "BinaryField",
    "TimeDeltaField",
    "ForeignKey",
    "ManyToManyField",
    "VersionField",
    # exceptions
    "ORMException",
    "ValidationError",
    "FieldError",
    "QueryError",
    "DoesNotExist",
    "MultipleObjectsReturned",
    "DatabaseError",
    "ConnectionError",
    "IntegrityError",
    "TransactionError",
    "ConfigurationError",
    "CacheError",
    "StateError",
    "StaleObjectError",
    "RelationshipError",
    "RelationNotLoaded",
    "MigrationError",
    "ParameterError",
    "UnknownDatabaseError",
    # migrations
    "makemigrations",
    "migrate",
    "rollback",
    "migration_status",
    "create_empty",
    "migrate_and_rebuild",
    "SchemaDiff",
    "TableFilter",
]
