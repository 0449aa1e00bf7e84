"""``matrx-orm doctor``: check that a configured database is usable by the ORM, and say why when not.

For each database: is it reachable (and how fast), which PostgreSQL version,
are the extensions the models need installed (``hstore``...), do the models'
tables exist, is the connection mode consistent with the ``pgbouncer`` /
``prepare_threshold`` settings (a pooler in transaction mode needs
``pgbouncer=True``; ``pgbouncer=True`` on a direct connection turns prepared
statements off for nothing), do the read replicas answer as replicas, and does
a statement go through the ORM's own pool. Every line shows targets with the
password masked.

Sync-only tooling (like ``devdb``): not mirrored into ``matrx_orm_sync``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from matrx_orm.core.config import DatabaseProjectConfig, get_database_config
from matrx_orm.core.pool_health import scrub_secret

__all__ = ["Check", "DatabaseReport", "MIN_SERVER_VERSION", "check_database"]

#: Oldest PostgreSQL the ORM supports (13: ``DROP DATABASE ... WITH (FORCE)``, ``gen_random_uuid()`` built in).
MIN_SERVER_VERSION = 130000

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass
class Check:
    """One line of the report."""

    status: str  # "ok", "warn" or "FAIL"
    title: str
    detail: str = ""

    def line(self) -> str:
        """Return the check as one report line."""
        mark = {OK: "[ok]  ", WARN: "[warn]", FAIL: "[FAIL]"}[self.status]
        return f"  {mark} {self.title}" + (f": {self.detail}" if self.detail else "")


@dataclass
class DatabaseReport:
    """Every check made on one database."""

    name: str
    target: str
    source: str = ""
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> int:
        """Return how many checks failed."""
        return sum(1 for c in self.checks if c.status == FAIL)

    @property
    def warnings(self) -> int:
        """Return how many checks warned."""
        return sum(1 for c in self.checks if c.status == WARN)

    def lines(self) -> list[str]:
        """Return the report as lines of text."""
        head = f"Database {self.name}: {self.target}" + (f" ({self.source})" if self.source else "")
        return [head, *(c.line() for c in self.checks)]


def _connect(config: DatabaseProjectConfig, dbname: str | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
    target = replace(config, database_name=dbname) if dbname else config
    # Doctor must also work through PgBouncer: no prepared statements on its own connections.
    return psycopg.connect(target.conninfo(), autocommit=True, connect_timeout=5, prepare_threshold=None, **kwargs)


def _version_text(num: int) -> str:
    return f"{num // 10000}.{num % 10000}" if num >= 100000 else f"{num // 10000}.{num // 100 % 100}"


def _needs(database: str) -> tuple[list[Any], set[str]]:
    """Return the models of ``database`` and the extensions they need."""
    from matrx_orm.core.ddl import models_snapshot
    from matrx_orm.migrations.diff import select_models

    metas = select_models(database)
    return metas, set(models_snapshot(metas).extensions)


def _check_extensions(conn: psycopg.Connection[Any], needed: set[str]) -> Check:
    if not needed:
        return Check(OK, "extensions", "the models need none")
    rows = conn.execute(
        "SELECT a.name, e.extversion FROM pg_available_extensions a "
        "LEFT JOIN pg_extension e ON e.extname = a.name WHERE a.name = ANY(%s)",
        [sorted(needed)],
    ).fetchall()
    available = {name: version for name, version in rows}
    missing = sorted(needed - set(available))
    if missing:
        return Check(FAIL, "extensions", f"{', '.join(missing)} not available on this server (the models need it)")
    absent = sorted(name for name, version in available.items() if version is None)
    if absent:
        return Check(
            WARN,
            "extensions",
            f"{', '.join(absent)} available but not installed (CREATE EXTENSION; migrations made from the models do it)",
        )
    return Check(OK, "extensions", ", ".join(f"{n} {available[n]}" for n in sorted(needed)) + " installed")


def _check_tables(conn: psycopg.Connection[Any], metas: list[Any]) -> Check:
    if not metas:
        return Check(OK, "tables", "no models registered for this database (pass --models or --config to check them)")
    schemas = [m.db_schema or "public" for m in metas]
    tables = [m.table_name for m in metas]
    rows = conn.execute(
        "SELECT s || '.' || t FROM unnest(%s::text[], %s::text[]) AS x(s, t) "
        "WHERE to_regclass(format('%%I.%%I', s, t)) IS NULL",
        [schemas, tables],
    ).fetchall()
    names = tables
    missing = [r[0] for r in rows]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        return Check(
            WARN, "tables", f"{len(missing)} of {len(names)} model tables missing (run matrx-orm migrate): {shown}"
        )
    return Check(OK, "tables", f"all {len(names)} model tables exist")


def _pool_mode(config: DatabaseProjectConfig) -> str | None:
    """Ask a PgBouncer's admin console for its pool_mode (None when it is not PgBouncer or refuses)."""
    try:
        with _connect(config, "pgbouncer", cursor_factory=psycopg.ClientCursor) as admin:
            for row in admin.execute("SHOW CONFIG").fetchall():
                if row[0] == "pool_mode":
                    return str(row[1])
    except psycopg.Error:
        return None
    return None


def _check_connection_mode(conn: psycopg.Connection[Any], config: DatabaseProjectConfig) -> Check:
    server_port = conn.execute("SELECT inet_server_port()").fetchone()
    direct = str(config.host).startswith("/") or (server_port is not None and str(server_port[0]) == str(config.port))
    title = "connection mode"
    if direct:
        if config.pgbouncer:
            return Check(
                WARN, title, "pgbouncer=True, but this is a direct connection: prepared statements are off for nothing"
            )
        return Check(OK, title, f"direct; prepared statements after {config.prepare_threshold} runs"
                     if config.prepare_threshold is not None else "direct; prepared statements off")
    via = f"port {config.port} forwards to a server on port {server_port[0] if server_port else '(unix socket)'}"
    mode = _pool_mode(config)
    if config.pgbouncer:
        extra = f" (PgBouncer pool_mode={mode})" if mode else ""
        return Check(OK, title, f"through a pooler{extra}: prepared statements and session settings off")
    if mode in ("transaction", "statement"):
        return Check(
            FAIL, title,
            f"PgBouncer in {mode} pooling mode ({via}), but pgbouncer=False: prepared statements and session "
            "settings would reach the wrong clients; set pgbouncer=True",
        )
    if mode == "session":
        return Check(OK, title, f"PgBouncer in session pooling mode ({via})")
    return Check(
        WARN, title,
        f"a proxy or pooler sits in between ({via}); if it is PgBouncer in transaction mode, set pgbouncer=True",
    )


def _check_replicas(config: DatabaseProjectConfig) -> list[Check]:
    checks: list[Check] = []
    for replica in config.replica_configs():
        title = f"replica {replica.masked_dsn()}"
        try:
            with _connect(replica) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error as error:
            checks.append(Check(FAIL, title, scrub_secret(" ".join(str(error).split()), replica)))
            continue
        if row and row[0]:
            checks.append(Check(OK, title, "answers, in recovery (a standby)"))
        else:
            checks.append(Check(WARN, title, "answers, but is not a standby: reads sent there may see other data"))
    return checks


def _check_orm_round_trip(database: str) -> Check:
    import matrx_orm_sync
    from matrx_orm_sync._executor import fetch_one

    started = time.perf_counter()
    try:
        row = fetch_one(database, "SELECT 1", [], operation="doctor")
    except Exception as error:  # any failure here is the finding
        message = getattr(error, "message", None) or str(error)
        return Check(FAIL, "ORM round trip", scrub_secret(" ".join(message.split()), get_database_config(database)))
    finally:
        matrx_orm_sync.close_pool(database)
    elapsed = (time.perf_counter() - started) * 1000
    if row != (1,):
        return Check(FAIL, "ORM round trip", f"SELECT 1 returned {row!r}")
    return Check(OK, "ORM round trip", f"SELECT 1 through the sync pool in {elapsed:.1f} ms")


def check_database(database: str, *, source: str = "") -> DatabaseReport:
    """Run every check on the registered database ``database`` and return the report."""
    config = get_database_config(database)
    report = DatabaseReport(database, config.masked_dsn(), source)
    checks = report.checks
    started = time.perf_counter()
    try:
        conn = _connect(config)
    except psycopg.Error as error:
        reason = scrub_secret(" ".join(str(error).split()), config)
        checks.append(Check(FAIL, "reachable", reason))
        return report
    with conn:
        elapsed = (time.perf_counter() - started) * 1000
        checks.append(Check(OK, "reachable", f"connected in {elapsed:.1f} ms as {config.user!r}"))
        version_row = conn.execute("SELECT current_setting('server_version_num')::int, version()").fetchone()
        num, banner = (int(version_row[0]), str(version_row[1])) if version_row else (0, "")
        product = banner.split(" on ")[0].split(",")[0]
        if num < MIN_SERVER_VERSION:
            checks.append(Check(FAIL, "server version", f"{product}: matrx-orm needs PostgreSQL 13 or newer"))
        else:
            checks.append(Check(OK, "server version", product or _version_text(num)))
        timezone = conn.execute("SHOW TimeZone").fetchone()
        metas, extensions = _needs(database)
        checks.append(_check_extensions(conn, extensions))
        checks.append(_check_tables(conn, metas))
        checks.append(_check_connection_mode(conn, config))
        if timezone:
            checks.append(Check(OK, "time zone", f"{timezone[0]} (DateTimeField is TIMESTAMPTZ: values are aware)"))
    checks.extend(_check_replicas(config))
    checks.append(_check_orm_round_trip(database))
    return report
