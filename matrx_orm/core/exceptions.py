"""The ORM's exception hierarchy, with structured context.

Every exception carries the model, the operation, the SQL and its parameters and
the filters that produced it, so an error report answers "what was running?"
without a debugger. ``str(exc)`` renders the boxed format shown in the README.
"""

from __future__ import annotations

from typing import Any

__all__ = [
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
    "StatementTimeout",
    "ConfigurationError",
    "CacheError",
    "StateError",
    "RelationshipError",
    "RelationNotLoaded",
    "MigrationError",
    "ParameterError",
    "UnknownDatabaseError",
    "StaleObjectError",
]

_RULE = "=" * 80


def _short(value: Any, limit: int = 500) -> str:
    text = repr(value) if not isinstance(value, str) else value
    if len(text) > limit:
        return text[:limit] + f"... ({len(text)} chars)"
    return text


class ORMException(Exception):
    """Base class of every matrx-orm error.

    ``model`` is the model's class name (a string), ``details`` a dict of
    structured context (``filters``, ``field``, ``value``, ...). ``query`` and
    ``params`` hold the SQL that was running, when there was one.
    """

    default_message = "ORM error"

    def __init__(
        self,
        message: str | None = None,
        *,
        model: Any = None,
        operation: str | None = None,
        query: str | None = None,
        params: Any = None,
        filters: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self.message = message or self.default_message
        if model is not None and not isinstance(model, str):
            model = getattr(model, "__name__", None) or getattr(model, "name", None) or str(model)
        self.model: str | None = model
        self.operation = operation
        self.query = query
        self.params = params
        self.details: dict[str, Any] = dict(details or {})
        if filters is not None:
            self.details.setdefault("filters", filters)
        self.details.update(extra)
        super().__init__(self.message)

    @property
    def filters(self) -> dict[str, Any] | None:
        """Return the filters recorded in ``details``, if any."""
        return self.details.get("filters")

    def enrich(self, **context: Any) -> ORMException:
        """Add context while the error bubbles up; existing values win."""
        for key in ("model", "operation", "query", "params"):
            if key in context and getattr(self, key) is None:
                value = context.pop(key)
                if key == "model" and value is not None and not isinstance(value, str):
                    value = getattr(value, "__name__", str(value))
                setattr(self, key, value)
            else:
                context.pop(key, None)
        for key, value in context.items():
            self.details.setdefault(key, value)
        return self

    def with_value(self, value: Any) -> ORMException:
        """Name the offending ``value`` in the message and details (unless already named)."""
        if "value" not in self.details:
            shown = repr(value)
            if len(shown) > 200:
                shown = shown[:200] + "..."
            self.details["value"] = shown
            self.message = f"{self.message}; got {shown}"
            self.args = (self.message,)
        return self

    def __str__(self) -> str:
        where = self.model or "ORM"
        if self.operation:
            where = f"{where}: {self.operation}"
        lines = [_RULE, f"[ERROR in {where}]", "", f"Message: {self.message}"]
        context: list[tuple[str, Any]] = []
        if self.query is not None:
            context.append(("query", self.query))
        if self.params is not None:
            context.append(("params", self.params))
        for key, value in self.details.items():
            context.append((key, value))
        if context:
            lines += ["", "Context:"]
            width = max(len(k) for k, _ in context) + 1  # 'filters: {...}', values aligned as in SPEC
            for key, value in context:
                lines.append(f"  {(key + ':').ljust(width)} {_short(value)}")
        lines.append(_RULE)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, model={self.model!r})"


class ValidationError(ORMException):
    """A value failed a field's or a model's validation."""

    default_message = "Validation failed"


class FieldError(ORMException):
    """A field name is unknown or a field cannot process a value."""

    default_message = "Field error"


class QueryError(ORMException):
    """A query could not be built or executed."""

    default_message = "Query error"


class DoesNotExist(QueryError):
    """A query expected one row and found none."""

    default_message = "Object does not exist"


class MultipleObjectsReturned(QueryError):
    """A query expected one row and found several."""

    default_message = "Multiple objects returned"


class DatabaseError(ORMException):
    """PostgreSQL reported an error."""

    default_message = "Database error"


class ConnectionError(DatabaseError):  # noqa: A001 - the SPEC's name
    """The database could not be reached, or the pool gave no connection in time."""

    default_message = "Connection error"


class StatementTimeout(DatabaseError):
    """PostgreSQL cancelled a statement: ``statement_timeout`` (per database or per call) expired."""

    default_message = "Statement timeout"


class IntegrityError(DatabaseError):
    """A constraint (unique, foreign key, not null, check) was violated."""

    default_message = "Integrity error"


class TransactionError(DatabaseError):
    """A transaction could not be started, committed or rolled back."""

    default_message = "Transaction error"


class ConfigurationError(ORMException):
    """The ORM is missing configuration or was configured inconsistently."""

    default_message = "Configuration error"


class CacheError(ORMException):
    """The state cache failed."""

    default_message = "Cache error"


class StateError(ORMException):
    """An operation does not fit the object's state (e.g. saving a deleted row)."""

    default_message = "State error"


class StaleObjectError(StateError):
    """An optimistic-locking save found a newer version in the database."""

    default_message = "Stale object"


class RelationshipError(ORMException):
    """A relation (FK, inverse FK, M2M) could not be resolved or fetched."""

    default_message = "Relationship error"


class RelationNotLoaded(RelationshipError, AttributeError):
    """A related object was read (``post.author``) before it was loaded.

    An ``AttributeError`` too, so ``hasattr()`` and ``getattr(obj, name, default)`` work.
    """

    default_message = "Relation not loaded"


class MigrationError(ORMException):
    """A migration could not be generated, applied or rolled back."""

    default_message = "Migration error"


class ParameterError(ORMException):
    """Query parameters are malformed (unknown lookup, wrong argument shape)."""

    default_message = "Invalid parameter"


class UnknownDatabaseError(ORMException):  # SPEC: a direct child of ORMException
    """An unexpected database error, with the full context attached."""

    default_message = "Unexpected database error"
