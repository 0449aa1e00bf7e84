"""Name helpers: snake_case table names and safely quoted SQL identifiers."""

from __future__ import annotations

import re
from functools import lru_cache

from psycopg import sql

__all__ = ["snake_case", "quote_ident", "qualified_name"]

_CAMEL_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """Return ``UserProfile`` as ``user_profile``."""
    return _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", name)).lower()


@lru_cache(maxsize=4096)
def quote_ident(*parts: str) -> str:
    """Return a quoted (and dotted) identifier, safe inside a query that has parameters.

    psycopg quotes the name; ``%`` is doubled because every query we send is
    executed with a parameter list, where ``%`` would start a placeholder.
    """
    return sql.Identifier(*parts).as_string().replace("%", "%%")


def qualified_name(schema: str | None, table: str) -> str:
    """Return ``"schema"."table"`` (or just ``"table"`` without a schema)."""
    return quote_ident(schema, table) if schema else quote_ident(table)
