# WARNING: generated from matrx_orm/_timeouts.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Per-call statement timeouts: ``async with statement_timeout(ms):``.

The per-database timeout is a connection setting (``DatabaseProjectConfig
(statement_timeout=...)``). A per-call timeout must not leak to the next user
of a pooled connection, nor to other clients behind PgBouncer, so it is set
with ``set_config(..., is_local => true)`` (``SET LOCAL``) inside a
transaction: PostgreSQL forgets it when the transaction ends. Nested inside an
outer transaction, the block is a savepoint and the previous value is put back
when it exits (a rolled-back savepoint reverts it by itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import Connection

from matrx_orm_sync._transaction import in_transaction, transaction
from matrx_orm.core.db_errors import DRIVER_ERRORS, map_db_error
from matrx_orm.core.exceptions import ParameterError

__all__ = ["statement_timeout"]

_SET = "SELECT set_config('statement_timeout', %s, true)"
_SWAP = "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)"


def _milliseconds(ms: Any) -> str:
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < 0 or ms != ms:
        raise ParameterError(f"statement_timeout() takes a number of milliseconds >= 0 (0 = no limit), got {ms!r}")
    return str(int(ms))


@contextmanager
def statement_timeout(ms: int | float, database: str | None = None) -> Iterator[Connection[Any]]:
    """Run the block in a transaction whose statements are cancelled after ``ms`` milliseconds.

    A statement that runs longer raises ``StatementTimeout`` and the block's
    transaction (or savepoint) rolls back. ``0`` lifts any limit for the block.
    """
    value = _milliseconds(ms)
    nested = in_transaction(database)
    with transaction(database) as conn:
        try:
            if nested:
                cur = conn.execute(_SWAP, [value])
                row = cur.fetchone()
                previous = row[0] if row else "0"
            else:
                conn.execute(_SET, [value])
        except DRIVER_ERRORS as error:
            raise map_db_error(error, operation="statement_timeout()") from error
        yield conn
        if nested:
            # Released savepoints keep SET LOCAL values until the outer commit: restore.
            try:
                conn.execute(_SET, [previous])
            except DRIVER_ERRORS as error:
                raise map_db_error(error, operation="statement_timeout()") from error
