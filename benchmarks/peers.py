"""Optional peer ORMs, measured only when their packages are installed (``pip install 'matrx-orm[bench]'``).

Each adapter adds implementations to the workloads it can express with the
same SQL shape; its ratio is to raw psycopg of the same mode, in the same
rounds, like matrx-orm's.
"""

from __future__ import annotations

from typing import Any

__all__ = ["add_peers", "close_peers"]

_closers: list[Any] = []


def add_peers(workloads: list[Any], ctx: Any, config: Any, wanted: list[str] | None) -> list[str]:
    """Add the installed peers' implementations; return one line per peer saying what happened."""
    return []


def close_peers(loop: Any) -> None:
    """Release what the peers opened."""
    for closer in _closers:
        closer(loop)
    _closers.clear()
