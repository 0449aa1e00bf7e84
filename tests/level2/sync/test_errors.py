# WARNING: generated from tests/level2/aio/test_errors.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Errors against PostgreSQL: mapping and chaining, structured context, and bad input stopped before SQL.

"Before SQL" is proved two ways: ``capture_queries()`` records no statement, and
the error carries no ``query`` (every error raised after PostgreSQL answered has
the statement attached), so the database was never asked.
"""

from __future__ import annotations

import uuid
from uuid import uuid4

import psycopg
import pytest

from matrx_orm_sync import (
    ConnectionError,
    DatabaseProjectConfig,
    DoesNotExist,
    FieldError,
    IntegrityError,
    Model,
    MultipleObjectsReturned,
    ORMException,
    ParameterError,
    QueryError,
    TextField,
    ValidationError,
    capture_queries,
    close_pool,
    register_database,
    unregister_database,
)
from matrx_orm_sync.exceptions import DoesNotExist as PublicDoesNotExist
from tests.level2.foundation_db import empty_cache  # noqa: F401  (fixture)
from tests.models_sync import Everything, Membership, Post, User

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("empty_cache")]


class MissingTable(Model):
    """A model whose table does not exist."""

    id = TextField(primary_key=True)

    _table_name = "no_such_table"
    _database = "test_db"


class UnreachableThing(Model):
    """A model on a database nobody listens for."""

    id = TextField(primary_key=True)

    _database = "unreachable_db"


# -- database errors --------------------------------------------------------------------------
def test_unique_violation_is_an_integrity_error_with_context(db):
    User.create(username="alice", email="a@x")
    with pytest.raises(IntegrityError) as info:
        User.create(username="alice", email="b@x")
    err = info.value
    assert isinstance(err.__cause__, psycopg.errors.UniqueViolation)
    assert err.model == "User" and err.operation == "User.create()"
    assert err.query.startswith('INSERT INTO "user"') and "alice" in err.params
    assert err.details["sqlstate"] == "23505" and err.details["constraint"] == "user_username_key"
    text = str(err)
    assert "[ERROR in User: User.create()]" in text and "Context:" in text and "query:" in text
    assert db.execute('SELECT count(*) FROM "user"').fetchone() == (1,)


def test_failed_statements_are_captured_too(db):
    User.create(username="alice", email="a@x")
    with capture_queries() as queries:
        with pytest.raises(IntegrityError):
            User.create(username="alice", email="b@x")
    assert len(queries) == 1 and queries[0].startswith('INSERT INTO "user"')


def test_foreign_key_and_not_null_violations(db):
    with pytest.raises(IntegrityError) as fk:
        Post.create(id=uuid4(), title="orphan", author_id=uuid4())
    assert isinstance(fk.value.__cause__, psycopg.errors.ForeignKeyViolation)
    assert fk.value.model == "Post"
    with pytest.raises(IntegrityError) as nn:
        Post.create(id=uuid4(), title=None)  # the model allows NULL, the table does not
    assert isinstance(nn.value.__cause__, psycopg.errors.NotNullViolation)
    assert db.execute("SELECT count(*) FROM post").fetchone() == (0,)


def test_bulk_errors_carry_context_and_write_nothing(db):
    with pytest.raises(IntegrityError) as info:
        User.bulk_create([{"username": "x", "email": "1@x"}, {"username": "x", "email": "2@x"}])
    assert info.value.model == "User" and info.value.operation == "User.bulk_create()"
    assert db.execute('SELECT count(*) FROM "user"').fetchone() == (0,)


def test_missing_table_is_a_query_error_naming_the_statement():
    with pytest.raises(QueryError) as info:
        MissingTable.filter(id="x").all()
    err = info.value
    assert isinstance(err.__cause__, psycopg.errors.UndefinedTable)
    assert err.model == "MissingTable" and err.operation == "QuerySet.all()"
    assert err.query == 'SELECT "id" FROM "no_such_table" WHERE "id" = %s'
    assert err.params == ["x"] and err.details["filters"] == {"id": "x"}


def test_unreachable_database_is_a_connection_error_without_the_password():
    register_database(DatabaseProjectConfig(
        name="unreachable_db", host="127.0.0.1", port=1, password="hunter2-secret",
        min_pool_size=0, max_pool_size=1, pool_timeout=1.0, connect_timeout=1,
    ))
    try:
        with pytest.raises(ConnectionError) as info:
            UnreachableThing.filter(id="x").all()
        assert info.value.__cause__ is not None
        assert info.value.model == "UnreachableThing"
        assert "hunter2-secret" not in str(info.value)
        assert "hunter2-secret" not in repr(info.value.details)
    finally:
        close_pool("unreachable_db")
        unregister_database("unreachable_db")


# -- DoesNotExist / MultipleObjectsReturned --------------------------------------------------------
def test_spec_exception_enrichment_example(db):
    post_id = str(uuid4())

    try:
        post = Post.get(id=post_id)
    except PublicDoesNotExist as e:
        assert e.model == "Post"
        assert e.details == {"filters": {"id": post_id}}
        post = None
    assert post is None


def test_does_not_exist_context_for_every_path(db):
    user = User.create(username="alice", email="a@x")
    for call in (
        lambda: User.get(username="bob"),
        lambda: User.get(use_cache=False, id=uuid4()),
        lambda: User.filter(username="alice").get(age=3),
    ):
        with pytest.raises(DoesNotExist) as info:
            call()
        assert info.value.model == "User" and "filters" in info.value.details
    with pytest.raises(DoesNotExist) as info:
        Membership.get(user_id=user.id, group_name="nope")
    assert info.value.details == {"filters": {"user_id": user.id, "group_name": "nope"}}
    assert isinstance(info.value, QueryError) and isinstance(info.value, ORMException)


def test_multiple_objects_returned_context(db):
    User.bulk_create([{"username": "a", "email": "same@x"}, {"username": "b", "email": "same@x"}])
    with pytest.raises(MultipleObjectsReturned) as info:
        User.get(email="same@x")
    assert info.value.model == "User" and info.value.details == {"filters": {"email": "same@x"}}
    with pytest.raises(MultipleObjectsReturned):
        User.get_or_none(email="same@x")


# -- bad input never reaches PostgreSQL ----------------------------------------------------------------
BAD_CALLS = [
    ("create unknown field", FieldError, lambda: User.create(username="x", email="x", nickname="X")),
    ("create too long", ValidationError, lambda: User.create(username="x" * 101, email="x")),
    ("create bad enum", ValidationError, lambda: User.create(username="x", email="x", status="gone")),
    ("create NOT NULL", ValidationError, lambda: User.create(username="x", email=None)),
    ("create bad uuid", ValidationError, lambda: User.create(id="not-a-uuid", username="x", email="x")),
    ("create int as bool", ValidationError, lambda: User.create(username="x", email="x", age=True)),
    ("filter unknown field", FieldError, lambda: User.filter(nickname="x").all()),
    ("filter unknown lookup", ParameterError, lambda: User.filter(age__between=(1, 2)).all()),
    ("filter wrong type", ValidationError, lambda: User.filter(age__gt="old").all()),
    ("filter None comparison", ParameterError, lambda: User.filter(age__gt=None).all()),
    ("filter in not a list", ParameterError, lambda: User.filter(age__in=5).count()),
    ("exclude wrong type", ValidationError, lambda: User.exclude(is_active="no").exists()),
    ("get unknown field", FieldError, lambda: User.get(nickname="x")),
    ("get wrong pk type", ValidationError, lambda: User.get(id=12)),
    ("get_or_none wrong type", ValidationError, lambda: User.get_or_none(age="x")),
    ("count unknown field", FieldError, lambda: User.count(nickname="x")),
    ("exists wrong type", ValidationError, lambda: User.exists(age="x")),
    ("order_by unknown", FieldError, lambda: User.order_by("-nickname").all()),
    ("select unknown", FieldError, lambda: User.query().select("nickname").all()),
    ("values unknown", FieldError, lambda: User.query().values("nickname")),
    ("values_list unknown", FieldError, lambda: User.query().values_list("nickname", flat=True)),
    ("update unknown field", FieldError, lambda: User.filter(age=1).update(nickname="x")),
    ("update wrong type", ValidationError, lambda: User.filter(age=1).update(age="x")),
    ("bulk_create one bad row", ValidationError,
     lambda: User.bulk_create([{"username": "ok", "email": "x"}, {"username": "y" * 200, "email": "x"}])),
    ("bulk_update unknown field", FieldError, lambda: User.bulk_update([User(username="u", email="e")], ["nickname"])),
    ("bulk_delete bad key", ValidationError, lambda: User.bulk_delete(["not-a-uuid"])),
    ("upsert unknown conflict", FieldError,
     lambda: User.upsert({"username": "x", "email": "x"}, conflict_fields=["nickname"])),
    ("upsert bad value", ValidationError, lambda: User.upsert({"username": "x", "email": "x", "age": "x"}, ["username"])),
    ("update_where bad filter", FieldError, lambda: User.update_where({"nickname": "x"}, bio="b")),
    ("update_where bad value", ValidationError, lambda: User.update_where({"username": "x"}, age="x")),
    ("delete_where unknown lookup", ParameterError, lambda: User.delete_where(username__like="x")),
    ("fk wrong type", ValidationError, lambda: Post.create(id=uuid4(), title="t", author_id="nope")),
    ("json not serialisable", ValidationError, lambda: Everything.create(f_json={"x": object()})),
]


@pytest.mark.parametrize(("label", "error", "call"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_before_any_sql(db, label, error, call):
    with capture_queries() as queries:
        with pytest.raises(error) as info:
            call()
    assert queries == []  # no statement ran
    assert info.value.query is None  # errors raised after PostgreSQL answered carry the statement
    assert info.value.model in ("User", "Post", "Everything")
    message = info.value.message
    assert info.value.model in message
    assert db.execute('SELECT count(*) FROM "user"').fetchone() == (0,)


def test_error_messages_name_model_field_and_value():
    with pytest.raises(FieldError) as unknown:
        User.filter(nickname="Al").all()
    assert unknown.value.details["field"] == "nickname" and unknown.value.details["value"] == "'Al'"
    assert "User" in unknown.value.message and "nickname" in unknown.value.message and "'Al'" in unknown.value.message
    with pytest.raises(ParameterError) as lookup:
        User.filter(age__between=(1, 2)).all()
    assert "age" in lookup.value.message and "between" in lookup.value.message and "(1, 2)" in lookup.value.message
    with pytest.raises(ValidationError) as typed:
        User.filter(age__gt="old").all()
    assert "User.age" in typed.value.message and "'old'" in typed.value.message


def test_values_are_never_formatted_into_sql(db):
    evil = "x'); DROP TABLE \"user\"; --"
    with capture_queries() as queries:
        User.create(username=evil, email=evil)
        assert (User.get(username=evil)).email == evil
        assert User.filter(username__contains=evil).count() == 1
    assert all(evil not in q and "DROP" not in q for q in queries)
    assert db.execute('SELECT username FROM "user"').fetchall() == [(evil,)]


def test_queries_of_one_shape_share_their_text(db):
    ids = [uuid.uuid4() for _ in range(3)]
    with capture_queries() as queries:
        for value in ids:
            User.filter(id=value, is_active=True).all()
    assert len(queries) == 3 and len(set(queries)) == 1
