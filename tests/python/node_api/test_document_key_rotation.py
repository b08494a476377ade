"""`vcl node document-key`: a bank creates, publishes and rotates its key pair from the
command line; documents sealed before and after the rotation both open; members that are
no readers cannot publish, and a keyring is never replaced or used by another member."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from api_server import BUILD_DIR, deployed_consortium
from typer.testing import CliRunner
from web3 import Web3

from node_api.documents.crypto import open_envelope, recipients_of, seal
from node_api.documents.keys import KeyId, load_keyring, new_keyring
from node_api.documents.publishing import foreign_key_warning
from node_api.documents.readers import ReaderDirectory
from vcl.artifacts import load_artifact
from vcl.config import KeySource, Settings, get_settings
from vcl.localchain import REPO_ROOT, LocalChain
from vcl.sender import sender_from_settings
from vcl_cli import app

VCL = REPO_ROOT / ".venv/bin/vcl"
BANK, OTHER_BANK, OPERATOR, ISSUER = 1, 2, 4, 7


@pytest.fixture
def env(anvil: LocalChain, tmp_path: Path) -> dict[str, str]:
    return {
        "VCL_RPC_URL": anvil.rpc_url,
        "VCL_BUILD_DIR": str(BUILD_DIR),
        "VCL_DEPLOYMENT_FILE": str(deployed_consortium(anvil, tmp_path)),
        "VCL_KEY_SOURCE": "dev",
    }


@pytest.fixture
def vcl(env: dict[str, str]) -> Callable[..., tuple[int, str]]:
    """`vcl ...` in this process as dev account `account`: (exit code, output)."""
    runner = CliRunner()

    def run(*args: str, account: int = BANK) -> tuple[int, str]:
        get_settings.cache_clear()
        result = runner.invoke(app, list(args), env={**env, "VCL_DEV_ACCOUNT_INDEX": str(account)})
        get_settings.cache_clear()
        return result.exit_code, result.output

    return run


def vcl_process(env: dict[str, str], *args: str, account: int) -> subprocess.CompletedProcess[str]:
    """`vcl` as an operator runs it: errors are one line through `main()`."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    full.update(env, VCL_DEV_ACCOUNT_INDEX=str(account))
    return subprocess.run(
        [str(VCL), *args], env=full, capture_output=True, text=True, timeout=60, check=False
    )


def consortium(env: dict[str, str]) -> tuple[Web3, object]:
    w3 = Web3(Web3.HTTPProvider(env["VCL_RPC_URL"]))
    address = json.loads(Path(env["VCL_DEPLOYMENT_FILE"]).read_text())["1337"]["Consortium"]
    abi = load_artifact(BUILD_DIR, "Consortium").abi
    return w3, w3.eth.contract(address=address, abi=abi)


def test_a_bank_creates_publishes_and_rotates_its_key(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "bank" / "document-keys.json"
    key_file = ("--key-file", str(path))
    outputs = []

    code, out = vcl("node", "document-key", "create", *key_file)
    assert code == 0, out
    outputs.append(out)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = load_keyring(path)
    assert f"0x{first.current.public_key.hex()} (unpublished)" in out

    code, out = vcl("node", "document-key", "publish", *key_file)
    assert code == 0, out
    outputs.append(out)
    assert "as v1 in 0x" in out
    code, out = vcl("node", "document-key", "publish", *key_file)
    assert "already published as v1" in out  # no second transaction

    w3, contract = consortium(env)
    readers = ReaderDirectory(w3, contract)  # type: ignore[arg-type]
    before = seal(b"sealed for v1", readers.readers())
    assert recipients_of(before.envelope) == (KeyId(first.member, 1),)

    code, out = vcl("node", "document-key", "rotate", *key_file)
    assert code == 0, out
    outputs.append(out)
    assert "as v2 in 0x" in out
    rotated = load_keyring(path)
    assert [p.version for p in rotated.pairs] == [1, 2]
    assert contract.functions.documentKeyOf(first.member).call() == [  # type: ignore[attr-defined]
        rotated.current.public_key,
        2,
    ]
    after = seal(b"sealed for v2", readers.readers())
    assert recipients_of(after.envelope) == (KeyId(first.member, 2),)

    assert open_envelope(before.envelope, rotated).plaintext == b"sealed for v1"
    assert open_envelope(after.envelope, rotated).plaintext == b"sealed for v2"

    code, out = vcl("node", "document-key", "show", *key_file)
    assert code == 0, out
    outputs.append(out)
    assert "v1" in out
    assert "v2" in out
    for pair in rotated.pairs:
        assert all(pair.private_key.hex() not in shown for shown in outputs)


def test_a_key_published_with_a_stolen_chain_key_is_noticed(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str], tmp_path: Path
) -> None:
    """Whoever holds a bank's chain key can publish a document key of its own, and readers
    seal for it from then on: the bank's node, whose keyring lacks it, says so at start."""
    path = tmp_path / "document-keys.json"
    assert vcl("node", "document-key", "create", "--key-file", str(path))[0] == 0
    assert vcl("node", "document-key", "publish", "--key-file", str(path))[0] == 0
    _, contract = consortium(env)
    assert foreign_key_warning(load_keyring(path), contract) is None  # type: ignore[arg-type]

    get_settings.cache_clear()
    stolen = sender_from_settings(
        Settings(
            rpc_url=env["VCL_RPC_URL"],
            key_source=KeySource.DEV,
            dev_account_index=BANK,
            build_dir=BUILD_DIR,
            deployment_file=Path(env["VCL_DEPLOYMENT_FILE"]),
        )
    )
    attacker = new_keyring(stolen.address)
    stolen.transact(contract.functions.setDocumentKey(attacker.current.public_key))  # type: ignore[attr-defined]

    warning = foreign_key_warning(load_keyring(path), contract)  # type: ignore[arg-type]
    assert warning is not None
    assert "key v2" in warning
    assert "compromised" in warning


def test_create_never_replaces_a_keyring(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "document-keys.json"
    assert vcl("node", "document-key", "create", "--key-file", str(path))[0] == 0
    kept = path.read_bytes()
    done = vcl_process(env, "node", "document-key", "create", "--key-file", str(path), account=1)
    assert done.returncode != 0
    assert "exists already" in done.stderr
    assert path.read_bytes() == kept


@pytest.mark.parametrize("account", [ISSUER, OPERATOR], ids=["issuer", "oracle-operator"])
def test_an_issuer_or_an_operator_cannot_publish_a_key(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str], tmp_path: Path, account: int
) -> None:
    """A repair shop or an operator that made itself a key pair: the Consortium refuses to
    publish it, so no document is ever sealed for it."""
    path = tmp_path / "document-keys.json"
    assert vcl("node", "document-key", "create", "--key-file", str(path), account=account)[0] == 0
    done = vcl_process(
        env, "node", "document-key", "publish", "--key-file", str(path), account=account
    )
    assert done.returncode != 0
    assert "ConsortiumUnauthorizedAccount" in done.stderr
    assert load_keyring(path).current.version is None
    w3, contract = consortium(env)
    assert ReaderDirectory(w3, contract).readers() == ()  # type: ignore[arg-type]


def test_a_keyring_of_another_member_is_refused(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "document-keys.json"
    assert vcl("node", "document-key", "create", "--key-file", str(path), account=BANK)[0] == 0
    done = vcl_process(
        env, "node", "document-key", "publish", "--key-file", str(path), account=OTHER_BANK
    )
    assert done.returncode != 0
    assert "holds the document keys of" in done.stderr
