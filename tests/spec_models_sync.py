"""Sync twins of ``tests.spec_models_async`` (shared metadata, via ``Model.sync``).

The generated sync SPEC-example tests import this module where the async tests
import ``tests.spec_models_async``: SPEC's examples run without ``await``.
"""

from __future__ import annotations

from tests import spec_models_async as _models
from tests.spec_models_async import SCHEMA_SQL, TABLES

User = _models.User.sync
Post = _models.Post.sync

__all__ = ["User", "Post", "SCHEMA_SQL", "TABLES"]
