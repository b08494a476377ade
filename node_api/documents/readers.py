"""Who may read a document sealed now: read from the chain at sealing time.

A reader is a member of kind Bank or Auditor, Active now, with a published document key
(`Consortium.documentKeyOf`). The Consortium keeps no list of members, so the candidates
are the members that ever published a key (`DocumentKeySet` events, scanned once and then
incrementally); each candidate's status and current key are read fresh at one block, so
a member suspended or removed a block ago gets nothing, and a rotated key is used at once.

Repair shops (DocumentIssuer) and oracle operators are never readers: the contract refuses
their keys, and this filter would leave them out anyway.
"""

from __future__ import annotations

import logging
import threading

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from node_api.documents.keys import KeyId, Recipient, usable_public_key
from vcl.chain import chain_read
from vcl.chain_views import ChainViews
from vcl.deploy import MemberKind

log = logging.getLogger(__name__)

KEY_EVENT = "DocumentKeySet"
READER_KINDS = frozenset({MemberKind.BANK, MemberKind.AUDITOR})
ACTIVE = 1  # IConsortium.MemberStatus.Active
# Blocks rescanned below the last scanned head, in case a reorg replaced them (QBFT
# and anvil never reorganise; a reader seen twice is only counted once).
RESCAN_BLOCKS = 64


class ReaderDirectory:
    """The current readers of the consortium `consortium`, from block `from_block` on."""

    def __init__(self, w3: Web3, consortium: Contract, *, from_block: int = 0) -> None:
        self.w3 = w3
        self.consortium = consortium
        self._views = ChainViews(w3, {"Consortium": consortium})
        self._candidates: set[ChecksumAddress] = set()
        self._scanned_to = from_block - 1
        self._lock = threading.Lock()

    def readers(self) -> tuple[Recipient, ...]:
        """Every current reader's key, at the head block, ordered by address."""
        with chain_read("the head block"):
            block = self.w3.eth.block_number
        candidates = sorted(self._scan(block))
        if not candidates:
            return ()
        answers = self._read(candidates, block)
        found: list[Recipient] = []
        for member, ((kind, status, *_), (public_key, version)) in zip(
            candidates, answers, strict=True
        ):
            if kind not in READER_KINDS or status != ACTIVE or version == 0:
                continue
            if not usable_public_key(bytes(public_key)):
                # Its own loss: it cannot read new documents; everyone else still can.
                log.warning(
                    "%s published an unusable document key (v%d): left out", member, version
                )
                continue
            found.append(Recipient(KeyId(member, int(version)), bytes(public_key)))
        return tuple(found)

    def _scan(self, block: int) -> set[ChecksumAddress]:
        with self._lock:
            start = max(0, self._scanned_to + 1 - RESCAN_BLOCKS)
            if block >= start:
                event = self.consortium.events[KEY_EVENT]()
                with chain_read(f"{KEY_EVENT} logs"):
                    logs = event.get_logs(from_block=start, to_block=block)
                self._candidates.update(to_checksum_address(e["args"]["member"]) for e in logs)
                self._scanned_to = max(self._scanned_to, block)
            return set(self._candidates)

    def _read(
        self, members: list[ChecksumAddress], block: int
    ) -> list[tuple[tuple[int, ...], tuple[bytes, int]]]:
        member_of = self._views.view("Consortium", "memberOf")
        key_of = self._views.view("Consortium", "documentKeyOf")
        calls = [c for m in members for c in ((member_of, (m,)), (key_of, (m,)))]
        with chain_read("members and their document keys"):
            found = self._views.call(*calls, block=block)
            if found is None:  # not a plain answer: web3 raises what it is
                found = []
                for m in members:
                    found.append(self.consortium.functions.memberOf(m).call(block_identifier=block))
                    found.append(
                        self.consortium.functions.documentKeyOf(m).call(block_identifier=block)
                    )
        return [(tuple(found[i]), tuple(found[i + 1])) for i in range(0, len(found), 2)]
