"""End to end on anvil: `ValueThresholdBreached` is emitted for exactly the vehicles under an
active loan whose estimated value crossed below the governed threshold (set equality of vehicle
ids: none missing, none extra), on the generated fleet and its ground truth."""

from __future__ import annotations

from pathlib import Path

from oracle_chain import System

from oracle.fleet_feeds import load_fleet_feeds
from oracle.model import ScoreModel
from oracle.operations import OracleNode, PushSession
from oracle.sample_fleet import generate_fleet
from oracle.scoring import VehicleScore, score_fleet
from vcl.vin import vehicle_id

SEED = 20250101
VEHICLES = 40


def push(node: OracleNode, scores: list[VehicleScore], observed_at: int) -> int:
    with PushSession(node) as session:
        session.plan_scores(scores, observed_at=observed_at)
        return session.transmit().alerts


def test_alerts_exactly_for_pledged_vehicles_whose_value_crossed_below_the_threshold(
    system: System, node: OracleNode, default_model: ScoreModel, tmp_path: Path
) -> None:
    truth = generate_fleet(tmp_path / "fleet", seed=SEED, vehicles=VEHICLES)
    feeds = load_fleet_feeds(tmp_path / "fleet")
    secret = system.settings.vin_secret.get_secret_value().encode()
    threshold = node.contracts.alert_threshold_bps()
    at_start = score_fleet(feeds, default_model, as_of=truth.start)
    at_end = score_fleet(feeds, default_model, as_of=truth.end)
    assert not [s for s in at_start if s.below(threshold)]  # every vehicle starts above

    # Every other vehicle is pledged: both halves hold vehicles that degrade and that do not.
    pledged = {s.vin for s in at_start[::2]}
    crossed = {s.vin for s in at_end if s.below(threshold)}
    degrading = truth.degrading()
    healthy = {v.vin for v in truth.vehicles if not v.degrading and not v.distressed}
    assert pledged & degrading  # the fleet serves the test
    assert degrading - pledged
    assert degrading <= crossed  # the oracle sees the ground truth
    assert not crossed & healthy

    system.register(at_start)
    now = node.w3.eth.get_block("latest")["timestamp"]
    assert push(node, at_start, observed_at=now - 2) == 0
    system.pledge([s for s in at_start if s.vin in pledged])

    alerts = push(node, at_end, observed_at=now - 1)

    logs = system.oracle.events.ValueThresholdBreached().get_logs(from_block=0)
    alerted = {bytes(log["args"]["vehicleId"]) for log in logs}
    expected = {vehicle_id(vin, secret) for vin in pledged & crossed}
    assert alerted == expected
    assert len(logs) == alerts == len(expected)
    # Ground truth: every pledged degrading vehicle alerted, no pledged healthy one.
    assert {vehicle_id(vin, secret) for vin in pledged & degrading} <= alerted
    assert not {vehicle_id(vin, secret) for vin in pledged & healthy} & alerted
    # Unpledged vehicles below the threshold exist, and none of them alerted.
    assert crossed - pledged
    assert not {vehicle_id(vin, secret) for vin in crossed - pledged} & alerted
    for log in logs:
        assert log["args"]["thresholdBps"] == threshold
        assert log["args"]["value"] * 10_000 < log["args"]["appraisal"] * threshold
