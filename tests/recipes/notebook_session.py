"""Recipe: a notebook session -- ``await`` and blocking calls side by side, in a thread whose loop runs.

Jupyter runs each cell inside its event loop: top-level ``await`` reaches the
async API, and the sync twin works in the same cell (it never needs or touches
an event loop). ``CELLS`` are the cells; ``run_cells`` executes them the way
IPython does (``python -m tests.recipes.notebook_session``).
"""

from __future__ import annotations

import ast
import asyncio
import inspect

CELLS = [
    """
from decimal import Decimal
from tests.recipes.catalog import Product
""",
    """
# An async query, awaited at the top level of the cell.
cheap = await Product.filter(price__lt=5).order_by("name").all()
print("cheap:", [p.name for p in cheap])
""",
    """
# Blocking calls through the sync twin, in the same thread, while the loop runs.
Product.sync.filter(name="tea").update(price=Decimal("3.50"))
print("tea now costs", Product.sync.get(name="tea").price)
""",
    """
# Both APIs see the same rows.
print("async count:", await Product.count(), "sync count:", Product.sync.count())
""",
]


async def run_cells(cells: list[str]) -> None:
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    for cell in cells:
        code = compile(cell, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # noqa: S307 - the cells above
        if inspect.iscoroutine(result):
            await result


if __name__ == "__main__":
    asyncio.run(run_cells(CELLS))
