"""The model every recipe uses: a product catalogue in the database ``DATABASE_URL`` names.

Declared once with ``matrx_orm``; sync code uses ``Product.sync`` (same table,
same metadata, blocking methods).
"""

from __future__ import annotations

import os

from matrx_orm import AutoField, BooleanField, CharField, DecimalField, Model, register_database_url

__all__ = ["Product"]

register_database_url("shop", os.environ["DATABASE_URL"])


class Product(Model):
    id = AutoField()
    name = CharField(max_length=100, unique=True)
    price = DecimalField(max_digits=10, decimal_places=2)
    active = BooleanField(default=True)

    _table_name = "recipe_product"
    _database = "shop"
