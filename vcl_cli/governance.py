"""`vcl governance ...`: propose, vote on, execute and list the Consortium's proposals.

Transactions are signed with this process's key (`VCL_KEY_SOURCE`, ...) through the core
sender; only active banks may propose, vote and execute (the contract decides). Besides
membership, parameters and score models, the banks decide by vote what no single bank may:
releasing the lien of a lender that is no longer an active bank (`release-lien`), a new
appraisal of a vehicle (`reappraise`), and revoking every document an issuer anchored up to
a time (`revoke-issuer-documents`: a compromised issuer's forgeries stay revoked even after
it is reinstated). Upgrades of the contracts are proposals too (`vcl_cli.upgrades`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from vcl.artifacts import load_artifact
from vcl.config import Settings, get_settings
from vcl.contract_enums import ActionType
from vcl.deploy import (
    DEFAULT_PARAMETERS,
    GOVERNED_PARAMETERS,
    VIN_SECRET_FINGERPRINT,
    MemberKind,
    parameter_key,
)
from vcl.deployments import DeploymentRecord
from vcl.errors import ConfigError
from vcl.sender import TransactionSender, sender_from_settings
from vcl.vin_secrets import keyring_of, registered_id, registered_in, shown_fingerprint

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_KEY = b"\x00" * 32
UINT64_MAX = 2**64 - 1
UINT128_MAX = 2**128 - 1
HEX32_LENGTH = 66


KIND_NAMES = {
    "bank": MemberKind.BANK,
    "auditor": MemberKind.AUDITOR,
    "oracle-operator": MemberKind.ORACLE_OPERATOR,
    "document-issuer": MemberKind.DOCUMENT_ISSUER,
}
PARAMETER_BY_KEY = {parameter_key(name): name for name in GOVERNED_PARAMETERS}

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


def vin_secret_action(new_fingerprint: int) -> Action:
    """Make the secret with this fingerprint the one new vehicle ids are derived with."""
    if not 0 < new_fingerprint < 2**256:
        raise ConfigError("a VIN secret fingerprint is a non-zero 256-bit value")
    key = parameter_key(VIN_SECRET_FINGERPRINT)
    return (ActionType.SET_PARAMETER, ZERO_ADDRESS, 0, key, new_fingerprint)


def model_action(version: str, *, approve: bool = True) -> Action:
    try:
        raw = bytes.fromhex(version.strip().removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigError("a model version is 0x followed by 64 hex digits")
    return (ActionType.SET_MODEL_APPROVAL, ZERO_ADDRESS, 0, raw, 1 if approve else 0)


def release_lien_action(lender: str, loan_id: int) -> Action:
    """Release the lien of `loan_id`, held by `lender`, a bank suspended or removed since."""
    if loan_id <= 0:
        raise ConfigError("a loan id is a positive integer")
    return (ActionType.RELEASE_LIEN, _address(lender), 0, ZERO_KEY, loan_id)


def reappraise_action(vehicle: bytes, amount: int) -> Action:
    """Set the appraisal of a vehicle (its id) to `amount` minor units, appraised at execution."""
    if len(vehicle) != 32:
        raise ConfigError("a vehicle id is 32 bytes")
    if not 0 < amount <= UINT128_MAX:
        raise ConfigError(f"an appraisal is 1..{UINT128_MAX} minor units, not {amount}")
    return (ActionType.REAPPRAISE, ZERO_ADDRESS, 0, vehicle, amount)


def revoke_issuer_documents_action(issuer: str, cutoff: int) -> Action:
    """Revoke every document `issuer` anchored at or before `cutoff` (unix time, not later
    than the chain's time when proposed and executed)."""
    if not 0 < cutoff <= UINT64_MAX:
        raise ConfigError(f"a cutoff is a unix time in 1..{UINT64_MAX}, not {cutoff}")
    return (ActionType.REVOKE_ISSUER_DOCUMENTS, _address(issuer), 0, ZERO_KEY, cutoff)


def vehicle_of(text: str, settings: Settings) -> bytes:
    """A vehicle id given as 0x hex, or the id of a VIN (under the consortium's VIN secret)."""
    raw = text.strip()
    if raw.startswith("0x"):
        try:
            found = bytes.fromhex(raw[2:])
        except ValueError:
            found = b""
        if len(raw) != HEX32_LENGTH or len(found) != 32:
            raise ConfigError("a vehicle id is 0x followed by 64 hex digits")
        return found
    return vehicle_id_of_vin(raw, settings)


def vehicle_id_of_vin(vin: str, settings: Settings) -> bytes:
    """The VIN's registered id, under whichever of the consortium's VIN secrets registered it
    (`vcl.vin_secrets`); with one secret, its id without asking the chain."""
    keyring = keyring_of(settings)
    if len(keyring.entries) == 1:
        return keyring.candidate_ids(vin)[0]
    sender = sender_from_settings(settings)
    address = DeploymentRecord(settings.deployment_file).address(
        settings.chain_id, "VehicleRegistry"
    )
    abi = load_artifact(settings.build_dir, "VehicleRegistry").abi
    found = registered_id(
        keyring, vin, registered_in(sender.w3.eth.contract(address=address, abi=abi))
    )
    if found is None:
        raise ConfigError("no vehicle with this VIN is registered under any VIN secret held here")
    return found


def parse_cutoff(text: str, now: int) -> int:
    """`now` (the chain's time, which the contract compares with), a unix time in seconds, or
    an ISO 8601 time (UTC unless it names its zone)."""
    raw = text.strip()
    if raw == "now":
        return now
    if raw.isdigit():
        return int(raw)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"cutoff {raw!r} is not 'now', a unix time or an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


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
    elif what is ActionType.SET_PARAMETER and bytes(key) == parameter_key(VIN_SECRET_FINGERPRINT):
        detail = f"rotate the VIN secret to fingerprint {shown_fingerprint(value)}"
    elif what is ActionType.SET_PARAMETER:
        detail = f"{PARAMETER_BY_KEY.get(bytes(key), '0x' + bytes(key).hex())} = {value}"
    elif what is ActionType.SET_MODEL_APPROVAL:
        detail = f"model 0x{bytes(key).hex()} {'approve' if value == 1 else 'withdraw'}"
    elif what is ActionType.RELEASE_LIEN:
        detail = f"lien of loan {value} held by {account}"
    elif what is ActionType.REAPPRAISE:
        detail = f"vehicle 0x{bytes(key).hex()} appraised at {value}"
    elif what is ActionType.REVOKE_ISSUER_DOCUMENTS:
        detail = f"documents of {account} anchored up to {_iso(value)}"
    elif what is ActionType.UPGRADE_CONTRACT:
        detail = f"{account} to implementation {Web3.to_checksum_address(bytes(key)[-20:])}"
    else:
        detail = str(account)
    return {
        "id": proposal_id,
        "action": what.name.lower().replace("_", "-"),
        "detail": detail,
        "proposer": proposer,
        "deadline": _iso(deadline),
        "yes": yes,
        "no": no,
        "executed": executed,
    }


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


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
    sender, consortium = _connected()
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
