"""Map psycopg errors to the ORM's exceptions, keeping the original as the cause."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout, TooManyRequests

from matrx_orm.core import exceptions as exc

__all__ = ["map_db_error", "DRIVER_ERRORS", "is_connection_error"]

#: What the executor catches and maps: driver errors and pool timeouts.
DRIVER_ERRORS = (psycopg.Error, PoolTimeout, TooManyRequests)

_INTEGRITY = (
    psycopg.IntegrityError,
)


def is_connection_error(error: BaseException) -> bool:
    """Return True when ``error`` says the connection is unusable (dead socket, server gone).

    No SQLSTATE (raised client-side), class 08 (connection exception) or 57P
    (server shutting down / starting). A statement that failed this way may or
    may not have run: a read can be retried on a fresh connection, a write
    must not be.
    """
    if not isinstance(error, psycopg.OperationalError):
        return False
    sqlstate = getattr(error, "sqlstate", None)
    return not sqlstate or sqlstate.startswith("08") or sqlstate.startswith("57P")


def map_db_error(
    error: BaseException,
    *,
    model: Any = None,
    operation: str | None = None,
    query: Any = None,
    params: Any = None,
    filters: dict[str, Any] | None = None,
) -> exc.ORMException:
    """Return the ORM exception for a psycopg / pool error, with context attached."""
    if isinstance(error, exc.ORMException):
        return error.enrich(model=model, operation=operation, query=_text(query), params=params)
    detail = str(error).strip() or type(error).__name__
    context: dict[str, Any] = {
        "model": model,
        "operation": operation,
        "query": _text(query),
        "params": params,
        "filters": filters,
    }
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate:
        context["sqlstate"] = sqlstate
    diag = getattr(error, "diag", None)
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    if constraint:
        context["constraint"] = constraint
    cls: type[exc.ORMException]
    if isinstance(error, _INTEGRITY):
        cls = exc.IntegrityError
    elif isinstance(error, (PoolTimeout, TooManyRequests)):
        cls = exc.ConnectionError
    elif isinstance(error, (pg_errors.InFailedSqlTransaction, pg_errors.TransactionRollback)) or (
        sqlstate or ""
    ).startswith("40"):
        # Class 40 (serialization failure, deadlock) are OperationalErrors in psycopg, not connection errors.
        cls = exc.TransactionError
    elif isinstance(error, pg_errors.QueryCanceled):
        cls = exc.StatementTimeout  # 57014: statement_timeout (per database or per call) expired
    elif is_connection_error(error):
        # No SQLSTATE (client side), connection exceptions, server shutting down. Not e.g.
        # lock_not_available (55P03) or statement timeouts (57014), which are query errors.
        cls = exc.ConnectionError
    elif isinstance(error, (pg_errors.UndefinedTable, pg_errors.UndefinedColumn, pg_errors.SyntaxError)):
        cls = exc.QueryError
    elif isinstance(error, psycopg.DataError):
        cls = exc.ValidationError
    elif isinstance(error, psycopg.DatabaseError):
        cls = exc.DatabaseError
    else:
        cls = exc.UnknownDatabaseError
    prefix = {
        exc.IntegrityError: "Integrity constraint violated",
        exc.ConnectionError: "Database connection failed",
        exc.TransactionError: "Transaction failed",
        exc.StatementTimeout: "Statement cancelled",
        exc.QueryError: "Query failed",
        exc.ValidationError: "PostgreSQL rejected a value",
        exc.DatabaseError: "Database error",
        exc.UnknownDatabaseError: "Unexpected database error",
    }[cls]
    where = f" during {operation}" if operation else ""
    return cls(f"{prefix}{where}: {detail}", **{k: v for k, v in context.items() if v is not None})


def _text(query: Any) -> str | None:
    if query is None:
        return None
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode("utf-8", "replace")
    try:
        return str(query.as_string())
    except Exception:
        return repr(query)
