"""Recipe: a Django-style management command on the sync twin (no Django needed).

Management commands are sync code: ``handle()`` calls the blocking API
directly. ``BaseCommand`` is a ten-line stand-in for Django's; in a Django
project subclass ``django.core.management.base.BaseCommand`` instead, with the
same ``add_arguments``/``handle``.

    DATABASE_URL=postgresql://... python -m tests.recipes.management deactivate_expensive --max-price 10
"""

from __future__ import annotations

import argparse
import sys
from abc import ABC, abstractmethod
from decimal import Decimal
from typing import Any, TextIO

from matrx_orm_sync import transaction
from tests.recipes.catalog import Product as AsyncProduct

Product = AsyncProduct.sync


class BaseCommand(ABC):
    help = ""

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027 - optional, like Django's
        """Declare the command's options (none by default)."""

    @abstractmethod
    def handle(self, **options: Any) -> str:
        """Do the work; return the text to print."""

    def run_from_argv(self, argv: list[str]) -> None:
        parser = argparse.ArgumentParser(prog=argv[0], description=self.help)
        self.add_arguments(parser)
        self.stdout.write(self.handle(**vars(parser.parse_args(argv[1:]))) + "\n")


class DeactivateExpensive(BaseCommand):
    help = "Deactivate the active products priced above --max-price, in one transaction."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--max-price", type=Decimal, required=True)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, **options: Any) -> str:
        with transaction("shop"):
            expensive = Product.filter(active=True, price__gt=options["max_price"]).select_for_update()
            names = expensive.order_by("name").values_list("name", flat=True)
            if not options["dry_run"]:
                Product.filter(name__in=names).update(active=False)
        verb = "would deactivate" if options["dry_run"] else "deactivated"
        return f"{verb} {len(names)}: {', '.join(names) or '-'}"


COMMANDS: dict[str, type[BaseCommand]] = {"deactivate_expensive": DeactivateExpensive}


def main(argv: list[str]) -> None:
    """Run ``argv[1]`` like ``manage.py`` does."""
    COMMANDS[argv[1]]().run_from_argv(argv[1:])


if __name__ == "__main__":
    main(sys.argv)
