"""Crash-safe transmission of journaled reports to the ConditionOracle.

The rules that make a restart finish the work, with no round lost and none sent twice:

1. A report and its signatures are in the journal (fsynced) before any transaction of it
   exists (`Journal.plan_run`).
2. Rounds are sent in round order, with consecutive nonces, by one sender that owns its key;
   at most `rounds_in_flight` of them are sent and not yet confirmed, and receipts are
   confirmed in round order. The oracle takes any round above its latest, so when a round
   reverts the rounds sent after it may still land: every transaction in flight is waited
   for (none of this key stays in the pool), those accepted are confirmed, and the reverted
   round is rejected, abandoning the rest of its run.
3. Whenever the outcome of an earlier attempt is unknown (at start, after a crash, after an
   RPC failure), the chain is asked before anything is sent: wait until no transaction of
   this key is in flight, then, for each unfinished round in order, if `latestRound()` has
   reached it, find its `ReportAccepted` event. The event's digest says whether it is this
   report (confirmed, not resent) or another transmitter's (`RoundConflict`).
4. RPC failures (connection refused or reset, HTTP errors, timeouts) are retried with
   exponential backoff, each retry going through rule 3. Reverts are never retried: the
   contract's decoded error is recorded and raised (`ReportRejected`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from web3.exceptions import TimeExhausted, Web3Exception
from web3.logs import DISCARD
from web3.types import TxParams, TxReceipt

from oracle.contracts import OracleContracts
from oracle.errors import ReportRejected, RoundConflict, RpcUnavailable, TransmissionError
from oracle.journal import Journal, RoundRow, RoundStatus, RunRow
from oracle.report_calldata import SubmitReportEncoder
from oracle.report_files import OracleReport
from vcl.errors import (
    ChainUnavailable,
    ReceiptTimeout,
    TransactionError,
    TransactionReverted,
    VclError,
)
from vcl.sender import PendingTransaction, TransactionSender

# Gas of `submitReport` with three signatures through the oracle's proxy, measured on anvil
# (cancun): 161,199 fixed (the proxy's delegatecall, the MAX_ROUND_GAP read) and
# 35,041 per vehicle scored for the first time (a fresh storage slot, the costliest case;
# an update costs about half). The budgets keep a margin, and
# tests/python/oracle/test_oracle_transmission.py fails if the contract outgrows them.
GAS_PER_VEHICLE = 40_000
REPORT_BASE_GAS = 175_000
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
    """Retries of RPC failures: `attempts` in a row without a round confirmed, waits
    doubling up to a cap."""

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
# How long a transmitter with nothing to send waits for the planner before looking again.
INCOMING_POLL_S = 0.02


class Incoming(Protocol):
    """A planner adding runs to the journal while the transmitter sends (`transmit`)."""

    def finished(self) -> bool:
        """True once nothing more will be planned."""

    def wait(self, timeout: float) -> None:
        """Return when a run was planned or planning ended, or after `timeout` seconds."""


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
        rounds_in_flight: int = 1,
        planned_here: Mapping[bytes, OracleReport] | None = None,
    ) -> None:
        """`report_gas`: send every report with this gas limit (the budget its batch was
        sized by, `report_gas_budget`) rather than estimating it first. The node then runs a
        report once instead of twice; a revert is decoded from the mined transaction.
        `rounds_in_flight`: how many rounds may be sent and not yet confirmed (rule 2).
        `planned_here`: reports this process journaled, by digest; a round whose journaled
        digest is among them is sent from that object instead of being parsed back from the
        journal's copy (the same report: its digest says so)."""
        if rounds_in_flight < 1:
            raise TransmissionError(f"rounds in flight must be at least 1, not {rounds_in_flight}")
        self.report_gas = report_gas
        self.rounds_in_flight = rounds_in_flight
        self.planned_here = planned_here if planned_here is not None else {}
        self.contracts = contracts
        self.sender = sender
        self.journal = journal
        self.retry = retry or RetryPolicy()
        self.on_event = on_event or (lambda _event, _round: None)
        self.sleep = sleep
        self._runs: dict[int, RunRow] = {}
        self._submit_report = SubmitReportEncoder(contracts.oracle.abi)
        self._encoding: dict[int, Future[TxParams]] = {}
        self._seen = 0  # the highest round `transmit` has taken from the journal
        self._chain_round: int | None = None  # the oracle's latest round, first asked

    @property
    def chain_id(self) -> int:
        return self.contracts.chain_id

    @property
    def oracle_address(self) -> str:
        return self.contracts.oracle_address

    def next_round(self, journal: Journal | None = None) -> int:
        """The first round a new run may use: after the chain's (as this transmitter first
        found it) and every round journaled (read through `journal`, another connection to
        the same file, when given). The chain is read once: a transmitter lives for one push,
        whose later runs follow its own journaled rounds, and a read from a planner thread
        waited while the node mined the rounds already sent (0.2 s a push). A round another
        transmitter sends meanwhile makes ours stale: reconciliation then stops the push with
        `RoundConflict`, and a rerun plans anew."""
        planned = (journal or self.journal).highest_round(self.chain_id, self.oracle_address)
        return max(self.chain_round(), planned) + 1

    def chain_round(self) -> int:
        """The chain's latest round as this transmitter first found it (read once)."""
        if self._chain_round is None:
            self._chain_round = self.contracts.latest_round()
        return self._chain_round

    def unfinished(self, *, after: int = 0) -> list[RoundRow]:
        """The journal's unfinished rounds (above round `after`), in round order."""
        return self.journal.unfinished_rounds(self.chain_id, self.oracle_address, after=after)

    def transmit(self, incoming: Incoming | None = None) -> PushSummary:
        """Send (or find on-chain) every unfinished round, in order; with `incoming`, also
        the rounds planned into the journal while this runs, until planning has finished."""
        summary = PushSummary()
        to_send = deque(self.unfinished())
        self._seen = to_send[-1].round_id if to_send else 0
        window: deque[_InFlight] = deque()  # sent, not confirmed; in round order
        reconcile = True  # what happened before this process started is unknown
        failures = 0  # RPC failures since the last progress
        # The next round's calldata is read from the journal and encoded while earlier
        # rounds are sent and mined: work without side effects.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-encoder") as encoder:
            try:
                while (work := self._work(incoming, to_send, window, reconcile)) is not None:
                    if not work:
                        continue  # the planner was waited for
                    current = window[0].row if window else to_send[0]
                    try:
                        if reconcile:
                            rows = [flight.row for flight in window] + list(to_send)
                            window.clear()
                            to_send = deque(self._reconcile(rows, summary))
                            reconcile = False
                            continue
                        while to_send and len(window) < self.rounds_in_flight:
                            current = to_send[0]
                            following = to_send[1] if len(to_send) > 1 else None
                            window.append(self._submit(current, following, encoder))
                            to_send.popleft()
                        current = window[0].row
                        summary.outcomes.append(self._await(window[0]))
                        window.popleft()
                        failures = 0
                    except TransactionReverted as exc:
                        if exc.error_name == "OracleStaleRound":
                            reconcile = True  # ours from a lost attempt, or another transmitter's
                            continue
                        if window and window[0].row is current:
                            window.popleft()  # else refused by its estimate: never sent
                        raise self._reject(current, exc, window, summary) from exc
                    except RoundConflict:
                        raise
                    except (VclError, OSError, Web3Exception) as exc:
                        failures += 1
                        summary.retries += 1
                        self._retry_or_raise(current, exc, failures)
                        reconcile = True
            finally:
                self._encoding.clear()
        return summary

    def _work(
        self,
        incoming: Incoming | None,
        to_send: deque[RoundRow],
        window: deque[_InFlight],
        reconcile: bool,
    ) -> bool | None:
        """Whether there is work, after taking the rounds planned since the last look (with
        `incoming`; not while rounds of unknown outcome wait to be reconciled). True: there
        is work; False: there was none, and the planner was waited for; None: all done."""
        if incoming is None or (reconcile and (to_send or window)):
            return True if to_send or window else None
        # Asked before the journal is read: a round planned before planning ended is found
        # below. Rounds planned later are all above `_seen`, and journaled before this reads
        # them (rule 1).
        finished = incoming.finished()
        if len(to_send) < self.rounds_in_flight:
            to_send.extend(self.unfinished(after=self._seen))
            self._seen = to_send[-1].round_id if to_send else self._seen
        if to_send or window:
            return True
        if finished:
            return None
        incoming.wait(INCOMING_POLL_S)
        return False

    # --------------------------------------------------------------- a round

    def _submit(
        self, row: RoundRow, following: RoundRow | None, encoder: ThreadPoolExecutor
    ) -> _InFlight:
        """Journal the round as `sending` (rule 1), then send its transaction."""
        if row.status is RoundStatus.PLANNED:
            self.journal.mark_sending(row)
        self.on_event(Event.SENDING, row.round_id)
        encoding = self._encoding.pop(row.round_id, None)
        tx = self._encode(row) if encoding is None else encoding.result()
        if following is not None and following.round_id not in self._encoding:
            self._encoding[following.round_id] = encoder.submit(self._encode, following)
        return _InFlight(row, self.sender.submit(tx, gas=self.report_gas))

    def _await(self, flight: _InFlight) -> RoundOutcome:
        receipt = self.sender.confirm(flight.pending)
        self.on_event(Event.MINED, flight.row.round_id)
        return self._confirm(flight.row, receipt, found_on_chain=False)

    def _encode(self, row: RoundRow) -> TxParams:
        report = self.planned_here.get(row.digest) or row.report()
        data = self._submit_report.calldata(report.report, row.signatures)
        return {"to": self.contracts.oracle.address, "data": data}

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

    def _reject(
        self,
        row: RoundRow,
        exc: TransactionReverted,
        window: deque[_InFlight],
        summary: PushSummary,
    ) -> ReportRejected:
        """Settle the transactions still in flight, then record `row` as rejected (and the
        rest of its run abandoned)."""
        landed = [r for r in self._settle(window, summary) if r > row.round_id]
        window.clear()
        self.journal.mark_rejected(row, str(exc))
        detail = str(exc)
        if landed:
            detail += (
                f"; round(s) {', '.join(map(str, landed))}, already sent, were accepted"
                " (the oracle takes any higher round)"
            )
        return ReportRejected(row.round_id, exc.error_name, detail)

    def _settle(self, window: deque[_InFlight], summary: PushSummary) -> list[int]:
        """After a revert: wait for the receipt of every transaction still in flight, so
        none of this key is left in the pool, and confirm those the oracle accepted (it
        takes any round above its latest, so a later round lands although an earlier one
        reverted). Returns the rounds that landed."""
        landed = []
        failures = 0
        for flight in window:
            while True:
                try:
                    summary.outcomes.append(self._await(flight))
                    landed.append(flight.row.round_id)
                except TransactionReverted:
                    pass  # not on-chain: abandoned with the rest of its run
                except (VclError, OSError, Web3Exception) as exc:
                    failures += 1
                    summary.retries += 1
                    self._retry_or_raise(flight.row, exc, failures)
                    continue
                break
        return landed

    def _retry_or_raise(self, row: RoundRow, exc: BaseException, failures: int) -> None:
        """Note a failure of `row`; wait before the next attempt if it is a transient RPC
        failure and attempts are left, raise otherwise."""
        if not _transient(exc):
            self.journal.note_error(row, str(exc))
            if isinstance(exc, VclError):
                raise exc
            raise TransmissionError(f"round {row.round_id}: {exc}") from exc
        self.journal.note_error(row, f"{type(exc).__name__}: {exc}")
        if failures >= self.retry.attempts:
            raise RpcUnavailable(
                f"round {row.round_id}: the chain did not answer in {failures} "
                f"attempts ({type(exc).__name__}: {exc}); run push again to finish"
            ) from exc
        self.on_event(Event.RETRYING, row.round_id)
        self.sleep(self.retry.delay(failures))

    # ------------------------------------------------------------ reconcile

    def _reconcile(self, rows: list[RoundRow], summary: PushSummary) -> list[RoundRow]:
        """Rule 3 for `rows` (unfinished, in round order): once no transaction of this key is
        in flight, confirm the rounds the chain holds as this journal's reports; returns the
        rounds still free, to be sent. A round held by another report is a `RoundConflict`
        (after the later rounds found on-chain are confirmed)."""
        self._await_no_transaction_in_flight()
        self.sender.forget_nonce()  # whatever it handed out is mined or gone
        latest = self.contracts.latest_round()
        free: list[RoundRow] = []
        conflict: tuple[RoundRow, str] | None = None
        for row in rows:
            if row.round_id > latest:
                free.append(row)
                continue
            receipt, error = self._find_on_chain(row, latest)
            if receipt is not None:
                self.on_event(Event.FOUND, row.round_id)
                summary.outcomes.append(self._confirm(row, receipt, found_on_chain=True))
            elif conflict is None:
                conflict = (row, error)
        if conflict is not None:
            row, error = conflict
            self.journal.mark_rejected(row, error)
            raise RoundConflict(error + "; run push again to plan the scores under new rounds")
        return free

    def _find_on_chain(self, row: RoundRow, latest: int) -> tuple[TxReceipt | None, str]:
        """The receipt of this report's transaction for a round the oracle has reached, or
        None and what the chain holds there instead."""
        oracle = self.contracts.oracle
        logs = oracle.events.ReportAccepted().get_logs(
            from_block=self._run(row.run_id).from_block,
            argument_filters={"roundId": row.round_id},
        )
        for log in logs:
            if bytes(log["args"]["digest"]) == row.digest:
                receipt = self.contracts.w3.eth.get_transaction_receipt(log["transactionHash"])
                return receipt, ""
        held = (
            f"holds report 0x{bytes(logs[0]['args']['digest']).hex()}"
            if logs
            else f"was skipped (the oracle is at round {latest})"
        )
        return None, f"round {row.round_id} {held}, not this journal's 0x{row.digest.hex()}"

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
class _InFlight:
    """A round whose transaction the node took, not yet confirmed."""

    row: RoundRow
    pending: PendingTransaction


def _transient(exc: BaseException) -> bool:
    """RPC failures worth retrying: the node was unreachable or slow, not the call wrong."""
    if isinstance(exc, TransactionReverted):
        return False
    if isinstance(exc, (ReceiptTimeout, ChainUnavailable, OSError, TimeExhausted)):
        return True  # requests' ConnectionError and Timeout are OSErrors
    if isinstance(exc, TransactionError):
        return isinstance(exc.__cause__, OSError)  # sending failed on the way to the node
    return False
