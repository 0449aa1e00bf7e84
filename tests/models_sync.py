"""Sync twins of ``tests.models_async`` (shared metadata, via ``Model.sync``).

The generated sync tests import this module where the async tests import
``tests.models_async``; it proves one model module serves both packages.
"""

from __future__ import annotations

from tests import models_async
from tests.models_async import SCHEMA_SQL, TABLES, Color

User = models_async.User.sync
Post = models_async.Post.sync
Everything = models_async.Everything.sync
Membership = models_async.Membership.sync
Document = models_async.Document.sync

__all__ = ["User", "Post", "Everything", "Membership", "Document", "Color", "SCHEMA_SQL", "TABLES"]
