"""Every custom error of the contracts in words a bank officer understands: one catalogue.

`explain("LoanNotYetDue", (30, 1799264158))` -> "Loan 30 is not due yet: ...". `MESSAGES` maps
each error's name to a function of its decoded arguments, in the ABI's order; the helpers below
show each kind of value the same way everywhere: times as ISO 8601 UTC, basis points as
percentages, amounts as money, parameter keys and roles by name, enums by name, 32-byte ids
shortened (a vehicle id is a keyed hash of its VIN: shortened, it names no one). The raw form
(`LoanNotYetDue(30, 1799264158)`) stays beside the sentence (`vcl.errors.TransactionReverted`).
tests/python/test_error_messages.py fails when a compiled contract has an error missing here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from eth_utils.crypto import keccak

from vcl.contract_enums import ActionType, LoanState, MemberStatus
from vcl.deploy import GOVERNED_PARAMETERS, parameter_key
from vcl.timestamps import iso

# The chain holds amounts in minor units (fen) without a currency; no setting names one yet,
# so the consortium's currency is this constant (two decimals).
CURRENCY = "CNY"
BPS = 10_000  # ConsortiumKeys.BPS_DENOMINATOR
ZERO_ADDRESS = "0x" + "00" * 20

# --------------------------------------------------------------------------- kinds of values


def when(timestamp: int) -> str:
    """A chain time in ISO 8601 UTC; a number no calendar holds stays a number."""
    try:
        return iso(int(timestamp))
    except (OverflowError, OSError, ValueError):
        return f"unix time {timestamp}"


def percent(bps: int) -> str:
    """Basis points as a percentage: 7000 -> 70.00%."""
    return f"{Decimal(int(bps)).scaleb(-2):,.2f}%"


def money(minor: int) -> str:
    """An amount in minor units with its currency: 2500000 -> 25,000.00 CNY."""
    return f"{Decimal(int(minor)).scaleb(-2):,.2f} {CURRENCY}"


def duration(seconds: int) -> str:
    """A length of time in its two largest units: 604800 -> 7 days."""
    left, parts = int(seconds), []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(counted(count, unit))
    return " ".join(parts[:2]) or "0 seconds"


def counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def short(value: bytes | str) -> str:
    """A 32-byte id (vehicle, document, digest) shortened: 0x1234…abcd."""
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value).removeprefix("0x")
    return f"0x{text[:4]}…{text[-4:]}" if len(text) > 8 else f"0x{text}"


def account(address: str) -> str:
    return "the zero address" if str(address) == ZERO_ADDRESS else str(address)


def signer(recovered: str) -> str:
    """Who a signature recovers to; zero means it could not be read at all."""
    if str(recovered) == ZERO_ADDRESS:
        return "the signature is malformed"
    return f"the signature recovers to {recovered}"


ROLES = {
    "BANK_ROLE": "an active bank",
    "AUDITOR_ROLE": "an active auditor",
    "ORACLE_ROLE": "an active oracle operator",
    "ISSUER_ROLE": "an active document issuer",
    "MEMBER_ROLE": "an active member of the consortium",
    "SYSTEM_ROLE": "one of the consortium's system contracts",
    "GOVERNANCE_ROLE": "the consortium itself, by an executed vote",
}


@cache
def _names_by_key() -> dict[bytes, str]:
    """Roles and governed parameters are keccak hashes of their names on chain."""
    roles = {keccak(text=name): name for name in ROLES}
    return roles | {bytes(parameter_key(name)): name for name in GOVERNED_PARAMETERS}


def key_name(key: bytes | str) -> str | None:
    raw = key if isinstance(key, bytes) else bytes.fromhex(str(key).removeprefix("0x"))
    return _names_by_key().get(bytes(raw))


def role(key: bytes | str) -> str:
    name = key_name(key)
    return ROLES[name] if name in ROLES else f"the holder of role {short(key)}"


def parameter(key: bytes | str) -> str:
    name = key_name(key)
    return name if name in GOVERNED_PARAMETERS else f"parameter {short(key)}"


def state(value: int) -> str:
    return "unknown" if int(value) == LoanState.NONE else LoanState.label_of(value)


def status(value: int) -> str:
    """A member status as it reads after "is": active, suspended, removed."""
    try:
        found = MemberStatus(int(value))
    except ValueError:
        return f"in status {value}"
    return "not a member" if found is MemberStatus.NONE else found.name.lower()


ACTIONS: dict[int, str] = {
    ActionType.ADMIT_MEMBER: "admit a member",
    ActionType.SUSPEND_MEMBER: "suspend a member",
    ActionType.REINSTATE_MEMBER: "reinstate a member",
    ActionType.REMOVE_MEMBER: "remove a member",
    ActionType.SET_PARAMETER: "set a parameter",
    ActionType.SET_MODEL_APPROVAL: "approve or withdraw a scoring model",
    ActionType.RELEASE_LIEN: "release a lien",
    ActionType.REAPPRAISE: "reappraise a vehicle",
    ActionType.REVOKE_ISSUER_DOCUMENTS: "revoke an issuer's documents",
    ActionType.UPGRADE_CONTRACT: "upgrade a contract",
}


def action(value: int) -> str:
    return ACTIONS.get(int(value), f"take action {value}")


# --------------------------------------------------------------------------- parameter bounds

# Consortium._validateParameter's rules, stated for a person (a test holds the constants to
# contracts/Consortium.sol): (how a value of the parameter reads, what values it accepts).
MAX_DURATION = 365 * 86_400
MIN_APPROVAL_TTL = 3_600
MAX_ORACLE_QUORUM = 100
MAX_ROUND_GAP_BOUND = 1_000_000
_DURATION_RULE = (duration, f"it must be more than 0 and at most {duration(MAX_DURATION)}")
PARAMETER_RULES: dict[str, tuple[Callable[[int], str], str]] = {
    "ALERT_THRESHOLD_BPS": (
        percent,
        "it must be more than 0 and, with ALERT_HYSTERESIS_BPS added, at most 100.00%",
    ),
    "ALERT_HYSTERESIS_BPS": (percent, "with ALERT_THRESHOLD_BPS added, it must be at most 100.00%"),
    "RATE_STEP_BPS": (percent, "it must be more than 0 and at most 100.00%"),
    "RATE_INCREASE_BPS": (percent, "it must be at most 100.00%"),
    "ORACLE_QUORUM": (
        lambda n: counted(n, "signature"),
        f"it must be from 1 to {MAX_ORACLE_QUORUM} signatures",
    ),
    "MAX_ROUND_GAP": (
        lambda n: counted(n, "round"),
        f"it must be from 1 to {MAX_ROUND_GAP_BOUND:,} rounds",
    ),
    "APPROVAL_TTL": (
        duration,
        f"it must be from {duration(MIN_APPROVAL_TTL)} to {duration(MAX_DURATION)}",
    ),
    "HEARTBEAT": _DURATION_RULE,
    "VOTING_PERIOD": _DURATION_RULE,
    "GRACE_PERIOD": (duration, f"it must be at most {duration(MAX_DURATION)}"),
    "VIN_SECRET_FINGERPRINT": (lambda n: "0 (unset)", "it may be any value but 0"),
}


def invalid_parameter(key: bytes, value: int) -> str:
    name = key_name(key)
    if name not in PARAMETER_RULES:
        return f"{value} is not an accepted value for {parameter(key)}."
    shown, rule = PARAMETER_RULES[name]
    return f"{value} ({shown(value)}) is out of bounds for {name}: {rule}."


# --------------------------------------------------------------------------- other cases


def stale_score(vehicle: bytes, updated_at: int, heartbeat: int) -> str:
    need = f"a loan needs a condition score younger than {duration(heartbeat)} (HEARTBEAT)"
    if not updated_at:
        return f"Vehicle {short(vehicle)} has never been scored: {need}."
    return f"Vehicle {short(vehicle)}'s latest score, of {when(updated_at)}, is too old: {need}."


# ConditionOracle's field numbers: 0..11 the model's indicators, then these.
ORACLE_FIELDS = {12: "condition score", 13: "estimated value", 14: "observation time"}


def oracle_value(vehicle: bytes, field: int, value: int) -> str:
    if field == 14:
        return f"The report's observation time, {when(value)}, is in the future."
    if field == 13:
        return f"The report values vehicle {short(vehicle)} at {money(value)}: it must be above 0."
    what = ORACLE_FIELDS.get(field, f"indicator {field}")
    return (
        f"The report's {what} for vehicle {short(vehicle)} is {value}, out of bounds: "
        f"it must be from 0 to {BPS}."
    )


def invalid_document(vehicle: bytes, content_hash: bytes, cid_length: int) -> str:
    missing = [
        *(["its content hash"] if not any(bytes(content_hash)) else []),
        *(["its content address (CID)"] if not cid_length else []),
    ]
    what = " and ".join(missing) or "its content"
    return f"The document for vehicle {short(vehicle)} is refused: {what} must not be empty."


def not_passed(proposal: int, yes: int, banks: int) -> str:
    return (
        f"Proposal {proposal} has not passed: {counted(yes, 'counted yes-vote')} of "
        f"{counted(banks, 'active bank')}; more than half must vote yes."
    )


# --------------------------------------------------------------------------- the catalogue

MESSAGES: dict[str, Callable[..., str]] = {
    # Consortium: membership, roles, parameters, governance.
    "ConsortiumAlreadyVoted": lambda proposal, voter: (
        f"Bank {voter} has already voted on proposal {proposal}; a bank votes once."
    ),
    "ConsortiumArrayLengthMismatch": lambda expected, actual: (
        f"The consortium's set-up lists differ in length: {expected} entries and {actual}; "
        "each entry needs its counterpart."
    ),
    "ConsortiumInvalidAccount": lambda who: (
        f"{account(who)} cannot be a member: a member needs a real account, not the zero address."
    ),
    "ConsortiumInvalidAction": lambda kind_of: (
        f"The proposal to {action(kind_of)} is malformed: it sets fields this kind of proposal "
        "does not use, or a value it cannot act on."
    ),
    "ConsortiumInvalidDocumentKey": lambda _key: (
        "A document public key cannot be zero: publish the member's real document key."
    ),
    "ConsortiumInvalidImplementation": lambda implementation: (
        f"{account(implementation)} cannot become a contract's implementation: it has no code "
        "or is not an upgradeable (UUPS) implementation."
    ),
    # Only a missing kind (None) or a number no kind has reaches it.
    "ConsortiumInvalidMemberKind": lambda value: (
        f"The member kind is missing or unknown ({int(value)}): a member is a bank, an auditor, "
        "an oracle operator or a document issuer."
    ),
    "ConsortiumInvalidMemberStatus": lambda who, value: (
        f"Member {who} is {status(value)}, which does not allow this action."
    ),
    "ConsortiumInvalidModelVersion": lambda _version: (
        "A scoring model version cannot be zero: name the model's real version."
    ),
    "ConsortiumInvalidParameter": invalid_parameter,
    "ConsortiumInvalidSystemContract": lambda who: (
        f"{account(who)} cannot be bound as a system contract: a system contract needs a real "
        "address."
    ),
    "ConsortiumInvalidUpgradeTarget": lambda proxy: (
        f"{account(proxy)} is neither the Consortium nor one of its system contracts, so no vote "
        "can upgrade it."
    ),
    "ConsortiumLastActiveBank": lambda bank: (
        f"Bank {bank} is the last active bank: suspending or removing it would leave nobody to "
        "govern the consortium."
    ),
    "ConsortiumMemberExists": lambda who, value: (
        f"{who} cannot be admitted: it is {status(value)} already (a removed member cannot be "
        "admitted again)."
    ),
    "ConsortiumMissingParameter": lambda key: (
        f"The consortium's set-up gives no value for {parameter(key)}."
    ),
    "ConsortiumNoFoundingBank": lambda: (
        "The founding members include no bank, so nobody could ever govern the consortium."
    ),
    "ConsortiumNotDeployer": lambda who: (
        f"{account(who)} did not deploy the consortium: only its deployer may bind the system "
        "contracts, once."
    ),
    "ConsortiumNotMember": lambda who: f"{account(who)} has never been a member of the consortium.",
    "ConsortiumProposalAlreadyExecuted": lambda proposal: (
        f"Proposal {proposal} has already been carried out."
    ),
    "ConsortiumProposalExpired": lambda proposal, deadline: (
        f"Voting on proposal {proposal} closed at {when(deadline)}."
    ),
    "ConsortiumProposalNotPassed": not_passed,
    "ConsortiumSystemAlreadyBound": lambda: (
        "The system contracts are already bound to the consortium: that happens once, at "
        "deployment."
    ),
    "ConsortiumUnauthorizedAccount": lambda who, needed: (
        f"{account(who)} may not do this: only {role(needed)} may."
    ),
    "ConsortiumUnauthorizedUpgrade": lambda proxy, caller, implementation: (
        f"{account(caller)} may not upgrade {account(proxy)} to {account(implementation)}: only "
        "the Consortium may, by carrying out an approved upgrade proposal."
    ),
    "ConsortiumUnknownParameter": lambda key: f"The key {short(key)} names no governed parameter.",
    "ConsortiumUnknownProposal": lambda proposal: f"There is no proposal {proposal}.",
    # LoanManager.
    "LoanApprovalExpired": lambda loan, expires_at: (
        f"Loan {loan}'s approval lapsed at {when(expires_at)}: it can no longer be disbursed; "
        "expire it to release the lien."
    ),
    "LoanApprovalNotExpired": lambda loan, expires_at: (
        f"Loan {loan}'s approval holds until {when(expires_at)}: it can be expired only after."
    ),
    "LoanConsentExpired": lambda deadline, now: (
        f"The borrower's lien consent was valid until {when(deadline)} and the chain's time is "
        f"{when(now)}: ask the registering bank for a new consent."
    ),
    "LoanConsentUsed": lambda _digest: (
        "This lien consent has already served a loan application; each consent serves one."
    ),
    "LoanInvalidBorrowerCommitment": lambda _commitment: (
        "The borrower commitment is missing (zero)."
    ),
    "LoanInvalidConsent": lambda vehicle, expected, recovered: (
        f"The lien consent for vehicle {short(vehicle)} is not signed by its registering bank "
        f"{expected}: {signer(recovered)}."
    ),
    "LoanInvalidState": lambda loan, value: (
        f"Loan {loan} is {state(value)}: this action is not allowed in that state."
    ),
    "LoanInvalidTerms": lambda principal, rate, term, interval: (
        f"The loan terms are refused (principal {money(principal)}, base rate {percent(rate)}, "
        f"term {duration(term)}, an instalment every {duration(interval)}): the principal must "
        "be above 0, the rate above 0 and at most 100.00%, and the instalment interval above 0 "
        "and no longer than the term."
    ),
    "LoanLenderStillActive": lambda loan, bank: (
        f"The lender of loan {loan}, {bank}, is still an active bank: only it may end its loan."
    ),
    "LoanNoValuation": lambda loan: (
        f"The vehicle of loan {loan} has never been valued, so no loan-to-value can be computed."
    ),
    "LoanNotLender": lambda loan, caller: (
        f"{account(caller)} is not the lender of loan {loan}: only the lending bank may do this."
    ),
    # Both steps meet it: marking overdue (after the first unpaid instalment's due date) and
    # marking defaulted (after that date plus GRACE_PERIOD); the time is the one that applies.
    "LoanNotYetDue": lambda loan, due_at: (
        f"Loan {loan} is not due yet: this step is possible only after {when(due_at)} (the "
        "first unpaid instalment's due date; for a default, that date plus the grace period)."
    ),
    "LoanRepaymentExceedsOutstanding": lambda loan, amount, outstanding: (
        f"A repayment of {money(amount)} is more than the {money(outstanding)} outstanding on "
        f"loan {loan}."
    ),
    "LoanStaleScore": stale_score,
    "LoanUnknown": lambda loan: f"There is no loan {loan}.",
    "LoanUnknownVehicle": lambda vehicle: f"Vehicle {short(vehicle)} is not registered.",
    "LoanZeroRepayment": lambda loan: f"A repayment of loan {loan} must be more than 0.",
    # ConditionOracle.
    "OracleAlertAlreadyReviewed": lambda alert: f"Alert {alert} has already been reviewed.",
    "OracleDuplicateSigner": lambda who: (
        f"Oracle operator {who} signed the report twice; each operator counts once."
    ),
    "OracleDuplicateVehicle": lambda vehicle: (
        f"Vehicle {short(vehicle)} appears twice in the report."
    ),
    "OracleEmptyReport": lambda: "The report scores no vehicle.",
    "OracleInvalidSignature": lambda index: (
        f"Signature number {index + 1} of the report is malformed."
    ),
    "OracleModelNotApproved": lambda version: (
        f"The scoring model {short(version)} is not approved by the consortium."
    ),
    "OracleNotAlertBank": lambda alert, caller: (
        f"{account(caller)} is not the lending bank of alert {alert}: only that bank may review it."
    ),
    "OracleQuorumNotMet": lambda valid, required: (
        f"The report carries {counted(valid, 'valid operator signature')}; the quorum is "
        f"{required}."
    ),
    "OracleRoundGapTooLarge": lambda round_id, latest, max_gap: (
        f"Round {round_id} is too far ahead of the latest accepted round {latest}: a report may "
        f"advance at most {counted(max_gap, 'round')} (MAX_ROUND_GAP)."
    ),
    "OracleStaleObservation": lambda observed_at, latest: (
        f"The report observes {when(observed_at)}, before the latest accepted report's "
        f"{when(latest)}: reports cannot go back in time."
    ),
    "OracleStaleRound": lambda round_id, latest: (
        f"Round {round_id} is not newer than the latest accepted round {latest}: the report was "
        "sent already, or another report took its round."
    ),
    "OracleUnauthorizedSigner": lambda who: (
        f"{account(who)} is not an active oracle operator, so its signature does not count."
    ),
    "OracleUnknownAlert": lambda alert: f"There is no alert {alert}.",
    "OracleUnknownVehicle": lambda vehicle: f"Vehicle {short(vehicle)} is not registered.",
    "OracleValueOutOfBounds": oracle_value,
    # VehicleRegistry.
    "RegistryDocumentAlreadyRevoked": lambda document: (
        f"Document {short(document)} is already revoked."
    ),
    "RegistryDocumentExists": lambda document: (
        f"Document {short(document)} is already anchored: a signed document is anchored once."
    ),
    "RegistryInvalidAppraisal": lambda vehicle, value, appraised_at: (
        f"The appraisal of vehicle {short(vehicle)} at {money(value)} on {when(appraised_at)} is "
        "refused: its value must be above 0, and its date neither in the future nor before the "
        "current appraisal's."
    ),
    "RegistryInvalidDocument": invalid_document,
    "RegistryInvalidLien": lambda vehicle, bank, loan: (
        f"A lien on vehicle {short(vehicle)} needs a bank and a valid loan id: {account(bank)} "
        f"with loan {loan} is refused."
    ),
    "RegistryInvalidOwnerCommitment": lambda vehicle: (
        f"The owner commitment for vehicle {short(vehicle)} is missing (zero)."
    ),
    "RegistryInvalidSigner": lambda issuer, recovered: (
        f"The document is not signed by its issuer {issuer}: {signer(recovered)}."
    ),
    "RegistryInvalidVehicleId": lambda _vehicle: "The vehicle id is missing (zero).",
    "RegistryIssuedInFuture": lambda issued_at, now: (
        f"The document is dated {when(issued_at)}, after the chain's time {when(now)}: it cannot "
        "be issued in the future."
    ),
    "RegistryLienActive": lambda vehicle, loan, bank: (
        f"Vehicle {short(vehicle)} is pledged to loan {loan} of bank {bank}: the active lien "
        "blocks this action."
    ),
    "RegistryLienExists": lambda vehicle, loan, bank: (
        f"Vehicle {short(vehicle)} is already pledged to loan {loan} of bank {bank}: a vehicle "
        "backs one loan at a time."
    ),
    "RegistryLienNotFound": lambda vehicle, loan: (
        f"Vehicle {short(vehicle)} has no active lien for loan {loan}."
    ),
    "RegistryNotAuthorized": lambda vehicle, who: (
        f"{account(who)} may not act on vehicle {short(vehicle)}: only its registering bank may, "
        "or the lien holder while a lien is active."
    ),
    "RegistryNotIssuer": lambda document, who: (
        f"{account(who)} did not issue document {short(document)}: only its issuer may do this."
    ),
    "RegistryUnknownDocument": lambda document: f"There is no document {short(document)}.",
    "RegistryUnknownVehicle": lambda vehicle: f"Vehicle {short(vehicle)} is not registered.",
    "RegistryVehicleExists": lambda vehicle, bank: (
        f"Vehicle {short(vehicle)} is already registered, by bank {bank}."
    ),
    # OpenZeppelin's, reachable through our proxies, upgrades and signature checks.
    "AddressEmptyCode": lambda target: f"There is no contract at {account(target)}.",
    "ECDSAInvalidSignature": lambda: "The signature is not valid: no signer can be read from it.",
    "ECDSAInvalidSignatureLength": lambda length: (
        f"The signature is {counted(length, 'byte')} long; a signature is 65 bytes."
    ),
    "ECDSAInvalidSignatureS": lambda _s: (
        "The signature is malformed: it is in a form the contracts refuse (a high s value)."
    ),
    "ERC1967InvalidAdmin": lambda admin: f"{account(admin)} cannot be the proxy's admin.",
    "ERC1967InvalidBeacon": lambda beacon: f"{account(beacon)} cannot be the proxy's beacon.",
    "ERC1967InvalidImplementation": lambda implementation: (
        f"{account(implementation)} cannot become the contract's implementation: there is no "
        "contract code there."
    ),
    "ERC1967NonPayable": lambda: "This call must not carry a payment.",
    "FailedCall": lambda: "A call from one contract to another failed without a reason.",
    "FailedDeployment": lambda: "Deploying a contract failed.",
    "InsufficientBalance": lambda balance, needed: (
        f"The contract holds {balance} wei of the chain's currency and needs {needed} wei."
    ),
    "InvalidInitialization": lambda: (
        "This contract is initialized already: its set-up cannot run again."
    ),
    "MissingPrecompile": lambda address: (
        f"The chain lacks the built-in contract at {account(address)} that this call needs."
    ),
    "NotInitializing": lambda: "This step can run only while the contract is being set up.",
    "UUPSUnauthorizedCallContext": lambda: (
        "An upgrade must go through the contract's proxy, not to its implementation directly."
    ),
    "UUPSUnsupportedProxiableUUID": lambda _slot: (
        "The new implementation is not a compatible upgradeable (UUPS) contract."
    ),
    # OpenZeppelin's SafeCast and Strings: compiled with the EIP-712 code; a fresh build has
    # their artifacts, an incremental one may not (LIBRARY_ERRORS).
    "SafeCastOverflowedIntDowncast": lambda bits, value: (
        f"The number {value} does not fit in {bits} bits."
    ),
    "SafeCastOverflowedIntToUint": lambda value: (
        f"The number {value} is negative where only a positive one fits."
    ),
    "SafeCastOverflowedUintDowncast": lambda bits, value: (
        f"The number {value} does not fit in {bits} bits."
    ),
    "SafeCastOverflowedUintToInt": lambda value: (
        f"The number {value} is too large for a signed number."
    ),
    "StringsInsufficientHexLength": lambda value, length: (
        f"The number {value} does not fit in {length} hexadecimal bytes."
    ),
    "StringsInvalidAddressFormat": lambda: "The text is not an address.",
    "StringsInvalidChar": lambda: "The text holds a character that is not allowed there.",
}
# Errors of OpenZeppelin libraries whose artifacts only a full build writes.
LIBRARY_ERRORS = frozenset(
    {
        "SafeCastOverflowedIntDowncast",
        "SafeCastOverflowedIntToUint",
        "SafeCastOverflowedUintDowncast",
        "SafeCastOverflowedUintToInt",
        "StringsInsufficientHexLength",
        "StringsInvalidAddressFormat",
        "StringsInvalidChar",
    }
)

# Solidity's own: a `require` string and a failed internal check.
PANICS = {
    0x01: "an assertion failed",
    0x11: "a calculation overflowed",
    0x12: "a division by zero",
    0x21: "a value is not one of its kind's",
    0x32: "an index is out of range",
}


def explain(error_name: str, args: Sequence[Any]) -> str:
    """A sentence for a person; the raw error is shown beside it, so nothing is lost."""
    if error_name == "Error" and len(args) == 1:
        return f"The contract refused the request: {args[0]}."
    if error_name == "Panic" and len(args) == 1:
        what = PANICS.get(int(args[0]), f"panic code {int(args[0]):#x}")
        return f"A contract failed an internal check ({what})."
    if not error_name:
        return "The contract refused the request without a reason this node can read."
    message = MESSAGES.get(error_name)
    if message is not None:
        try:
            return message(*args)
        except (TypeError, ValueError, OverflowError):
            pass  # arguments of another shape than this catalogue's (a newer contract)
    return f"The contract refused the request ({error_name})."
