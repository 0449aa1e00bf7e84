# WARNING: generated from matrx_orm/_pagination.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Paginators: offset pages (``Paginator``) and keyset/cursor pages (``CursorPaginator``).

Offset pages suit numbered page links (one ``COUNT`` per paginator, then one
query per page). Keyset pages suit feeds and APIs: one query per page, no
count, no ``OFFSET`` scan, stable under inserts. The pure parts (page
objects, cursors, the keyset filter) live in ``core.pagination``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from matrx_orm_sync._queryset import QuerySet
from matrx_orm.core.exceptions import ParameterError
from matrx_orm.core.pagination import (
    CursorPage,
    Page,
    decode_cursor,
    encode_cursor,
    keyset_filter,
    keyset_ordering,
    page_bounds,
)

__all__ = ["Paginator", "CursorPaginator", "Page", "CursorPage"]

M = TypeVar("M")


def _queryset(source: Any) -> QuerySet[Any]:
    if isinstance(source, QuerySet):
        return source
    if isinstance(source, type) and hasattr(source, "_meta"):
        return QuerySet(source)
    raise ParameterError(f"paginators take a queryset or a model class, got {source!r}")


def _per_page(model: str, per_page: Any) -> int:
    if isinstance(per_page, bool) or not isinstance(per_page, int) or per_page < 1:
        raise ParameterError(f"{model} paginator: per_page must be a positive integer, got {per_page!r}", model=model)
    return per_page


class Paginator(Generic[M]):
    """Numbered pages of a queryset: ``await Paginator(qs.order_by("id"), 20).page(3)``."""

    def __init__(self, queryset: Any, per_page: int) -> None:
        self.queryset = _queryset(queryset)
        self.model_name = self.queryset.state.meta.name
        self.per_page = _per_page(self.model_name, per_page)
        self._total: int | None = None

    def count(self) -> int:
        """Return the number of rows (counted once per paginator)."""
        if self._total is None:
            self._total = self.queryset.count()
        return self._total

    def num_pages(self) -> int:
        """Return the number of pages (at least 1)."""
        return max(1, -(-(self.count()) // self.per_page))

    def page(self, number: int) -> Page[M]:
        """Return page ``number`` (1-based); raise ParameterError when it does not exist."""
        total = self.count()
        offset, limit = page_bounds(self.model_name, number, self.per_page, total)
        items = self.queryset[offset : offset + limit].all()
        return Page(items, number, self.per_page, total)


class CursorPaginator(Generic[M]):
    """Keyset pages: ``page = await CursorPaginator(qs, 20, ordering=("-created_at",)).page(after=cursor)``.

    The ordering (default: the queryset's ``order_by``) gets the primary key
    appended so it is total. Ordering fields must not be NULL.
    """

    def __init__(self, queryset: Any, per_page: int, *, ordering: Sequence[str] | None = None) -> None:
        qs = _queryset(queryset)
        meta = qs.state.meta
        self.per_page = _per_page(meta.name, per_page)
        self.ordering = keyset_ordering(qs.state, ordering)
        self.meta = meta
        self.queryset = qs

    def _ordered(self, reverse: bool) -> QuerySet[Any]:
        names = [("-" if desc != reverse else "") + name for name, desc in self.ordering]
        return self.queryset.order_by(*names)

    def page(self, *, after: str | None = None, before: str | None = None) -> CursorPage[M]:
        """Return the page after cursor ``after`` (the first page without one), or before ``before``."""
        if after is not None and before is not None:
            raise ParameterError(f"{self.meta.name} cursor pagination: pass after= or before=, not both", model=self.meta.name)
        backward = before is not None
        cursor = before if backward else after
        qs = self._ordered(reverse=backward)
        if cursor is not None:
            values = decode_cursor(self.meta, self.ordering, cursor)
            qs = qs.filter(keyset_filter(self.ordering, values, forward=not backward))
        rows = qs.limit(self.per_page + 1).all()
        more = len(rows) > self.per_page
        items = rows[: self.per_page]
        if backward:
            items.reverse()
        first = encode_cursor(self.meta, self.ordering, items[0]) if items else None
        last = encode_cursor(self.meta, self.ordering, items[-1]) if items else None
        if backward:
            return CursorPage(items, next_cursor=last, previous_cursor=first if more else None, has_next=True,
                              has_previous=more, ordering=tuple(n for n, _ in self.ordering))
        return CursorPage(items, next_cursor=last if more else None, previous_cursor=first if cursor is not None else None,
                          has_next=more, has_previous=cursor is not None, ordering=tuple(n for n, _ in self.ordering))
