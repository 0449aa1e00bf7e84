"""``matrx-orm doctor`` against the test server, a fresh database, a dead port, PgBouncer and the embedded server.

Each run is a subprocess (``python -m matrx_orm.cli doctor``) in an empty
directory, so nothing registered in this session leaks in; the report is read
line by line and the exit status checked. A password is put in every URL
(the test server trusts local connections and ignores it) and must never be
printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from matrx_orm import DatabaseProjectConfig
from matrx_orm.devdb import create_database, drop_database
from tests.level2.private_server import PgBouncer, pgbouncer  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-not-shown"


def _url(config: DatabaseProjectConfig, *, port: int | str | None = None, database: str | None = None) -> str:
    return (
        f"postgresql://{config.user}:{SECRET}@{config.host}:{port or config.port}/"
        f"{database or config.database_name}"
    )


def _doctor(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MATRX_") and k != "DATABASE_URL"}
    base["PYTHONPATH"] = str(ROOT) + os.pathsep + base.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-m", "matrx_orm.cli", "doctor", *args],
        env={**base, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )
    assert SECRET not in result.stdout + result.stderr
    return result


def _line(output: str, title: str) -> str:
    found = [line.strip() for line in output.splitlines() if re.match(rf"\s*\[\w+\]\s+{re.escape(title)}:", line)]
    assert len(found) == 1, output
    return found[0]


def test_server_with_the_models_tables_and_extensions(db, db_config, tmp_path):
    result = _doctor(tmp_path, "--dsn", _url(db_config), "--database", "test_db", "--models", "tests.models_async")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"Database test_db: postgresql://{db_config.user}:***@{db_config.host}:{db_config.port}/" in out
    assert _line(out, "reachable").startswith("[ok]")
    assert _line(out, "server version").startswith("[ok]   server version: PostgreSQL ")
    assert _line(out, "extensions").startswith("[ok]") and "hstore" in _line(out, "extensions")
    assert _line(out, "tables") == "[ok]   tables: all 5 model tables exist"
    assert _line(out, "connection mode") == "[ok]   connection mode: direct; prepared statements after 5 runs"
    assert _line(out, "ORM round trip").startswith("[ok]")
    assert out.rstrip().endswith("1 database checked: 0 failures, 0 warnings.")


def test_fresh_database_warns_about_missing_extension_and_tables(db_config, tmp_path):
    name = f"matrx_doctor_{os.getpid()}"
    create_database(db_config, name)
    try:
        result = _doctor(tmp_path, "--dsn", _url(db_config, database=name), "--models", "tests.models_async",
                         "--database", "test_db")
    finally:
        drop_database(db_config, name)
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert _line(out, "extensions").startswith("[warn] extensions: hstore available but not installed")
    tables = _line(out, "tables")
    assert tables.startswith("[warn] tables: 5 of 5 model tables missing (run matrx-orm migrate): ")
    assert "archive.document" in tables and "public.user" in tables
    assert out.rstrip().endswith("0 failures, 2 warnings.")


def test_unreachable_server_fails_with_a_masked_target(db_config, tmp_path):
    port = _closed_port()
    result = _doctor(tmp_path, "--dsn", _url(db_config, port=port))
    assert result.returncode == 1
    assert f"Database default: postgresql://{db_config.user}:***@{db_config.host}:{port}/" in result.stdout
    assert _line(result.stdout, "reachable").startswith("[FAIL] reachable: connection")
    assert result.stdout.rstrip().endswith("1 database checked: 1 failure, 0 warnings.")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config_module(tmp_path: Path, body: str) -> None:
    (tmp_path / "doctor_settings.py").write_text(textwrap.dedent(body), encoding="utf-8")


def test_every_registered_database_is_checked(db_config, tmp_path):
    _config_module(tmp_path, f"""
        from matrx_orm import register_database_url
        register_database_url("first", {_url(db_config)!r})
        register_database_url("second", {_url(db_config, database="postgres")!r})
    """)
    result = _doctor(tmp_path, "--config", "doctor_settings")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Database first: " in result.stdout and "Database second: " in result.stdout
    assert result.stdout.rstrip().endswith("2 databases checked: 0 failures, 0 warnings.")


def test_pgbouncer_mode_must_match_the_pgbouncer_flag(pgbouncer: PgBouncer, db_config, tmp_path):
    through = _url(db_config, port=pgbouncer.port)
    missing_flag = _doctor(tmp_path, "--dsn", through)
    assert missing_flag.returncode == 1
    line = _line(missing_flag.stdout, "connection mode")
    assert line.startswith("[FAIL] connection mode: PgBouncer in transaction pooling mode")
    assert f"port {pgbouncer.port} forwards to a server on port {db_config.port}" in line and "set pgbouncer=True" in line

    _config_module(tmp_path, f"""
        from matrx_orm import DatabaseProjectConfig, register_database
        common = dict(user={db_config.user!r}, password={SECRET!r}, database_name={db_config.database_name!r})
        register_database(DatabaseProjectConfig(
            name="bounced", host="127.0.0.1", port={pgbouncer.port}, pgbouncer=True, **common))
        register_database(DatabaseProjectConfig(
            name="direct", host={db_config.host!r}, port={db_config.port!r}, pgbouncer=True, **common))
    """)
    flagged = _doctor(tmp_path, "--config", "doctor_settings")
    assert flagged.returncode == 0, flagged.stdout
    bounced, direct = flagged.stdout.split("Database direct: ")
    assert _line(bounced, "connection mode") == (
        "[ok]   connection mode: through a pooler (PgBouncer pool_mode=transaction): "
        "prepared statements and session settings off"
    )
    assert _line(direct, "connection mode").startswith("[warn] connection mode: pgbouncer=True, but this is a direct")
    assert _line(bounced, "ORM round trip").startswith("[ok]")


@pytest.mark.timeout(300)
def test_nothing_configured_checks_the_embedded_fallback(tmp_path):
    result = _doctor(tmp_path, env={"MATRX_FORCE_EMBEDDED": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    head = result.stdout.splitlines()[0]
    assert head.startswith("Database default: postgresql://postgres@127.0.0.1:")
    assert head.endswith("(nothing configured; found via embedded)")
    assert _line(result.stdout, "server version").startswith("[ok]   server version: PostgreSQL ")
    assert result.stdout.rstrip().endswith("1 database checked: 0 failures, 0 warnings.")
