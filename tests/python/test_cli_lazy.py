"""`vcl` imports a group when it is used: `vcl --help` loads neither web3 nor the node API
(what made it take 2 s), every group still loads, and the one-line help `vcl --help` shows
before loading is the group's own."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
import typer.core
import typer.testing

from vcl.localchain import REPO_ROOT
from vcl_cli import COMMANDS, app, load_command

PROBE = """
import sys
from typer.testing import CliRunner
from vcl_cli import app
result = CliRunner().invoke(app, ["--help"])
assert result.exit_code == 0, result.output
heavy = ("web3", "fastapi", "sqlalchemy", "node_api", "oracle", "localnet")
heavy = sorted(m for m in heavy if m in sys.modules)
print(",".join(heavy))
"""


def test_help_imports_no_heavy_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_loads_and_its_help_is_its_own(name: str) -> None:
    command = load_command(name)
    assert isinstance(command, typer.core.TyperCommand | typer.core.TyperGroup)
    shown = COMMANDS[name][2]
    own = (command.help or "").strip()
    assert own.startswith(shown.removesuffix(".")), (shown, own)


def test_a_group_runs_its_commands() -> None:
    runner = typer.testing.CliRunner()
    result = runner.invoke(app, ["governance", "propose", "--help"])
    assert result.exit_code == 0, result.output
    assert "upgrade" in result.output  # added by vcl_cli.upgrades when the group loads
    # A group of one command stays a group.
    result = runner.invoke(app, ["chain", "up", "--help"])
    assert result.exit_code == 0, result.output
    assert "--port" in result.output
