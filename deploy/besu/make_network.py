"""Generate a Besu QBFT consortium network: validator keys, genesis, node configuration.

    python deploy/besu/make_network.py keys NAME... [--out deploy/besu/keys]
    python deploy/besu/make_network.py config NETWORK.json [--out DIR]

`keys` writes one Besu node key per validator into a git-ignored directory (or each
validator runs `besu public-key export` on its own machine and sends only its public
key). `config` turns a network description (validators' public keys and addresses,
allowlisted accounts) into genesis.json, permissions_config.toml and one config.toml per
validator, and prints the enodes. Nothing here reads or writes a private key except
`keys`, and the genesis extraData is RLP-encoded here rather than written by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

REPO_ROOT = Path(__file__).resolve().parents[2]
BROWNIE_CONFIG = REPO_ROOT / "brownie-config.yaml"

# Besu's fixed mixHash for BFT consensus ("ctical byzantine fault tolerance").
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
# Largest contract size Besu accepts, as its free-gas guide recommends for gasless networks.
MAX_CONTRACT_SIZE = 2147483647

# Genesis milestones to activate at block 0 / time 0 for each EVM version the contracts
# may be compiled for: each one needs every milestone before it.
MILESTONES: dict[str, tuple[str, ...]] = {
    "london": ("berlinBlock", "londonBlock"),
    "shanghai": ("berlinBlock", "londonBlock", "shanghaiTime"),
    "cancun": ("berlinBlock", "londonBlock", "shanghaiTime", "cancunTime"),
}

# JSON-RPC APIs a validator serves to its own member's node API on localhost. PERM and
# ADMIN change allowlists and peers at run time, so the RPC port is never exposed.
RPC_APIS = ("ETH", "NET", "WEB3", "QBFT", "TXPOOL", "PERM", "ADMIN")

SECP256K1_P = 2**256 - 2**32 - 977  # the field prime: a public key solves y^2 = x^3 + 7

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


class NetworkError(ValueError):
    """The network description is incomplete or inconsistent."""


@dataclass(frozen=True)
class Validator:
    name: str
    public_key: bytes  # 64 bytes, uncompressed without the 0x04 prefix
    host: str
    p2p_port: int

    @property
    def address(self) -> str:
        return to_checksum_address(keccak(self.public_key)[-20:])

    @property
    def enode(self) -> str:
        return f"enode://{self.public_key.hex()}@{self.host}:{self.p2p_port}"


@dataclass(frozen=True)
class Network:
    chain_id: int
    validators: tuple[Validator, ...]
    accounts: tuple[tuple[str, str], ...]  # (name, checksum address) allowed to transact
    block_period_seconds: int = 2
    request_timeout_seconds: int = 4
    epoch_length: int = 30000
    gas_limit: int = 100_000_000
    rpc_port: int = 8545
    metrics_port: int = 9545


def qbft_extra_data(validators: list[str]) -> str:
    """Genesis extraData of a QBFT network whose validators are chosen in block headers.

    RLP([32-byte vanity, [validator addresses], no vote, round 0, no seals]), the layout
    Besu's `rlp encode --type=QBFT_EXTRA_DATA` produces.
    """
    addresses = [bytes.fromhex(to_checksum_address(a)[2:]) for a in validators]
    encoded: bytes = rlp.encode([b"\x00" * 32, addresses, [], 0, []])
    return "0x" + encoded.hex()


def evm_version(config: Path = BROWNIE_CONFIG) -> str:
    """The EVM version the contracts are compiled for (brownie-config.yaml)."""
    version = yaml.safe_load(config.read_text())["compiler"]["evm_version"]
    if version not in MILESTONES:
        raise NetworkError(f"no Besu milestones known for evm_version {version!r}")
    return str(version)


def genesis(network: Network, evm: str) -> dict[str, Any]:
    config: dict[str, Any] = {"chainId": network.chain_id}
    config.update({milestone: 0 for milestone in MILESTONES[evm]})
    config.update(
        {
            # Blocks carry base fee 0, so transactions at gas price 0 are valid (EIP-1559).
            "zeroBaseFee": True,
            "contractSizeLimit": MAX_CONTRACT_SIZE,
            "qbft": {
                "blockperiodseconds": network.block_period_seconds,
                "epochlength": network.epoch_length,
                "requesttimeoutseconds": network.request_timeout_seconds,
            },
        }
    )
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": hex(network.gas_limit),
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        # Gasless: no account needs a balance.
        "alloc": {},
        "extraData": qbft_extra_data([v.address for v in network.validators]),
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }


def permissions_config(network: Network) -> str:
    nodes = ",\n  ".join(f'"{v.enode}"' for v in network.validators)
    # TOML arrays take a trailing comma, so each line can carry its account's name.
    accounts = "\n  ".join(f'"{address}",  # {name}' for name, address in network.accounts)
    return (
        "# Local permissioning, the same file on every validator (generated by\n"
        "# deploy/besu/make_network.py). Only these nodes may connect, and only these\n"
        "# accounts may send transactions.\n"
        f"nodes-allowlist=[\n  {nodes}\n]\n"
        f"accounts-allowlist=[\n  {accounts}\n]\n"
    )


def node_config(network: Network, validator: Validator) -> str:
    bootnodes = ",\n  ".join(f'"{v.enode}"' for v in network.validators if v != validator)
    apis = ",".join(f'"{api}"' for api in RPC_APIS)
    return f"""# Besu validator {validator.name} ({validator.address}), generated by
# deploy/besu/make_network.py. Paths follow deploy/besu/besu.service.
data-path="/var/lib/besu"
genesis-file="/etc/besu/genesis.json"
node-private-key-file="/etc/besu/key"

p2p-host="{validator.host}"
p2p-port={validator.p2p_port}
bootnodes=[
  {bootnodes}
]

# Gasless consortium: every node must accept gas price 0 or it drops those transactions.
min-gas-price=0

# JSON-RPC for this member's node API and oracle only: localhost, never exposed.
rpc-http-enabled=true
rpc-http-host="127.0.0.1"
rpc-http-port={network.rpc_port}
rpc-http-api=[{apis}]
host-allowlist=["localhost","127.0.0.1"]

# Local permissioning (on-chain permissioning is deprecated since Besu 24.12).
permissions-nodes-config-file-enabled=true
permissions-nodes-config-file="/etc/besu/permissions_config.toml"
permissions-accounts-config-file-enabled=true
permissions-accounts-config-file="/etc/besu/permissions_config.toml"

metrics-enabled=true
metrics-host="127.0.0.1"
metrics-port={network.metrics_port}
"""


def load_network(path: Path) -> Network:
    """Read and check a network description (see deploy/besu/network.example.json)."""
    try:
        raw = json.loads(path.read_text())
        validators = tuple(
            Validator(
                name=_name(v["name"]),
                public_key=_public_key(v["public_key"]),
                host=_ipv4(v["host"]),
                p2p_port=_port(v.get("p2p_port", 30303)),
            )
            for v in raw["validators"]
        )
        accounts = tuple(
            (_name(a["name"]), to_checksum_address(a["address"])) for a in raw["accounts"]
        )
        optional = {
            k: int(raw[k])
            for k in (
                "block_period_seconds",
                "request_timeout_seconds",
                "epoch_length",
                "gas_limit",
                "rpc_port",
                "metrics_port",
            )
            if k in raw
        }
        network = Network(int(raw["chain_id"]), validators, accounts, **optional)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise NetworkError(f"{path}: {exc}") from exc
    if len(validators) < 4:
        # QBFT tolerates f faulty validators out of 3f + 1: four is the least that survives one.
        raise NetworkError(f"{path}: QBFT needs at least 4 validators, got {len(validators)}")
    for what, values in (
        ("validator name", [v.name for v in validators]),
        ("validator key", [v.public_key.hex() for v in validators]),
        ("account", [a for _, a in accounts]),
    ):
        if len(set(values)) != len(values):
            raise NetworkError(f"{path}: a {what} appears twice")
    if network.chain_id <= 0:
        raise NetworkError(f"{path}: chain_id must be positive")
    return network


def write_config(network: Network, out: Path, evm: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "genesis.json").write_text(json.dumps(genesis(network, evm), indent=2) + "\n")
    (out / "permissions_config.toml").write_text(permissions_config(network))
    for validator in network.validators:
        (out / validator.name).mkdir(exist_ok=True)
        (out / validator.name / "config.toml").write_text(node_config(network, validator))


def write_keys(names: list[str], out: Path) -> list[dict[str, str]]:
    """A fresh node key per validator, readable only by its owner; refuses to overwrite."""
    made = []
    for name in names:
        key_file = out / _name(name) / "key"
        if key_file.exists():
            raise NetworkError(f"{key_file} exists: a validator key is never replaced silently")
        private = PrivateKey(secrets.token_bytes(32))
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(private.to_hex())
        made.append(
            {
                "name": name,
                "public_key": private.public_key.to_hex(),
                "address": private.public_key.to_checksum_address(),
            }
        )
    return made


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise NetworkError(f"name {value!r}: use lower-case letters, digits and '-'")
    return value


def _public_key(value: str) -> bytes:
    key = bytes.fromhex(value.removeprefix("0x"))
    if len(key) == 65 and key[0] == 4:
        key = key[1:]
    if len(key) != 64:
        raise NetworkError(f"public key {value!r}: expected 64 bytes")
    x, y = int.from_bytes(key[:32], "big"), int.from_bytes(key[32:], "big")
    if (y * y - x * x * x - 7) % SECP256K1_P:
        raise NetworkError(f"public key {value!r} is not a point on secp256k1")
    return key


def _ipv4(value: str) -> str:
    # Besu's enode URLs take IP addresses (domain names only behind an early-access flag).
    match = _IPV4.match(value)
    if not match or any(int(part) > 255 for part in match.groups()):
        raise NetworkError(f"host {value!r}: an IPv4 address is required in an enode URL")
    return value


def _port(value: Any) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise NetworkError(f"port {port} out of range")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keys_cmd = commands.add_parser("keys", help="create validator node keys")
    keys_cmd.add_argument("names", nargs="+")
    keys_cmd.add_argument("--out", type=Path, default=Path(__file__).parent / "keys")
    config_cmd = commands.add_parser("config", help="genesis and node configuration")
    config_cmd.add_argument("network", type=Path)
    config_cmd.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "keys":
            for made in write_keys(args.names, args.out):
                print(json.dumps(made))
            return 0
        network = load_network(args.network)
        evm = evm_version()
        write_config(network, args.out, evm)
    except NetworkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"chain id {network.chain_id}, EVM {evm}, {len(network.validators)} validators:")
    for validator in network.validators:
        print(f"  {validator.name:12} {validator.address}  {validator.enode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
