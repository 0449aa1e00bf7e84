"""Which statements may go to a read replica, or be retried after a lost connection.

Both questions have the same answer: a statement that only reads. The ORM's
compiler produces plain ``SELECT`` text for reads and ``INSERT``/``UPDATE``/
``DELETE`` for writes; anything that locks rows (``FOR UPDATE``...) or calls
a function known to change state (sequences, advisory locks, ``set_config``,
``NOTIFY``...) counts as a write. When in doubt, a statement is a write: it
goes to the primary and is never retried. The answer is memoised per SQL text
(compiled SQL is cached per query shape, so there are few distinct texts).

``use_primary()`` forces reads in its block to the primary (for
read-your-writes outside a transaction); ``QuerySet.using("primary")`` does it
for one queryset.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["is_read_only", "use_primary", "primary_forced", "routing"]

_WRITE_MARKERS = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(?:KEY\s+)?SHARE\b|\bINTO\b|"
    r"\b(?:nextval|setval|pg_advisory\w*|pg_try_advisory\w*|set_config|pg_notify|txid_current|pg_current_xact_id|"
    r"pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_switch_wal|lo_\w+|dblink\w*)\s*\(",
    re.IGNORECASE,
)

_MAX_MEMO = 8192
_memo: dict[str, bool] = {}
_memo_lock = threading.Lock()


def is_read_only(query: Any) -> bool:
    """Return True when ``query`` is a plain ``SELECT`` that changes nothing (memoised per text)."""
    if not isinstance(query, str):
        return False  # psycopg.sql.Composed etc.: built by hand, treated as a write
    known = _memo.get(query)
    if known is not None:
        return known
    head = query.lstrip()[:7].upper()
    verdict = head.startswith("SELECT") and _WRITE_MARKERS.search(query) is None
    with _memo_lock:
        if len(_memo) >= _MAX_MEMO:
            _memo.clear()
        _memo[query] = verdict
    return verdict


_force_primary: ContextVar[bool] = ContextVar("matrx_orm_force_primary", default=False)


@contextmanager
def use_primary() -> Iterator[None]:
    """Send every read in the block to the primary (replicas may lag behind your writes)."""
    token = _force_primary.set(True)
    try:
        yield
    finally:
        _force_primary.reset(token)


def primary_forced() -> bool:
    """Return True inside ``use_primary()`` (or a ``using("primary")`` queryset call)."""
    return _force_primary.get()


class _Routing:
    """One flag the executor checks: False until a database with replicas is used."""

    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = False


routing = _Routing()
