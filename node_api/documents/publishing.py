"""Creating, publishing and rotating this member's document key (`vcl node document-key`).

Publishing sends `Consortium.setDocumentKey(publicKey)` from the member's own account; the
contract numbers the key (its version) and the keyring records that number, which is how
envelopes name the key. Rotation appends a pair and publishes it: documents sealed from
then on are wrapped to the new key, older ones still open with the kept pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from web3.contract import Contract
from web3.logs import DISCARD

from node_api.documents.keys import (
    DocumentKeyError,
    Keyring,
    load_keyring,
    new_keyring,
    save_keyring,
)
from node_api.documents.readers import ACTIVE, READER_KINDS
from vcl.deploy import MemberKind
from vcl.sender import TransactionSender


@dataclass(frozen=True)
class Published:
    keyring: Keyring
    version: int
    transaction_hash: str | None  # None when the chain held this key already


def create(path: Path, member: str) -> Keyring:
    """A new keyring for `member` in `path` (mode 0600); refuses to replace one."""
    keyring = new_keyring(member)
    save_keyring(keyring, path, create=True)
    return keyring


def publish(path: Path, sender: TransactionSender, consortium: Contract) -> Published:
    """Publish the keyring's current public key, unless the chain has it already as this
    member's latest key; records the version the contract gave it."""
    keyring = _own_keyring(path, sender)
    current = keyring.current
    on_chain_key, on_chain_version = consortium.functions.documentKeyOf(sender.address).call()
    if current.version is not None and (bytes(on_chain_key), on_chain_version) == (
        current.public_key,
        current.version,
    ):
        return Published(keyring, current.version, None)
    receipt = sender.transact(consortium.functions.setDocumentKey(current.public_key))
    events = consortium.events.DocumentKeySet().process_receipt(receipt, errors=DISCARD)
    version = int(events[0]["args"]["version"])
    keyring = keyring.with_version(current.public_key, version)
    save_keyring(keyring, path)
    return Published(keyring, version, "0x" + bytes(receipt["transactionHash"]).hex())


def rotate(path: Path, sender: TransactionSender, consortium: Contract) -> Published:
    """A new current pair, saved before it is published (a failed publication leaves it
    in the keyring, unpublished: `publish` sends it again)."""
    keyring = _own_keyring(path, sender).rotated()
    save_keyring(keyring, path)
    return publish(path, sender, consortium)


def is_reader(sender: TransactionSender, consortium: Contract) -> bool:
    """Whether this member may hold a document key: an active bank or auditor."""
    kind, status, *_ = consortium.functions.memberOf(sender.address).call()
    return MemberKind(kind) in READER_KINDS and status == ACTIVE


def ensure_published(
    path: Path, sender: TransactionSender, consortium: Contract
) -> Published | None:
    """For a node that starts (the local consortium, the test nodes): a keyring created
    if missing and its key published, when this member is a reader; None otherwise."""
    if not is_reader(sender, consortium):
        return None
    if not path.exists():
        create(path, sender.address)
    return publish(path, sender, consortium)


def foreign_key_warning(keyring: Keyring, consortium: Contract) -> str | None:
    """Why the chain's document key of this member is not one this keyring holds, or None.

    Readers seal for whatever key the chain lists, and whoever holds the member's chain key
    can publish one: a key this node does not hold means new documents it cannot open and,
    if this node did not publish it, a compromised chain key reading them instead."""
    public_key, version = consortium.functions.documentKeyOf(keyring.member).call()
    if version == 0:
        return "this member has published no document key: nothing is sealed for it"
    pair = keyring.pair(int(version))
    if pair is None or pair.public_key != bytes(public_key):
        return (
            f"the chain's document key v{version} of {keyring.member} is not in this keyring: "
            "documents sealed from now on go to a key this node does not hold. If this node "
            "did not publish it, the member's chain key is compromised: suspend the member "
            "and rotate (docs/security.md)"
        )
    return None


def _own_keyring(path: Path, sender: TransactionSender) -> Keyring:
    keyring = load_keyring(path)
    if keyring.member != sender.address:
        raise DocumentKeyError(
            f"{path} holds the document keys of {keyring.member}, this node is {sender.address}"
        )
    return keyring
