"""Public import path of the ORM's exceptions (``from matrx_orm.exceptions import DoesNotExist``)."""

from matrx_orm.core.exceptions import *  # noqa: F401,F403
from matrx_orm.core.exceptions import __all__ as __all__  # noqa: F401
