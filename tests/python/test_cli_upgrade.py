"""`vcl governance propose upgrade`: a system contract deployed by the core package (through its
proxy) upgraded from the command line by the banks' votes, keeping its address and state; and
what a single bank, a stranger or a bad implementation cannot do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner
from web3 import Web3

from vcl.config import Settings, get_settings
from vcl.deploy import (
    SYSTEM_CONTRACTS,
    deploy_implementation,
    deployed_and_live,
    implementation_of,
)
from vcl.deployments import DeploymentRecord
from vcl.errors import TransactionReverted
from vcl.sender import TransactionSender
from vcl_cli import app

VEHICLE = Web3.keccak(text="vehicle:cli-upgrade")


@pytest.fixture
def vcl(system: dict[str, Any], settings: Settings) -> Callable[..., tuple[int, str]]:
    """Run `vcl ...` in this process as dev account `account`: (exit code, output)."""
    runner = CliRunner()
    env = {
        "VCL_RPC_URL": settings.rpc_url,
        "VCL_BUILD_DIR": str(settings.build_dir),
        "VCL_DEPLOYMENT_FILE": str(settings.deployment_file),
        "VCL_KEY_SOURCE": "dev",
    }

    def run(*args: str, account: int = 1) -> tuple[int, str]:
        get_settings.cache_clear()
        result = runner.invoke(app, list(args), env={**env, "VCL_DEV_ACCOUNT_INDEX": str(account)})
        get_settings.cache_clear()
        output = result.output + (str(result.exception) if result.exception else "")
        return result.exit_code, output

    return run


def test_deployment_records_the_proxies_each_on_an_implementation(
    system: dict[str, Any], sender: TransactionSender, settings: Settings
) -> None:
    recorded = deployed_and_live(sender.w3, settings)
    assert recorded == {name: system[name].address for name in SYSTEM_CONTRACTS}
    for proxy in recorded.values():
        implementation = implementation_of(sender.w3, proxy)
        assert implementation != proxy
        assert len(sender.w3.eth.get_code(implementation)) > 0
    # A record of bare contracts (as deployed before the proxies) is not taken for this system.
    bare = {name: implementation_of(sender.w3, proxy) for name, proxy in recorded.items()}
    DeploymentRecord(settings.deployment_file).save(sender.w3.eth.chain_id, bare)
    assert deployed_and_live(sender.w3, settings) is None


def test_banks_upgrade_the_registry_from_the_command_line_and_keep_its_state(
    system: dict[str, Any],
    sender_for: Callable[[int], TransactionSender],
    vcl: Callable[..., tuple[int, str]],
) -> None:
    bank = sender_for(1)
    registry = system["VehicleRegistry"]
    timestamp = bank.w3.eth.get_block("latest")["timestamp"]
    bank.transact(
        registry.functions.registerVehicle(VEHICLE, Web3.keccak(text="owner"), 1000, timestamp)
    )
    before = registry.functions.vehicle(VEHICLE).call()
    old_implementation = implementation_of(bank.w3, registry.address)

    code, out = vcl("governance", "propose", "upgrade", "VehicleRegistry")
    assert code == 0, out
    assert "proposal 1 created" in out
    new_implementation = out.split("implementation deployed at ")[1].split()[0]
    assert new_implementation != old_implementation
    # Another bank checks the proposed code against its own build before voting.
    code, out = vcl("governance", "verify-upgrade", "1", account=2)
    assert code == 0, out
    assert f"implementation {new_implementation} for VehicleRegistry" in out
    assert "is exactly the VehicleRegistry" in out
    # One bank's vote is not a majority of two banks.
    assert vcl("governance", "vote", "1", "--yes", account=1)[0] == 0
    code, out = vcl("governance", "execute", "1", account=1)
    assert code != 0
    assert "ConsortiumProposalNotPassed" in out
    assert implementation_of(bank.w3, registry.address) == old_implementation

    assert vcl("governance", "vote", "1", "--yes", account=2)[0] == 0
    code, out = vcl("governance", "execute", "1", account=2)
    assert code == 0, out
    assert implementation_of(bank.w3, registry.address) == new_implementation
    assert registry.functions.vehicle(VEHICLE).call() == before
    code, listing = vcl("governance", "list")
    assert f"{registry.address} to implementation {new_implementation}" in listing


def test_a_bank_cannot_upgrade_alone_nor_propose_a_non_uups_implementation(
    system: dict[str, Any],
    settings: Settings,
    sender_for: Callable[[int], TransactionSender],
    vcl: Callable[..., tuple[int, str]],
) -> None:
    bank = sender_for(1)
    loans = system["LoanManager"]
    replacement = deploy_implementation(bank, settings, "LoanManager")
    with pytest.raises(TransactionReverted) as caught:
        bank.transact(loans.functions.upgradeToAndCall(replacement, b""))
    assert caught.value.error_name == "ConsortiumUnauthorizedUpgrade"
    assert caught.value.args_decoded == (loans.address, bank.address, replacement)

    stranger = sender_for(9).address  # an account, no code: not an implementation
    code, out = vcl("governance", "propose", "upgrade", "LoanManager", "--implementation", stranger)
    assert code != 0
    assert "ConsortiumInvalidImplementation" in out
    code, out = vcl("governance", "propose", "upgrade", "Nothing")
    assert code != 0
    assert "unknown system contract 'Nothing'" in out
    # An auditor is no bank: the proposal is refused after the implementation is deployed.
    code, out = vcl(
        "governance",
        "propose",
        "upgrade",
        "LoanManager",
        "--implementation",
        replacement,
        account=3,
    )
    assert code != 0
    assert "ConsortiumUnauthorizedAccount" in out


def test_verify_upgrade_exposes_an_implementation_that_is_not_the_build(
    system: dict[str, Any],
    settings: Settings,
    sender_for: Callable[[int], TransactionSender],
    vcl: Callable[..., tuple[int, str]],
) -> None:
    """A dishonest bank proposes the registry's proxy to run another contract's code: the
    Consortium accepts the proposal (it is a UUPS implementation), the other banks' check
    refuses it."""
    bank = sender_for(1)
    wrong = deploy_implementation(bank, settings, "LoanManager")
    code, out = vcl(
        "governance", "propose", "upgrade", "VehicleRegistry", "--implementation", wrong
    )
    assert code == 0, out
    code, out = vcl("governance", "verify-upgrade", "1", account=2)
    assert code != 0
    assert f"implementation {wrong} is not the VehicleRegistry" in out
    code, out = vcl("governance", "propose", "set-parameter", "GRACE_PERIOD", "3600")
    assert code == 0, out
    code, out = vcl("governance", "verify-upgrade", "2", account=2)
    assert code != 0
    assert "proposal 2 is not an upgrade" in out
