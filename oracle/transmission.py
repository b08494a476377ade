"""Crash-safe transmission of journaled reports to the ConditionOracle.

The rules that make a restart finish the work, with no round lost and none sent twice:

1. A report and its signatures are in the journal (fsynced) before any transaction of it
   exists (`Journal.plan_run`).
2. Rounds are sent one at a time, in round order, by one sender that owns its key's nonce;
   the next round is sent only after the previous one's receipt.
3. Whenever the outcome of an earlier attempt is unknown (at start, after a crash, after an
   RPC failure), the chain is asked before anything is sent: wait until no transaction of
   this key is in flight, then, if `latestRound()` has reached the round, find its
   `ReportAccepted` event. The event's digest says whether it is this report (confirmed,
   not resent) or another transmitter's (`RoundConflict`).
4. RPC failures (connection refused or reset, HTTP errors, timeouts) are retried with
   exponential backoff, each retry going through rule 3. Reverts are never retried: the
   contract's decoded error is recorded and raised (`ReportRejected`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import cast

from eth_typing import ChecksumAddress
from web3.contract.contract import ContractFunction
from web3.exceptions import TimeExhausted, Web3Exception
from web3.logs import DISCARD
from web3.types import TxParams, TxReceipt

from oracle.contracts import OracleContracts
from oracle.errors import ReportRejected, RoundConflict, RpcUnavailable, TransmissionError
from oracle.journal import Journal, RoundRow, RoundStatus, RunRow
from oracle.report_calldata import SubmitReportEncoder
from vcl.errors import (
    ChainUnavailable,
    ReceiptTimeout,
    TransactionError,
    TransactionReverted,
    VclError,
)
from vcl.sender import TransactionSender

# Gas of `submitReport` with three signatures, measured on anvil (cancun): 120,184 fixed and
# 34,427 per vehicle scored for the first time (a fresh storage slot, the costliest case;
# an update costs about 17,300). The budgets keep a margin, and
# tests/python/oracle/test_oracle_transmission.py fails if the contract outgrows them.
GAS_PER_VEHICLE = 40_000
REPORT_BASE_GAS = 150_000
# The transaction gas cap that Osaka (EIP-7825) introduces: a batch fits it on any network.
TX_GAS_CAP = 2**24
# Transaction pools refuse large transactions (geth and its forks: 128 KiB). A vehicle is
# 15 ABI words of calldata; 4 KiB is left for the rest (selector, header, signatures).
TX_SIZE_LIMIT = 128 * 1024
CALLDATA_PER_VEHICLE = 15 * 32
CALLDATA_OVERHEAD = 4 * 1024


def report_gas_budget(block_gas_limit: int, *, block_fill: float) -> int:
    """The gas a report may take: `block_fill` of a block, within the per-transaction cap.
    Batches are sized to it, and reports are sent with it as their gas limit."""
    return min(int(block_gas_limit * block_fill), TX_GAS_CAP)


def batch_size_for(block_gas_limit: int, *, block_fill: float, max_vehicles: int) -> int:
    """Vehicles per report: the most that fit `block_fill` of a block, the per-transaction
    gas cap and the transaction size limit; at most `max_vehicles`."""
    budget = report_gas_budget(block_gas_limit, block_fill=block_fill)
    by_gas = (budget - REPORT_BASE_GAS) // GAS_PER_VEHICLE
    if by_gas < 1:
        raise TransmissionError(
            f"a block gas limit of {block_gas_limit} leaves no room for a single vehicle"
        )
    by_size = (TX_SIZE_LIMIT - CALLDATA_OVERHEAD) // CALLDATA_PER_VEHICLE
    return min(by_gas, by_size, max_vehicles)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of RPC failures: `attempts` in all per round, waits doubling up to a cap."""

    attempts: int = 6
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0

    def delay(self, failures: int) -> float:
        return float(min(self.backoff_max_s, self.backoff_s * 2 ** (failures - 1)))


class Event(StrEnum):
    """Steps of a round, reported to `on_event` (progress bars; the crash tests' kill points)."""

    SENDING = "sending"  # journal says `sending`; the transaction is about to be sent
    MINED = "mined"  # the receipt is in; the journal does not know yet
    CONFIRMED = "confirmed"  # the journal knows
    FOUND = "found"  # an earlier attempt's transaction was found on-chain
    RETRYING = "retrying"  # an RPC failure; waiting before the next attempt


@dataclass(frozen=True)
class RoundOutcome:
    round_id: int
    vehicles: int
    tx_hash: str
    block_number: int
    gas_used: int
    alerts: int
    found_on_chain: bool  # sent by an earlier, interrupted attempt


@dataclass
class PushSummary:
    outcomes: list[RoundOutcome] = field(default_factory=list)
    retries: int = 0

    @property
    def rounds(self) -> list[int]:
        return [outcome.round_id for outcome in self.outcomes]

    @property
    def vehicles(self) -> int:
        return sum(outcome.vehicles for outcome in self.outcomes)

    @property
    def alerts(self) -> int:
        return sum(outcome.alerts for outcome in self.outcomes)

    @property
    def transactions(self) -> int:
        return len(self.outcomes)

    @property
    def gas_used(self) -> int:
        return sum(outcome.gas_used for outcome in self.outcomes)

    @property
    def recovered(self) -> int:
        return sum(outcome.found_on_chain for outcome in self.outcomes)


EventHook = Callable[[Event, int], None]


class Transmitter:
    """Sends the journal's unfinished rounds of one oracle with one sender."""

    def __init__(
        self,
        contracts: OracleContracts,
        sender: TransactionSender,
        journal: Journal,
        *,
        retry: RetryPolicy | None = None,
        on_event: EventHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        report_gas: int | None = None,
    ) -> None:
        """`report_gas`: send every report with this gas limit (the budget its batch was
        sized by, `report_gas_budget`) rather than estimating it first. The node then runs a
        report once instead of twice; a revert is decoded from the mined transaction, and the
        next round is still sent only after this one's receipt (rule 2)."""
        self.report_gas = report_gas
        self.contracts = contracts
        self.sender = sender
        self.journal = journal
        self.retry = retry or RetryPolicy()
        self.on_event = on_event or (lambda _event, _round: None)
        self.sleep = sleep
        self._runs: dict[int, RunRow] = {}
        self._submit_report = SubmitReportEncoder(contracts.oracle.abi)
        self._encoding: dict[int, Future[_EncodedCall]] = {}

    @property
    def chain_id(self) -> int:
        return self.contracts.chain_id

    @property
    def oracle_address(self) -> str:
        return self.contracts.oracle_address

    def next_round(self) -> int:
        """The first round a new run may use: after the chain's and the journal's."""
        on_chain = self.contracts.latest_round()
        planned = self.journal.highest_round(self.chain_id, self.oracle_address)
        return max(on_chain, planned) + 1

    def unfinished(self) -> list[RoundRow]:
        return self.journal.unfinished_rounds(self.chain_id, self.oracle_address)

    def transmit(self) -> PushSummary:
        """Send (or find on-chain) every unfinished round, in order."""
        summary = PushSummary()
        reconcile = True  # what happened before this process started is unknown
        rows = self.unfinished()
        # The next round's calldata is read from the journal and encoded while this round is
        # sent and mined: work without side effects, so rule 2 holds as it is.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-encoder") as encoder:
            try:
                for index, row in enumerate(rows):
                    if index + 1 < len(rows):
                        following = rows[index + 1]
                        self._encoding[following.round_id] = encoder.submit(self._encode, following)
                    outcome, retries = self._transmit_round(row, reconcile)
                    summary.outcomes.append(outcome)
                    summary.retries += retries
                    reconcile = retries > 0
            finally:
                self._encoding.clear()
        return summary

    # --------------------------------------------------------------- a round

    def _transmit_round(self, row: RoundRow, reconcile: bool) -> tuple[RoundOutcome, int]:
        failures = 0
        while True:
            try:
                if reconcile:
                    found = self._find_on_chain(row)
                    if found is not None:
                        self.on_event(Event.FOUND, row.round_id)
                        return self._confirm(row, found, found_on_chain=True), failures
                return self._send(row), failures
            except TransactionReverted as exc:
                if exc.error_name == "OracleStaleRound" and not reconcile:
                    reconcile = True  # ours from a lost attempt, or another transmitter's
                    continue
                self.journal.mark_rejected(row, str(exc))
                raise ReportRejected(row.round_id, exc.error_name, str(exc)) from exc
            except RoundConflict:
                raise
            except (VclError, OSError, Web3Exception) as exc:
                if not _transient(exc):
                    self.journal.note_error(row, str(exc))
                    if isinstance(exc, VclError):
                        raise
                    raise TransmissionError(f"round {row.round_id}: {exc}") from exc
                failures += 1
                self.journal.note_error(row, f"{type(exc).__name__}: {exc}")
                if failures >= self.retry.attempts:
                    raise RpcUnavailable(
                        f"round {row.round_id}: the chain did not answer in {failures} "
                        f"attempts ({type(exc).__name__}: {exc}); run push again to finish"
                    ) from exc
                self.on_event(Event.RETRYING, row.round_id)
                self.sleep(self.retry.delay(failures))
                reconcile = True

    def _send(self, row: RoundRow) -> RoundOutcome:
        if row.status is RoundStatus.PLANNED:
            self.journal.mark_sending(row)
        self.on_event(Event.SENDING, row.round_id)
        encoding = self._encoding.pop(row.round_id, None)
        call = self._encode(row) if encoding is None else encoding.result()
        # `transact` asks a call only for `build_transaction`: the sender stays the one place
        # that estimates (without `report_gas`), signs, sends and waits.
        receipt = self.sender.transact(cast(ContractFunction, call), gas=self.report_gas)
        self.on_event(Event.MINED, row.round_id)
        return self._confirm(row, receipt, found_on_chain=False)

    def _encode(self, row: RoundRow) -> _EncodedCall:
        report = row.report()
        data = self._submit_report.calldata(report.report, row.signatures)
        return _EncodedCall(self.contracts.oracle.address, data)

    def _confirm(self, row: RoundRow, receipt: TxReceipt, *, found_on_chain: bool) -> RoundOutcome:
        alerts = len(
            self.contracts.oracle.events.ValueThresholdBreached().process_receipt(
                receipt, errors=DISCARD
            )
        )
        outcome = RoundOutcome(
            round_id=row.round_id,
            vehicles=row.vehicles,
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            block_number=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            alerts=alerts,
            found_on_chain=found_on_chain,
        )
        self.journal.mark_confirmed(
            row, outcome.tx_hash, outcome.block_number, outcome.gas_used, alerts
        )
        self.on_event(Event.CONFIRMED, row.round_id)
        return outcome

    # ------------------------------------------------------------ reconcile

    def _find_on_chain(self, row: RoundRow) -> TxReceipt | None:
        """The receipt of this report's transaction if the chain accepted it; None if the
        round is still free; `RoundConflict` if the chain holds something else there."""
        self._await_no_transaction_in_flight()
        latest = self.contracts.latest_round()
        if latest < row.round_id:
            return None
        oracle = self.contracts.oracle
        logs = oracle.events.ReportAccepted().get_logs(
            from_block=self._run(row.run_id).from_block,
            argument_filters={"roundId": row.round_id},
        )
        for log in logs:
            if bytes(log["args"]["digest"]) == row.digest:
                return self.contracts.w3.eth.get_transaction_receipt(log["transactionHash"])
        held = (
            f"holds report 0x{bytes(logs[0]['args']['digest']).hex()}"
            if logs
            else f"was skipped (the oracle is at round {latest})"
        )
        error = f"round {row.round_id} {held}, not this journal's 0x{row.digest.hex()}"
        self.journal.mark_rejected(row, error)
        raise RoundConflict(error + "; run push again to plan the scores under new rounds")

    def _await_no_transaction_in_flight(self) -> None:
        """A transaction of this key still in the pool could yet mine a round: wait for it."""
        eth = self.contracts.w3.eth
        address = self.sender.address
        deadline = time.monotonic() + self.sender.receipt_timeout_s
        while eth.get_transaction_count(address, "pending") > eth.get_transaction_count(
            address, "latest"
        ):
            if time.monotonic() > deadline:
                raise TransmissionError(
                    f"transactions of {address} stay pending for "
                    f"{self.sender.receipt_timeout_s:.0f} s; is the chain producing blocks?"
                )
            self.sleep(0.2)

    def _run(self, run_id: int) -> RunRow:
        if run_id not in self._runs:
            self._runs[run_id] = self.journal.run(run_id)
        return self._runs[run_id]


@dataclass(frozen=True)
class _EncodedCall:
    """What `TransactionSender.transact` needs of a contract call: its transaction."""

    to: ChecksumAddress
    data: bytes

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams:
        return {**(transaction or {}), "to": self.to, "data": self.data}


def _transient(exc: BaseException) -> bool:
    """RPC failures worth retrying: the node was unreachable or slow, not the call wrong."""
    if isinstance(exc, TransactionReverted):
        return False
    if isinstance(exc, (ReceiptTimeout, ChainUnavailable, OSError, TimeExhausted)):
        return True  # requests' ConnectionError and Timeout are OSErrors
    if isinstance(exc, TransactionError):
        return isinstance(exc.__cause__, OSError)  # sending failed on the way to the node
    return False
