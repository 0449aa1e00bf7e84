"""Sync twins of ``tests.models_reliability_async`` (shared metadata, via ``Model.sync``)."""

from __future__ import annotations

from tests import models_reliability_async as _aio
from tests.models_reliability_async import (
    FAULTS_SQL,
    HOSTILE_MODELS,
    ITEM_TABLE_SQL,
    REPLICATED_SQL,
    SCHEMA_SQL,
    TABLES,
)

Note = _aio.Note.sync
Counter = _aio.Counter.sync
Job = _aio.Job.sync
Hostile = _aio.Hostile.sync
HostileTag = _aio.HostileTag.sync
BouncedNote = _aio.BouncedNote.sync
FaultItem = _aio.FaultItem.sync
FlakyItem = _aio.FlakyItem.sync
SleepyItem = _aio.SleepyItem.sync
ServerInfo = _aio.ServerInfo.sync
ReplicatedItem = _aio.ReplicatedItem.sync

__all__ = [
    "Note",
    "Counter",
    "Job",
    "Hostile",
    "HostileTag",
    "BouncedNote",
    "FaultItem",
    "FlakyItem",
    "SleepyItem",
    "ServerInfo",
    "ReplicatedItem",
    "FAULTS_SQL",
    "REPLICATED_SQL",
    "SCHEMA_SQL",
    "TABLES",
    "HOSTILE_MODELS",
    "ITEM_TABLE_SQL",
]
