"""The indicators computed from compact histories (bisection, sums over slices) equal their
definition over the validated rows (`reference_indicators`), bit for bit: operators who
compute the same feeds must sign the same report."""

from __future__ import annotations

from datetime import timedelta

from reference_indicators import read_indicators as defined

from oracle.fleet_feeds import FleetFeeds
from oracle.indicators import read_indicators
from oracle.model import ScoreModel
from oracle.sample_fleet import FleetTruth


def test_every_vehicle_on_every_tenth_day_matches_the_definition(
    fleet: tuple[FleetFeeds, FleetTruth], sample_feeds: FleetFeeds, default_model: ScoreModel
) -> None:
    params = default_model.parameters
    compared = 0
    for feeds in (fleet[0], sample_feeds):
        for vehicle in feeds.vehicles.values():
            day = vehicle.vehicle.appraisal_date
            while day <= feeds.latest_date + timedelta(days=30):
                assert read_indicators(vehicle.history, day, params) == defined(
                    vehicle, day, params
                ), (vehicle.vehicle.vin[-4:], day)
                day += timedelta(days=10)
                compared += 1
    assert compared > 5_000
