"""Sync twins of ``tests.models_query_async`` (shared metadata, via ``Model.sync``)."""

from __future__ import annotations

from tests import models_query_async as _models
from tests.models_query_async import SCHEMA_SQL, TABLES

QAuthor = _models.QAuthor.sync
QArticle = _models.QArticle.sync
QBooking = _models.QBooking.sync
QCategory = _models.QCategory.sync
QTimestamped = _models.QTimestamped
QNote = _models.QNote.sync
QEvent = _models.QEvent.sync
QLine = _models.QLine.sync

__all__ = ["QAuthor", "QArticle", "QBooking", "QCategory", "QTimestamped", "QNote", "QEvent", "QLine", "SCHEMA_SQL", "TABLES"]
