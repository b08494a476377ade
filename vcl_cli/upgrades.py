"""`vcl governance propose upgrade` and `vcl governance verify-upgrade`: contract upgrades as
Consortium proposals.

Every system contract is a proxy whose implementation only an executed `UpgradeContract`
proposal replaces (docs/contracts.md, "Upgrades"). A bank proposes the implementation it built
(deployed here from `VCL_BUILD_DIR`) or one already deployed; every other bank checks, before
it votes, that the proposed code is the code it built itself from the reviewed sources.
"""

from __future__ import annotations

from typing import Annotated

import typer
from eth_typing import ChecksumAddress
from web3 import Web3

from vcl.config import get_settings
from vcl.contract_enums import ActionType
from vcl.deploy import SYSTEM_CONTRACTS, deploy_implementation, implementation_of, matches_build
from vcl.deployments import DeploymentRecord
from vcl.errors import ConfigError
from vcl.governance import checked_address, consortium_contract, propose, upgrade_action
from vcl.sender import sender_from_settings
from vcl_cli.governance import governance_app, propose_app


def _contract_name(contract: str) -> str:
    if contract not in SYSTEM_CONTRACTS:
        raise ConfigError(
            f"unknown system contract {contract!r}; one of: {', '.join(SYSTEM_CONTRACTS)}"
        )
    return contract


@propose_app.command("upgrade")
def propose_upgrade(
    contract: Annotated[str, typer.Argument(help=f"One of: {', '.join(SYSTEM_CONTRACTS)}.")],
    implementation: Annotated[
        str | None,
        typer.Option(help="An implementation already deployed (default: deploy the one built)."),
    ] = None,
) -> None:
    """Upgrade a system contract: its proxy keeps its address and state, runs new code."""
    name = _contract_name(contract)
    settings = get_settings()
    sender = sender_from_settings(settings)
    proxy = DeploymentRecord(settings.deployment_file).address(settings.chain_id, name)
    if implementation is None:
        implementation = deploy_implementation(sender, settings, name)
        typer.echo(f"{name} implementation deployed at {implementation}")
    current = implementation_of(sender.w3, proxy)
    proposal_id = propose(
        sender, consortium_contract(sender, settings), upgrade_action(proxy, implementation)
    )
    typer.echo(
        f"proposal {proposal_id} created by {sender.address}: {name} {proxy} "
        f"from implementation {current} to {checked_address(implementation)}"
    )


@governance_app.command("verify-upgrade")
def verify_upgrade(
    proposal_id: Annotated[int, typer.Argument(help="The upgrade proposal's id.", min=1)],
) -> None:
    """Check, before voting, that an upgrade proposal's implementation is exactly the code of
    this node's build (exit 1 if not)."""
    settings = get_settings()
    sender = sender_from_settings(settings)
    proposal = consortium_contract(sender, settings).functions.proposal(proposal_id).call()
    action_type, proxy, _, key, _ = proposal[0]
    if action_type != ActionType.UPGRADE_CONTRACT:
        raise ConfigError(f"proposal {proposal_id} is not an upgrade")
    recorded = DeploymentRecord(settings.deployment_file).addresses(settings.chain_id)
    names = {address: name for name, address in recorded.items()}
    name = names.get(Web3.to_checksum_address(proxy))
    if name is None:
        raise ConfigError(f"proposal {proposal_id} upgrades {proxy}, not a recorded contract")
    implementation: ChecksumAddress = Web3.to_checksum_address(bytes(key)[-20:])
    if not matches_build(sender.w3, settings, name, implementation):
        raise ConfigError(
            f"proposal {proposal_id}: implementation {implementation} is not the {name} "
            f"of {settings.build_dir}: do not vote for it before its code is reviewed"
        )
    typer.echo(
        f"proposal {proposal_id}: implementation {implementation} for {name} {proxy} "
        f"is exactly the {name} of {settings.build_dir}"
    )
