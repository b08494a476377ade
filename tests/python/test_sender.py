"""The core sender against a real anvil and the real build."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from vcl.artifacts import load_artifact
from vcl.errors import TransactionReverted
from vcl.localchain import REPO_ROOT
from vcl.sender import TransactionSender

BUILD_DIR = REPO_ROOT / "build/contracts"


def _probe(sender: TransactionSender):  # type: ignore[no-untyped-def]
    artifact = load_artifact(BUILD_DIR, "Probe")
    address, _ = sender.deploy(artifact)
    return sender.w3.eth.contract(address=address, abi=artifact.abi)


def test_deploy_and_transact_gasless(sender: TransactionSender) -> None:
    probe = _probe(sender)
    receipt = sender.transact(probe.functions.set(42))
    assert receipt["status"] == 1
    assert receipt["effectiveGasPrice"] == 0
    assert probe.functions.value().call() == 42


def test_revert_is_decoded_and_consumes_no_nonce(sender: TransactionSender) -> None:
    probe = _probe(sender)
    nonce_before = sender.w3.eth.get_transaction_count(sender.address)
    with pytest.raises(TransactionReverted) as caught:
        sender.transact(probe.functions.set(3))
    assert caught.value.error_name == "ProbeTooSmall"
    assert caught.value.args_decoded == (3, 10)
    assert "ProbeTooSmall(3, 10)" in str(caught.value)
    assert sender.w3.eth.get_transaction_count(sender.address) == nonce_before


def test_concurrent_sends_never_share_a_nonce(sender: TransactionSender) -> None:
    probe = _probe(sender)
    start = sender.w3.eth.get_transaction_count(sender.address)
    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(lambda v: sender.transact(probe.functions.set(v)), range(10, 40)))
    nonces = sorted(sender.w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
    assert nonces == list(range(start, start + 30))
    assert all(r["status"] == 1 for r in receipts)
