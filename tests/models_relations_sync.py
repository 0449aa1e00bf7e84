"""Sync twins of ``tests.models_relations_async`` (shared metadata, via ``Model.sync``).

The generated sync relationship tests import this module where the async
tests import ``tests.models_relations_async``.
"""

from __future__ import annotations

from tests import models_relations_async as _models
from tests.models_relations_async import SCHEMA_SQL, TABLES

RelUser = _models.RelUser.sync
RelProfile = _models.RelProfile.sync
RelPost = _models.RelPost.sync
RelTag = _models.RelTag.sync
RelComment = _models.RelComment.sync
RelArticle = _models.RelArticle.sync
RelRecipe = _models.RelRecipe.sync
RelIngredient = _models.RelIngredient.sync
RelMessage = _models.RelMessage.sync
AuthUser = _models.AuthUser.sync
RelAccount = _models.RelAccount.sync
RelCategory = _models.RelCategory.sync
RelGhost = _models.RelGhost.sync
RelAudit = _models.RelAudit.sync

__all__ = [
    "RelUser",
    "RelProfile",
    "RelPost",
    "RelTag",
    "RelComment",
    "RelArticle",
    "RelRecipe",
    "RelIngredient",
    "RelMessage",
    "AuthUser",
    "RelAccount",
    "RelCategory",
    "RelGhost",
    "RelAudit",
    "SCHEMA_SQL",
    "TABLES",
]
