"""Recipe: a plain script on the sync twin -- no event loop, no ``asyncio.run``.

    DATABASE_URL=postgresql://... python -m tests.recipes.sync_script tea=4.20 coffee=9.90

Replaces the named products in one transaction; pools close by themselves at exit.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from matrx_orm_sync import transaction
from tests.recipes.catalog import Product as AsyncProduct

Product = AsyncProduct.sync


def main(argv: list[str]) -> int:
    pairs = [arg.split("=", 1) for arg in argv]
    with transaction("shop"):
        Product.filter(name__in=[name for name, _ in pairs]).delete()
        Product.bulk_create([Product(name=name, price=Decimal(price)) for name, price in pairs])
    print(f"imported {len(pairs)} products; {Product.filter(active=True).count()} active")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
