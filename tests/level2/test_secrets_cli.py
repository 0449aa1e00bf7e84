"""The CLI never prints a password: not with a wrong one, not with the right one."""

from __future__ import annotations

from typer.testing import CliRunner

from matrx_orm.cli import app
from tests.level2.private_server import prepare_database, private_server  # noqa: F401  (fixture)
from tests.models_reliability_async import FAULTS_SQL

runner = CliRunner()


def test_cli_with_a_wrong_password_fails_in_one_line_without_printing_it(private_server, tmp_path):
    prepare_database(private_server, "faults", FAULTS_SQL)
    wrong = "Wr0ng-cli-s3cret"
    url = f"postgresql://postgres:{wrong}@127.0.0.1:{private_server.port}/faults?connect_timeout=2"
    (tmp_path / "migrations").mkdir()
    result = runner.invoke(app, ["status", "--database", "cli_wrong", "--dsn", url, "--dir", str(tmp_path / "migrations")])
    assert result.exit_code != 0
    output = result.output + result.stderr
    assert wrong not in output and "***" in output
    assert "password authentication failed" in output


def test_cli_with_the_right_password_never_prints_it(private_server, tmp_path):
    prepare_database(private_server, "faults", FAULTS_SQL)
    from urllib.parse import quote

    password = private_server.password
    url = f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{private_server.port}/faults"
    (tmp_path / "migrations").mkdir()
    result = runner.invoke(app, ["status", "--database", "cli_right", "--dsn", url, "--dir", str(tmp_path / "migrations")])
    assert result.exit_code == 0, result.output
    assert password not in result.output and quote(password, safe="") not in result.output
    assert f"127.0.0.1:{private_server.port}/faults" in result.output
    from matrx_orm_sync import close_pool

    close_pool("cli_right")
