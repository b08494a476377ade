"""The local consortium's oracle: every `--interval` seconds it scores the next simulated
day of the sample fleet's feeds and pushes the scores of the registered vehicles, signed by
the development operators (single-process multi-key mode: the four of `ORACLE_OPERATORS`,
a report carrying the quorum of 3), observed at the chain's current time so that scores stay
fresh for loan approvals.

`python -m localnet.oracle_scheduler --fleet DIR --metrics-port N` (chain and keys from
`VCL_*`, the journal from `VCL_ORACLE_JOURNAL_PATH`). Serves Prometheus metrics.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from web3.exceptions import Web3Exception

from localnet.metrics_server import serve_metrics
from oracle.config import get_oracle_settings
from oracle.fleet_feeds import FleetFeeds, load_fleet_feeds
from oracle.model import load_model
from oracle.operations import OracleNode, PushSession
from oracle.scoring import VehicleScore, score_fleet
from vcl.config import get_settings
from vcl.errors import VclError
from vcl.logging_setup import setup_logging
from vcl.vin_secrets import registered_in

log = logging.getLogger("localnet.oracle")


@dataclass
class SchedulerMetrics:
    rounds: int = 0
    scores: int = 0
    alerts: int = 0
    failures: int = 0
    skipped: int = 0
    last_push: float = 0.0
    simulated_day: date | None = None

    def render(self) -> str:
        day = 0 if self.simulated_day is None else self.simulated_day.toordinal()
        lines = [
            ("vcl_oracle_rounds_total", "counter", "Report rounds confirmed on-chain", self.rounds),
            ("vcl_oracle_scores_pushed_total", "counter", "Vehicle scores pushed", self.scores),
            ("vcl_oracle_alerts_raised_total", "counter", "Alerts the pushes raised", self.alerts),
            ("vcl_oracle_push_failures_total", "counter", "Pushes that failed", self.failures),
            ("vcl_oracle_ticks_skipped_total", "counter", "Ticks with no vehicle", self.skipped),
            (
                "vcl_oracle_last_push_timestamp_seconds",
                "gauge",
                "Unix time of the last confirmed push",
                self.last_push,
            ),
            ("vcl_oracle_simulated_day", "gauge", "Proleptic ordinal of the day replayed", day),
        ]
        out: list[str] = []
        for name, kind, text, value in lines:
            out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(out) + "\n"


class Scheduler:
    def __init__(self, node: OracleNode, feeds: FleetFeeds, first_day: date) -> None:
        self.node = node
        self.feeds = feeds
        self.model = load_model(node.oracle_settings.model_path)
        self.day = first_day
        self.last_day = feeds.latest_date
        self.metrics = SchedulerMetrics()
        self._registered: set[bytes] = set()

    def registered_scores(self, scores: list[VehicleScore]) -> list[VehicleScore]:
        """Only vehicles the registry knows: the oracle refuses a report naming any other."""
        registered = registered_in(self.node.contracts.registry)
        ids = self.node.vehicle_ids([score.vin for score in scores])
        kept = []
        for score, vid in zip(scores, ids, strict=True):
            if vid not in self._registered and registered([vid])[0]:
                self._registered.add(vid)
            if vid in self._registered:
                kept.append(score)
        return kept

    def tick(self, push: PushSession) -> None:
        self.metrics.simulated_day = self.day
        scores = self.registered_scores(score_fleet(self.feeds, self.model, as_of=self.day))
        if not scores:
            self.metrics.skipped += 1
            log.info("day %s: no registered vehicle yet", self.day)
            return
        now = int(self.node.w3.eth.get_block("latest")["timestamp"])
        push.plan_scores(scores, observed_at=now)
        summary = push.transmit()
        self.metrics.rounds += summary.transactions
        self.metrics.scores += summary.vehicles
        self.metrics.alerts += summary.alerts
        self.metrics.last_push = time.time()
        log.info(
            "day %s: %d vehicle scores in rounds %s, %d alerts raised",
            self.day,
            summary.vehicles,
            summary.rounds,
            summary.alerts,
            extra={"rounds": summary.rounds, "vehicles": summary.vehicles},
        )
        self.day = min(self.day + timedelta(days=1), self.last_day)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localnet.oracle_scheduler")
    parser.add_argument("--fleet", type=Path, required=True, help="Sample fleet feeds directory")
    parser.add_argument("--interval", type=float, default=5.0, help="Seconds between pushes")
    parser.add_argument(
        "--days-before-end",
        type=int,
        default=10,
        help="Replay starts this many days before the end",
    )
    parser.add_argument("--metrics-port", type=int, required=True)
    args = parser.parse_args(argv)
    setup_logging()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        settings, oracle_settings = get_settings(), get_oracle_settings()
        feeds = load_fleet_feeds(args.fleet)
        node = OracleNode.connect(settings, oracle_settings)
        first_day = feeds.latest_date - timedelta(days=args.days_before_end)
        scheduler = Scheduler(node, feeds, first_day)
        server = serve_metrics(args.metrics_port, scheduler.metrics.render)
    except VclError as exc:
        log.error("oracle scheduler: %s", exc)
        return 1
    log.info(
        "oracle scheduler: operators %s sign, %s transmits; metrics on :%d",
        [a.address for a in node.signing_accounts()],
        node.account.address,
        args.metrics_port,
    )
    try:
        with PushSession(node) as push:
            while not stop.is_set():
                try:
                    scheduler.tick(push)
                except (VclError, OSError, Web3Exception) as exc:
                    scheduler.metrics.failures += 1
                    log.warning("push failed, retrying next tick: %s", exc)
                stop.wait(args.interval)
    finally:
        server.shutdown()
    log.info("oracle scheduler stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
