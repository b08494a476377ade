"""`vcl governance ...`: propose, vote on, execute and list the Consortium's proposals.

Transactions are signed with this process's key (`VCL_KEY_SOURCE`, ...) through the core
sender; only active banks may propose, vote and execute (the contract decides).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Annotated, Any

import typer
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from vcl.artifacts import load_artifact
from vcl.config import Settings, get_settings
from vcl.deploy import DEFAULT_PARAMETERS, MemberKind, parameter_key
from vcl.deployments import DeploymentRecord
from vcl.errors import ConfigError
from vcl.sender import TransactionSender, sender_from_settings

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_KEY = b"\x00" * 32


class ActionType(IntEnum):
    """Mirrors `IConsortium.ActionType`."""

    ADMIT_MEMBER = 0
    SUSPEND_MEMBER = 1
    REINSTATE_MEMBER = 2
    REMOVE_MEMBER = 3
    SET_PARAMETER = 4
    SET_MODEL_APPROVAL = 5


KIND_NAMES = {
    "bank": MemberKind.BANK,
    "auditor": MemberKind.AUDITOR,
    "oracle-operator": MemberKind.ORACLE_OPERATOR,
    "document-issuer": MemberKind.DOCUMENT_ISSUER,
}
PARAMETER_BY_KEY = {parameter_key(name): name for name in DEFAULT_PARAMETERS}

Action = tuple[int, str, int, bytes, int]  # IConsortium.Action as the ABI takes it

governance_app = typer.Typer(
    help="Consortium governance: proposals, votes, execution.", no_args_is_help=True
)
propose_app = typer.Typer(help="Create a proposal (banks only).", no_args_is_help=True)
governance_app.add_typer(propose_app, name="propose")

AccountArg = Annotated[str, typer.Argument(help="The member's address (0x...).")]


# ------------------------------------------------------------------ actions (library)


def admit_action(account: str, kind: MemberKind, institution_name: str) -> Action:
    name = institution_name.strip()
    if not name:
        raise ConfigError("an admitted member needs its institution name")
    return (
        ActionType.ADMIT_MEMBER,
        _address(account),
        int(kind),
        bytes(Web3.keccak(text=name)),
        0,
    )


def status_action(action: ActionType, account: str) -> Action:
    return (int(action), _address(account), 0, ZERO_KEY, 0)


def parameter_action(name: str, value: int) -> Action:
    if name not in DEFAULT_PARAMETERS:
        raise ConfigError(f"unknown parameter {name!r}; one of: {', '.join(DEFAULT_PARAMETERS)}")
    if value < 0:
        raise ConfigError("a parameter value is a non-negative integer")
    return (ActionType.SET_PARAMETER, ZERO_ADDRESS, 0, parameter_key(name), value)


def model_action(version: str, *, approve: bool = True) -> Action:
    try:
        raw = bytes.fromhex(version.strip().removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigError("a model version is 0x followed by 64 hex digits")
    return (ActionType.SET_MODEL_APPROVAL, ZERO_ADDRESS, 0, raw, 1 if approve else 0)


def consortium_contract(sender: TransactionSender, settings: Settings) -> Contract:
    address = DeploymentRecord(settings.deployment_file).address(settings.chain_id, "Consortium")
    abi = load_artifact(settings.build_dir, "Consortium").abi
    return sender.w3.eth.contract(address=address, abi=abi)


def propose(sender: TransactionSender, consortium: Contract, action: Action) -> int:
    """Send the proposal; its id, from the `ProposalCreated` event."""
    receipt = sender.transact(consortium.functions.propose(action))
    events = consortium.events.ProposalCreated().process_receipt(receipt)
    return int(events[0]["args"]["proposalId"])


def vote(sender: TransactionSender, consortium: Contract, proposal_id: int, support: bool) -> None:
    sender.transact(consortium.functions.vote(proposal_id, support))


def execute(sender: TransactionSender, consortium: Contract, proposal_id: int) -> None:
    sender.transact(consortium.functions.execute(proposal_id))


def describe(proposal_id: int, proposal: Any) -> dict[str, Any]:
    """A proposal as plain values (what `list` prints)."""
    action, proposer, deadline, yes, no, executed = proposal
    action_type, account, kind, key, value = action
    kind_name = next((n for n, k in KIND_NAMES.items() if int(k) == kind), "-")
    what = ActionType(action_type)
    if what is ActionType.ADMIT_MEMBER:
        detail = f"{account} as {kind_name}"
    elif what is ActionType.SET_PARAMETER:
        detail = f"{PARAMETER_BY_KEY.get(bytes(key), '0x' + bytes(key).hex())} = {value}"
    elif what is ActionType.SET_MODEL_APPROVAL:
        detail = f"model 0x{bytes(key).hex()} {'approve' if value == 1 else 'withdraw'}"
    else:
        detail = str(account)
    return {
        "id": proposal_id,
        "action": what.name.lower().replace("_", "-"),
        "detail": detail,
        "proposer": proposer,
        "deadline": datetime.fromtimestamp(deadline, UTC).isoformat().replace("+00:00", "Z"),
        "yes": yes,
        "no": no,
        "executed": executed,
    }


def _address(text: str) -> ChecksumAddress:
    if not Web3.is_address(text):
        raise ConfigError(f"{text!r} is not a 20-byte hex address")
    return Web3.to_checksum_address(text)


# ------------------------------------------------------------------------- commands


def _connected() -> tuple[TransactionSender, Contract]:
    settings = get_settings()
    sender = sender_from_settings(settings)
    return sender, consortium_contract(sender, settings)


def _propose_and_show(action: Action) -> None:
    sender, consortium = _connected()
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


@governance_app.command("vote")
def vote_command(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id.", min=1)],
    support: Annotated[bool, typer.Option("--yes/--no", help="For or against.")],
) -> None:
    """Vote on an open proposal (once per bank)."""
    sender, consortium = _connected()
    vote(sender, consortium, proposal_id, support)
    typer.echo(f"{sender.address} voted {'yes' if support else 'no'} on proposal {proposal_id}")


@governance_app.command("execute")
def execute_command(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id.", min=1)],
) -> None:
    """Execute a proposal that more than half of the active banks voted for."""
    sender, consortium = _connected()
    execute(sender, consortium, proposal_id)
    typer.echo(f"proposal {proposal_id} executed")


@governance_app.command("list")
def list_command() -> None:
    """Every proposal: action, votes, deadline, whether executed."""
    settings = get_settings()
    sender = sender_from_settings(settings)
    consortium = consortium_contract(sender, settings)
    count = consortium.functions.proposalCount().call()
    if count == 0:
        typer.echo("no proposals")
    for proposal_id in range(1, count + 1):
        shown = describe(proposal_id, consortium.functions.proposal(proposal_id).call())
        state = "executed" if shown["executed"] else f"open until {shown['deadline']}"
        typer.echo(
            f"{shown['id']:>4}  {shown['action']:18} {shown['detail']}  "
            f"yes {shown['yes']} no {shown['no']}  {state}"
        )
