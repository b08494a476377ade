"""`vcl governance ...`: propose, vote on, execute and list the Consortium's proposals.

The commands of the governance library `vcl.governance`, signed with this process's key
(`VCL_KEY_SOURCE`, ...). Upgrades are proposals too (`vcl_cli.upgrades`).
"""

from __future__ import annotations

from typing import Annotated

import typer
from web3.contract import Contract

from vcl.config import get_settings
from vcl.contract_enums import ActionType
from vcl.deploy import DEFAULT_PARAMETERS
from vcl.errors import ConfigError
from vcl.governance import (
    KIND_NAMES,
    Action,
    admit_action,
    consortium_contract,
    describe,
    execute,
    model_action,
    parameter_action,
    parse_cutoff,
    propose,
    reappraise_action,
    release_lien_action,
    revoke_issuer_documents_action,
    status_action,
    vehicle_of,
    vote,
)
from vcl.sender import TransactionSender, sender_from_settings

governance_app = typer.Typer(
    help="Consortium governance: proposals, votes, execution.", no_args_is_help=True
)
propose_app = typer.Typer(help="Create a proposal (banks only).", no_args_is_help=True)
governance_app.add_typer(propose_app, name="propose")

AccountArg = Annotated[str, typer.Argument(help="The member's address (0x...).")]


# ------------------------------------------------------------------------- commands


def connected() -> tuple[TransactionSender, Contract]:
    settings = get_settings()
    sender = sender_from_settings(settings)
    return sender, consortium_contract(sender, settings)


def _propose_and_show(action: Action) -> None:
    sender, consortium = connected()
    proposal_id = propose(sender, consortium, action)
    typer.echo(f"proposal {proposal_id} created by {sender.address}")


@propose_app.command("admit")
def propose_admit(
    account: AccountArg,
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(KIND_NAMES)}.")],
    name: Annotated[str, typer.Option(help="Institution name (only its hash goes on-chain).")],
) -> None:
    """Admit a new member of a kind."""
    if kind not in KIND_NAMES:
        raise ConfigError(f"unknown member kind {kind!r}; one of: {', '.join(KIND_NAMES)}")
    _propose_and_show(admit_action(account, KIND_NAMES[kind], name))


@propose_app.command("suspend")
def propose_suspend(account: AccountArg) -> None:
    """Suspend an active member (its role stops until reinstated)."""
    _propose_and_show(status_action(ActionType.SUSPEND_MEMBER, account))


@propose_app.command("reinstate")
def propose_reinstate(account: AccountArg) -> None:
    """Reinstate a suspended member."""
    _propose_and_show(status_action(ActionType.REINSTATE_MEMBER, account))


@propose_app.command("remove")
def propose_remove(account: AccountArg) -> None:
    """Remove a member for good."""
    _propose_and_show(status_action(ActionType.REMOVE_MEMBER, account))


@propose_app.command("set-parameter")
def propose_set_parameter(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(DEFAULT_PARAMETERS)}.")],
    value: Annotated[int, typer.Argument(help="New value (bps or seconds).")],
) -> None:
    """Change a governed parameter."""
    _propose_and_show(parameter_action(name, value))


@propose_app.command("approve-model")
def propose_approve_model(
    version: Annotated[str, typer.Argument(help="Model version, 0x + 64 hex digits.")],
    withdraw: Annotated[bool, typer.Option(help="Withdraw the approval instead.")] = False,
) -> None:
    """Approve (or withdraw) a score model version for the oracle."""
    _propose_and_show(model_action(version, approve=not withdraw))


@propose_app.command("release-lien")
def propose_release_lien(
    lender: Annotated[str, typer.Argument(help="The lender bank (suspended or removed), 0x...")],
    loan_id: Annotated[int, typer.Argument(help="The loan whose lien is released.", min=1)],
) -> None:
    """Release the lien of a lender that is no longer an active bank (the loan ends Released)."""
    _propose_and_show(release_lien_action(lender, loan_id))


@propose_app.command("reappraise")
def propose_reappraise(
    vehicle: Annotated[str, typer.Argument(help="The VIN, or the vehicle id (0x + 64 hex).")],
    amount: Annotated[int, typer.Argument(help="The new appraisal, in minor units.")],
) -> None:
    """Set a vehicle's appraisal by vote (appraised when the proposal is executed)."""
    settings = get_settings()
    _propose_and_show(reappraise_action(vehicle_of(vehicle, settings), amount))


@propose_app.command("revoke-issuer-documents")
def propose_revoke_issuer_documents(
    issuer: Annotated[str, typer.Argument(help="The document issuer's address (0x...).")],
    cutoff: Annotated[
        str,
        typer.Option(
            help="Revoke what it anchored up to this time: 'now', unix seconds or ISO 8601 "
            "(UTC unless zoned); not later than the chain's time."
        ),
    ],
) -> None:
    """Revoke every document an issuer anchored up to a time, for good (even if reinstated)."""
    sender, consortium = connected()
    now = int(sender.w3.eth.get_block("latest")["timestamp"])
    action = revoke_issuer_documents_action(issuer, parse_cutoff(cutoff, now))
    proposal_id = propose(sender, consortium, action)
    typer.echo(f"proposal {proposal_id} created by {sender.address}")


@governance_app.command("vote")
def vote_command(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id.", min=1)],
    support: Annotated[bool, typer.Option("--yes/--no", help="For or against.")],
) -> None:
    """Vote on an open proposal (once per bank)."""
    sender, consortium = connected()
    vote(sender, consortium, proposal_id, support)
    typer.echo(f"{sender.address} voted {'yes' if support else 'no'} on proposal {proposal_id}")


@governance_app.command("execute")
def execute_command(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id.", min=1)],
) -> None:
    """Execute a proposal that more than half of the active banks voted for."""
    sender, consortium = connected()
    execute(sender, consortium, proposal_id)
    typer.echo(f"proposal {proposal_id} executed")


@governance_app.command("list")
def list_command() -> None:
    """Every proposal: action, votes, deadline, whether executed. An open proposal also
    shows the votes that count now, when a voter has been suspended or removed since."""
    settings = get_settings()
    sender = sender_from_settings(settings)
    consortium = consortium_contract(sender, settings)
    count = consortium.functions.proposalCount().call()
    if count == 0:
        typer.echo("no proposals")
    for proposal_id in range(1, count + 1):
        shown = describe(proposal_id, consortium.functions.proposal(proposal_id).call())
        state = "executed" if shown["executed"] else f"open until {shown['deadline']}"
        if not shown["executed"]:
            yes, no = consortium.functions.countedVotes(proposal_id).call()
            if (yes, no) != (shown["yes"], shown["no"]):
                state += f" (counting now: yes {yes} no {no})"
        typer.echo(
            f"{shown['id']:>4}  {shown['action']:18} {shown['detail']}  "
            f"yes {shown['yes']} no {shown['no']}  {state}"
        )
