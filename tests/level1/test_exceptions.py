"""The exception hierarchy, its structured context and printed format, and psycopg error mapping."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

import matrx_orm
import matrx_orm.exceptions as public_exceptions
from matrx_orm.core import exceptions as exc
from matrx_orm.core.db_errors import map_db_error

# SPEC's tree, exactly: child -> parent.
SPEC_HIERARCHY = {
    "ValidationError": "ORMException",
    "FieldError": "ORMException",
    "QueryError": "ORMException",
    "DoesNotExist": "QueryError",
    "MultipleObjectsReturned": "QueryError",
    "DatabaseError": "ORMException",
    "ConnectionError": "DatabaseError",
    "IntegrityError": "DatabaseError",
    "TransactionError": "DatabaseError",
    "ConfigurationError": "ORMException",
    "CacheError": "ORMException",
    "StateError": "ORMException",
    "RelationshipError": "ORMException",
    "MigrationError": "ORMException",
    "ParameterError": "ORMException",
    "UnknownDatabaseError": "ORMException",
}


@pytest.mark.parametrize(("child", "parent"), sorted(SPEC_HIERARCHY.items()))
def test_hierarchy_is_exactly_specs(child: str, parent: str) -> None:
    cls = getattr(exc, child)
    assert cls.__bases__ == (getattr(exc, parent),)
    # Importable from every public path.
    assert getattr(public_exceptions, child) is cls
    assert getattr(matrx_orm, child) is cls


def test_orm_exception_is_an_exception() -> None:
    assert exc.ORMException.__bases__ == (Exception,)


def test_spec_printed_format() -> None:
    error = exc.UnknownDatabaseError(
        "Unexpected database error during execute_query: ...",
        model="Post",
        operation="QueryExecutor.all()",
        query="SELECT * FROM post WHERE author_id = $1",
        params=["4cf62e4e-..."],
        filters={"author_id": "4cf62e4e-..."},
    )
    assert str(error) == "\n".join([
        "=" * 80,
        "[ERROR in Post: QueryExecutor.all()]",
        "",
        "Message: Unexpected database error during execute_query: ...",
        "",
        "Context:",
        "  query:   SELECT * FROM post WHERE author_id = $1",
        "  params:  ['4cf62e4e-...']",
        "  filters: {'author_id': '4cf62e4e-...'}",
        "=" * 80,
    ])


def test_format_without_context() -> None:
    assert str(exc.ConfigurationError("nothing registered")) == "\n".join([
        "=" * 80, "[ERROR in ORM]", "", "Message: nothing registered", "=" * 80,
    ])


def test_long_context_values_are_shortened() -> None:
    text = str(exc.QueryError("x", query="SELECT " + "a" * 2000))
    assert "... (2007 chars)" in text and len(text) < 1000


def test_spec_does_not_exist_context() -> None:
    error = exc.DoesNotExist("No Post matches", model="Post", filters={"id": "abc"})
    assert error.model == "Post"
    assert error.details == {"filters": {"id": "abc"}}
    assert error.filters == {"id": "abc"}
    assert isinstance(error, exc.QueryError)


def test_model_may_be_given_as_a_class() -> None:
    class Post:
        pass

    assert exc.ValidationError("x", model=Post).model == "Post"


def test_default_messages() -> None:
    assert exc.DoesNotExist().message == "Object does not exist"
    assert repr(exc.FieldError("bad", model="User")) == "FieldError('bad', model='User')"


def test_enrich_adds_context_without_overwriting() -> None:
    error = exc.QueryError("x", model="User")
    error.enrich(model="Other", operation="op", query="SELECT 1", params=[1], table="user")
    assert (error.model, error.operation, error.query, error.params) == ("User", "op", "SELECT 1", [1])
    assert error.details == {"table": "user"}


def test_with_value_names_the_value_once() -> None:
    error = exc.FieldError("User has no field 'x'", model="User", field="x").with_value([1, 2])
    assert error.details["value"] == "[1, 2]" and error.message.endswith("got [1, 2]")
    assert error.with_value("other").details["value"] == "[1, 2]"


# -- psycopg errors -> ORM errors ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "mapped"),
    [
        (pg_errors.UniqueViolation("dup"), exc.IntegrityError),
        (pg_errors.ForeignKeyViolation("fk"), exc.IntegrityError),
        (pg_errors.NotNullViolation("nn"), exc.IntegrityError),
        (pg_errors.CheckViolation("ck"), exc.IntegrityError),
        (pg_errors.InFailedSqlTransaction("x"), exc.TransactionError),
        (pg_errors.SerializationFailure("s"), exc.TransactionError),
        (pg_errors.DeadlockDetected("d"), exc.TransactionError),
        (psycopg.OperationalError("connection refused"), exc.ConnectionError),
        (pg_errors.ConnectionFailure("c"), exc.ConnectionError),
        (pg_errors.AdminShutdown("a"), exc.ConnectionError),
        (PoolTimeout("no connection in 30s"), exc.ConnectionError),
        (pg_errors.QueryCanceled("timeout"), exc.DatabaseError),
        (pg_errors.LockNotAvailable("nowait"), exc.DatabaseError),
        (pg_errors.UndefinedTable("t"), exc.QueryError),
        (pg_errors.UndefinedColumn("c"), exc.QueryError),
        (pg_errors.SyntaxError("s"), exc.QueryError),
        (pg_errors.InvalidTextRepresentation("v"), exc.ValidationError),
        (pg_errors.NumericValueOutOfRange("r"), exc.ValidationError),
        (pg_errors.InsufficientPrivilege("p"), exc.DatabaseError),
        (psycopg.InterfaceError("closed"), exc.UnknownDatabaseError),
    ],
)
def test_db_error_mapping(error: Exception, mapped: type) -> None:
    result = map_db_error(error, model="User", operation="User.create()", query="INSERT ...", params=[1],
                          filters={"a": 1})
    assert isinstance(result, mapped)
    assert result.model == "User" and result.operation == "User.create()"
    assert result.query == "INSERT ..." and result.params == [1]
    assert result.details["filters"] == {"a": 1}
    assert "during User.create()" in result.message and str(error) in result.message
    if getattr(error, "sqlstate", None):
        assert result.details["sqlstate"] == error.sqlstate


def test_mapping_an_orm_error_only_enriches_it() -> None:
    original = exc.DoesNotExist("none", model="User")
    assert map_db_error(original, operation="op", query="SELECT") is original
    assert original.operation == "op" and original.query == "SELECT"
