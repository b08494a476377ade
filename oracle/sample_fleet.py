"""A deterministic generator of a realistic fleet and a year of its feeds, with ground truth.

Same seed, same files, byte for byte (Python's `random.Random` seeded per vehicle from a
string, which does not depend on hash randomisation). The story the data tells:

* every vehicle is appraised when its loan starts (up to 90 days before the year) and its
  tracker, workshops, insurer and inspection station report from then on;
* about 15% **degrade** from an onset in the first months: trouble codes, repairs, postponed
  services, accidents and failed inspections grow until the end of the year, when the oracle's
  estimated value is below 70% of the appraisal for every one of them;
* about 8% of borrowers are **distressed** without the vehicle degrading: services skipped,
  the tracker goes dark or leaves its area (GPS anomalies), some odometers are rolled back;
* **defaults** fall after `observation_date` (so a calibration at that date does not peek):
  half of the degrading vehicles, most distressed borrowers, and 2% of the rest at random.
  Repossession and disposal happen after the year; `outcomes.csv` holds the result.

Vehicle age and yearly mileage are drawn independently of all that: a calibration should
find them uninformative about default.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from oracle.feed_files import write_feed
from oracle.feed_formats import (
    InspectionResult,
    InspectionRow,
    InsuranceEventKind,
    InsuranceRow,
    MaintenanceKind,
    MaintenanceRow,
    OutcomeRow,
    Powertrain,
    TelemetryRow,
    VehicleRow,
)
from oracle.model import ValuationParams, load_model
from oracle.valuation import age_factor, mileage_factor
from vcl.vin import VIN_LENGTH, check_digit, model_year_code

DEFAULT_SEED = 20250101
CURRENCY = "CNY"
FEN = 100  # minor units per yuan
TELEMETRY_EVERY_DAYS = 7
SERVICE_INTERVAL_KM = 10_000
SERVICE_INTERVAL_DAYS = 365
OBSERVATION_DAY = 180  # calibration observes here; every default comes later

# (make, model, WMI, powertrain, new price in yuan, typical km per year)
CATALOGUE: tuple[tuple[str, str, str, Powertrain, int, int], ...] = (
    ("Volkswagen", "Lavida", "LSV", Powertrain.ICE, 130_000, 18_000),
    ("Toyota", "Corolla", "LFM", Powertrain.HYBRID, 140_000, 17_000),
    ("BYD", "Qin PLUS", "LGX", Powertrain.HYBRID, 120_000, 20_000),
    ("BYD", "Han EV", "LGX", Powertrain.BEV, 230_000, 16_000),
    ("Tesla", "Model 3", "LRW", Powertrain.BEV, 250_000, 15_000),
    ("Honda", "Accord", "LHG", Powertrain.ICE, 180_000, 16_000),
    ("Buick", "GL8", "LSG", Powertrain.ICE, 280_000, 25_000),
    ("Geely", "Emgrand", "L6T", Powertrain.ICE, 80_000, 22_000),
    ("Wuling", "Hongguang", "LZW", Powertrain.ICE, 55_000, 26_000),
    ("JMC", "Transit", "LJX", Powertrain.ICE, 170_000, 30_000),
)
MINOR_CODES = ("P0420", "P0171", "P0442", "B1318", "U0155")
SEVERE_CODES = ("P0300", "P0301", "P0302", "P0700", "P0730", "P0A80", "P0217", "C0035", "P0087")
WORKSHOPS = ("4S-Shanghai-Pudong", "4S-Hangzhou-Xihu", "QuickFix-Suzhou", "Tuhu-Nanjing")
INSURERS = ("PICC", "Ping An", "CPIC")
STATIONS = ("JC-310115-01", "JC-330106-02", "JC-320505-01")
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class VehicleTruth:
    """What the generator knows and the oracle must find out."""

    vin: str
    degrading: bool
    degradation_onset: date | None
    distressed: bool
    odometer_rolled_back: bool
    defaults: bool
    default_date: date | None
    disposal_date: date | None
    disposal_value_minor: int | None
    true_value_minor: int  # market value at the end of the year
    # When the borrower's distress began (None if not distressed); with the onset above it
    # gives the true value on any day (`true_value_on`).
    distress_start: date | None = None


@dataclass(frozen=True)
class FleetTruth:
    seed: int
    start: date
    end: date
    observation_date: date
    vehicles: tuple[VehicleTruth, ...]

    def degrading(self) -> set[str]:
        return {v.vin for v in self.vehicles if v.degrading}

    def defaulters(self) -> set[str]:
        return {v.vin for v in self.vehicles if v.defaults}

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=date.isoformat, indent=1, sort_keys=True) + "\n"


@dataclass
class _Feeds:
    vehicles: list[VehicleRow] = field(default_factory=list)
    telemetry: list[TelemetryRow] = field(default_factory=list)
    maintenance: list[MaintenanceRow] = field(default_factory=list)
    insurance: list[InsuranceRow] = field(default_factory=list)
    inspections: list[InspectionRow] = field(default_factory=list)
    outcomes: list[OutcomeRow] = field(default_factory=list)


def generate_fleet(
    directory: Path,
    *,
    seed: int = DEFAULT_SEED,
    vehicles: int = 200,
    start: date = date(2025, 1, 1),
    days: int = 365,
) -> FleetTruth:
    """Write the feeds of `vehicles` vehicles over `days` days, and `ground_truth.json`, into
    `directory` (telemetry as JSON Lines, the rest as CSV); return the ground truth."""
    if days <= OBSERVATION_DAY + 30:
        raise ValueError(f"the generated period must exceed {OBSERVATION_DAY + 30} days")
    valuation = load_model().parameters.valuation
    end = start + timedelta(days=days)
    feeds = _Feeds()
    truths = [
        _simulate_vehicle(
            random.Random(f"{seed}:{index}"),  # noqa: S311 - reproducible simulation, not secrecy
            index,
            period=(start, end),
            valuation=valuation,
            feeds=feeds,
        )
        for index in range(vehicles)
    ]
    truth = FleetTruth(seed, start, end, start + timedelta(days=OBSERVATION_DAY), tuple(truths))
    directory.mkdir(parents=True, exist_ok=True)
    write_feed(directory / "vehicles.csv", VehicleRow, feeds.vehicles)
    write_feed(directory / "telemetry.jsonl", TelemetryRow, feeds.telemetry)
    write_feed(directory / "maintenance.csv", MaintenanceRow, feeds.maintenance)
    write_feed(directory / "insurance.csv", InsuranceRow, feeds.insurance)
    write_feed(directory / "inspections.csv", InspectionRow, feeds.inspections)
    write_feed(directory / "outcomes.csv", OutcomeRow, feeds.outcomes)
    (directory / "ground_truth.json").write_text(truth.to_json(), encoding="utf-8")
    return truth


def make_vin(rng: random.Random, wmi: str, model_year: int, serial: int) -> str:
    """A VIN with a valid ISO 3779 check digit; `serial` keeps VINs of a fleet unique."""
    vds = "".join(rng.choice(VIN_ALPHABET) for _ in range(5))
    year = model_year_code(model_year)
    plant = rng.choice("ABCDEFGHJK")
    tail = f"{wmi}{vds}0{year}{plant}{serial:06d}"
    assert len(tail) == VIN_LENGTH
    return tail[:8] + check_digit(tail) + tail[9:]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: exact and deterministic for the small means used here."""
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _simulate_vehicle(  # noqa: PLR0915 - one story told in order reads better than fragments
    rng: random.Random,
    index: int,
    *,
    period: tuple[date, date],
    valuation: ValuationParams,
    feeds: _Feeds,
) -> VehicleTruth:
    start, end = period
    make, model, wmi, powertrain, new_price, typical_km = rng.choice(CATALOGUE)
    appraised = start - timedelta(days=rng.randint(0, 90))
    registered = appraised - timedelta(days=rng.randint(30, 8 * 365))
    age_years = (appraised - registered).days / 365
    annual_km = typical_km * rng.uniform(0.6, 1.3)
    odometer = int(annual_km * age_years * rng.uniform(0.85, 1.15))
    market = (
        new_price
        * FEN
        * age_factor(registered, registered, appraised, valuation.age_rate_bps_by_year)
    )
    appraisal = int(market * rng.uniform(0.95, 1.05)) // (100 * FEN) * (100 * FEN)
    vin = make_vin(rng, wmi, registered.year, 100_000 + index)
    feeds.vehicles.append(
        VehicleRow(
            vin=vin,
            make=make,
            model=model,
            model_year=registered.year,
            powertrain=powertrain,
            first_registration=registered,
            appraisal_date=appraised,
            appraisal_value_minor=appraisal,
            currency=CURRENCY,
            appraisal_odometer_km=odometer,
        )
    )

    degrading = rng.random() < 0.15
    distressed = not degrading and rng.random() < 0.09
    onset = start + timedelta(days=rng.randint(20, 110)) if degrading else None
    first_default_day = OBSERVATION_DAY + 10
    default_day: int | None = None
    if (
        (degrading and rng.random() < 0.5)
        or (distressed and rng.random() < 0.85)
        or (not degrading and not distressed and rng.random() < 0.02)
    ):
        default_day = rng.randint(first_default_day, (end - start).days)
    distress_start = (
        start + timedelta(days=(default_day or 300) - rng.randint(90, 170)) if distressed else None
    )
    rolls_back = distressed and rng.random() < 0.35
    rollback_day = distress_start + timedelta(days=rng.randint(10, 60)) if distress_start else None
    harsh_style = rng.uniform(0.3, 2.5)  # events per 1,000 km: driver style, not risk here

    def severity(day: date) -> float:
        if onset is None or day <= onset:
            return 0.0
        return min((day - onset).days / max((end - onset).days - 20, 1), 1.0)

    def distress(day: date) -> float:
        if distress_start is None or day <= distress_start:
            return 0.0
        return min((day - distress_start).days / 60, 1.0)

    # Annual inspection on the registration anniversary; a degraded vehicle is also sent to a
    # roadworthiness re-check near the end of the year.
    inspection_days = [registered + timedelta(days=365 * year) for year in range(1, 30)]
    inspection_days = [when for when in inspection_days if appraised < when <= end]
    if onset is not None:
        inspection_days.append(end - timedelta(days=rng.randint(7, 25)))

    last_service_day, last_service_km = appraised, odometer
    service_due_km = SERVICE_INTERVAL_KM * rng.uniform(0.9, 1.05)
    day = appraised
    rolled = False
    while day + timedelta(days=TELEMETRY_EVERY_DAYS) <= end:
        day += timedelta(days=TELEMETRY_EVERY_DAYS)
        sev, dis = severity(day), distress(day)
        week_km = annual_km / 365 * TELEMETRY_EVERY_DAYS * rng.uniform(0.6, 1.4)
        odometer += int(week_km)
        if rolls_back and not rolled and rollback_day is not None and day >= rollback_day:
            odometer -= rng.randint(3_000, 9_000)
            rolled = True
        codes: list[str] = []
        if rng.random() < 0.03:
            codes.append(rng.choice(MINOR_CODES))
        if sev > 0 and rng.random() < 0.15 + 0.8 * sev:
            codes += rng.sample(SEVERE_CODES, k=1 + int(2 * sev * rng.random() + 0.5))
        feeds.telemetry.append(
            TelemetryRow(
                vin=vin,
                recorded_on=day,
                odometer_km=odometer,
                fault_codes=tuple(sorted(set(codes))),
                harsh_events=_poisson(rng, week_km / 1000 * harsh_style * (1 + 3 * sev)),
                gps_anomalies=_poisson(rng, 0.02 + 2.0 * dis),
            )
        )

        # Scheduled service when due, unless money or care is short.
        due = odometer - last_service_km >= service_due_km or (
            day - last_service_day
        ).days >= SERVICE_INTERVAL_DAYS - rng.randint(0, 30)
        skips = sev > 0.2 or dis > 0.2 or rng.random() < 0.05
        if due and not skips:
            cost = int(new_price * rng.uniform(0.004, 0.009)) * FEN
            feeds.maintenance.append(
                _maintenance(
                    vin, day, odometer, MaintenanceKind.SCHEDULED_SERVICE, cost=cost, rng=rng
                )
            )
            last_service_day, last_service_km = day, odometer
            service_due_km = SERVICE_INTERVAL_KM * rng.uniform(0.9, 1.05)
        if rng.random() < 0.004 + 0.25 * sev:
            cost = int(new_price * rng.uniform(0.01, 0.06) * (1 + 2 * sev)) * FEN
            feeds.maintenance.append(
                _maintenance(vin, day, odometer, MaintenanceKind.REPAIR, cost=cost, rng=rng)
            )
        if rng.random() < 0.01:
            cost = int(new_price * rng.uniform(0.008, 0.02)) * FEN
            feeds.maintenance.append(
                _maintenance(vin, day, odometer, MaintenanceKind.TYRES, cost=cost, rng=rng)
            )

        for when in sorted(d for d in inspection_days if day - timedelta(days=7) < d <= day):
            feeds.inspections.append(_inspection(vin, when, severity(when), odometer, rng))

        if rng.random() < (0.12 + 3.0 * sev) / 52:
            amount = int(appraisal * rng.uniform(0.02, 0.15) * (1 + sev))
            feeds.insurance.append(_claim(vin, day, InsuranceEventKind.ACCIDENT, amount, rng))
        if rng.random() < 0.06 / 52:
            kind = rng.choice((InsuranceEventKind.GLASS, InsuranceEventKind.WEATHER))
            feeds.insurance.append(
                _claim(vin, day, kind, int(appraisal * rng.uniform(0.005, 0.03)), rng)
            )

    true_condition = 1 - 0.45 * severity(end) - 0.08 * distress(end)
    true_value = _true_value(feeds.vehicles[-1], end, odometer, true_condition, valuation)
    default_date = start + timedelta(days=default_day) if default_day is not None else None
    disposal_date = end + timedelta(days=rng.randint(20, 60)) if default_date else None
    disposal_value = int(true_value * rng.uniform(0.85, 0.97)) if default_date else None
    feeds.outcomes.append(
        OutcomeRow(
            vin=vin,
            defaulted=default_date is not None,
            default_date=default_date,
            disposal_date=disposal_date,
            disposal_value_minor=disposal_value,
            currency=CURRENCY,
        )
    )
    return VehicleTruth(
        vin=vin,
        degrading=degrading,
        degradation_onset=onset,
        distressed=distressed,
        odometer_rolled_back=rolled,
        defaults=default_date is not None,
        default_date=default_date,
        disposal_date=disposal_date,
        disposal_value_minor=disposal_value,
        true_value_minor=true_value,
        distress_start=distress_start,
    )


def _maintenance(
    vin: str, day: date, odometer: int, kind: MaintenanceKind, *, cost: int, rng: random.Random
) -> MaintenanceRow:
    return MaintenanceRow(
        vin=vin,
        service_date=day,
        odometer_km=odometer,
        kind=kind,
        cost_minor=cost,
        currency=CURRENCY,
        workshop=rng.choice(WORKSHOPS),
    )


def _claim(
    vin: str, day: date, kind: InsuranceEventKind, amount: int, rng: random.Random
) -> InsuranceRow:
    return InsuranceRow(
        vin=vin,
        event_date=day,
        kind=kind,
        at_fault=rng.random() < 0.5,
        claim_minor=amount,
        currency=CURRENCY,
        insurer=rng.choice(INSURERS),
    )


def _inspection(
    vin: str, day: date, sev: float, odometer: int, rng: random.Random
) -> InspectionRow:
    fails = sev > 0.6 and rng.random() < 0.9
    major = 0 if sev < 0.3 else 1 + int(2 * sev * rng.random())
    return InspectionRow(
        vin=vin,
        inspection_date=day,
        odometer_km=odometer,
        result=InspectionResult.FAIL if fails else InspectionResult.PASS,
        minor_defects=rng.randint(0, 1) + int(3 * sev),
        major_defects=major,
        station=rng.choice(STATIONS),
    )


def _true_value(
    vehicle: VehicleRow, when: date, odometer: int, condition: float, params: ValuationParams
) -> int:
    age = age_factor(
        vehicle.first_registration, vehicle.appraisal_date, when, params.age_rate_bps_by_year
    )
    km = mileage_factor(
        max(odometer - vehicle.appraisal_odometer_km, 0),
        (when - vehicle.appraisal_date).days,
        params,
    )
    return int(vehicle.appraisal_value_minor * age * km * condition)


# ------------------------------------------------------------- the true value on any day
# The generator reports the true value at the end of the year only. The functions below give
# it on any day by the same model: appraisal x age factor x mileage factor (the distance the
# feeds show, as at the end) x true condition, where the true condition is
# 1 - 0.45 x degradation severity - 0.08 x distress, both ramps as the generator draws them.
# `true_value_on(..., day=truth.end, ...)` equals `true_value_minor` (tested).


def degradation_severity(onset: date | None, end: date, day: date) -> float:
    """0 before the onset, rising linearly to 1 twenty days before the end of the year."""
    if onset is None or day <= onset:
        return 0.0
    return min((day - onset).days / max((end - onset).days - 20, 1), 1.0)


def distress_level(distress_start: date | None, day: date) -> float:
    """0 before the distress starts, rising linearly to 1 over 60 days."""
    if distress_start is None or day <= distress_start:
        return 0.0
    return min((day - distress_start).days / 60, 1.0)


def true_value_on(
    vehicle: VehicleRow,
    truth: VehicleTruth,
    *,
    end: date,
    day: date,
    odometer_km: int,
    params: ValuationParams,
) -> int:
    """The generator's market value of the vehicle on `day`, given the odometer reading of the
    feeds on that day (`end` is the end of the generated year, `FleetTruth.end`)."""
    condition = (
        1
        - 0.45 * degradation_severity(truth.degradation_onset, end, day)
        - 0.08 * distress_level(truth.distress_start, day)
    )
    return _true_value(vehicle, day, odometer_km, condition, params)
