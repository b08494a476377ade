"""Indicators: bounds and direction of the normalisation, and that each raw value responds to
the feed it claims to read, in the direction a risk officer expects."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest

from oracle.feed_formats import (
    InspectionResult,
    InspectionRow,
    InsuranceEventKind,
    InsuranceRow,
    MaintenanceKind,
    MaintenanceRow,
    Powertrain,
    TelemetryRow,
    VehicleRow,
)
from oracle.fleet_feeds import VehicleFeeds
from oracle.indicators import INDICATOR_NAMES, INDICATORS, normalise, read_indicators
from oracle.model import ScoreModel

VIN = "LSVAU218XN2183294"
AS_OF = date(2025, 12, 31)
START = date(2025, 1, 1)


def vehicle(**changes: Any) -> VehicleRow:
    fields: dict[str, Any] = {
        "vin": VIN,
        "make": "Volkswagen",
        "model": "Lavida",
        "model_year": 2022,
        "powertrain": Powertrain.ICE,
        "first_registration": date(2022, 1, 1),
        "appraisal_date": START,
        "appraisal_value_minor": 10_000_000,
        "currency": "CNY",
        "appraisal_odometer_km": 40_000,
    }
    return VehicleRow(**{**fields, **changes})


def weekly_telemetry(km_per_week: int = 300, **changes: Any) -> tuple[TelemetryRow, ...]:
    return tuple(
        TelemetryRow(
            vin=VIN,
            recorded_on=START + timedelta(days=7 * week),
            odometer_km=40_000 + km_per_week * week,
            **changes,
        )
        for week in range(1, 52)
    )


def service(
    day: date, km: int, cost: int = 80_000, kind: Any = MaintenanceKind.SCHEDULED_SERVICE
) -> MaintenanceRow:
    return MaintenanceRow(
        vin=VIN,
        service_date=day,
        odometer_km=km,
        kind=kind,
        cost_minor=cost,
        currency="CNY",
        workshop="W",
    )


def healthy() -> VehicleFeeds:
    return VehicleFeeds(
        vehicle(),
        telemetry=weekly_telemetry(),
        maintenance=(service(START + timedelta(days=7 * 26), 47_800),),
        inspections=(
            InspectionRow(
                vin=VIN,
                inspection_date=START + timedelta(days=7 * 22),
                odometer_km=46_600,
                result=InspectionResult.PASS,
                station="S",
            ),
        ),
    )


def raw(feeds: VehicleFeeds, model: ScoreModel) -> dict[str, float]:
    readout = read_indicators(feeds.history, AS_OF, model.parameters)
    return dict(zip(INDICATOR_NAMES, readout.raw, strict=True))


def normalised(feeds: VehicleFeeds, model: ScoreModel) -> dict[str, int]:
    values = raw(feeds, model)
    return {spec.name: normalise(values[spec.name], spec) for spec in model.parameters.indicators}


def test_twelve_named_indicators_including_the_articles_three() -> None:
    assert len(INDICATORS) == 12 == len(set(INDICATOR_NAMES))
    assert {"depreciation_rate", "maintenance_cost", "accident_rate"} <= set(INDICATOR_NAMES)


@pytest.mark.parametrize("index", range(12))
def test_normalisation_bounds_and_direction(default_model: ScoreModel, index: int) -> None:
    spec = default_model.parameters.indicators[index]
    beyond = spec.best - spec.worst  # signed span, worst -> best
    assert normalise(spec.best, spec) == 10_000
    assert normalise(spec.best + beyond, spec) == 10_000  # clamped
    assert normalise(spec.worst, spec) == 0
    assert normalise(spec.worst - beyond, spec) == 0  # clamped
    assert normalise(spec.worst + beyond / 2, spec) == 5_000
    # Monotone: stepping from worst towards best never lowers the value.
    steps = [normalise(spec.worst + beyond * i / 20, spec) for i in range(21)]
    assert steps == sorted(steps)
    # The direction the definition states is the direction of the bounds.
    assert (spec.best > spec.worst) == INDICATORS[index].higher_is_better


def test_healthy_vehicle_scores_well_on_every_indicator(default_model: ScoreModel) -> None:
    values = normalised(healthy(), default_model)
    assert min(values.values()) >= 5_000, values


@pytest.mark.parametrize(
    ("name", "worse"),
    [
        (
            "maintenance_cost",
            lambda f: dataclasses.replace(
                f,
                maintenance=(
                    *f.maintenance,
                    service(date(2025, 9, 1), 50_000, 900_000, MaintenanceKind.REPAIR),
                ),
            ),
        ),
        (
            "accident_rate",
            lambda f: dataclasses.replace(
                f,
                insurance=(
                    InsuranceRow(
                        vin=VIN,
                        event_date=date(2025, 8, 1),
                        kind=InsuranceEventKind.ACCIDENT,
                        at_fault=True,
                        claim_minor=100_000,
                        currency="CNY",
                        insurer="I",
                    ),
                ),
            ),
        ),
        (
            "claim_severity",
            lambda f: dataclasses.replace(
                f,
                insurance=(
                    InsuranceRow(
                        vin=VIN,
                        event_date=date(2025, 8, 1),
                        kind=InsuranceEventKind.GLASS,
                        at_fault=False,
                        claim_minor=1_000_000,
                        currency="CNY",
                        insurer="I",
                    ),
                ),
            ),
        ),
        ("mileage_intensity", lambda f: dataclasses.replace(f, telemetry=weekly_telemetry(900))),
        ("depreciation_rate", lambda f: dataclasses.replace(f, telemetry=weekly_telemetry(900))),
        (
            "vehicle_age",
            lambda f: dataclasses.replace(f, vehicle=vehicle(first_registration=date(2016, 1, 1))),
        ),
        (
            "obd_fault_severity",
            lambda f: dataclasses.replace(
                f, telemetry=weekly_telemetry(fault_codes=("P0301", "P0700"))
            ),
        ),
        (
            "inspection_result",
            lambda f: dataclasses.replace(
                f,
                inspections=(
                    f.inspections[0].model_copy(update={"result": InspectionResult.FAIL}),
                ),
            ),
        ),
        (
            "gps_anomalies",
            lambda f: dataclasses.replace(f, telemetry=weekly_telemetry(gps_anomalies=1)),
        ),
        (
            "harsh_driving",
            lambda f: dataclasses.replace(f, telemetry=weekly_telemetry(harsh_events=3)),
        ),
        ("service_overdue", lambda f: dataclasses.replace(f, maintenance=())),
        (
            "odometer_rollback",
            lambda f: dataclasses.replace(
                f,
                telemetry=tuple(
                    row.model_copy(
                        update={"odometer_km": row.odometer_km - (5_000 if i > 30 else 0)}
                    )
                    for i, row in enumerate(f.telemetry)
                ),
            ),
        ),
    ],
)
def test_worse_feeds_lower_exactly_the_indicator_that_reads_them(
    default_model: ScoreModel, name: str, worse: Any
) -> None:
    before = normalised(healthy(), default_model)
    after = normalised(worse(healthy()), default_model)
    assert after[name] < before[name]
    # A rollback hides the distance of the one reporting interval it happened in (300 km).
    slack = 100 if name == "odometer_rollback" else 0
    assert all(after[other] <= before[other] + slack for other in INDICATOR_NAMES)


def test_rollback_measures_the_largest_drop(default_model: ScoreModel) -> None:
    feeds = healthy()
    rolled = tuple(
        row.model_copy(update={"odometer_km": row.odometer_km - (1_500 if i == 20 else 0)})
        for i, row in enumerate(feeds.telemetry)
    )
    values = raw(dataclasses.replace(feeds, telemetry=rolled), default_model)
    assert values["odometer_rollback"] == 1_500 - 300  # the previous week read 300 km less
    assert raw(feeds, default_model)["odometer_rollback"] == 0


def test_mileage_is_annualised(default_model: ScoreModel) -> None:
    # 300 km a week for 51 weeks after the appraisal reading: 300 * 365 / 7 km a year.
    assert raw(healthy(), default_model)["mileage_intensity"] == pytest.approx(300 * 365 / 7)


def test_feeds_after_the_date_are_not_read(default_model: ScoreModel) -> None:
    feeds = healthy()
    later = dataclasses.replace(
        feeds, maintenance=(*feeds.maintenance, service(date(2026, 3, 1), 60_000, 5_000_000))
    )
    assert raw(later, default_model) == raw(feeds, default_model)
