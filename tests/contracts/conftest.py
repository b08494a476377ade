"""Shared fixtures of the contract tests.

Every module starts from a fresh chain (``module_isolation``), deploys once in module-scoped
fixtures, and every test runs from a snapshot taken after those deployments (autouse
``fn_isolation``). Every system contract is deployed as production deploys it: a UUPS
implementation behind a ``ConsortiumProxy`` (ERC1967) initialized in the proxy's deployment
(``deploy_proxied``); the fixtures are the proxies, typed with the implementation's ABI.

Accounts are local accounts with known private keys so that tests can sign EIP-712 data (documents,
oracle reports) with ``eth_account``. The chain is gasless (gas price 0), but every account is
funded anyway.
"""

import hashlib
import re
from types import SimpleNamespace

import brownie
import pytest
from brownie import Consortium, ConsortiumProxy, VehicleRegistry, accounts, web3
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from oracle_reports import VehicleScore, make_report, sign_report, vehicle_score

from vcl import eip712

# ---------------------------------------------------------- constants mirrored from the contracts

BANK, AUDITOR, ORACLE_OPERATOR, DOCUMENT_ISSUER = 1, 2, 3, 4  # IConsortium.MemberKind (0 = None)
NONE_STATUS, ACTIVE, SUSPENDED, REMOVED = 0, 1, 2, 3  # IConsortium.MemberStatus
# IConsortium.ActionType
(
    ADMIT,
    SUSPEND,
    REINSTATE,
    REMOVE,
    SET_PARAMETER,
    SET_MODEL_APPROVAL,
    RELEASE_LIEN,
    REAPPRAISE,
    REVOKE_ISSUER_DOCUMENTS,
    UPGRADE_CONTRACT,
) = range(10)
MAINTENANCE, INSURANCE, CLAIM, INSPECTION, REGISTRATION = range(5)  # IVehicleRegistry.DocumentType

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_BYTES32 = "0x" + "00" * 32
DAY = 86400


def key(name: str) -> str:
    """Role or parameter identifier: keccak256 of its name, as the contracts compute it."""
    return "0x" + keccak(text=name).hex()


BANK_ROLE, AUDITOR_ROLE, ORACLE_ROLE, ISSUER_ROLE, MEMBER_ROLE, SYSTEM_ROLE, GOVERNANCE_ROLE = (
    key(name)
    for name in (
        "BANK_ROLE",
        "AUDITOR_ROLE",
        "ORACLE_ROLE",
        "ISSUER_ROLE",
        "MEMBER_ROLE",
        "SYSTEM_ROLE",
        "GOVERNANCE_ROLE",
    )
)
ROLE_OF_KIND = {
    BANK: BANK_ROLE,
    AUDITOR: AUDITOR_ROLE,
    ORACLE_OPERATOR: ORACLE_ROLE,
    DOCUMENT_ISSUER: ISSUER_ROLE,
}

DEFAULT_PARAMETERS = {
    "ALERT_THRESHOLD_BPS": 7000,
    "ALERT_HYSTERESIS_BPS": 500,
    "RATE_STEP_BPS": 1000,
    "RATE_INCREASE_BPS": 500,
    "ORACLE_QUORUM": 3,
    "HEARTBEAT": 7 * DAY,
    "VOTING_PERIOD": 3 * DAY,
    "GRACE_PERIOD": 30 * DAY,
    "MAX_ROUND_GAP": 100,
    "APPROVAL_TTL": 14 * DAY,
    # A fingerprint, not a quantity: any non-zero 256-bit value (vcl.vin_secrets.fingerprint).
    "VIN_SECRET_FINGERPRINT": int.from_bytes(hashlib.sha256(b"test vin secret").digest(), "big"),
}


def now() -> int:
    """Timestamp of the latest block: past timestamps derived from it are never in the future."""
    return brownie.chain[-1].timestamp


def action(action_type, account=ZERO_ADDRESS, kind=0, key_=ZERO_BYTES32, value=0):
    """An ``IConsortium.Action`` tuple."""
    return (action_type, str(account), kind, key_, value)


def plain(value):
    """A return value as nested lists (Brownie's ``ReturnValue`` cannot be compared with tuples)."""
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


# ---------------------------------------------------------- revert helpers


def _rendered(arg) -> str:
    """An argument as Brownie renders it in a decoded custom error."""
    if hasattr(arg, "address"):
        arg = arg.address
    if isinstance(arg, bool):
        return str(arg)
    if isinstance(arg, int):
        return str(int(arg))
    text = str(arg)
    if text.startswith("0x") and len(text) == 66:  # bytes32: shown as a Python bytes literal
        return repr(bytes.fromhex(text[2:]))
    if text.startswith("0x") and len(text) == 42:  # address: shown in lower case
        return text.lower()
    return text


def reverts_with(name: str, *args):
    """Expect a revert with custom error ``name``; with ``args``, also exactly these arguments.

    Brownie decodes custom errors as ``"Name: arg1, arg2"`` (addresses in lower case, bytes32 as
    bytes literals). Arguments may be accounts, contracts, addresses, hex bytes32 strings, ints or
    bools.
    """
    if not args:
        return brownie.reverts(revert_pattern=rf"{re.escape(name)}(:.*)?")
    return brownie.reverts(f"{name}: " + ", ".join(_rendered(arg) for arg in args))


# ---------------------------------------------------------- accounts


_BY_ADDRESS = {}  # address (lower case) -> local account, to sign as a bank found on-chain


def _account(label: str):
    account = accounts.add("0x" + keccak(text=f"vcl-test:{label}").hex())
    _BY_ADDRESS[account.address.lower()] = account
    return account


@pytest.fixture(scope="session")
def members():
    """Named accounts with known private keys (``account.private_key``).

    Founders: 3 banks, 1 auditor, 3 oracle operators, 2 issuers; the deployer is not a member.
    Outsiders: a stranger and a candidate (used for admissions and as non-member signers).
    """
    return SimpleNamespace(
        deployer=_account("deployer"),
        banks=[_account(f"bank{i}") for i in range(1, 4)],
        auditor=_account("auditor"),
        oracles=[_account(f"oracle{i}") for i in range(1, 4)],
        issuers=[_account(f"issuer{i}") for i in range(1, 3)],
        stranger=_account("stranger"),
        candidate=_account("candidate"),
    )


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Each test starts from the state left by the module-scoped fixtures."""


@pytest.fixture(scope="module")
def funded(members):
    """Funds every named account at the start of each module (the chain is reset per module)."""
    everyone = [
        members.deployer,
        *members.banks,
        members.auditor,
        *members.oracles,
        *members.issuers,
        members.stranger,
        members.candidate,
    ]
    for account in everyone:
        if account.balance() == 0:
            accounts[0].transfer(account, "10 ether")
    return members


# ---------------------------------------------------------- deployment


def deploy_proxied(container, *args):
    """Deploys ``container``'s implementation, then a ``ConsortiumProxy`` running
    ``initialize(*args)`` in its constructor; returns the proxy with the implementation's ABI.

    Called like ``container.deploy``: the last argument is the transaction dict. The returned
    contract's ``tx`` is the proxy deployment (its events are the initializer's) and
    ``implementation`` the implementation contract.
    """
    *initialize_args, tx = args
    implementation = container.deploy(tx)
    data = implementation.initialize.encode_input(*initialize_args)
    proxy = ConsortiumProxy.deploy(implementation, data, tx)
    deployed = brownie.Contract.from_abi(
        container._name, proxy.address, container.abi, persist=False
    )
    # Brownie decodes return values with the contract it maps to an address: the implementation's
    # ABI, not the proxy's; its revert report reads the build's language.
    deployed._build["language"] = "Solidity"
    brownie.network.state._add_contract(deployed)
    deployed.tx = proxy.tx
    deployed.implementation = implementation
    return deployed


def implementation_of(proxy) -> str:
    """The implementation address stored in ``proxy``'s ERC1967 slot."""
    slot = int(keccak(text="eip1967.proxy.implementation").hex(), 16) - 1
    raw = web3.eth.get_storage_at(str(proxy), slot)
    return web3.to_checksum_address(bytes(raw)[-20:])


def founding_arguments(members):
    """Consortium constructor arguments: founders, kinds, name hashes, parameter keys, values."""
    founders = [
        *((bank, BANK) for bank in members.banks),
        (members.auditor, AUDITOR),
        *((operator, ORACLE_OPERATOR) for operator in members.oracles),
        *((issuer, DOCUMENT_ISSUER) for issuer in members.issuers),
    ]
    return (
        [account for account, _ in founders],
        [kind for _, kind in founders],
        [key(f"institution:{account.address}") for account, _ in founders],
        [key(name) for name in DEFAULT_PARAMETERS],
        list(DEFAULT_PARAMETERS.values()),
    )


@pytest.fixture(scope="module")
def consortium(funded):
    """Consortium with the founders and default parameters; system contracts not bound."""
    return deploy_proxied(Consortium, *founding_arguments(funded), {"from": funded.deployer})


@pytest.fixture(scope="module")
def registry(consortium, funded):
    """VehicleRegistry of ``consortium``."""
    return deploy_proxied(VehicleRegistry, consortium, {"from": funded.deployer})


@pytest.fixture(scope="module")
def system(consortium, registry, oracle, loan_manager, funded):
    """Every system contract, deployed in the order of the spec and bound (SYSTEM_ROLE),
    with ``MODEL_VERSION`` approved by governance. ``oracle``/``loan_manager`` fixtures and
    ``MODEL_VERSION`` are defined at the end."""
    consortium.bindSystemContracts(registry, oracle, loan_manager, {"from": funded.deployer})
    govern(consortium, action(SET_MODEL_APPROVAL, key_=MODEL_VERSION, value=1), funded.banks[:2])
    return SimpleNamespace(
        consortium=consortium, registry=registry, oracle=oracle, loans=loan_manager, members=funded
    )


# ---------------------------------------------------------- governance helper


def govern(consortium, proposed_action, banks):
    """Proposes ``proposed_action`` and passes it with ``banks``' votes; returns the execute tx."""
    proposal_id = consortium.propose(proposed_action, {"from": banks[0]}).return_value
    for bank in banks:
        consortium.vote(proposal_id, True, {"from": bank})
    return consortium.execute(proposal_id, {"from": banks[0]})


# ---------------------------------------------------------- EIP-712 documents


def document_typed_data(
    registry_address, chain_id, vehicle_id, doc_type, cid, content_hash, issued_at
):
    """The EIP-712 typed data an issuer signs to anchor a document (domain "VehicleRegistry")."""
    return {
        "types": eip712.DOCUMENT_TYPES,
        "primaryType": "DocumentAnchor",
        "domain": {
            "name": "VehicleRegistry",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": str(registry_address),
        },
        "message": {
            "vehicleId": bytes.fromhex(vehicle_id[2:]),
            "docType": doc_type,
            "cid": cid,
            "contentHash": bytes.fromhex(content_hash[2:]),
            "issuedAt": issued_at,
        },
    }


def sign_document(
    signer, registry_address, vehicle_id, doc_type, cid, content_hash, issued_at, chain_id=None
):
    """Signs a document anchor with ``signer``'s private key; returns (signature, digest hex)."""
    data = document_typed_data(
        registry_address,
        chain_id or web3.eth.chain_id,
        vehicle_id,
        doc_type,
        cid,
        content_hash,
        issued_at,
    )
    signed = Account.sign_message(encode_typed_data(full_message=data), signer.private_key)
    digest = "0x" + bytes(signed.message_hash).hex()
    return bytes(signed.signature), digest


# ---------------------------------------------------------- condition oracle and loans

# IConditionOracle / ILoanManager enums (brownie returns them as ints).
CONFIRMED_RISK, FALSE_POSITIVE, ESCALATED = range(3)  # ReviewDecision
ALERT_NONE, ALERT_OPEN, ALERT_RECOVERED, ALERT_LIEN_ENDED = range(4)  # AlertStatus
(
    LOAN_NONE,
    APPLIED,
    APPROVED,
    LOAN_ACTIVE,
    OVERDUE,
    DEFAULTED,
    LIQUIDATED,
    REPAID,
    CLOSED,
    REJECTED,
    CANCELLED,
    EXPIRED,
    RELEASED,
) = range(13)  # LoanState
LIEN_STATES = frozenset({APPROVED, LOAN_ACTIVE, OVERDUE, DEFAULTED})
ALLOWED_TRANSITIONS = {
    LOAN_NONE: {APPLIED},
    APPLIED: {APPROVED, REJECTED, CANCELLED},
    APPROVED: {LOAN_ACTIVE, CANCELLED, EXPIRED, RELEASED},
    LOAN_ACTIVE: {OVERDUE, REPAID, RELEASED},
    OVERDUE: {LOAN_ACTIVE, DEFAULTED, REPAID, RELEASED},
    DEFAULTED: {LIQUIDATED, REPAID, RELEASED},
    LIQUIDATED: {CLOSED},
    REPAID: {CLOSED},
}

MODEL_VERSION = key("vcl-score-model:2025Q1")  # approved by governance in the ``system`` fixture
APPRAISAL = 200_000 * 100  # currency cents
LOAN_TERMS = {"principal": 120_000 * 100, "rate": 600, "term": 360 * DAY, "interval": 30 * DAY}


@pytest.fixture(scope="module")
def oracle(consortium, registry, funded):
    """ConditionOracle of ``consortium``, checking vehicles against ``registry``."""
    return deploy_proxied(brownie.ConditionOracle, consortium, registry, {"from": funded.deployer})


@pytest.fixture(scope="module")
def loan_manager(consortium, registry, oracle, funded):
    """LoanManager of ``consortium`` on ``registry`` and ``oracle``."""
    return deploy_proxied(
        brownie.LoanManager, consortium, registry, oracle, {"from": funded.deployer}
    )


class ReportSender:
    """Builds condition reports, signs them with the oracle operators' keys and submits them."""

    def __init__(self, oracle, operators, model_version):
        self.oracle = oracle
        self.operators = list(operators)
        self.model_version = model_version

    def build(self, entries, round_id=None, observed_at=None, model_version=None):
        """A report of ``entries`` (``VehicleScore`` or ``(vehicle_id, score, value)``), next
        round, observed now."""
        scores = [
            entry if isinstance(entry, VehicleScore) else vehicle_score(*entry) for entry in entries
        ]
        if round_id is None:
            round_id = self.oracle.latestRound() + 1
        if observed_at is None:
            observed_at = max(brownie.chain[-1].timestamp, self.oracle.latestObservedAt())
        return make_report(round_id, model_version or self.model_version, observed_at, scores)

    def sign(self, report, signers=None):
        """Signatures of ``report`` by ``signers`` (accounts with private keys; default: every
        founding operator)."""
        keys = [signer.private_key for signer in (self.operators if signers is None else signers)]
        return sign_report(report, keys, self.oracle.address, web3.eth.chain_id)

    def submit(self, entries, signers=None, sender=None, **build_args):
        """Builds, signs and submits a report; returns the transaction."""
        report = self.build(entries, **build_args)
        return self.submit_report(report, signers, sender)

    def submit_report(self, report, signers=None, sender=None, signatures=None):
        """Signs (unless ``signatures`` are given) and submits ``report``; returns the
        transaction."""
        if signatures is None:
            signatures = self.sign(report, signers)
        return self.oracle.submitReport(report, signatures, {"from": sender or self.operators[0]})


@pytest.fixture(scope="module")
def reporter(system):
    """A ``ReportSender`` for the bound system's oracle and the founding operators."""
    return ReportSender(system.oracle, system.members.oracles, MODEL_VERSION)


def new_vehicle(registry, bank, label, appraisal=APPRAISAL):
    """Registers a vehicle (id = keccak of ``label``) by ``bank``; returns its id."""
    vehicle_id = key(f"vehicle:{label}")
    registry.registerVehicle(
        vehicle_id, key(f"owner:{label}"), appraisal, brownie.chain[-1].timestamp, {"from": bank}
    )
    return vehicle_id


# ILoanManager.LienConsent of an application by the vehicle's registering bank (its own
# transaction is the consent).
OWN_VEHICLE = (0, ZERO_BYTES32, b"")
LIEN_CONSENT_TYPES = {
    "LienConsent": [
        {"name": "vehicleId", "type": "bytes32"},
        {"name": "lender", "type": "address"},
        {"name": "borrowerCommitment", "type": "bytes32"},
        {"name": "principal", "type": "uint128"},
        {"name": "deadline", "type": "uint64"},
        {"name": "nonce", "type": "bytes32"},
    ]
}


def sign_lien_consent(
    signer, loans, vehicle_id, lender, borrower, principal, deadline=None, nonce=None, chain_id=None
):
    """``signer``'s EIP-712 ``LienConsent`` for ``lender``'s application; returns the
    ``(deadline, nonce, signature)`` tuple ``applyForLoan`` takes. Deadline: a day from now."""
    # chain.time(), not the latest block's: a test may have slept since that block.
    deadline = brownie.chain.time() + DAY if deadline is None else deadline
    nonce = key(f"nonce:{vehicle_id}:{lender}:{principal}") if nonce is None else nonce
    data = {
        "types": LIEN_CONSENT_TYPES,
        "primaryType": "LienConsent",
        "domain": {
            "name": "LoanManager",
            "version": "1",
            "chainId": chain_id or web3.eth.chain_id,
            "verifyingContract": str(loans.address),
        },
        "message": {
            "vehicleId": bytes.fromhex(vehicle_id[2:]),
            "lender": str(lender),
            "borrowerCommitment": bytes.fromhex(str(borrower)[2:]),
            "principal": principal,
            "deadline": deadline,
            "nonce": bytes.fromhex(str(nonce)[2:]),
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=data), signer.private_key)
    return (deadline, nonce, bytes(signed.signature))


def consent_for(loans, bank, vehicle_id, borrower, principal):
    """The consent ``bank``'s application needs: none for its own vehicle, else the registering
    bank's signature (every registering bank of these tests is a local account with a key)."""
    registrar = brownie.VehicleRegistry.at(loans.registry()).vehicle(vehicle_id)[3]
    if str(registrar).lower() == str(bank).lower():
        return OWN_VEHICLE
    return sign_lien_consent(
        _BY_ADDRESS[str(registrar).lower()], loans, vehicle_id, bank, borrower, principal
    )


def open_loan(loans, bank, vehicle_id, principal=None, rate=None, term=None, interval=None):
    """Applies for a loan with the default ``LOAN_TERMS`` (with the registering bank's consent when
    ``bank`` did not register the vehicle); returns the loan id."""
    terms = dict(LOAN_TERMS)
    terms.update(
        {
            k: v
            for k, v in {
                "principal": principal,
                "rate": rate,
                "term": term,
                "interval": interval,
            }.items()
            if v is not None
        }
    )
    borrower = key(f"borrower:{vehicle_id}")
    tx = loans.applyForLoan(
        vehicle_id,
        borrower,
        terms["principal"],
        terms["rate"],
        terms["term"],
        terms["interval"],
        consent_for(loans, bank, vehicle_id, borrower, terms["principal"]),
        {"from": bank},
    )
    return tx.return_value
