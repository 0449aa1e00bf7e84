"""``TableFilter``: which tables a migration (or code generation) run may touch.

Either an allowlist (``include``) or a denylist (``exclude``), never both. A
name matches a table by its bare name (``"post"``) or its qualified name
(``"analytics.event"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from matrx_orm.core.exceptions import ConfigurationError
from matrx_orm.core.schema_snapshot import DEFAULT_SCHEMA

__all__ = ["TableFilter", "cross_scope_fk_message", "warn_cross_scope_fk"]


class TableFilter:
    """Restrict a schema diff to some tables: ``TableFilter(include={...})`` or ``TableFilter(exclude={...})``."""

    __slots__ = ("include", "exclude")

    def __init__(self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None) -> None:
        if isinstance(include, str) or isinstance(exclude, str):
            raise ConfigurationError("TableFilter takes collections of table names, not a single string")
        if include is not None and exclude is not None:
            raise ConfigurationError(
                "TableFilter: pass either include= or exclude=, not both "
                "(--include-tables and --exclude-tables are mutually exclusive)"
            )
        self.include: frozenset[str] | None = frozenset(include) if include is not None else None
        self.exclude: frozenset[str] | None = frozenset(exclude) if exclude is not None else None

    @classmethod
    def from_options(cls, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None) -> TableFilter | None:
        """Return a filter for the given options, or None when neither is set."""
        if include is None and exclude is None:
            return None
        return cls(include=include, exclude=exclude)

    @property
    def is_include(self) -> bool:
        """Return True for an allowlist."""
        return self.include is not None

    def names(self, schema: str, table: str) -> tuple[str, ...]:
        """Return the spellings a filter entry may use for ``schema.table``."""
        if schema == DEFAULT_SCHEMA:
            return (table, f"{schema}.{table}")
        return (f"{schema}.{table}", table)

    def mentions(self, schema: str, table: str) -> bool:
        """Return True when the filter names ``schema.table`` explicitly."""
        listed = self.include if self.include is not None else self.exclude
        return any(name in (listed or ()) for name in self.names(schema, table))

    def allows(self, schema: str, table: str) -> bool:
        """Return True when ``schema.table`` is inside the scope."""
        if self.include is not None:
            return self.mentions(schema, table)
        if self.exclude is not None:
            return not self.mentions(schema, table)
        return True

    def __repr__(self) -> str:
        if self.include is not None:
            return f"TableFilter(include={sorted(self.include)!r})"
        return f"TableFilter(exclude={sorted(self.exclude or ())!r})"


def cross_scope_fk_message(table: str, column: str, target: str) -> str:
    """Return SPEC's cross-scope foreign-key warning text."""
    return (
        f"[matrx-orm] Cross-scope FK detected: '{table}.{column}' references '{target}', "
        "which is outside the current migration scope. The FK constraint will be included "
        f"in the generated SQL, but '{target}' will not be created or managed by this migration "
        "set. Ensure it already exists in the target database."
    )


def warn_cross_scope_fk(table: str, column: str, target: str) -> None:
    """Emit the cross-scope FK ``UserWarning`` (attributed to matrx_orm so SPEC's filter silences it)."""
    # stacklevel=1 keeps the warning's module inside matrx_orm, which is what
    # warnings.filterwarnings(..., module="matrx_orm") matches on.
    warnings.warn(cross_scope_fk_message(table, column, target), UserWarning, stacklevel=1)
