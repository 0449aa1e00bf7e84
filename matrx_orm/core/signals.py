"""Model lifecycle signals: ``pre_save``, ``post_save``, ``pre_delete``, ``post_delete``.

Receivers are connected per model (or for every model) and fire in both
modes: a model's async class and its sync twin share metadata, so a receiver
connected with either class hears saves made through both. Plain functions
run in both modes; ``async def`` receivers run in async mode only (a sync
save with one connected raises ``ConfigurationError`` rather than skipping it).

Signals fire for instance operations (``save()``, ``create()``, ``delete()``
on an instance, ``get_or_create``/``update_or_create``); set-based
operations (``QuerySet.update()``/``delete()``, bulk methods) run one
statement and send none, as in Django.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from matrx_orm.core.exceptions import ConfigurationError

__all__ = ["Signal", "pre_save", "post_save", "pre_delete", "post_delete"]


def _key(sender: Any) -> Any:
    meta = getattr(sender, "_meta", None)
    if meta is None:
        raise ConfigurationError(f"signals connect to model classes, got {sender!r}")
    return meta.key


class Signal:
    """A list of receivers called with ``(sender=Model, instance=obj, **extra)``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[tuple[Callable[..., Any], Any]] = []
        self._lock = threading.Lock()

    def connect(self, receiver: Callable[..., Any] | None = None, *, sender: Any = None) -> Any:
        """Connect ``receiver`` (for ``sender``'s model only when given); usable as a decorator."""
        if receiver is None:
            return lambda func: self.connect(func, sender=sender)
        if not callable(receiver):
            raise ConfigurationError(f"{self.name}.connect() takes a callable, got {receiver!r}")
        key = None if sender is None else _key(sender)
        with self._lock:
            if not any(r is receiver and k == key for r, k in self._receivers):
                self._receivers.append((receiver, key))
        return receiver

    def disconnect(self, receiver: Callable[..., Any], *, sender: Any = None) -> bool:
        """Disconnect ``receiver``; return True when it was connected."""
        key = None if sender is None else _key(sender)
        with self._lock:
            before = len(self._receivers)
            self._receivers = [(r, k) for r, k in self._receivers if not (r is receiver and k == key)]
            return len(self._receivers) != before

    def has_receivers(self, meta: Any) -> bool:
        """Return True when a receiver listens to ``meta``'s model."""
        receivers = self._receivers
        return bool(receivers) and any(k is None or k == meta.key for _r, k in receivers)

    def receivers_for(self, meta: Any, mode: str) -> list[Callable[..., Any]]:
        """Return the receivers for ``meta``'s model; in sync mode, reject ``async def`` ones."""
        out = [r for r, k in self._receivers if k is None or k == meta.key]
        if mode == "sync":
            for receiver in out:
                if inspect.iscoroutinefunction(receiver):
                    raise ConfigurationError(
                        f"{self.name}: receiver {getattr(receiver, '__qualname__', receiver)!r} is async "
                        f"and cannot run for a sync save of {meta.name}; connect a plain function",
                        model=meta.name,
                    )
        return out

    def __repr__(self) -> str:
        return f"<Signal {self.name}: {len(self._receivers)} receiver(s)>"


pre_save = Signal("pre_save")
post_save = Signal("post_save")
pre_delete = Signal("pre_delete")
post_delete = Signal("post_delete")

