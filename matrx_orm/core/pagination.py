"""Pure parts of pagination: pages, opaque keyset cursors and the keyset filter.

Offset pagination (``Paginator``) counts once and slices. Keyset pagination
(``CursorPaginator``) never counts or skips: each page is "the next N rows
after this one in a fixed order", a ``WHERE (a, b) > (...)``-style filter
that an index serves in constant time at any depth. The order always ends
with the primary key, so it is total; the cursor is the ordering values of a
boundary row, JSON-encoded and base64'd, validated by the fields when read.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import decimal
import enum
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from matrx_orm.core.exceptions import ParameterError, ValidationError
from matrx_orm.core.model_meta import ModelMeta
from matrx_orm.core.query_state import Q, QueryState

__all__ = ["Page", "CursorPage", "keyset_ordering", "encode_cursor", "decode_cursor", "keyset_filter", "page_bounds"]

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of an offset paginator (``number`` is 1-based)."""

    items: list[T]
    number: int
    per_page: int
    total: int

    @property
    def num_pages(self) -> int:
        """Return the number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """Return True when a later page exists."""
        return self.number < self.num_pages

    @property
    def has_previous(self) -> bool:
        """Return True when an earlier page exists."""
        return self.number > 1

    @property
    def next_number(self) -> int | None:
        """Return the next page's number, or None."""
        return self.number + 1 if self.has_next else None

    @property
    def previous_number(self) -> int | None:
        """Return the previous page's number, or None."""
        return self.number - 1 if self.has_previous else None

    @property
    def start_index(self) -> int:
        """Return the 1-based index of the first item overall (0 on an empty page)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        """Return the 1-based index of the last item overall (0 on an empty page)."""
        return self.start_index + len(self.items) - 1 if self.items else 0

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class CursorPage(Generic[T]):
    """One page of a keyset paginator; pass ``next_cursor`` as ``after=`` for the next one."""

    items: list[T]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    has_next: bool = False
    has_previous: bool = False
    ordering: tuple[str, ...] = field(default=(), repr=False)

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def page_bounds(model: str, number: Any, per_page: int, total: int) -> tuple[int, int]:
    """Return (offset, limit) of page ``number``; raise ParameterError when it does not exist."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ParameterError(f"{model} paginator: page numbers start at 1, got {number!r}", model=model)
    pages = max(1, -(-total // per_page))
    if number > pages:
        raise ParameterError(f"{model} paginator: page {number} is past the last page ({pages})", model=model)
    return (number - 1) * per_page, per_page


def keyset_ordering(state: QueryState, ordering: Sequence[str] | None) -> tuple[tuple[str, bool], ...]:
    """Return ``((field, descending), ...)`` ending with the primary key.

    ``ordering`` defaults to the queryset's own ``order_by`` (plain fields only).
    """
    meta = state.meta
    pk = meta.require_pk("keyset pagination")
    if ordering is None:
        entries = []
        for path, desc in state.order_by:
            if not isinstance(path, str) or "__" in path:
                raise ParameterError(
                    f"{meta.name} cursor pagination orders by model fields; pass ordering=(...)", model=meta.name
                )
            entries.append((path, desc))
    else:
        if isinstance(ordering, str):
            ordering = (ordering,)
        entries = []
        for name in ordering:
            if not isinstance(name, str) or not name:
                raise ParameterError(f"{meta.name} cursor pagination: ordering takes field names, got {name!r}", model=meta.name)
            entries.append((meta.field(name.lstrip("-")).name, name.startswith("-")))
    names = [n for n, _ in entries]
    for f in pk:
        if f.name not in names:
            entries.append((f.name, entries[-1][1] if entries else False))
    return tuple(entries)


def _encode(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def encode_cursor(meta: ModelMeta, ordering: Sequence[tuple[str, bool]], obj: Any) -> str:
    """Return the opaque cursor of ``obj``'s position in ``ordering``."""
    values = []
    for name, _desc in ordering:
        value = obj.__dict__.get(name)
        if value is None:
            raise ParameterError(
                f"{meta.name} cursor pagination: {name} is NULL on a row; order by NOT NULL fields", model=meta.name
            )
        values.append(value)
    data = json.dumps(values, default=_encode, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode_cursor(meta: ModelMeta, ordering: Sequence[tuple[str, bool]], cursor: str) -> list[Any]:
    """Return the ordering values a cursor holds, validated by the fields (ParameterError when bad)."""
    if not isinstance(cursor, str) or not cursor:
        raise ParameterError(f"{meta.name} cursor pagination: invalid cursor {cursor!r}", model=meta.name)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ParameterError(f"{meta.name} cursor pagination: invalid cursor", model=meta.name) from exc
    if not isinstance(values, list) or len(values) != len(ordering):
        raise ParameterError(f"{meta.name} cursor pagination: the cursor does not match the ordering", model=meta.name)
    out = []
    for (name, _desc), value in zip(ordering, values, strict=True):
        try:
            out.append(meta.fields[name].clean(value))
        except ValidationError as exc:
            raise ParameterError(f"{meta.name} cursor pagination: invalid cursor ({exc.message})", model=meta.name) from exc
    return out


def keyset_filter(ordering: Sequence[tuple[str, bool]], values: Sequence[Any], *, forward: bool) -> Q:
    """Return the Q selecting rows strictly after (``forward``) or before the cursor position.

    ``(a ASC, b DESC)`` after ``(x, y)`` is ``a > x OR (a = x AND b < y)``.
    """
    branches: list[Q] = []
    for i, (name, desc) in enumerate(ordering):
        greater = desc != forward  # forward on ascending: >, on descending: <
        conditions = {ordering[j][0]: values[j] for j in range(i)}
        conditions[f"{name}__{'gt' if greater else 'lt'}"] = values[i]
        branches.append(Q(**conditions))
    result = branches[0]
    for branch in branches[1:]:
        result = result | branch
    return result
