"""`vcl oracle ...`: score feeds, prepare and sign reports, push them, show state, calibrate.

Errors are one line on stderr and exit code 1, never a traceback. Full VINs are never
printed: vehicles are shown redacted, reports carry only keyed vehicle ids.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from web3.exceptions import Web3Exception

from oracle.calibration import build_history, calibrate
from oracle.config import OracleSettings, get_oracle_settings
from oracle.errors import PreflightError, SigningError
from oracle.feed_files import OnError
from oracle.feed_store import FeedStore, Ingested, StoredFleet
from oracle.fleet_feeds import FleetFeeds, load_fleet_feeds
from oracle.indicators import INDICATOR_NAMES
from oracle.journal import RoundRow
from oracle.model import ScoreModel, load_model, save_model
from oracle.operations import (
    OracleNode,
    PlanOutcome,
    PushSession,
    feeds_directory,
    prepare_report_files,
    sign_report_files,
    status,
)
from oracle.pipelined_push import (
    PipelinedPush,
    chunk_size,
    push_pipelined,
    scored_from_store,
    scored_in_chunks,
    scored_with_delivery,
)
from oracle.report_files import is_report_location, read_report, report_files
from oracle.sample_fleet import DEFAULT_SEED
from oracle.scoring import VehicleScore, score_fleet
from oracle.signing import observation_time
from oracle.simulation import (
    DEFAULT_INTERVAL_DAYS,
    DEFAULT_VEHICLES,
    run_simulation,
)
from oracle.transmission import Event, PushSummary
from vcl.config import Settings, get_settings
from vcl.errors import VclError
from vcl.timestamps import parse_iso

app = typer.Typer(
    help="The condition oracle: scores, signed reports, transmission.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_THRESHOLD_BPS = 7000  # the genesis ALERT_THRESHOLD_BPS; the chain's governs pushes
SCORE_TABLE_WIDTH = 140

ModelOption = Annotated[
    Path | None, typer.Option("--model", help="Model file (default: VCL_ORACLE_MODEL_PATH).")
]
AsOfOption = Annotated[
    datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Score as of this day (default: latest)."),
]
ObservedAtOption = Annotated[
    str | None,
    typer.Option(
        "--observed-at",
        help="When the report says its data was observed: `now` (this operator's clock, or "
        "the chain's time if earlier) or an ISO 8601 time (UTC unless it names its zone). "
        "Default: midnight UTC of the scoring day. Never before the chain's latest report, "
        "never after the chain's time.",
    ),
]
SkipOption = Annotated[
    bool, typer.Option("--skip-bad-rows", help="Report and skip invalid feed rows.")
]
StoreOption = Annotated[
    bool,
    typer.Option(
        "--store",
        help="Score the feed store's fleet (VCL_ORACLE_FEED_STORE_PATH); PATH, if given, is a "
        "delivery to ingest first.",
    ),
]
OperatorOption = Annotated[
    int | None,
    typer.Option("--operator", help="Development keys: anvil account index of the operator."),
]


def _one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except VclError as exc:
            err.print(f"error: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except (OSError, Web3Exception) as exc:  # reported, never swallowed: exit 1
            err.print(f"error: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return run


def _settings() -> tuple[Settings, OracleSettings]:
    return get_settings(), get_oracle_settings()


def _model(path: Path | None, oracle_settings: OracleSettings) -> ScoreModel:
    return load_model(path or oracle_settings.model_path)


def _fleet(
    path: Path | None,
    skip: bool,
    *,
    store: bool = False,
    oracle_settings: OracleSettings | None = None,
) -> FleetFeeds | StoredFleet:
    """The feeds of a directory, or (`store`) the feed store's, after ingesting the delivery
    at `path` if one is given."""
    if not store:
        if path is None:
            raise typer.BadParameter("a feeds directory, or --store")
        return load_fleet_feeds(feeds_directory(path), on_error=_on_error(skip))
    settings = oracle_settings or get_oracle_settings()
    if path is not None:
        _ingest(path, skip, settings)
    with FeedStore(settings.feed_store_path) as opened:
        return opened.fleet()


def _ingest(delivery: Path, skip: bool, oracle_settings: OracleSettings) -> None:
    """Add a delivery to the feed store, saying what it added."""
    with FeedStore(oracle_settings.feed_store_path) as opened:
        _print_ingested(opened.ingest(feeds_directory(delivery), on_error=_on_error(skip)))


def _on_error(skip: bool) -> OnError:
    return OnError.SKIP if skip else OnError.REJECT


def _scores(
    path: Path | None,
    model: ScoreModel,
    as_of: datetime | None,
    skip: bool,
    *,
    store: bool = False,
    oracle_settings: OracleSettings | None = None,
) -> list[VehicleScore]:
    fleet = _fleet(path, skip, store=store, oracle_settings=oracle_settings)
    return score_fleet(fleet, model, as_of=_day(as_of))


def _day(as_of: datetime | None) -> date | None:
    return as_of.date() if as_of is not None else None


def _print_ingested(ingested: Ingested) -> None:
    if ingested.already:
        err.print(f"delivery {ingested.digest[:12]} is in the feed store already: nothing added")
        return
    added = ", ".join(f"{count} {kind}" for kind, count in ingested.added.items() if count)
    err.print(f"delivery {ingested.digest[:12]} ingested: {added or 'no rows'}")
    for problem in ingested.skipped:
        err.print(f"skipped: {problem}")


@app.command("ingest")
@_one_line_errors
def ingest_command(
    delivery: Annotated[Path, typer.Argument(help="A delivery: a directory of feed files.")],
    skip_bad_rows: SkipOption = False,
) -> None:
    """Validate a delivery of feed rows and add it to the feed store (once: the same delivery
    again adds nothing)."""
    _, oracle_settings = _settings()
    _ingest(delivery, skip_bad_rows, oracle_settings)
    with FeedStore(oracle_settings.feed_store_path) as store:
        out.print(f"{store.vehicle_count()} vehicles in the feed store {store.path}")


@app.command("score")
@_one_line_errors
def score_command(  # noqa: PLR0917 - typer reads the options off the signature
    path: Annotated[
        Path | None, typer.Argument(help="Feeds directory (or a feed file in it).")
    ] = None,
    model_path: ModelOption = None,
    as_of: AsOfOption = None,
    skip_bad_rows: SkipOption = False,
    store: StoreOption = False,
    threshold_bps: Annotated[
        int, typer.Option("--threshold", help="Alert threshold, bps of appraisal.")
    ] = DEFAULT_THRESHOLD_BPS,
) -> None:
    """Compute and show every vehicle's score, value and indicator contributions."""
    _, oracle_settings = _settings()
    model = _model(model_path, oracle_settings)
    scores = _scores(
        path, model, as_of, skip_bad_rows, store=store, oracle_settings=oracle_settings
    )
    table = Table(title=f"model {model.version_hex}, as of {scores[0].as_of}")
    table.add_column("vehicle")
    table.add_column("score", justify="right")
    table.add_column("value", justify="right")
    table.add_column("% appr.", justify="right")
    for name in INDICATOR_NAMES:
        table.add_column(_short(name), justify="right")
    below = 0
    for s in scores:
        ratio = s.value_ratio_bps
        flag = " !" if s.below(threshold_bps) else ""
        below += bool(flag)
        table.add_row(
            s.redacted_vin,
            str(s.score),
            f"{s.estimated_value_minor / 100:,.2f} {s.currency}",
            f"{ratio / 100:.1f}{flag}",
            *(str(i.contribution) for i in s.indicators),
        )
    # Piped: the table keeps its width rather than crushing every column into 80.
    wide = out if out.is_terminal else Console(highlight=False, width=SCORE_TABLE_WIDTH)
    wide.print(table)
    legend = ", ".join(f"{_short(n)} = {n}" for n in INDICATOR_NAMES)
    out.print(f"contributions in score points (they add up to the score): {legend}", soft_wrap=True)
    out.print(
        f"{len(scores)} vehicles scored, {below} below {threshold_bps / 100:.0f}% of appraisal"
        " (marked !)"
    )


@app.command("prepare")
@_one_line_errors
def prepare_command(  # noqa: PLR0917 - typer reads the options off the signature
    path: Annotated[Path, typer.Argument(help="Feeds directory (or a feed file in it).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the report files.")],
    model_path: ModelOption = None,
    as_of: AsOfOption = None,
    skip_bad_rows: SkipOption = False,
    observed: ObservedAtOption = None,
) -> None:
    """Write the unsigned report files of a feeds directory, for every operator to sign."""
    settings, oracle_settings = _settings()
    model = _model(model_path, oracle_settings)
    scores = _scores(path, model, as_of, skip_bad_rows)
    node = OracleNode.connect(settings, oracle_settings)
    paths = prepare_report_files(node, scores, out_dir, observed_at=_observed_at(observed, node))
    for written in paths:
        out.print(str(written))
    out.print(f"{len(paths)} report(s), {len(scores)} vehicles: operators now run `sign`")


@app.command("sign")
@_one_line_errors
def sign_command(
    reports: Annotated[Path, typer.Argument(help="A report file or a directory of them.")],
    feeds: Annotated[
        Path | None,
        typer.Option(help="This operator's feeds: refuse reports that differ from its scores."),
    ] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="Compare with the scores of this operator's feed store instead of --feeds.",
        ),
    ] = False,
    model_path: ModelOption = None,
    operator: OperatorOption = None,
) -> None:
    """Sign report files with this operator's key; writes a signature file beside each.

    Only reports whose every entry is what this operator's own feeds (--feeds or --store)
    give, whose round follows the chain's latest within MAX_ROUND_GAP, and whose observation
    time is neither ahead of this operator's clock nor before the chain's latest."""
    settings, oracle_settings = _settings()
    if (feeds is None) == (not store):
        raise SigningError(
            "an operator signs only what its own feeds show: pass --feeds DIR or --store"
        )
    node = OracleNode.connect(settings, oracle_settings, dev_index=operator)
    paths = report_files(reports)
    model = _model(model_path, oracle_settings)
    first = _first_report_day(paths[0])
    fleet = _fleet(feeds, False, store=store, oracle_settings=oracle_settings)
    own = score_fleet(fleet, model, as_of=first)
    for written in sign_report_files(node, paths, own_scores=own):
        out.print(str(written))
    out.print(f"signed {len(paths)} report(s) as {node.account.address}")


@app.command("push")
@_one_line_errors
def push_command(  # noqa: PLR0917 - typer reads the options off the signature
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Feeds (scored, signed with the dev operator keys and sent), or signed report "
            "files. Without it: finish what the journal has unfinished."
        ),
    ] = None,
    model_path: ModelOption = None,
    as_of: AsOfOption = None,
    skip_bad_rows: SkipOption = False,
    store: StoreOption = False,
    operator: OperatorOption = None,
    observed: ObservedAtOption = None,
) -> None:
    """Journal the reports, then send every unfinished round.

    A rerun after a crash finishes the work without sending anything twice.
    """
    settings, oracle_settings = _settings()
    node = OracleNode.connect(settings, oracle_settings, dev_index=operator)
    observed_at = _observed_at(observed, node)
    scored: int | None = None
    progress = _PushProgress()
    with PushSession(node, on_event=progress.event) as push:
        if path is None and not store:
            plan_note = "finishing the journal's unfinished rounds"
        elif path is not None and not store and is_report_location(path):
            plan = push.plan_files(report_files(path))
            plan_note = f"report files: {plan.outcome}"
        else:
            model = _model(model_path, oracle_settings)
            size = chunk_size(push)
            with ExitStack() as delivery_written:
                if store and path is not None:
                    # The delivery is written while the push sends the vehicles it leaves alone.
                    delivery = delivery_written.enter_context(
                        scored_with_delivery(
                            oracle_settings.feed_store_path,
                            feeds_directory(path),
                            model,
                            size=size,
                            on_error=_on_error(skip_bad_rows),
                            as_of=_day(as_of),
                        )
                    )
                    _print_ingested(delivery.ingested)
                    scored, chunks = delivery.vehicles, delivery.chunks
                elif store:
                    scored, chunks = scored_from_store(
                        oracle_settings.feed_store_path, model, size=size, as_of=_day(as_of)
                    )
                else:
                    fleet = _fleet(path, skip_bad_rows)
                    scored = len(fleet.vehicles)
                    chunks = scored_in_chunks(fleet, model, size=size, as_of=_day(as_of))
                    del fleet  # the chunks hold what they need
                err.print(f"{scored} vehicles: scored, signed and sent in runs of up to {size}")
                with progress.showing(
                    push.unfinished(), expected=scored, lookup=push.round_vehicles
                ):
                    pushed = push_pipelined(push, chunks, observed_at=observed_at)
            err.print(f"{scored} vehicles scored: {_outcome(pushed)}")
            _print_summary(pushed.summary, scored)
            return
        err.print(plan_note)
        with progress.showing(push.unfinished()):
            summary = push.transmit()
    _print_summary(summary, scored)


def _observed_at(text: str | None, node: OracleNode) -> int | None:
    """`--observed-at`: None (the scoring day's midnight), `now`, or an ISO 8601 time."""
    if text is None:
        return None
    if text.strip() == "now":
        # Neither after the chain's time (the contract refuses it) nor ahead of this
        # operator's clock (operators refuse to sign it).
        chain_time = int(node.w3.eth.get_block("latest")["timestamp"])
        return min(chain_time, int(node.clock()))
    parsed = parse_iso(text)
    if parsed is None:
        raise PreflightError(f"--observed-at {text!r} is neither `now` nor an ISO 8601 time")
    return parsed


def _outcome(pushed: PipelinedPush) -> str:
    """How the runs of a push were found: planned now, resumed, or done before."""
    counts = Counter(plan.outcome for plan in pushed.plans)
    found = ", ".join(f"{count} run(s) {outcome}" for outcome, count in sorted(counts.items()))
    if set(counts) == {PlanOutcome.ALREADY_DONE}:
        found += ", nothing new to send"
    return found


@app.command("status")
@_one_line_errors
def status_command(
    operator: OperatorOption = None,
) -> None:
    """The chain's oracle state and this transmitter's journal."""
    settings, oracle_settings = _settings()
    node = OracleNode.connect(settings, oracle_settings, dev_index=operator)
    state = status(node)
    observed = (
        datetime.fromtimestamp(state.latest_observed_at, UTC).isoformat()
        if state.latest_observed_at
        else "never"
    )
    out.print(f"oracle       {state.oracle} on chain {state.chain_id}")
    out.print(f"latest round {state.latest_round} (observed at {observed})")
    out.print(f"quorum       {state.quorum} operator signatures")
    operator_note = "active oracle operator" if state.transmitter_is_operator else "NOT AN OPERATOR"
    out.print(f"transmitter  {state.transmitter} ({operator_note})")
    out.print(f"journal      {oracle_settings.journal_path}")
    if not state.runs:
        out.print("no runs in the journal")
    for run in state.runs:
        created = datetime.fromtimestamp(run.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        tail = f" - {run.error}" if run.error else ""
        out.print(f"  run {run.id}: {run.status}, {run.vehicles} vehicles, {created} UTC{tail}")
    if state.unfinished:
        rounds = ", ".join(f"{r.round_id} ({r.status})" for r in state.unfinished)
        out.print(f"unfinished rounds: {rounds}; `push` finishes them")
    else:
        out.print("nothing unfinished")


@app.command("calibrate")
@_one_line_errors
def calibrate_command(
    path: Annotated[Path, typer.Argument(help="Feeds directory with an outcomes file.")],
    *,
    observed_on: Annotated[
        datetime,
        typer.Option(formats=["%Y-%m-%d"], help="Indicators as of this day, outcomes after it."),
    ],
    model_path: Annotated[
        Path | None, typer.Option("--base", help="Model to start from (default: current).")
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The new model's file (a .json path), or a directory to write "
            "<version>.json in (default: the current model's directory).",
        ),
    ] = None,
    ridge: Annotated[float, typer.Option(help="Ridge penalty of the logistic fit.")] = 1.0,
    min_weight_bps: Annotated[int, typer.Option(help="Floor of every weight, bps.")] = 100,
) -> None:
    """Fit the weights to a labelled history; writes a new model version.

    The banks must approve the version by a governance vote before reports may use it.
    """
    _, oracle_settings = _settings()
    base = _model(model_path, oracle_settings)
    feeds = load_fleet_feeds(feeds_directory(path))
    history = build_history(feeds, base, observed_on.date())
    fitted = calibrate(history, base, ridge=ridge, min_weight_bps=min_weight_bps)
    written = save_model(fitted, out_file or oracle_settings.model_path.parent)
    meta = fitted.metadata
    out.print(f"new model {fitted.version_hex}")
    out.print(f"written to {written}")
    out.print(
        f"AUC {meta['auc']:.3f} (base {meta['parent_auc']:.3f}) on {meta['vehicles']} vehicles;"
        " the banks must approve this version before reports may use it"
    )


@app.command("simulate")
@_one_line_errors
def simulate_command(
    *,
    seed: Annotated[int, typer.Option(help="Seed of the generated fleet.")] = DEFAULT_SEED,
    vehicles: Annotated[int, typer.Option(min=1, help="Vehicles in the fleet.")] = DEFAULT_VEHICLES,
    interval_days: Annotated[
        int, typer.Option(min=1, help="Days between observations.")
    ] = DEFAULT_INTERVAL_DAYS,
    threshold_bps: Annotated[
        int,
        typer.Option("--threshold", min=1, max=10_000, help="Alert threshold, bps of appraisal."),
    ] = DEFAULT_THRESHOLD_BPS,
    model_path: ModelOption = None,
    out_file: Annotated[Path, typer.Option("--out", help="Results file (JSON).")] = Path(
        "reports/oracle-simulation.json"
    ),
) -> None:
    """Run the generated fleet through a year with dynamic valuation and a static appraisal.

    Writes lead time, valuation error and recovery of both to the results file: a result on
    generated data, not a validation of the article's pilot figures.
    """
    _, oracle_settings = _settings()
    model = _model(model_path, oracle_settings)
    results = run_simulation(
        seed=seed,
        vehicles=vehicles,
        threshold_bps=threshold_bps,
        interval_days=interval_days,
        model=model,
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    fleet = results["fleet"]
    out.print(
        f"{fleet['vehicles']} vehicles, {fleet['defaulters']} defaults, seed {seed},"
        f" every {interval_days} days, alert below {threshold_bps / 100:g}% of appraisal"
    )
    for name in ("dynamic", "static"):
        figures = results[name]
        warning, recovery = figures["warning"], figures["recovery"]
        lead = warning["lead_days_mean"]
        out.print(
            f"{name:>7}: warned {warning['warned']}/{warning['defaulters']} defaulters"
            f" (mean lead {'-' if lead is None else f'{lead:.0f}'} days),"
            f" valuation MAPE {figures['valuation_error']['mape']:.1%},"
            f" recovery {recovery['recovery_mean']:.1%} of appraisal"
        )
    out.print(f"written to {out_file} (generated data)")


class _PushProgress:
    """A progress bar over the vehicles of the unfinished rounds (on a terminal only)."""

    def __init__(self) -> None:
        self._vehicles: dict[int, int] = {}
        self._lookup: Callable[[int], int] = lambda _round: 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def showing(
        self,
        rounds: list[RoundRow],
        *,
        expected: int = 0,
        lookup: Callable[[int], int] | None = None,
    ) -> Progress:
        """`expected`: vehicles of rounds still to be planned, whose size `lookup` tells."""
        self._vehicles = {row.round_id: row.vehicles for row in rounds}
        self._lookup = lookup or self._lookup
        self._progress = Progress(
            TextColumn("pushing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("vehicles"),
            TimeElapsedColumn(),
            console=err,
            disable=not err.is_terminal or (len(self._vehicles) < 2 and not expected),
        )
        total = max(sum(self._vehicles.values()), expected)
        self._task = self._progress.add_task("push", total=total)
        return self._progress

    def event(self, event: Event, round_id: int) -> None:
        if self._progress is None or self._task is None:
            return
        if event is Event.CONFIRMED:
            vehicles = self._vehicles.get(round_id)
            self._progress.advance(
                self._task, self._lookup(round_id) if vehicles is None else vehicles
            )
        elif event is Event.RETRYING:
            self._progress.console.print(f"round {round_id}: RPC failure, retrying")


def _print_summary(summary: PushSummary, scored: int | None) -> None:
    if not summary.outcomes:
        out.print("nothing to send: the journal has no unfinished rounds")
        return
    rounds = summary.rounds
    span = f"{rounds[0]}..{rounds[-1]}" if len(rounds) > 1 else str(rounds[0])
    vehicles = f"{scored} vehicles scored, " if scored is not None else ""
    out.print(
        f"{vehicles}{summary.vehicles} vehicle scores on-chain in round(s) {span}; "
        f"alerts triggered: {summary.alerts}; transactions: {summary.transactions}; "
        f"gas: {summary.gas_used:,}"
    )
    if summary.recovered:
        out.print(
            f"{summary.recovered} round(s) had reached the chain before an interruption:"
            " confirmed, not resent"
        )
    if summary.retries:
        out.print(f"{summary.retries} RPC failure(s) retried")


def _first_report_day(path: Path) -> date:
    """The day a report observes (the operator scores its own feeds as of that day)."""
    observed = read_report(path).report.observed_at
    day = datetime.fromtimestamp(observed, UTC).date()
    if observation_time(day) != observed:
        raise SigningError(
            f"{path}: observation time is not a day start: not a report of a day's feeds"
        )
    return day


def _short(name: str) -> str:
    return "".join(part[0] for part in name.split("_")).upper()


if __name__ == "__main__":
    app()
