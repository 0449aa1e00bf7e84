"""``EXPLAIN`` for a compiled query: the options are keywords from a fixed list, the query keeps its parameters.

Shared by both packages; ``QuerySet.explain()`` runs the result.
"""

from __future__ import annotations

from typing import Any

from matrx_orm.core.exceptions import ParameterError

__all__ = ["EXPLAIN_FORMATS", "explain_sql", "plan_text"]

EXPLAIN_FORMATS = ("text", "json", "yaml", "xml")


def explain_sql(
    query: str,
    *,
    analyze: bool = False,
    verbose: bool = False,
    buffers: bool = False,
    settings: bool = False,
    format: str = "text",
    model: str | None = None,
) -> str:
    """Return ``EXPLAIN (options) query`` (``analyze`` runs the query; the others only describe it)."""
    fmt = str(format).lower()
    if fmt not in EXPLAIN_FORMATS:
        raise ParameterError(
            f"{model or 'QuerySet'}.explain(): format must be one of {', '.join(EXPLAIN_FORMATS)}, got {format!r}",
            model=model,
        )
    options = [f"FORMAT {fmt.upper()}"]
    for name, enabled in (("ANALYZE", analyze), ("VERBOSE", verbose), ("BUFFERS", buffers), ("SETTINGS", settings)):
        if enabled:
            options.append(name)
    return f"EXPLAIN ({', '.join(options)}) {query}"


def plan_text(rows: list[tuple[Any, ...]], fmt: str) -> str:
    """Return the plan PostgreSQL sent as one string (one line per row in text format)."""
    if fmt.lower() == "json":
        import json

        return json.dumps(rows[0][0], indent=2)
    return "\n".join(str(row[0]) for row in rows)
