"""What an oracle operator does, as functions the command line and the Brownie script share:
score feeds, prepare report files, sign them, push (plan into the journal, then transmit),
and show the state of journal and chain."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import TracebackType

from eth_account.signers.local import LocalAccount
from web3 import Web3

from oracle.config import OracleSettings
from oracle.contracts import OracleContracts
from oracle.errors import PreflightError, ReportFileError, ReportOutOfBounds, SigningError
from oracle.feed_files import OnError
from oracle.fleet_feeds import load_fleet_feeds
from oracle.journal import Journal, RoundRow, RunRow, RunStatus
from oracle.model import ScoreModel
from oracle.report_files import (
    OracleReport,
    consecutive,
    read_report,
    read_signatures,
    write_report,
    write_signature,
)
from oracle.scoring import VehicleScore, score_fleet
from oracle.signing import (
    ChainBounds,
    build_reports,
    check_against_own_scores,
    check_signable,
    collect_quorum,
    entries_with_ids,
    files_key,
    input_key,
    observation_time,
    sign,
    sign_all,
)
from oracle.transmission import (
    EventHook,
    Incoming,
    PushSummary,
    RetryPolicy,
    Transmitter,
    batch_size_for,
    report_gas_budget,
)
from vcl.artifacts import all_error_abis
from vcl.chain import make_web3
from vcl.config import KeySource, Settings
from vcl.eip712 import ReportEntry
from vcl.keys import load_account
from vcl.revert import ErrorDecoder
from vcl.sender import TransactionSender
from vcl.timestamps import iso
from vcl.vin import vehicle_id, vehicle_ids
from vcl.vin_secrets import KeyringSource, chain_fingerprint, registered_id, registered_in

# How often a planner waiting for the chain to come within MAX_ROUND_GAP asks for its latest
# round (seconds): anvil mines a report in tens of milliseconds.
_CHAIN_POLL_S = 0.05


def feeds_directory(path: Path) -> Path:
    """A feeds directory, or the directory of a feed file."""
    if path.is_dir():
        return path
    if path.is_file():
        return path.parent
    raise PreflightError(f"{path}: no such file or directory")


def score_feeds(
    path: Path,
    model: ScoreModel,
    *,
    as_of: date | None = None,
    on_error: OnError = OnError.REJECT,
) -> list[VehicleScore]:
    """Every vehicle of the feeds at `path`, scored as of `as_of` (default: latest data)."""
    feeds = load_fleet_feeds(feeds_directory(path), on_error=on_error)
    return score_fleet(feeds, model, as_of=as_of)


def operator_account(
    settings: Settings, oracle_settings: OracleSettings, dev_index: int | None = None
) -> LocalAccount:
    """This process's operator key. With development keys: anvil account `dev_index`, else
    `VCL_DEV_ACCOUNT_INDEX` when it is an operator's, else the first dev operator."""
    if settings.key_source is not KeySource.DEV:
        if dev_index is not None:
            raise PreflightError("an operator index applies to development keys only")
        return load_account(settings)
    operators = oracle_settings.dev_operator_indexes
    if dev_index is None:
        dev_index = (
            settings.dev_account_index if settings.dev_account_index in operators else operators[0]
        )
    return load_account(settings.model_copy(update={"dev_account_index": dev_index}))


@dataclass
class OracleNode:
    """An operator's connection to the chain: its key, the contracts, its settings."""

    settings: Settings
    oracle_settings: OracleSettings
    w3: Web3
    contracts: OracleContracts
    account: LocalAccount
    # The operator's own clock: an observation time ahead of it is not signed. A test chain
    # whose time was moved forward gives its operators the chain's clock instead.
    clock: Callable[[], float] = time.time

    @classmethod
    def connect(
        cls,
        settings: Settings,
        oracle_settings: OracleSettings,
        *,
        dev_index: int | None = None,
    ) -> OracleNode:
        w3 = make_web3(settings)
        account = operator_account(settings, oracle_settings, dev_index)
        return cls(
            settings, oracle_settings, w3, OracleContracts.from_settings(w3, settings), account
        )

    @property
    def vin_secret(self) -> bytes:
        """The founding VIN secret (the only one until the consortium rotates it)."""
        return self.settings.vin_secret.get_secret_value().encode()

    @functools.cached_property
    def vin_keyrings(self) -> KeyringSource:
        return KeyringSource(self.settings)

    @functools.cached_property
    def _resolved_ids(self) -> dict[str, bytes]:
        return {}

    def vehicle_ids(self, vins: Sequence[str]) -> list[bytes]:
        """Each VIN's registered vehicle id, under whichever VIN secret registered it; a VIN
        not registered yet gets its id under the chain's current secret. With one secret no
        chain call; else one per VIN until it is found registered (ids never change after)."""
        keyring = self.vin_keyrings.keyring()
        if len(keyring.entries) == 1:
            return vehicle_ids(vins, keyring.founding)
        registered = registered_in(self.contracts.registry)
        resolved = self._resolved_ids
        current: bytes | None = None
        ids = []
        for vin in vins:
            found = resolved.get(vin)
            if found is None:
                found = registered_id(keyring, vin, registered)
                if found is not None:
                    resolved[vin] = found
            if found is None:
                if current is None:
                    current = keyring.current(chain_fingerprint(self.contracts.consortium))
                found = vehicle_id(vin, current)
            ids.append(found)
        return ids

    def report_entries(self, scores: Sequence[VehicleScore]) -> list[ReportEntry]:
        """The on-chain entries of `scores`, each under its vehicle's registered id."""
        return entries_with_ids(scores, self.vehicle_ids([score.vin for score in scores]))

    def sender(self) -> TransactionSender:
        return TransactionSender(
            self.w3,
            self.account,
            ErrorDecoder(lambda: all_error_abis(self.settings.build_dir)),
            gas_price_wei=self.settings.gas_price_wei,
            receipt_timeout_s=self.settings.receipt_timeout_s,
            receipt_poll_s=self.oracle_settings.receipt_poll_s,
        )

    def signing_accounts(self) -> list[LocalAccount]:
        """Single-process mode: every dev operator key; with real keys, this one only."""
        if self.settings.key_source is not KeySource.DEV:
            return [self.account]
        return [
            load_account(self.settings.model_copy(update={"dev_account_index": index}))
            for index in self.oracle_settings.dev_operator_indexes
        ]

    def retry_policy(self) -> RetryPolicy:
        s = self.oracle_settings
        return RetryPolicy(s.rpc_attempts, s.rpc_backoff_s, s.rpc_backoff_max_s)

    def batch_size(self) -> int:
        gas_limit = self.w3.eth.get_block("latest")["gasLimit"]
        return batch_size_for(
            gas_limit,
            block_fill=self.oracle_settings.block_fill,
            max_vehicles=self.oracle_settings.max_batch_vehicles,
        )

    def report_gas(self) -> int:
        """The gas limit reports are sent with: the block share their batches are sized to."""
        gas_limit = self.w3.eth.get_block("latest")["gasLimit"]
        return report_gas_budget(gas_limit, block_fill=self.oracle_settings.block_fill)

    def chain_bounds(self) -> ChainBounds:
        """What the chain allows the next reports now, and this operator's clock."""
        contracts = self.contracts
        return ChainBounds(
            latest_round=contracts.latest_round(),
            latest_observed_at=contracts.latest_observed_at(),
            max_round_gap=contracts.max_round_gap(),
            clock=int(self.clock()),
        )

    def require_operator(self, account: str) -> None:
        if not self.contracts.is_operator(account):
            raise PreflightError(f"{account} is not an active oracle operator on this chain")

    def check_domain(self, report: OracleReport, source: str) -> None:
        here = (self.contracts.chain_id, self.contracts.oracle_address)
        if (report.chain_id, report.oracle) != here:
            raise ReportFileError(
                f"{source}: the report is for oracle {report.oracle} on chain {report.chain_id},"
                f" this node uses {here[1]} on chain {here[0]}"
            )


class PlanOutcome(StrEnum):
    PLANNED = "planned"  # a new run is in the journal
    RESUMED = "resumed"  # the same content was planned before and is not finished
    ALREADY_DONE = "already done"  # the same content is on-chain already: nothing to send


@dataclass(frozen=True)
class Plan:
    outcome: PlanOutcome
    run: RunRow | None


class PushSession:
    """Plan a push into the journal, then transmit everything unfinished; holds the journal
    (and its process lock) while open."""

    def __init__(self, node: OracleNode, *, on_event: EventHook | None = None) -> None:
        self.node = node
        self.journal = Journal(node.oracle_settings.journal_path)
        self.on_event = on_event
        # Asked of the chain once per push, not once per run of a pipelined push: a read
        # from the planner thread waits while the node mines the rounds already sent (anvil
        # answers between blocks). So is the first round (`Transmitter.next_round`).
        self._preflighted: set[tuple[bytes, int]] = set()
        self._from_block: int | None = None  # the block number when planning began
        self._batch_size: int | None = None
        self._operators = _CachedOperators(node.contracts)
        self._signers: list[LocalAccount] | None = None
        # What the chain allowed when last asked (`_bounds`): the chain only moves on, so a
        # bound read earlier is stricter than today's, and is read again only when it refuses.
        self._latest_round: int | None = None
        self._latest_observed_at = 0
        self._max_round_gap: int | None = None
        # The reports this session journaled, by digest, for its transmitter (see there).
        self._planned_here: dict[bytes, OracleReport] = {}

    def __enter__(self) -> PushSession:
        self.journal.open()
        try:
            self.transmitter = Transmitter(
                self.node.contracts,
                self.node.sender(),
                self.journal,
                retry=self.node.retry_policy(),
                on_event=self.on_event,
                report_gas=self.node.report_gas(),
                rounds_in_flight=self.node.oracle_settings.rounds_in_flight,
                planned_here=self._planned_here,
            )
        except BaseException:
            self.journal.close()  # no `__exit__` when `__enter__` fails: release the lock here
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.journal.close()

    def plan_scores(
        self,
        scores: Sequence[VehicleScore],
        *,
        observed_at: int | None = None,
        journal: Journal | None = None,
        stopping: threading.Event | None = None,
    ) -> Plan:
        """Single-process mode: build, sign with every held operator key, and journal the
        reports of `scores` (or find the run of the same scores). `journal`: another
        connection to the journal, for a planner thread (`oracle.pipelined_push`), which
        passes `stopping`: its rounds may then wait for the chain to come within
        MAX_ROUND_GAP of them (the transmitter is sending the rounds before them).

        The keys sign as honest operators do (`check_signable`); the entries need no
        comparison with the operators' own scores: they are this process's own scores."""
        node = self.node
        if not scores:
            raise PreflightError("no vehicles to push")
        versions = {score.model_version for score in scores}
        if len(versions) != 1:
            raise PreflightError("the scores come from more than one model version")
        model_version = versions.pop()
        when = observation_time(scores[0].as_of) if observed_at is None else observed_at
        entries = node.report_entries(scores)
        key = input_key(model_version, when, entries)
        journal = journal or self.journal
        existing = self._existing(key, journal)
        if existing is not None:
            return existing
        if (model_version, when) not in self._preflighted:
            self._preflight(model_version, when)
            self._preflighted.add((model_version, when))
        reports = build_reports(
            entries,
            first_round=self.transmitter.next_round(journal),
            model_version=model_version,
            observed_at=when,
            batch_size=self.batch_size(),
            chain_id=node.contracts.chain_id,
            oracle=node.contracts.oracle_address,
        )
        bounds = self._bounds(reports, stopping)
        for report in reports:
            check_signable(report, bounds)
        if self._signers is None:
            self._signers = node.signing_accounts()
        signers = self._signers
        signed = [
            (report, collect_quorum(report, sign_all(report, signers), self._operators))
            for report in reports
        ]
        return self._plan(key, signed, journal)

    def plan_files(self, paths: Sequence[Path]) -> Plan:
        """Multi-process mode: journal prepared report files with the signatures collected
        from the signature files beside them."""
        node = self.node
        reports = [read_report(path) for path in paths]
        for path, report in zip(paths, reports, strict=True):
            node.check_domain(report, str(path))
        consecutive(reports)
        key = files_key(reports)
        existing = self._existing(key)
        if existing is not None:
            return existing
        first = reports[0].report
        self._preflight(first.model_version, first.observed_at)
        expected = self.transmitter.next_round()
        if first.round_id != expected:
            raise PreflightError(
                f"the reports start at round {first.round_id}, the next free round is {expected}"
                ": prepare and sign them again"
            )
        signed = [
            (
                report,
                collect_quorum(
                    report, read_signatures(path.parent, report.round_id), self._operators
                ),
            )
            for path, report in zip(paths, reports, strict=True)
        ]
        return self._plan(key, signed)

    def unfinished(self) -> list[RoundRow]:
        return self.transmitter.unfinished()

    def transmit(self, incoming: Incoming | None = None) -> PushSummary:
        return self.transmitter.transmit(incoming)

    def batch_size(self) -> int:
        """Vehicles a report holds, for this push (the block gas limit, read once)."""
        if self._batch_size is None:
            self._batch_size = self.node.batch_size()
        return self._batch_size

    def round_vehicles(self, round_id: int) -> int:
        contracts = self.node.contracts
        return self.journal.round_vehicles(contracts.chain_id, contracts.oracle_address, round_id)

    def _existing(self, key: str, journal: Journal | None = None) -> Plan | None:
        contracts = self.node.contracts
        run = (journal or self.journal).find_run(contracts.chain_id, contracts.oracle_address, key)
        if run is None:
            return None
        done = run.status is RunStatus.DONE
        return Plan(PlanOutcome.ALREADY_DONE if done else PlanOutcome.RESUMED, run)

    def _plan(
        self,
        key: str,
        signed: list[tuple[OracleReport, list[bytes]]],
        journal: Journal | None = None,
    ) -> Plan:
        journal = journal or self.journal
        if self._from_block is None:  # a run's events are searched from here: earlier is safe
            self._from_block = self.node.w3.eth.block_number
        run_id = journal.plan_run(key, self._from_block, signed)
        self._planned_here.update((report.digest, report) for report, _ in signed)
        return Plan(PlanOutcome.PLANNED, journal.run(run_id))

    def _preflight(self, model_version: bytes, observed_at: int) -> None:
        node = self.node
        contracts = node.contracts
        node.require_operator(node.account.address)
        if not contracts.is_model_approved(model_version):
            raise PreflightError(
                f"model version 0x{model_version.hex()} is not approved by the consortium: "
                "the banks must vote a SetModelApproval proposal first"
            )
        now = node.w3.eth.get_block("latest")["timestamp"]
        if observed_at > now:
            raise PreflightError(
                f"observation time {iso(observed_at)} is after the chain's time {iso(now)}"
            )
        latest = contracts.latest_observed_at()
        if observed_at < latest:
            raise PreflightError(
                f"observation time {iso(observed_at)} is older than the chain's latest report "
                f"({iso(latest)}): reports never go back in time. Report these scores as "
                "observed now with `--observed-at now` (push, prepare), or score a later day"
            )
        self._latest_observed_at = latest
        if self._max_round_gap is None:
            self._max_round_gap = contracts.max_round_gap()

    def _bounds(
        self, reports: Sequence[OracleReport], stopping: threading.Event | None
    ) -> ChainBounds:
        """The chain's bounds for signing `reports`: its latest round read again (and, with
        `stopping`, waited for) only when the last of them is beyond MAX_ROUND_GAP of the
        latest round known."""
        gap = self._max_round_gap
        assert gap is not None  # read by `_preflight`
        if len(reports) > gap:
            raise ReportOutOfBounds(
                reports[-1].round_id,
                f"{len(reports)} reports would be signed at once, MAX_ROUND_GAP = {gap} rounds "
                "may be signed ahead of the chain: push fewer vehicles at a time",
            )
        if self._latest_round is None:
            self._latest_round = self.transmitter.chain_round()
        needed = reports[-1].round_id - gap  # the chain's latest round must be at least this
        if self._latest_round < needed:
            self._latest_round = self._await_round(needed, stopping)
        return ChainBounds(
            self._latest_round, self._latest_observed_at, gap, int(self.node.clock())
        )

    def _await_round(self, needed: int, stopping: threading.Event | None) -> int:
        """The chain's latest round, once it reaches `needed` while the transmitter sends the
        rounds before it; without `stopping` (nothing is sent while planning), or when the
        chain stops advancing for `receipt_timeout_s`, as it is then."""
        contracts = self.node.contracts
        latest = contracts.latest_round()
        if stopping is None:
            return latest
        patience = self.node.settings.receipt_timeout_s
        moved = time.monotonic()
        while latest < needed:
            if stopping.wait(_CHAIN_POLL_S):
                raise SigningError("the push stopped while its next rounds waited for the chain")
            now = contracts.latest_round()
            if now > latest:
                latest, moved = now, time.monotonic()
            elif time.monotonic() - moved > patience:
                break  # `check_signable` then says which round is too far ahead
        return latest


def prepare_report_files(
    node: OracleNode,
    scores: Sequence[VehicleScore],
    out_dir: Path,
    *,
    observed_at: int | None = None,
) -> list[Path]:
    """Write the unsigned report files of `scores` for the operators to sign, numbered from
    the next free round of this transmitter's journal and the chain."""
    if not scores:
        raise PreflightError("no vehicles to report")
    model_version = scores[0].model_version
    when = observation_time(scores[0].as_of) if observed_at is None else observed_at
    with Journal(node.oracle_settings.journal_path, exclusive=False) as journal:
        contracts = node.contracts
        highest = journal.highest_round(contracts.chain_id, contracts.oracle_address)
    latest = contracts.latest_round()
    reports = build_reports(
        node.report_entries(scores),
        first_round=max(latest, highest) + 1,
        model_version=model_version,
        observed_at=when,
        batch_size=node.batch_size(),
        chain_id=contracts.chain_id,
        oracle=contracts.oracle_address,
    )
    # Honest operators sign no round past the gap (`check_signable`): say so before anyone
    # is asked to.
    gap = contracts.max_round_gap()
    if reports[-1].round_id > latest + gap:
        raise PreflightError(
            f"the reports would reach round {reports[-1].round_id}, more than MAX_ROUND_GAP = "
            f"{gap} rounds after the chain's latest round {latest}: operators would not sign "
            "them; report fewer vehicles at a time"
        )
    return [write_report(out_dir, report) for report in reports]


def sign_report_files(
    node: OracleNode,
    paths: Sequence[Path],
    *,
    own_scores: Sequence[VehicleScore],
) -> list[Path]:
    """Sign each report file with this operator's key, writing a signature file beside it,
    as an honest operator does: only reports within what the chain and this operator's clock
    allow now (`check_signable`), of this operator's approved model, whose every entry is what
    it computed from its own feeds (`own_scores`, `check_against_own_scores`). Every file is
    checked before any is signed: a refusal leaves no signature behind."""
    if not own_scores:
        raise SigningError(
            "no scores of this operator's own: an operator signs only what its own feeds show"
        )
    versions = {score.model_version for score in own_scores}
    if len(versions) != 1:
        raise SigningError("this operator's scores come from more than one model version")
    own_version = versions.pop()
    if not node.contracts.is_operator(node.account.address):
        raise SigningError(
            f"{node.account.address} is not an active oracle operator: its signature would "
            "not count"
        )
    if not node.contracts.is_model_approved(own_version):
        raise SigningError(f"this operator's model 0x{own_version.hex()} is not approved")
    own = node.report_entries(own_scores)
    bounds = node.chain_bounds()
    checked = []
    for path in paths:
        report = read_report(path)
        node.check_domain(report, str(path))
        check_signable(report, bounds)
        version = report.report.model_version
        if version != own_version:
            raise SigningError(
                f"{path}: the report uses model 0x{version.hex()}, not this operator's"
            )
        check_against_own_scores(report, own)
        checked.append((path, report))
    return [write_signature(path.parent, sign(report, node.account)) for path, report in checked]


@dataclass(frozen=True)
class Status:
    chain_id: int
    oracle: str
    latest_round: int
    latest_observed_at: int
    quorum: int
    transmitter: str
    transmitter_is_operator: bool
    runs: list[RunRow]
    unfinished: list[RoundRow]


def status(node: OracleNode) -> Status:
    contracts = node.contracts
    with Journal(node.oracle_settings.journal_path, exclusive=False) as journal:
        runs = journal.runs(contracts.chain_id, contracts.oracle_address)
        unfinished = journal.unfinished_rounds(contracts.chain_id, contracts.oracle_address)
    return Status(
        chain_id=contracts.chain_id,
        oracle=contracts.oracle_address,
        latest_round=contracts.latest_round(),
        latest_observed_at=contracts.latest_observed_at(),
        quorum=contracts.quorum(),
        transmitter=node.account.address,
        transmitter_is_operator=contracts.is_operator(node.account.address),
        runs=runs,
        unfinished=unfinished,
    )


class _CachedOperators:
    """The Consortium's answers, asked once per push rather than once per signature."""

    def __init__(self, contracts: OracleContracts) -> None:
        self._contracts = contracts
        self._quorum: int | None = None
        self._operators: dict[str, bool] = {}

    def quorum(self) -> int:
        if self._quorum is None:
            self._quorum = self._contracts.quorum()
        return self._quorum

    def is_operator(self, account: str) -> bool:
        if account not in self._operators:
            self._operators[account] = self._contracts.is_operator(account)
        return self._operators[account]
