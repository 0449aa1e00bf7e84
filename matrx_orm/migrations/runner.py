"""Apply and undo migration files, safely when many servers deploy at once.

Safety, by construction:

* one dedicated connection holds a PostgreSQL session **advisory lock** for the
  whole run, so concurrent ``migrate``/``rollback`` runs (other processes,
  other servers) wait their turn, then find nothing left to do;
* the applied set is read *after* the lock is taken;
* every applied file's **checksum** is verified, and destructive pending
  migrations are refused unless allowed, before anything runs;
* each migration runs in **its own transaction together with its
  ``_matrx_migrations`` row**: a failure leaves the database and the table
  exactly as they were before that migration. A file that sets
  ``atomic = False`` (for ``CREATE INDEX CONCURRENTLY``, which PostgreSQL
  refuses inside a transaction) runs in autocommit instead and is recorded only
  once it has succeeded; what it did before a failure stays, so such a file is
  written to be re-run (``IF NOT EXISTS``).

Migration files are ``async def up(db)`` / ``async def down(db)``; plain
``def`` functions work too. The sync package runs the same files (see
``core.compat_sync.run_coroutine``).
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection, errors

from matrx_orm._pool import raw_connection
from matrx_orm._transaction import bind_transaction
from matrx_orm.core.compat_async import awaitable_facade, call_with_blocking_facade, run_coroutine
from matrx_orm.core.config import resolve_database_name
from matrx_orm.core.exceptions import MigrationError, ORMException
from matrx_orm.core.migration_files import MigrationFile, is_async_callable, load_migrations
from matrx_orm.core.migration_plan import (
    ADVISORY_LOCK_KEY,
    MIGRATIONS_TABLE_SQL,
    AppliedMigration,
    MigrationState,
    build_status,
    pending_migrations,
    refuse_destructive,
    rollback_targets,
    verify_checksums,
)
from matrx_orm.migrations.db import MigrationDB, RecordingDB

__all__ = ["MigrationRunner", "migrate", "rollback", "migration_status", "migration_sql", "Progress"]

#: ``progress(event, migration_name, seconds)``; events: "waiting", "locked", "start", "done".
Progress = Callable[[str, str, float], None]

_SELECT_APPLIED = "SELECT id, name, applied_at, checksum FROM _matrx_migrations ORDER BY id"


async def _call_migration_function(func: Callable[..., Any], db: Any) -> Any:
    """Run a migration's ``up``/``down``, whether it is ``async def`` or plain ``def``."""
    if is_async_callable(func):
        return await run_coroutine(func(awaitable_facade(db)))
    return await call_with_blocking_facade(func, db)


class MigrationRunner:
    """Apply, undo and report the migration files of one directory on one database."""

    def __init__(
        self,
        database: str | None,
        directory: str | Path,
        *,
        lock_timeout: float = 300.0,
        progress: Progress | None = None,
    ) -> None:
        self.database = resolve_database_name(database)
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        self.progress = progress

    def _report(self, event: str, name: str = "", seconds: float = 0.0) -> None:
        if self.progress is not None:
            self.progress(event, name, seconds)

    def load(self) -> list[MigrationFile]:
        """Return the directory's migration files in dependency order."""
        return load_migrations(self.directory)

    # -- connection and lock ----------------------------------------------
    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[AsyncConnection[Any]]:
        """Yield a dedicated connection holding the migrations advisory lock."""
        try:
            conn = await raw_connection(self.database)
        except Exception as exc:
            raise MigrationError(f"cannot connect to database {self.database!r}: {exc}", operation="migrate") from exc
        try:
            await self._acquire(conn)
            try:
                await conn.execute(MIGRATIONS_TABLE_SQL)
                yield conn
            finally:
                if not conn.closed and not conn.broken:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        finally:
            await conn.close()

    async def _acquire(self, conn: AsyncConnection[Any]) -> None:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        row = await cur.fetchone()
        if row is not None and row[0]:
            self._report("locked")
            return
        self._report("waiting")
        started = time.perf_counter()
        # lock_timeout bounds the wait; the blocking call wakes as soon as the holder finishes.
        await conn.execute("SELECT set_config('lock_timeout', %s, false)", [f"{int(self.lock_timeout * 1000)}ms"])
        try:
            await conn.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        except errors.LockNotAvailable as exc:
            raise MigrationError(
                f"another migrate/rollback run on database {self.database!r} held the migrations lock for more "
                f"than {self.lock_timeout:g}s; nothing was run",
                operation="migrate",
            ) from exc
        finally:
            if not conn.broken:
                await conn.execute("SELECT set_config('lock_timeout', '0', false)")
        self._report("locked", "", time.perf_counter() - started)

    async def _applied(self, conn: AsyncConnection[Any]) -> list[AppliedMigration]:
        cur = await conn.execute(_SELECT_APPLIED)
        return [AppliedMigration(*row) for row in await cur.fetchall()]

    async def _run_one(self, conn: AsyncConnection[Any], migration: MigrationFile, direction: str) -> None:
        """Run one migration's up or down and its bookkeeping in one transaction."""
        func = migration.up if direction == "up" else migration.down
        assert func is not None
        self._report("start", migration.name)
        started = time.perf_counter()
        db = MigrationDB(self.database, connection=conn)
        try:
            # ORM calls inside the migration (data migrations) join its transaction.
            with bind_transaction(self.database, conn) as callbacks:
                if migration.atomic:
                    async with conn.transaction():
                        await self._run_body(conn, migration, func, db, direction)
                else:
                    await self._run_body(conn, migration, func, db, direction)
        except Exception as exc:
            verb = "apply" if direction == "up" else "roll back"
            reason = exc.message if isinstance(exc, ORMException) else f"{type(exc).__name__}: {exc}"
            outcome = (
                "its transaction was rolled back, so the database is as it was before it"
                if migration.atomic
                else "it is not atomic: statements that succeeded before the failure stay, and it is not recorded "
                f"as {'applied' if direction == 'up' else 'rolled back'}; fix the cause and run it again"
            )
            raise MigrationError(
                f"could not {verb} migration {migration.name}; {outcome}. Cause: {reason}",
                operation="migrate" if direction == "up" else "rollback",
                query=getattr(exc, "query", None),
                migration=migration.name,
                file=str(migration.path),
            ) from exc
        for callback in callbacks:
            callback()
        self._report("done", migration.name, time.perf_counter() - started)

    async def _run_body(
        self, conn: AsyncConnection[Any], migration: MigrationFile, func: Callable[..., Any], db: MigrationDB, direction: str
    ) -> None:
        # In a transaction the settings are SET LOCAL; a non-atomic migration sets them for the
        # session and puts them back afterwards (the lock connection is used for the whole run).
        local = "true" if migration.atomic else "false"
        settings = [("lock_timeout", migration.lock_timeout), ("statement_timeout", migration.statement_timeout)]
        for name, value in settings:
            if value is not None:
                await conn.execute(f"SELECT set_config('{name}', %s, {local})", [_pg_duration(value)])
        try:
            await _call_migration_function(func, db)
        finally:
            if not migration.atomic and not conn.broken:
                for name, value in settings:
                    if value is not None:
                        await conn.execute(f"RESET {name}")
        if direction == "up":
            await conn.execute(
                "INSERT INTO _matrx_migrations (name, checksum) VALUES (%s, %s)", [migration.name, migration.checksum]
            )
        else:
            await conn.execute("DELETE FROM _matrx_migrations WHERE name = %s", [migration.name])

    # -- public operations ------------------------------------------------
    async def migrate(self, *, allow_destructive: bool = False) -> list[str]:
        """Apply every pending migration in dependency order; return their names."""
        files = self.load()
        async with self._locked() as conn:
            applied = await self._applied(conn)
            verify_checksums(files, applied)
            pending = pending_migrations(files, applied)
            refuse_destructive(pending, allow_destructive)
            done: list[str] = []
            for migration in pending:
                await self._run_one(conn, migration, "up")
                done.append(migration.name)
            return done

    async def rollback(self, steps: int = 1) -> list[str]:
        """Undo the last ``steps`` applied migrations, newest first; return their names."""
        files = self.load()
        async with self._locked() as conn:
            applied = await self._applied(conn)
            verify_checksums(files, applied)
            targets = rollback_targets(files, applied, steps)
            done: list[str] = []
            for migration in targets:
                await self._run_one(conn, migration, "down")
                done.append(migration.name)
            return done

    async def applied(self) -> list[AppliedMigration]:
        """Return the rows of ``_matrx_migrations`` (empty when the table does not exist yet)."""
        conn = await raw_connection(self.database)
        try:
            cur = await conn.execute("SELECT to_regclass('_matrx_migrations') IS NOT NULL")
            row = await cur.fetchone()
            if row is None or not row[0]:
                return []
            return await self._applied(conn)
        finally:
            await conn.close()

    async def status(self) -> list[MigrationState]:
        """Return every migration with its state (applied / pending / modified / missing)."""
        files = self.load()
        return build_status(files, await self.applied())

    async def sql(self, names: Sequence[str] | None = None, *, direction: str = "up") -> list[tuple[str, list[str]]]:
        """Return ``(name, statements)`` a migration would run, without running it.

        By default: the pending migrations (``up``), or the last applied one
        (``down``). Statements come from running the file against a recording
        ``db``, so reads inside it return nothing.
        """
        if direction not in ("up", "down"):
            raise MigrationError(f"direction must be 'up' or 'down', got {direction!r}")
        files = self.load()
        if names:
            by_name = {f.name: f for f in files}
            missing = [n for n in names if n not in by_name]
            if missing:
                raise MigrationError(f"no migration file named {', '.join(missing)} in {self.directory}")
            chosen = [by_name[n] for n in names]
        elif direction == "up":
            chosen = pending_migrations(files, await self.applied())
        else:
            chosen = rollback_targets(files, await self.applied(), 1)
        out: list[tuple[str, list[str]]] = []
        for migration in chosen:
            func = migration.up if direction == "up" else migration.down
            recorder = RecordingDB(self.database)
            if func is not None:
                await _call_migration_function(func, recorder)
            out.append((migration.name, [_show(query, args) for query, args in recorder.statements]))
        return out


def _show(query: str, args: list[Any]) -> str:
    text = textwrap.dedent(query.strip("\n")).strip()
    if args:
        text += f"\n-- parameters: {args!r}"
    return text


def _pg_duration(value: str) -> str:
    # Bare numbers are milliseconds, as in PostgreSQL's own settings.
    return f"{value}ms" if value.isdigit() else value


async def migrate(
    database: str | None,
    migrations_dir: str | Path,
    *,
    allow_destructive: bool = False,
    lock_timeout: float = 300.0,
    progress: Progress | None = None,
) -> list[str]:
    """Apply every pending migration of ``migrations_dir``; return the names applied."""
    runner = MigrationRunner(database, migrations_dir, lock_timeout=lock_timeout, progress=progress)
    return await runner.migrate(allow_destructive=allow_destructive)


async def rollback(
    database: str | None,
    migrations_dir: str | Path,
    steps: int = 1,
    *,
    lock_timeout: float = 300.0,
    progress: Progress | None = None,
) -> list[str]:
    """Undo the last ``steps`` applied migrations; return the names rolled back."""
    runner = MigrationRunner(database, migrations_dir, lock_timeout=lock_timeout, progress=progress)
    return await runner.rollback(steps)


async def migration_status(database: str | None, migrations_dir: str | Path) -> list[MigrationState]:
    """Return every migration of ``migrations_dir`` with its state on ``database``."""
    return await MigrationRunner(database, migrations_dir).status()


async def migration_sql(
    database: str | None,
    migrations_dir: str | Path,
    names: Sequence[str] | None = None,
    *,
    direction: str = "up",
) -> list[tuple[str, list[str]]]:
    """Return the SQL pending (or named) migrations would run, without running it."""
    return await MigrationRunner(database, migrations_dir).sql(names, direction=direction)
