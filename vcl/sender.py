"""The one place transactions are signed and sent.

A send is three JSON-RPC requests (estimate, raw send, receipt). They go straight through
the provider with web3's own revert and receipt formatting, not through `w3.eth` and its
middleware pipeline: that pipeline cost more CPU than the requests themselves
(docs/load-benchmark.md, "What a write costs")."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_typing import ChecksumAddress, HexStr
from web3 import Web3
from web3._utils.error_formatters_utils import raise_contract_logic_error_on_revert
from web3._utils.method_formatters import receipt_formatter
from web3.contract.contract import ContractFunction
from web3.datastructures import AttributeDict
from web3.exceptions import ContractLogicError
from web3.types import Nonce, RPCEndpoint, RPCResponse, TxParams, TxReceipt, Wei

from vcl.artifacts import Artifact, all_error_abis
from vcl.chain import make_web3
from vcl.config import Settings
from vcl.errors import ReceiptTimeout, TransactionError, TransactionReverted
from vcl.keys import load_account
from vcl.legacy_tx import sign_legacy
from vcl.nonces import Nonces, ProcessNonces, nonces_for
from vcl.revert import ErrorDecoder, to_bytes

log = logging.getLogger(__name__)

# Gas estimates are exact for the state they ran on; a margin absorbs state that
# changes between estimate and inclusion (another sender's transaction in between).
GAS_MARGIN = 1.25
# The first receipt poll: a chain that mines on arrival (anvil) has the receipt within a
# few ms. Each later wait doubles up to `receipt_poll_s`, so a chain with block times of
# seconds (Besu) is asked about as often as with a fixed `receipt_poll_s`.
FIRST_RECEIPT_POLL_S = 0.005


@dataclass(frozen=True)
class PendingTransaction:
    """A signed transaction the node took, not yet confirmed."""

    tx: TxParams  # as signed (nonce and gas included)
    tx_hash: str  # 0x hex


class TransactionSender:
    """Signs locally with one key and owns that key's nonce.

    Nonces come from the key's one owner (`vcl.nonces`): this process, or with
    `VCL_LOCK_DIR` a lock shared by the processes of this machine; a nonce another
    sender took first is met once, resynchronised from the chain and logged. A transaction that
    would revert is refused before it is signed, with the decoded custom error.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        decoder: ErrorDecoder,
        *,
        gas_price_wei: int = 0,
        receipt_timeout_s: float = 60.0,
        receipt_poll_s: float = 0.1,
        nonces: Nonces | None = None,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.decoder = decoder
        self.gas_price_wei = gas_price_wei
        self.receipt_timeout_s = receipt_timeout_s
        self.receipt_poll_s = receipt_poll_s
        self._chain_id: int | None = None
        self._key = PrivateKey(bytes(account.key))
        self.nonces: Nonces = nonces if nonces is not None else ProcessNonces()

    @property
    def address(self) -> ChecksumAddress:
        return self.account.address

    def deploy(self, artifact: Artifact, *args: Any) -> tuple[ChecksumAddress, TxReceipt]:
        """Deploy `artifact` with constructor `args`; returns its address and the receipt."""
        if not artifact.deployable:
            raise TransactionError(f"{artifact.name} has no bytecode (abstract or interface)")
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.send(factory.constructor(*args).build_transaction(self._base()))
        address = receipt["contractAddress"]
        if address is None:
            raise TransactionError(f"{artifact.name} deployment produced no contract address")
        return address, receipt

    def transact(self, call: ContractFunction, *, gas: int | None = None) -> TxReceipt:
        """Send `contract.functions.name(args)` and wait for its receipt (see `send`)."""
        return self.send(call.build_transaction(self._base()), gas=gas)

    def send(self, tx: TxParams, *, gas: int | None = None) -> TxReceipt:
        """Sign, send and wait. Without `gas`, the call is estimated first and a revert is
        refused before anything is signed; with a known `gas` limit the node executes the
        call once instead of twice, and a revert is decoded from the mined transaction."""
        return self.confirm(self.submit(tx, gas=gas))

    def submit(self, tx: TxParams, *, gas: int | None = None) -> PendingTransaction:
        """Estimate (unless `gas` is given), sign and send, without waiting: `confirm` waits.
        Submits from one sender take consecutive nonces in the order they are made."""
        tx = {**tx, "from": self.address, "gasPrice": Wei(self.gas_price_wei)}
        tx["chainId"] = self.chain_id
        tx.pop("maxFeePerGas", None)
        tx.pop("maxPriorityFeePerGas", None)
        tx["gas"] = gas if gas is not None else int(self._estimate(tx) * GAS_MARGIN)
        tx_hash = self._sign_and_send(tx)
        return PendingTransaction(tx, tx_hash)

    def confirm(self, pending: PendingTransaction) -> TxReceipt:
        """Wait for a submitted transaction's receipt; a failed one raises its decoded
        `TransactionReverted`."""
        receipt = self._wait_for_receipt(pending.tx_hash)
        if receipt["status"] != 1:
            raise self._revert_of_mined(pending.tx, receipt, pending.tx_hash)
        return receipt

    def forget_nonce(self) -> None:
        """Ask the node for the next nonce on the next send: after the node was found with
        no transaction of this key pending, whatever this sender handed out before is
        either mined or gone."""
        self.nonces.forget()

    @property
    def chain_id(self) -> int:
        """Asked of the node once: it does not change under a connection."""
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        return self._chain_id

    def _base(self) -> TxParams:
        # Keeps web3 from asking the node for fee fields a legacy, gasless tx does not use.
        return {"from": self.address, "gasPrice": Wei(self.gas_price_wei), "gas": 0}

    def preflight(self, tx: TxParams) -> str:
        """The call's return data (0x hex) from this sender at the latest block, or its revert
        as `TransactionReverted`, decoded: what `send` would meet, before anything is sent."""
        answer = self._rpc("eth_call", [_json_tx({**tx, "from": self.address}), "latest"])
        self._raise_on_error(answer, "the call failed")
        return str(answer["result"])

    def _rpc(self, method: str, params: list[Any]) -> RPCResponse:
        """One request through the provider (its retries and transport), no middleware."""
        return self.w3.provider.make_request(RPCEndpoint(method), params)

    def _estimate(self, tx: TxParams) -> int:
        probe = _json_tx({k: v for k, v in tx.items() if k not in ("gas", "nonce", "chainId")})
        answer = self._rpc("eth_estimateGas", [probe])
        self._raise_on_error(answer, "gas estimation failed")
        return int(answer["result"], 16)

    def _raise_on_error(self, answer: RPCResponse, what: str) -> None:
        """A revert in `answer` as the decoded `TransactionReverted`, any other error as
        `TransactionError`; nothing for a plain answer."""
        if "error" not in answer:
            return
        try:
            raise_contract_logic_error_on_revert(answer)
        except ContractLogicError as exc:
            raise self._reverted(exc.data) from None
        raise TransactionError(f"{what}: {answer['error']}")

    def _sign_and_send(self, tx: TxParams) -> str:
        with self.nonces.held() as slot:
            for attempt in (1, 2):
                if slot.next is None:
                    slot.next = self.w3.eth.get_transaction_count(self.address, "pending")
                tx["nonce"] = Nonce(slot.next)
                raw = sign_legacy(tx, self._key, self.address)
                if raw is None:  # not the plain legacy form: eth_account signs it, or says why
                    raw = bytes(self.account.sign_transaction(tx).raw_transaction)  # type: ignore[arg-type]
                try:
                    answer = self._rpc("eth_sendRawTransaction", ["0x" + raw.hex()])
                except OSError as exc:
                    slot.next = None  # the node may or may not have taken it: ask next time
                    raise TransactionError(f"sending failed: {exc}") from exc
                if "error" in answer or not isinstance(answer.get("result"), str):
                    slot.next = None
                    if attempt == 1 and nonce_taken(answer.get("error")):
                        log.warning(
                            "nonce %d of %s was taken by another sender with this key (a CLI, "
                            "another process): asked the chain for the next one, sending again",
                            tx["nonce"],
                            self.address,
                        )
                        continue
                    raise TransactionError(f"sending failed: {answer.get('error')}")
                slot.next += 1
                return str(answer["result"])
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _wait_for_receipt(self, tx_hash: str) -> TxReceipt:
        deadline = time.monotonic() + self.receipt_timeout_s
        wait = min(FIRST_RECEIPT_POLL_S, self.receipt_poll_s)
        while True:
            answer = self._rpc("eth_getTransactionReceipt", [HexStr(tx_hash)])
            if "error" in answer:
                raise TransactionError(f"reading the receipt failed: {answer['error']}")
            if answer.get("result") is not None:
                # As `w3.eth.get_transaction_receipt` returns it.
                return AttributeDict.recursive(receipt_formatter(answer["result"]))  # type: ignore[no-any-return]
            left = deadline - time.monotonic()
            if left <= 0:
                raise ReceiptTimeout(tx_hash, self.receipt_timeout_s)
            time.sleep(min(wait, left))
            wait = min(wait * 2, self.receipt_poll_s)

    def _revert_of_mined(
        self, tx: TxParams, receipt: TxReceipt, tx_hash: str
    ) -> TransactionReverted:
        # The node's trace of the transaction holds its exact revert data (anvil, geth and
        # Besu with the DEBUG API answer `debug_traceTransaction`).
        traced = self._traced_revert(tx_hash)
        if traced is not None:
            return self._reverted(traced, tx_hash)
        # Else the call replayed on the state after its block: exact unless a later
        # transaction of the same block changed what the call reads.
        call = {k: v for k, v in tx.items() if k not in ("gas", "nonce", "chainId")}
        try:
            self.w3.eth.call(call, receipt["blockNumber"])  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return self._reverted(exc.data, tx_hash)
        return TransactionReverted("", (), tx_hash=tx_hash)

    def _traced_revert(self, tx_hash: str) -> str | None:
        """The revert data of a mined transaction from the node's call tracer (its top call
        only: an opcode trace of a large report would be huge), or None when the node does
        not trace (the DEBUG API off) or the trace holds none."""
        options = {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}
        try:
            answer = self._rpc("debug_traceTransaction", [HexStr(tx_hash), options])
        except OSError:
            return None
        result = answer.get("result")
        if "error" in answer or not isinstance(result, dict) or "error" not in result:
            return None
        data = result.get("output")
        if not isinstance(data, str) or len(data) < 10:  # "0x" and a 4-byte selector at least
            return None
        return data

    def _reverted(self, data: Any, tx_hash: str | None = None) -> TransactionReverted:
        raw = to_bytes(data if isinstance(data, (bytes, str)) else None)
        name, args = self.decoder.decode(raw)
        return TransactionReverted(name, args, data="0x" + raw.hex(), tx_hash=tx_hash)


def _json_tx(tx: dict[str, Any]) -> dict[str, Any]:
    """Transaction fields as JSON-RPC takes them: numbers and bytes as 0x hex; a deployment
    without `to` (web3 gives it as empty bytes)."""
    return {
        k: hex(v) if isinstance(v, int) else "0x" + bytes(v).hex() if isinstance(v, bytes) else v
        for k, v in tx.items()
        if not (k == "to" and not v)
    }


def nonce_taken(error: Any) -> bool:
    """Whether a node's refusal says the nonce is used already: by a mined transaction (`nonce
    too low`, anvil and Geth; Besu's `NONCE_TOO_LOW`) or by a pending one from another sender
    (`replacement transaction underpriced`, Besu's `TRANSACTION_REPLACEMENT_UNDERPRICED`)."""
    text = str(error.get("message", "") if isinstance(error, dict) else error).lower()
    return any(sign in text for sign in NONCE_TAKEN_SIGNS)


NONCE_TAKEN_SIGNS = (
    "nonce too low",
    "nonce_too_low",
    "nonce is too low",
    "replacement transaction underpriced",
    "replacement_underpriced",
)


def sender_from_settings(settings: Settings) -> TransactionSender:
    """A sender for this process's key on the configured chain."""
    w3 = make_web3(settings)
    account = load_account(settings)
    return TransactionSender(
        w3,
        account,
        ErrorDecoder(all_error_abis(settings.build_dir)),
        gas_price_wei=settings.gas_price_wei,
        receipt_timeout_s=settings.receipt_timeout_s,
        nonces=nonces_for(settings.lock_dir, lambda: settings.chain_id, account.address),
    )
