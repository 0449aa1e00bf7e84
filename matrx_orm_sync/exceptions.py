# WARNING: generated from matrx_orm/exceptions.py by tools/unasync.py -- do not edit.
# Change the async source, then run: python tools/unasync.py
"""Public import path of the ORM's exceptions (``from matrx_orm.exceptions import DoesNotExist``)."""

from matrx_orm.core.exceptions import *  # noqa: F401,F403
from matrx_orm.core.exceptions import __all__ as __all__  # noqa: F401
