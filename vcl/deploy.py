"""Deploy the consortium's contracts in dependency order and record where they are.

Each system contract is a UUPS implementation behind an ERC1967 proxy (`ConsortiumProxy`): the
deployment record holds the proxies, the addresses members use for ever; an implementation is
replaced only by an executed `UpgradeContract` proposal (`vcl governance propose upgrade`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account import Account
from eth_typing import ChecksumAddress
from web3 import Web3

from vcl.artifacts import load_artifact
from vcl.config import DEV_PRIVATE_KEYS, Settings
from vcl.deployments import DeploymentRecord
from vcl.errors import DeploymentError
from vcl.sender import TransactionSender
from vcl.vin_secrets import fingerprint

SYSTEM_CONTRACTS = ("Consortium", "VehicleRegistry", "ConditionOracle", "LoanManager")
PROXY_CONTRACT = "ConsortiumProxy"
# ERC-1967: the slot where a proxy keeps its implementation's address,
# keccak256("eip1967.proxy.implementation") - 1.
IMPLEMENTATION_SLOT = 0x360894A13BA1A3210667C828492DB98DCA3E2076CC3735A920A3CA505D382BBC

# Governed parameters and their values at genesis; changed later only by a vote.
DEFAULT_PARAMETERS: dict[str, int] = {
    "ALERT_THRESHOLD_BPS": 7000,
    "ALERT_HYSTERESIS_BPS": 500,
    "RATE_STEP_BPS": 1000,
    "RATE_INCREASE_BPS": 500,
    "ORACLE_QUORUM": 3,
    "HEARTBEAT": 7 * 24 * 3600,
    "VOTING_PERIOD": 3 * 24 * 3600,
    "GRACE_PERIOD": 30 * 24 * 3600,
    "MAX_ROUND_GAP": 100,
    "APPROVAL_TTL": 14 * 24 * 3600,
}
# Set at genesis from the deployer's VIN secret, changed by a rotation vote (vcl.vin_secrets).
VIN_SECRET_FINGERPRINT = "VIN_SECRET_FINGERPRINT"  # noqa: S105 - a parameter name, public
GOVERNED_PARAMETERS: tuple[str, ...] = (*DEFAULT_PARAMETERS, VIN_SECRET_FINGERPRINT)


class MemberKind(IntEnum):
    """Mirrors `IConsortium.MemberKind`."""

    NONE = 0
    BANK = 1
    AUDITOR = 2
    ORACLE_OPERATOR = 3
    DOCUMENT_ISSUER = 4


@dataclass(frozen=True)
class Founder:
    address: ChecksumAddress
    kind: MemberKind
    name: str  # institution name: public, hashed on-chain to keep the state small


# Local consortium: anvil's accounts 1..8 play the founding institutions. Four oracle
# operators for a quorum of 3 (n = 3f + 1, f = 1): one silent operator does not stop the
# reports, one dishonest operator cannot get a value through (docs/oracle-transmission.md).
# The fourth operator is account 8: 7 was the issuer already, and tests keep 9 a stranger.
DEV_FOUNDERS: tuple[tuple[int, MemberKind, str], ...] = (
    (1, MemberKind.BANK, "bank-a"),
    (2, MemberKind.BANK, "bank-b"),
    (3, MemberKind.AUDITOR, "auditor"),
    (4, MemberKind.ORACLE_OPERATOR, "oracle-1"),
    (5, MemberKind.ORACLE_OPERATOR, "oracle-2"),
    (6, MemberKind.ORACLE_OPERATOR, "oracle-3"),
    (7, MemberKind.DOCUMENT_ISSUER, "issuer"),
    (8, MemberKind.ORACLE_OPERATOR, "oracle-4"),
)


def dev_founders() -> list[Founder]:
    """Founding members of a development consortium (never used in production mode)."""
    return [
        Founder(Account.from_key(DEV_PRIVATE_KEYS[i]).address, kind, name)
        for i, kind, name in DEV_FOUNDERS
    ]


def parameter_key(name: str) -> bytes:
    return Web3.keccak(text=name)


def deploy_system(
    sender: TransactionSender,
    settings: Settings,
    founders: list[Founder],
    parameters: dict[str, int] | None = None,
) -> dict[str, ChecksumAddress]:
    """Deploy Consortium -> VehicleRegistry -> ConditionOracle -> LoanManager, each a proxy
    on its implementation, bind them, and write the proxies' addresses to the deployment record.
    The sender deploys the Consortium's proxy, so it is the deployer allowed to bind, once."""
    founding_secret = settings.vin_secret.get_secret_value().encode()
    params = {
        **DEFAULT_PARAMETERS,
        VIN_SECRET_FINGERPRINT: fingerprint(founding_secret),
        **(parameters or {}),
    }

    consortium = deploy_proxied(
        sender,
        settings,
        "Consortium",
        [f.address for f in founders],
        [int(f.kind) for f in founders],
        [Web3.keccak(text=f.name) for f in founders],
        [parameter_key(k) for k in params],
        list(params.values()),
    )
    registry = deploy_proxied(sender, settings, "VehicleRegistry", consortium)
    oracle = deploy_proxied(sender, settings, "ConditionOracle", consortium, registry)
    loans = deploy_proxied(sender, settings, "LoanManager", consortium, registry, oracle)
    bound = sender.w3.eth.contract(
        address=consortium, abi=load_artifact(settings.build_dir, "Consortium").abi
    )
    sender.transact(bound.functions.bindSystemContracts(registry, oracle, loans))

    addresses = dict(zip(SYSTEM_CONTRACTS, (consortium, registry, oracle, loans), strict=True))
    DeploymentRecord(settings.deployment_file).save(sender.w3.eth.chain_id, addresses)
    return addresses


def deploy_implementation(
    sender: TransactionSender, settings: Settings, name: str
) -> ChecksumAddress:
    """Deploy the implementation of system contract `name` as built now (no state of its own:
    its constructor only locks it against initialization)."""
    if name not in SYSTEM_CONTRACTS:
        raise DeploymentError(
            f"unknown system contract {name!r}; one of: {', '.join(SYSTEM_CONTRACTS)}"
        )
    implementation, _ = sender.deploy(load_artifact(settings.build_dir, name))
    return implementation


def deploy_proxied(
    sender: TransactionSender, settings: Settings, name: str, *initialize_args: Any
) -> ChecksumAddress:
    """Deploy `name`'s implementation, then its proxy, which runs `initialize(*initialize_args)`
    in its own deployment (nobody can initialize it before or after); returns the proxy."""
    implementation = deploy_implementation(sender, settings, name)
    factory = sender.w3.eth.contract(abi=load_artifact(settings.build_dir, name).abi)
    data = factory.encode_abi("initialize", args=list(initialize_args))
    proxy, _ = sender.deploy(
        load_artifact(settings.build_dir, PROXY_CONTRACT), implementation, data
    )
    return proxy


def implementation_of(w3: Web3, proxy: ChecksumAddress) -> ChecksumAddress:
    """The implementation a proxy runs now, read from its ERC-1967 slot."""
    raw = bytes(w3.eth.get_storage_at(proxy, IMPLEMENTATION_SLOT))
    return Web3.to_checksum_address(raw[-20:])


def matches_build(w3: Web3, settings: Settings, name: str, implementation: ChecksumAddress) -> bool:
    """Whether the code at `implementation` is exactly `name` as built in `settings.build_dir`.

    The build leaves an implementation's immutable (its own address, which UUPS checks calls
    against) as zeros; the deployed code carries the address there, so it is zeroed before
    comparing. What a bank checks before voting an upgrade: the proposed code is the code it
    compiled from the reviewed sources."""
    built = bytes.fromhex(load_artifact(settings.build_dir, name).deployed_bytecode)
    deployed = bytes(w3.eth.get_code(implementation))
    own_address = bytes.fromhex(implementation[2:])
    return len(deployed) > 0 and deployed.replace(own_address, bytes(20)) == built


def deployed_and_live(w3: Web3, settings: Settings) -> dict[str, ChecksumAddress] | None:
    """The recorded addresses for this chain if every one of them is a proxy running an
    implementation with code, else None (contracts recorded before the proxies are not
    this system: they are deployed again)."""
    addresses = DeploymentRecord(settings.deployment_file).addresses(w3.eth.chain_id)
    if set(addresses) != set(SYSTEM_CONTRACTS):
        return None
    if any(len(w3.eth.get_code(a)) == 0 for a in addresses.values()):
        return None
    if any(len(w3.eth.get_code(implementation_of(w3, a))) == 0 for a in addresses.values()):
        return None
    return addresses
