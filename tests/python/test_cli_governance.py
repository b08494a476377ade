"""`vcl governance`: a parameter change proposed, voted and executed by the banks from the
command line, and refusals as one line with a non-zero exit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vcl.config import KeySource, Settings, get_settings
from vcl.deploy import deploy_system, dev_founders, parameter_key
from vcl.localchain import REPO_ROOT, LocalChain
from vcl.sender import sender_from_settings
from vcl_cli import app
from vcl_cli.governance import consortium_contract

VCL = REPO_ROOT / ".venv/bin/vcl"
BUILD_DIR = REPO_ROOT / "build/contracts"


@pytest.fixture
def env(anvil: LocalChain, tmp_path: Path) -> dict[str, str]:
    settings = Settings(
        rpc_url=anvil.rpc_url,
        key_source=KeySource.DEV,
        build_dir=BUILD_DIR,
        deployment_file=tmp_path / "deployments.json",
    )
    deploy_system(sender_from_settings(settings), settings, dev_founders())
    return {
        "VCL_RPC_URL": anvil.rpc_url,
        "VCL_BUILD_DIR": str(BUILD_DIR),
        "VCL_DEPLOYMENT_FILE": str(settings.deployment_file),
        "VCL_KEY_SOURCE": "dev",
    }


@pytest.fixture
def vcl(env: dict[str, str]) -> Callable[..., tuple[int, str]]:
    """Run `vcl ...` in this process as dev account `account`: (exit code, output)."""
    runner = CliRunner()

    def run(*args: str, account: int = 1) -> tuple[int, str]:
        get_settings.cache_clear()
        result = runner.invoke(app, list(args), env={**env, "VCL_DEV_ACCOUNT_INDEX": str(account)})
        get_settings.cache_clear()
        return result.exit_code, result.output

    return run


def vcl_process(
    env: dict[str, str], *args: str, account: int = 1
) -> subprocess.CompletedProcess[str]:
    """`vcl` as an operator runs it: its own process, errors through `main()`."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    full.update(env, VCL_DEV_ACCOUNT_INDEX=str(account))
    return subprocess.run(
        [str(VCL), *args], env=full, capture_output=True, text=True, timeout=60, check=False
    )


def test_banks_change_a_parameter_by_proposal_vote_and_execution(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str]
) -> None:
    code, out = vcl("governance", "propose", "set-parameter", "GRACE_PERIOD", "3600")
    assert code == 0, out
    assert "proposal 1 created" in out
    assert vcl("governance", "vote", "1", "--yes", account=1)[0] == 0
    code, out = vcl("governance", "vote", "1", "--yes", account=2)
    assert code == 0, out
    code, out = vcl("governance", "execute", "1")
    assert code == 0, out

    code, listing = vcl("governance", "list")
    assert code == 0, listing
    assert "set-parameter" in listing
    assert "GRACE_PERIOD = 3600" in listing
    assert "yes 2 no 0  executed" in listing

    get_settings.cache_clear()
    os.environ.update(env)
    try:
        settings = get_settings()
        consortium = consortium_contract(sender_from_settings(settings), settings)
        value = consortium.functions.parameter(parameter_key("GRACE_PERIOD")).call()
    finally:
        for key in env:
            os.environ.pop(key, None)
        get_settings.cache_clear()
    assert value == 3600


def test_a_non_bank_proposal_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    done = vcl_process(
        env, "governance", "propose", "suspend", dev_founders()[0].address, account=3
    )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "ConsortiumUnauthorizedAccount" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_input_is_refused_before_anything_is_sent(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str]
) -> None:
    done = vcl_process(env, "governance", "propose", "set-parameter", "NO_SUCH", "1")
    assert done.returncode == 1
    assert done.stderr.startswith("error: unknown parameter 'NO_SUCH'")
    code, listing = vcl("governance", "list")
    assert code == 0
    assert "no proposals" in listing


def test_an_unreachable_chain_is_one_line(env: dict[str, str]) -> None:
    done = vcl_process({**env, "VCL_RPC_URL": "http://127.0.0.1:9"}, "governance", "list")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "no chain answers at http://127.0.0.1:9" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["governance"],
        ["governance", "propose"],
        ["governance", "propose", "admit"],
        ["governance", "propose", "set-parameter"],
        ["governance", "propose", "approve-model"],
        ["governance", "vote"],
        ["governance", "execute"],
        ["governance", "list"],
        ["localnet", "up"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
