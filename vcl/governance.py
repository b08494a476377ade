"""The Consortium's governance as a library: proposal actions, propose, vote, execute, and a
proposal described in words (`vcl governance ...` and the local consortium's launcher use it).

Transactions are signed by the caller's sender; only active banks may propose, vote and
execute (the contract decides). Besides
membership, parameters and score models, the banks decide by vote what no single bank may:
releasing the lien of a lender that is no longer an active bank (`release-lien`), a new
appraisal of a vehicle (`reappraise`), and revoking every document an issuer anchored up to
a time (`revoke-issuer-documents`: a compromised issuer's forgeries stay revoked even after
it is reinstated). Upgrades of the contracts are proposals too (`vcl_cli.upgrades`).
"""

from __future__ import annotations

from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from vcl.config import Settings
from vcl.contract_enums import ActionType
from vcl.contracts import deployed_contract
from vcl.deploy import (
    DEFAULT_PARAMETERS,
    GOVERNED_PARAMETERS,
    VIN_SECRET_FINGERPRINT,
    MemberKind,
    parameter_key,
)
from vcl.errors import ConfigError
from vcl.sender import TransactionSender, sender_from_settings
from vcl.timestamps import iso, parse_iso
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


# ------------------------------------------------------------------ actions (library)


def admit_action(account: str, kind: MemberKind, institution_name: str) -> Action:
    name = institution_name.strip()
    if not name:
        raise ConfigError("an admitted member needs its institution name")
    return (
        ActionType.ADMIT_MEMBER,
        checked_address(account),
        int(kind),
        bytes(Web3.keccak(text=name)),
        0,
    )


def status_action(action: ActionType, account: str) -> Action:
    return (int(action), checked_address(account), 0, ZERO_KEY, 0)


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
    return (ActionType.RELEASE_LIEN, checked_address(lender), 0, ZERO_KEY, loan_id)


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
    return (ActionType.REVOKE_ISSUER_DOCUMENTS, checked_address(issuer), 0, ZERO_KEY, cutoff)


def upgrade_action(proxy: str, implementation: str) -> Action:
    """Upgrade `proxy` to `implementation` (the key carries the implementation's address)."""
    new = checked_address(implementation)
    return (
        ActionType.UPGRADE_CONTRACT,
        checked_address(proxy),
        0,
        bytes(12) + bytes.fromhex(new[2:]),
        0,
    )


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
    registry = deployed_contract(sender_from_settings(settings).w3, settings, "VehicleRegistry")
    found = registered_id(keyring, vin, registered_in(registry))
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
    parsed = parse_iso(raw)
    if parsed is None:
        raise ConfigError(f"cutoff {raw!r} is not 'now', a unix time or an ISO 8601 time")
    return parsed


def consortium_contract(sender: TransactionSender, settings: Settings) -> Contract:
    return deployed_contract(sender.w3, settings, "Consortium")


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
        detail = f"documents of {account} anchored up to {iso(value)}"
    elif what is ActionType.UPGRADE_CONTRACT:
        detail = f"{account} to implementation {Web3.to_checksum_address(bytes(key)[-20:])}"
    else:
        detail = str(account)
    return {
        "id": proposal_id,
        "action": what.name.lower().replace("_", "-"),
        "detail": detail,
        "proposer": proposer,
        "deadline": iso(deadline),
        "yes": yes,
        "no": no,
        "executed": executed,
    }


def checked_address(text: str) -> ChecksumAddress:
    if not Web3.is_address(text):
        raise ConfigError(f"{text!r} is not a 20-byte hex address")
    return Web3.to_checksum_address(text)
