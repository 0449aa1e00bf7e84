"""Cross-process cache invalidation: the messages, and which databases publish them.

When a process enables cross-process invalidation for a database, every write
it commits there also sends ``NOTIFY matrx_orm_cache, '<json>'``; every
process listening on that database applies the message to its own store. This
module is the pure half: encoding and decoding the payload, and applying a
decoded message to ``STORE``. The I/O (sending, the listener) lives in
``matrx_orm/_cache_notify.py``.

Payload (JSON): ``{"o": origin, "i": [[schema, table, keys or null], ...]}``.
``origin`` identifies the sending process so it ignores its own messages;
``keys`` are JSON-encoded primary keys (lists for composite keys), ``null``
meaning "every row of the table". PostgreSQL limits a payload to 8000 bytes, so
a message that would be larger degrades to whole-table invalidations.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from matrx_orm.core.cache_store import STORE, CacheStore, TableKey, pk_key

__all__ = [
    "CHANNEL",
    "MAX_PAYLOAD",
    "origin",
    "encode_message",
    "decode_message",
    "apply_message",
    "set_publishing",
    "is_publishing",
]

#: The LISTEN/NOTIFY channel every matrx-orm process uses.
CHANNEL = "matrx_orm_cache"

#: Largest payload sent (PostgreSQL's limit is 8000 bytes).
MAX_PAYLOAD = 7500

_NONCE = uuid.uuid4().hex[:12]

_publishing: set[tuple[str, str, str]] = set()
_publishing_lock = threading.Lock()


def origin() -> str:
    """Return this process's sender id (the pid is part of it, so a forked child differs)."""
    return f"{os.getpid()}.{_NONCE}"


def set_publishing(identity: tuple[str, str, str], on: bool) -> None:
    """Start (or stop) publishing invalidations for the database ``(host, port, name)``."""
    with _publishing_lock:
        if on:
            _publishing.add(identity)
        else:
            _publishing.discard(identity)


def is_publishing(identity: tuple[str, str, str]) -> bool:
    """Return True when writes to the database ``identity`` publish invalidations."""
    return bool(_publishing) and identity in _publishing


def _jsonable(key: Hashable) -> Any:
    if isinstance(key, tuple):
        return [_jsonable(k) for k in key]
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    return str(key)


def encode_message(items: Sequence[tuple[TableKey, Iterable[Hashable] | None]]) -> str:
    """Return the NOTIFY payload invalidating ``items`` (``(table key, keys or None)`` pairs).

    Falls back to whole-table invalidation when the keys would not fit in one payload.
    """
    encoded = [[tkey[3], tkey[4], None if keys is None else [_jsonable(k) for k in keys]] for tkey, keys in items]
    text = json.dumps({"o": origin(), "i": encoded}, separators=(",", ":"), default=str)
    if len(text.encode("utf-8")) > MAX_PAYLOAD:
        encoded = [[schema, table, None] for schema, table, _keys in encoded]
        text = json.dumps({"o": origin(), "i": encoded}, separators=(",", ":"))
    return text


def decode_message(payload: str) -> tuple[str, list[tuple[str, str, list[Any] | None]]]:
    """Return ``(origin, [(schema, table, keys or None), ...])`` from a payload; raise ValueError if malformed."""
    data = json.loads(payload)
    if not isinstance(data, dict) or not isinstance(data.get("i"), list):
        raise ValueError(f"not a matrx-orm cache message: {payload[:200]!r}")
    items: list[tuple[str, str, list[Any] | None]] = []
    for item in data["i"]:
        if not isinstance(item, list) or len(item) != 3:
            raise ValueError(f"malformed item in cache message: {item!r}")
        schema, table, keys = item
        if keys is not None and not isinstance(keys, list):
            raise ValueError(f"malformed keys in cache message: {keys!r}")
        items.append((str(schema), str(table), keys))
    return str(data.get("o", "")), items


def apply_message(identity: tuple[str, str, str], payload: str, store: CacheStore = STORE) -> int:
    """Apply a received payload to ``store`` for the database ``identity``; return the tables touched.

    Messages sent by this process are ignored (its writes already invalidated locally).
    """
    sender, items = decode_message(payload)
    if sender == origin():
        return 0
    touched = 0
    for schema, table, keys in items:
        tkey: TableKey = (*identity, schema, table)
        if not store.has_table(tkey):
            continue
        touched += 1
        if keys is None:
            store.invalidate_table(tkey, None)
            continue
        meta = store.table_meta(tkey)
        if meta is None:
            store.invalidate_table(tkey, None)
            continue
        canonical = [pk_key(meta, tuple(k) if isinstance(k, list) else k) for k in keys]
        store.invalidate_table(tkey, canonical)
    return touched
