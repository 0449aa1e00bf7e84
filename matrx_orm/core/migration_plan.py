"""What a migration run must do, decided without I/O.

Given the loaded files and the rows of ``_matrx_migrations``, these functions
say which migrations are pending, refuse edited files (checksums) and
unapproved destructive ones before anything runs, pick what ``rollback``
undoes, and build the status table. The runner only executes the decision.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from matrx_orm.core.exceptions import MigrationError
from matrx_orm.core.migration_files import MigrationFile

__all__ = [
    "MIGRATIONS_TABLE_SQL",
    "ADVISORY_LOCK_KEY",
    "AppliedMigration",
    "MigrationState",
    "verify_checksums",
    "pending_migrations",
    "refuse_destructive",
    "rollback_targets",
    "build_status",
]

#: The bookkeeping table, exactly as SPEC defines it.
MIGRATIONS_TABLE_SQL = """CREATE TABLE IF NOT EXISTS _matrx_migrations (
    id         SERIAL PRIMARY KEY,
    name       VARCHAR(255) NOT NULL UNIQUE,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    checksum   VARCHAR(64)  NOT NULL
)"""

#: Key of the session advisory lock that serialises migrate/rollback runs on one database.
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"matrx-orm:_matrx_migrations").digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class AppliedMigration:
    """One row of ``_matrx_migrations``."""

    id: int
    name: str
    applied_at: _dt.datetime | None
    checksum: str


@dataclass(frozen=True)
class MigrationState:
    """One line of ``migration_status``.

    ``state`` is ``"applied"``, ``"pending"``, ``"modified"`` (applied, but the
    file changed since) or ``"missing"`` (applied, but no file has that name).
    """

    name: str
    state: str
    applied_at: _dt.datetime | None = None
    checksum: str | None = None
    file_checksum: str | None = None
    destructive: bool = False
    description: str = ""

    @property
    def applied(self) -> bool:
        """Return True when the migration has a row in ``_matrx_migrations``."""
        return self.state in ("applied", "modified", "missing")


def verify_checksums(files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]) -> None:
    """Raise MigrationError naming every applied migration whose file changed since it was applied."""
    by_name = {f.name: f for f in files}
    changed = [
        (row, by_name[row.name]) for row in applied if row.name in by_name and by_name[row.name].checksum != row.checksum
    ]
    if not changed:
        return
    lines = [
        f"  {f.path}: applied with checksum {row.checksum[:12]}..., the file now has {f.checksum[:12]}..."
        for row, f in changed
    ]
    names = ", ".join(f.name for _, f in changed)
    raise MigrationError(
        f"applied migration file(s) were modified after being applied: {names}\n"
        + "\n".join(lines)
        + "\nRestore the original file(s) and put new changes in a new migration. Nothing was run.",
        operation="verify checksums",
        migrations=[f.name for _, f in changed],
    )


def pending_migrations(files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]) -> list[MigrationFile]:
    """Return the files (already in dependency order) that have no row yet."""
    done = {row.name for row in applied}
    return [f for f in files if f.name not in done]


def refuse_destructive(pending: Sequence[MigrationFile], allow_destructive: bool) -> None:
    """Raise MigrationError when a pending migration is destructive and that was not allowed."""
    if allow_destructive:
        return
    flagged = [f for f in pending if f.is_destructive]
    if not flagged:
        return
    lines = [f"  {f.name}: {'; '.join(f.destructive)}" for f in flagged]
    raise MigrationError(
        "pending migration(s) contain DESTRUCTIVE operations (data would be lost):\n"
        + "\n".join(lines)
        + "\nReview them, then run migrate with --allow-destructive (allow_destructive=True). Nothing was run.",
        operation="migrate",
        migrations=[f.name for f in flagged],
    )


def rollback_targets(
    files: Sequence[MigrationFile], applied: Sequence[AppliedMigration], steps: int
) -> list[MigrationFile]:
    """Return the files to undo, most recently applied first, for ``rollback(steps=...)``."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise MigrationError(f"rollback steps must be a positive integer, got {steps!r}")
    by_name = {f.name: f for f in files}
    out: list[MigrationFile] = []
    for row in sorted(applied, key=lambda r: r.id, reverse=True)[:steps]:
        migration = by_name.get(row.name)
        if migration is None:
            raise MigrationError(
                f"cannot roll back {row.name}: it is applied but no file of that name is in the migrations directory",
                operation="rollback",
            )
        if migration.down is None:
            raise MigrationError(f"cannot roll back {row.name}: its file has no down(db) function", operation="rollback")
        out.append(migration)
    return out


def build_status(files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]) -> list[MigrationState]:
    """Return applied migrations in the order they were applied, then pending ones in dependency order."""
    by_name = {f.name: f for f in files}
    out: list[MigrationState] = []
    for row in sorted(applied, key=lambda r: r.id):
        migration = by_name.get(row.name)
        if migration is None:
            out.append(MigrationState(row.name, "missing", row.applied_at, row.checksum))
            continue
        state = "applied" if migration.checksum == row.checksum else "modified"
        out.append(
            MigrationState(
                row.name, state, row.applied_at, row.checksum, migration.checksum, migration.is_destructive,
                migration.description,
            )
        )
    for migration in pending_migrations(files, applied):
        out.append(
            MigrationState(
                migration.name, "pending", None, None, migration.checksum, migration.is_destructive,
                migration.description,
            )
        )
    return out
