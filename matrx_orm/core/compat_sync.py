"""Sync side of ``compat_async``: the same names and shapes, no event loop."""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["MODE", "Lock", "Event", "sleep", "loop_key", "gather", "run_in_worker"]

MODE = "sync"
Lock = threading.Lock
Event = threading.Event
sleep = time.sleep


def loop_key() -> Any:
    """Return None: sync pools are shared by every thread of the process."""
    return None


def gather(*results: Any) -> list[Any]:
    """Return already-computed results in order (calls ran one after another)."""
    return list(results)


def run_in_worker(func: Any, *args: Any) -> Any:
    """Call a blocking function directly."""
    return func(*args)
