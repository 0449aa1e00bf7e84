"""``matrx-orm --help`` lists every command with its one-line description (no database)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from matrx_orm.cli import app

runner = CliRunner()


def _help() -> str:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_lists_every_visible_command_with_its_description() -> None:
    output = _help()
    visible = [c for c in app.registered_commands if not c.hidden]
    names = [c.name for c in visible]
    assert "demo" in names
    # Commands other engineers own are listed too, as soon as they are registered.
    for command in visible:
        assert command.callback is not None and command.callback.__doc__, f"{command.name} has no help text"
        # The first paragraph of the docstring, as typer shows it (long ones may be shortened).
        summary = " ".join(command.callback.__doc__.strip().split("\n\n")[0].split())
        line = re.search(rf"^[\s│|]*{re.escape(str(command.name))}\s+(.+?)[\s│|]*$", output, re.MULTILINE)
        assert line is not None, f"{command.name} missing from --help:\n{output}"
        assert len(line.group(1)) > 10 and summary.startswith(line.group(1)[:40]), (command.name, line.group(1))


def test_demo_help_describes_the_embedded_option() -> None:
    result = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "--embedded" in result.output
    assert "throwaway" in result.output


def test_no_arguments_shows_the_help() -> None:
    result = runner.invoke(app, [], env={"COLUMNS": "200"}, terminal_width=200)
    assert "Usage" in result.output and "demo" in result.output
