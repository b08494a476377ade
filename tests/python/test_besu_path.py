"""The production path on Besu QBFT, as far as it runs on this machine (docs/production.md).

No Besu runs here: the genesis generator is checked against the QBFT format Besu documents,
the code paths that differ on Besu (proof-of-authority headers, gas price 0, chain id) run
against a small JSON-RPC server that answers like a QBFT node, and the documented Brownie
commands deploy in production mode to an anvil standing in for the network.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import rlp  # type: ignore[import-untyped]
import yaml
from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.exceptions import ExtraDataLengthError

from node_api.config import NodeSettings
from vcl.artifacts import load_artifact
from vcl.chain import make_web3
from vcl.config import KeySource, Mode, Settings
from vcl.deploy import MemberKind, dev_founders
from vcl.errors import ChainIdMismatch, ConfigError
from vcl.founders import founders_for, load_founders
from vcl.localchain import REPO_ROOT, LocalChain, LocalChainConfig, free_port
from vcl.sender import sender_from_settings

BESU = REPO_ROOT / "deploy/besu"
GENERATOR = BESU / "make_network.py"
EXAMPLE_NETWORK = BESU / "network.example.json"
BUILD_DIR = REPO_ROOT / "build/contracts"
CHAIN_ID = 20250
PASSWORD = "a keystore passphrase of 16+ characters"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_network", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_network"] = module
    spec.loader.exec_module(module)
    return module


make_network = _generator()


def _run(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    words = [str(a) for a in args]
    return subprocess.run(
        words, check=False, capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def _project_copy(directory: Path) -> Path:
    """The Brownie project as a copy: Brownie compiles again under another HOME and rewrites
    and prunes `build/`, which the other tests read (running beside this one)."""
    project = directory / "project"
    project.mkdir()
    for name in ("contracts", "interfaces", "scripts", "build"):
        shutil.copytree(REPO_ROOT / name, project / name)
    shutil.copy(REPO_ROOT / "brownie-config.yaml", project)
    (project / "tests/contracts").mkdir(parents=True)  # the project structure Brownie expects
    (project / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    return project


# --- genesis and node configuration ---------------------------------------------------


def test_extra_data_reproduces_besu_documented_qbft_genesis() -> None:
    """The two genesis extraData values of Besu's QBFT guide, from their validators."""
    validators = [
        "0x64a702e6263b7297a96638cac6ae65e6541f4169",
        "0x3923390ad55e90c237593b3b0e401f3b08a03185",
        "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
        "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
    ]
    assert make_network.qbft_extra_data(validators) == (
        "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854"
        "9464a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08"
        "a0318594aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b2126"
        "48e01c6c6b78c080c0"
    )
    assert make_network.qbft_extra_data([]) == "0xe5a0" + "00" * 32 + "c0c080c0"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("besu")
    result = _run(sys.executable, GENERATOR, "config", EXAMPLE_NETWORK, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


def test_committed_example_is_what_the_generator_writes(generated: Path) -> None:
    committed = sorted(p.relative_to(BESU / "example") for p in (BESU / "example").rglob("*.*"))
    assert committed == sorted(p.relative_to(generated) for p in generated.rglob("*.*"))
    for relative in committed:
        assert (generated / relative).read_text() == (BESU / "example" / relative).read_text()


def test_genesis_is_qbft_gasless_with_the_contracts_evm_milestone(generated: Path) -> None:
    network = json.loads(EXAMPLE_NETWORK.read_text())
    genesis = json.loads((generated / "genesis.json").read_text())
    config = genesis["config"]
    assert config["chainId"] == network["chain_id"] == CHAIN_ID
    assert config["zeroBaseFee"] is True
    assert set(config["qbft"]) == {"blockperiodseconds", "epochlength", "requesttimeoutseconds"}
    evm = yaml.safe_load((REPO_ROOT / "brownie-config.yaml").read_text())["compiler"]["evm_version"]
    assert evm == "cancun"  # the bytecode uses PUSH0, MCOPY and transient storage
    assert {k: config[k] for k in ("londonBlock", "shanghaiTime", "cancunTime")} == {
        "londonBlock": 0,
        "shanghaiTime": 0,
        "cancunTime": 0,
    }
    assert genesis["mixHash"] == make_network.BFT_MIX_HASH

    vanity, validators, vote, round_, seals = rlp.decode(bytes.fromhex(genesis["extraData"][2:]))
    assert vanity == b"\x00" * 32
    expected = [
        Web3.keccak(bytes.fromhex(v["public_key"][2:]))[-20:] for v in network["validators"]
    ]
    assert validators == expected
    assert len(validators) == 4
    assert (vote, round_, seals) == ([], b"", [])


def test_nodes_allow_only_the_consortium_and_accept_gas_price_zero(generated: Path) -> None:
    network = json.loads(EXAMPLE_NETWORK.read_text())
    permissions = tomllib.loads((generated / "permissions_config.toml").read_text())
    enodes = permissions["nodes-allowlist"]
    assert len(enodes) == 4
    assert permissions["accounts-allowlist"] == [
        Web3.to_checksum_address(a["address"]) for a in network["accounts"]
    ]
    for validator, enode in zip(network["validators"], enodes, strict=True):
        assert enode == (
            f"enode://{validator['public_key'][2:]}@{validator['host']}:{validator['p2p_port']}"
        )
        config = tomllib.loads((generated / validator["name"] / "config.toml").read_text())
        assert config["min-gas-price"] == 0
        assert config["permissions-nodes-config-file-enabled"] is True
        assert config["permissions-accounts-config-file-enabled"] is True
        assert config["rpc-http-host"] == "127.0.0.1"
        assert "QBFT" in config["rpc-http-api"]
        assert set(config["bootnodes"]) == set(enodes) - {enode}


def test_generator_refuses_a_network_qbft_cannot_run(tmp_path: Path) -> None:
    network = json.loads(EXAMPLE_NETWORK.read_text())
    network["validators"] = network["validators"][:3]
    path = tmp_path / "network.json"
    path.write_text(json.dumps(network))
    result = _run(sys.executable, GENERATOR, "config", path, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "QBFT needs at least 4 validators, got 3" in result.stderr
    assert not (tmp_path / "out").exists()

    network = json.loads(EXAMPLE_NETWORK.read_text())
    network["validators"][0]["public_key"] = "0x" + "11" * 64  # not a point on the curve
    path.write_text(json.dumps(network))
    result = _run(sys.executable, GENERATOR, "config", path, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "not a point on secp256k1" in result.stderr
    assert not (tmp_path / "out").exists()


def test_validator_keys_are_private_files_never_overwritten(tmp_path: Path) -> None:
    result = _run(sys.executable, GENERATOR, "keys", "validator-1", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    key_file = tmp_path / "validator-1" / "key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert Account.from_key(key_file.read_text()).address == printed["address"]
    assert "key" not in printed
    assert key_file.read_text() not in result.stdout

    again = _run(sys.executable, GENERATOR, "keys", "validator-1", "--out", tmp_path)
    assert again.returncode == 2
    assert "never replaced" in again.stderr
    assert Account.from_key(key_file.read_text()).address == printed["address"]


def test_generated_keys_are_ignored_by_git() -> None:
    result = _run("git", "check-ignore", "-q", "deploy/besu/keys/validator-1/key")
    assert result.returncode == 0


# --- a JSON-RPC server that answers like a Besu QBFT node ------------------------------


class QbftNodeStub:
    """Serves chain id, a QBFT block (seals in extraData), gas estimates and receipts,
    and records every raw transaction sent to it."""

    def __init__(self, chain_id: int, extra_data: bytes) -> None:
        self.chain_id = chain_id
        self.extra_data = extra_data
        self.raw_transactions: list[bytes] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body = json.dumps(stub.answer(request)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request.get("params", [])
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        results = {
            "eth_chainId": lambda: hex(self.chain_id),
            "eth_blockNumber": lambda: "0x7",
            "eth_getBlockByNumber": self.block,
            "eth_estimateGas": lambda: hex(50_000),
            "eth_getTransactionCount": lambda: "0x0",
            "eth_sendRawTransaction": lambda: self.accept(params[0]),
            "eth_getTransactionReceipt": lambda: self.receipt(params[0]),
        }
        if method not in results:
            reply["error"] = {"code": -32601, "message": f"Method not found: {method}"}
        else:
            reply["result"] = results[method]()
        return reply

    def block(self) -> dict[str, Any]:
        zero32 = "0x" + "00" * 32
        return {
            "number": "0x7",
            "hash": "0x" + "ab" * 32,
            "parentHash": zero32,
            "nonce": "0x0000000000000000",
            "mixHash": make_network.BFT_MIX_HASH,
            "sha3Uncles": zero32,
            "logsBloom": "0x" + "00" * 256,
            "transactionsRoot": zero32,
            "stateRoot": zero32,
            "receiptsRoot": zero32,
            "miner": "0x" + "00" * 20,
            "difficulty": "0x1",
            "totalDifficulty": "0x8",
            "extraData": "0x" + self.extra_data.hex(),
            "size": "0x300",
            "gasLimit": "0x5f5e100",
            "gasUsed": "0x0",
            "timestamp": "0x6650f000",
            "baseFeePerGas": "0x0",
            "transactions": [],
            "uncles": [],
        }

    def accept(self, raw_hex: str) -> str:
        raw = bytes.fromhex(raw_hex.removeprefix("0x"))
        self.raw_transactions.append(raw)
        return Web3.to_hex(Web3.keccak(raw))

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        known = {Web3.to_hex(Web3.keccak(raw)) for raw in self.raw_transactions}
        if tx_hash not in known:
            return None
        return {
            "transactionHash": tx_hash,
            "transactionIndex": "0x0",
            "blockHash": "0x" + "ab" * 32,
            "blockNumber": "0x7",
            "from": "0x" + "00" * 20,
            "to": "0x" + "00" * 20,
            "cumulativeGasUsed": hex(40_000),
            "gasUsed": hex(40_000),
            "effectiveGasPrice": "0x0",
            "contractAddress": None,
            "logs": [],
            "logsBloom": "0x" + "00" * 256,
            "status": "0x1",
            "type": "0x0",
        }

    def __enter__(self) -> QbftNodeStub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


EXAMPLE_VALIDATORS = [
    Web3.keccak(bytes.fromhex(v["public_key"][2:]))[-20:]
    for v in json.loads(EXAMPLE_NETWORK.read_text())["validators"]
]
# A sealed block's extraData: vanity, validators, no vote, round 0, three committed seals.
SEALED_EXTRA_DATA = rlp.encode([b"\x00" * 32, EXAMPLE_VALIDATORS, [], 0, [b"\x5a" * 65] * 3])


@pytest.fixture
def qbft_node() -> Iterator[QbftNodeStub]:
    with QbftNodeStub(CHAIN_ID, SEALED_EXTRA_DATA) as stub:
        yield stub


def production_settings(rpc_url: str, **update: Any) -> Settings:
    """What a member's .env sets in production (deploy/member/node.env.example)."""
    values: dict[str, Any] = {
        "mode": Mode.PRODUCTION,
        "rpc_url": rpc_url,
        "chain_id": CHAIN_ID,
        "proof_of_authority": True,
        "gas_price_wei": 0,
        "key_source": KeySource.ENV,
        "private_key": Account.create().key.hex(),
        "vin_secret": "a consortium secret, 32 bytes or more",
        "build_dir": BUILD_DIR,
    }
    return Settings(**{**values, **update})


def test_qbft_headers_need_the_proof_of_authority_setting(qbft_node: QbftNodeStub) -> None:
    assert len(SEALED_EXTRA_DATA) > 300  # far past the 32 bytes a mainnet header carries
    with pytest.raises(ExtraDataLengthError):
        Web3(HTTPProvider(qbft_node.url)).eth.get_block("latest")
    without = production_settings(qbft_node.url, proof_of_authority=False)
    with pytest.raises(ExtraDataLengthError):
        make_web3(without).eth.get_block("latest")

    block = make_web3(production_settings(qbft_node.url)).eth.get_block("latest")
    assert block["number"] == 7
    _, validators, _, _, seals = rlp.decode(block["proofOfAuthorityData"])
    assert validators == EXAMPLE_VALIDATORS
    assert len(seals) == 3


@pytest.mark.parametrize("gas_price_wei", [0, 1_000])
def test_transactions_are_legacy_at_the_configured_gas_price_for_this_chain(
    qbft_node: QbftNodeStub, gas_price_wei: int
) -> None:
    settings = production_settings(qbft_node.url, gas_price_wei=gas_price_wei)
    sender = sender_from_settings(settings)
    consortium = sender.w3.eth.contract(
        address=Web3.to_checksum_address("0x" + "12" * 20),
        abi=load_artifact(BUILD_DIR, "Consortium").abi,
    )
    receipt = sender.transact(consortium.functions.vote(1, True))
    assert receipt["status"] == 1

    [raw] = qbft_node.raw_transactions
    assert raw[0] >= 0xC0  # an RLP list: a legacy transaction, no EIP-1559 fee fields
    nonce, gas_price, gas, to, value, data, v, _, _ = rlp.decode(raw)
    assert int.from_bytes(gas_price, "big") == gas_price_wei
    assert int.from_bytes(v, "big") in (CHAIN_ID * 2 + 35, CHAIN_ID * 2 + 36)  # EIP-155
    assert to == bytes.fromhex("12" * 20)
    assert value == b""
    assert nonce == b""
    assert int.from_bytes(gas, "big") == int(50_000 * 1.25)
    assert data == Web3.to_bytes(hexstr=consortium.encode_abi("vote", args=[1, True]))
    assert Account.recover_transaction(raw) == sender.address


def test_a_node_of_another_chain_is_refused_before_anything_is_signed(
    qbft_node: QbftNodeStub,
) -> None:
    settings = production_settings(qbft_node.url, chain_id=1337)
    with pytest.raises(ChainIdMismatch) as caught:
        make_web3(settings)
    assert (caught.value.expected, caught.value.actual) == (1337, CHAIN_ID)
    assert "serves chain id 20250, settings say 1337" in str(caught.value)
    with pytest.raises(ChainIdMismatch):
        sender_from_settings(settings)
    assert qbft_node.raw_transactions == []


# --- member settings and founders -----------------------------------------------------


def test_member_env_examples_name_only_settings_the_code_reads() -> None:
    known = {f"VCL_{name.upper()}" for name in Settings.model_fields}
    known |= {f"VCL_NODE_{name.upper()}" for name in NodeSettings.model_fields}
    known.add("VCL_LOG_JSON")  # read by vcl.logging_setup
    names: set[str] = set()
    for example in (REPO_ROOT / "deploy/member").glob("*.env.example"):
        names |= set(re.findall(r"^#?\s*(VCL_[A-Z_]+)=", example.read_text(), re.M))
    assert {"VCL_MODE", "VCL_CHAIN_ID", "VCL_PROOF_OF_AUTHORITY", "VCL_GAS_PRICE_WEI"} <= names
    assert {"VCL_DATABASE_URL", "VCL_IPFS_URL", "VCL_FOUNDERS_FILE"} <= names
    assert "VCL_NODE_DOCUMENT_KEY_FILE" in names
    assert "VCL_DOCUMENT_KEY" not in names  # no shared document key any more
    assert sorted(names - known) == []
    assert "VCL_LOG_JSON" in (REPO_ROOT / "vcl/logging_setup.py").read_text()
    assert len(load_founders(REPO_ROOT / "deploy/member/founders.example.json")) == 7


def _founders_file(tmp_path: Path, entries: list[dict[str, str]]) -> Path:
    path = tmp_path / "founders.json"
    path.write_text(json.dumps(entries))
    return path


FOUNDERS = [
    {"name": "bank-a", "kind": "bank", "address": Account.create().address},
    {"name": "auditor", "kind": "auditor", "address": Account.create().address},
    {"name": "oracle-1", "kind": "oracle_operator", "address": Account.create().address},
    {"name": "issuer", "kind": "document_issuer", "address": Account.create().address},
]


def test_production_founders_come_from_the_file_never_from_anvil(tmp_path: Path) -> None:
    settings = production_settings("http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="set VCL_FOUNDERS_FILE"):
        founders_for(settings)
    assert founders_for(Settings()) == dev_founders()

    path = _founders_file(tmp_path, FOUNDERS)
    founders = founders_for(settings.model_copy(update={"founders_file": path}))
    assert [(f.name, f.kind, f.address) for f in founders] == [
        ("bank-a", MemberKind.BANK, FOUNDERS[0]["address"]),
        ("auditor", MemberKind.AUDITOR, FOUNDERS[1]["address"]),
        ("oracle-1", MemberKind.ORACLE_OPERATOR, FOUNDERS[2]["address"]),
        ("issuer", MemberKind.DOCUMENT_ISSUER, FOUNDERS[3]["address"]),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "lender"}, "kind 'lender' is not one of"),
        ({"address": "0x1234"}, "is not an address"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"extra": "x"}, "expected exactly the keys"),
    ],
)
def test_a_bad_founder_entry_is_refused_with_its_place(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    path = _founders_file(tmp_path, [{**FOUNDERS[0], **change}, *FOUNDERS[1:]])
    with pytest.raises(ConfigError, match=f"entry 0: .*{message}"):
        load_founders(path)


def test_a_mistyped_checksum_or_a_duplicate_founder_is_refused(tmp_path: Path) -> None:
    # EIP-55's own example address with the case of its last letter flipped.
    mistyped = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
    path = _founders_file(tmp_path, [{**FOUNDERS[0], "address": mistyped}])
    with pytest.raises(ConfigError, match="fails its checksum"):
        load_founders(path)
    duplicate = {**FOUNDERS[1], "address": FOUNDERS[0]["address"]}
    path = _founders_file(tmp_path, [FOUNDERS[0], duplicate])
    with pytest.raises(ConfigError, match="the same address appears twice"):
        load_founders(path)
    path = _founders_file(tmp_path, FOUNDERS[1:])
    with pytest.raises(ConfigError, match="at least one bank"):
        load_founders(path)


# --- the documented Brownie commands ---------------------------------------------------


def _documented(command: str) -> list[str]:
    """The one line of docs/production.md that starts with `command`, split into words."""
    lines = [
        line.strip()
        for line in (REPO_ROOT / "docs/production.md").read_text().splitlines()
        if line.strip().startswith(command)
    ]
    assert len(set(lines)) == 1, lines
    return lines[0].split()


def test_documented_brownie_commands_deploy_in_production_mode(tmp_path: Path) -> None:
    """`brownie networks add` and `brownie run scripts/deploy.py` exactly as documented, in a
    throw-away HOME (the real ~/.brownie is untouched), against anvil on the QBFT chain id."""
    deployer = Account.create()
    keystore = tmp_path / "deployer.json"
    keystore.write_text(
        json.dumps(Account.encrypt(deployer.key, PASSWORD, kdf="pbkdf2", iterations=2))
    )
    founders = _founders_file(tmp_path, FOUNDERS)
    project = _project_copy(tmp_path)
    brownie = str(Path(sys.executable).parent / "brownie")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    env.update(HOME=str(tmp_path), SOLCX_BINARY_PATH=str(REPO_ROOT / ".solcx"))

    with LocalChain(LocalChainConfig(port=free_port(), chain_id=CHAIN_ID)) as chain:
        add = _documented("brownie networks add")
        add = [f"host={chain.rpc_url}" if w.startswith("host=") else w for w in add]
        assert f"chainid={CHAIN_ID}" in add
        result = _run(brownie, *add[1:], env=env)
        assert result.returncode == 0, result.stdout + result.stderr

        run = _documented("brownie run scripts/deploy.py")
        production = {
            **env,
            "VCL_MODE": "production",
            "VCL_CHAIN_ID": str(CHAIN_ID),
            "VCL_PROOF_OF_AUTHORITY": "true",
            "VCL_GAS_PRICE_WEI": "0",
            "VCL_KEY_SOURCE": "keystore",
            "VCL_KEYSTORE_PATH": str(keystore),
            "VCL_KEYSTORE_PASSWORD": PASSWORD,
            "VCL_VIN_SECRET": "a consortium secret, 32 bytes or more",
            "VCL_DEPLOYMENT_FILE": str(tmp_path / "deployments.json"),
        }
        refused = _run(brownie, *run[1:], env=production, cwd=project)
        assert refused.returncode != 0
        assert "set VCL_FOUNDERS_FILE" in refused.stdout + refused.stderr
        assert not (tmp_path / "deployments.json").exists()

        result = _run(
            brownie, *run[1:], env={**production, "VCL_FOUNDERS_FILE": str(founders)}, cwd=project
        )
        assert result.returncode == 0, result.stdout + result.stderr
        addresses = json.loads((tmp_path / "deployments.json").read_text())[str(CHAIN_ID)]
        assert set(addresses) == {"Consortium", "VehicleRegistry", "ConditionOracle", "LoanManager"}

        w3 = Web3(HTTPProvider(chain.rpc_url))
        consortium = w3.eth.contract(
            address=addresses["Consortium"], abi=load_artifact(BUILD_DIR, "Consortium").abi
        )
        bank = Web3.keccak(text="BANK_ROLE")
        assert consortium.functions.hasRole(bank, FOUNDERS[0]["address"]).call()
        assert not consortium.functions.hasRole(bank, dev_founders()[0].address).call()
    real = Path.home() / ".brownie/network-config.yaml"
    assert not real.exists() or "besu-qbft" not in real.read_text()
