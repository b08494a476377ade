"""The rows of every feed, as validated pydantic models: the single definition of each format.

`docs/oracle-feeds.md` documents the same fields for the data providers. Amounts are integer
minor units (fen for CNY) with an ISO 4217 currency code; dates are ISO 8601 `YYYY-MM-DD`.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from vcl.vin import InvalidVin, normalize_vin

# OBD-II diagnostic trouble codes (SAE J2012): system letter, then four hex-like digits.
_DTC = re.compile(r"^[PCBU][0-3][0-9A-F]{3}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

NonNegativeInt = Annotated[int, Field(ge=0)]
Km = Annotated[int, Field(ge=0, le=3_000_000)]
Count = Annotated[int, Field(ge=0, le=100_000)]


class FeedKind(StrEnum):
    """The feeds, named as their files are (`<kind>.csv` or `<kind>.jsonl`)."""

    VEHICLES = "vehicles"
    TELEMETRY = "telemetry"
    MAINTENANCE = "maintenance"
    INSURANCE = "insurance"
    INSPECTIONS = "inspections"
    OUTCOMES = "outcomes"


class Powertrain(StrEnum):
    ICE = "ice"
    HYBRID = "hybrid"
    BEV = "bev"


class MaintenanceKind(StrEnum):
    SCHEDULED_SERVICE = "scheduled_service"
    REPAIR = "repair"
    TYRES = "tyres"
    BODYWORK = "bodywork"


class InsuranceEventKind(StrEnum):
    ACCIDENT = "accident"
    THEFT = "theft"
    GLASS = "glass"
    WEATHER = "weather"
    FIRE = "fire"
    OTHER = "other"


class InspectionResult(StrEnum):
    PASS = "pass"  # noqa: S105 - an inspection outcome, not a password
    FAIL = "fail"


class FeedRow(BaseModel):
    """Common rules: unknown fields are errors (a misspelt column must not vanish)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    vin: str

    @field_validator("vin")
    @classmethod
    def _valid_vin(cls, value: str) -> str:
        try:
            return normalize_vin(value)
        except InvalidVin as exc:  # re-raised as a validation error naming the field
            raise ValueError(str(exc)) from None


RowT = TypeVar("RowT", bound=FeedRow)


def trusted_row(kind: type[RowT], fields: dict[str, Any], fields_set: set[str]) -> RowT:
    """A row of `kind` holding `fields`, values that were validated before (when their text
    was checked, or when the feed store took them), without validating them again: what
    pydantic's `model_construct` sets when every field is given, at a quarter of its cost,
    for paths that build a row per vehicle or per line. `fields_set` is shared by the rows of
    a kind (a frozen row never changes it)."""
    row = _new(kind)
    _assign(row, "__dict__", fields)
    _assign(row, "__pydantic_fields_set__", fields_set)
    _assign(row, "__pydantic_extra__", None)
    _assign(row, "__pydantic_private__", None)
    return row


_new = object.__new__
_assign = object.__setattr__  # rows are frozen: their own __setattr__ refuses


def _currency(value: str) -> str:
    if not _CURRENCY.match(value):
        raise ValueError("an ISO 4217 code of three capital letters, such as CNY")
    return value


def _not_before(value: date, info: ValidationInfo, other: str) -> date:
    earlier = info.data.get(other)
    if isinstance(earlier, date) and value < earlier:
        raise ValueError(f"{value.isoformat()} is before {other} {earlier.isoformat()}")
    return value


class VehicleRow(FeedRow):
    """Master data: one row per vehicle, as appraised when the loan was originated."""

    make: Annotated[str, Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=64)]
    model_year: Annotated[int, Field(ge=1980, le=2100)]
    powertrain: Powertrain
    first_registration: date
    appraisal_date: date
    appraisal_value_minor: Annotated[int, Field(gt=0, lt=2**128)]
    currency: str
    appraisal_odometer_km: Km

    @field_validator("appraisal_date")
    @classmethod
    def _appraised_after_registration(cls, value: date, info: ValidationInfo) -> date:
        return _not_before(value, info, "first_registration")

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        return _currency(value)


class TelemetryRow(FeedRow):
    """One report of the vehicle's tracker/OBD dongle; counts are since the previous report."""

    recorded_on: date
    odometer_km: Km
    fault_codes: tuple[str, ...] = ()
    harsh_events: Count = 0
    gps_anomalies: Count = 0

    @field_validator("fault_codes", mode="before")
    @classmethod
    def _split_codes(cls, value: Any) -> Any:
        if isinstance(value, str):  # CSV: codes separated by ';' (or spaces)
            return tuple(code for code in re.split(r"[;\s]+", value) if code)
        return value

    @field_validator("fault_codes")
    @classmethod
    def _valid_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:  # most reports: no fault codes
            return value
        codes = tuple(code.strip().upper() for code in value)
        bad = [code for code in codes if not _DTC.match(code)]
        if bad:
            raise ValueError(f"not OBD-II trouble codes (like P0301): {', '.join(bad)}")
        return codes


class MaintenanceRow(FeedRow):
    """A service or repair invoice from a workshop."""

    service_date: date
    odometer_km: Km
    kind: MaintenanceKind
    cost_minor: NonNegativeInt
    currency: str
    workshop: Annotated[str, Field(min_length=1, max_length=128)]

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        return _currency(value)


class InsuranceRow(FeedRow):
    """An insurance claim; accidents are claims of kind `accident`."""

    event_date: date
    kind: InsuranceEventKind
    at_fault: bool
    claim_minor: NonNegativeInt
    currency: str
    insurer: Annotated[str, Field(min_length=1, max_length=128)]

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        return _currency(value)


class InspectionRow(FeedRow):
    """A periodic safety/emissions inspection at a licensed station."""

    inspection_date: date
    odometer_km: Km
    result: InspectionResult
    minor_defects: Count = 0
    major_defects: Count = 0
    station: Annotated[str, Field(min_length=1, max_length=128)]


class OutcomeRow(FeedRow):
    """Labelled history for calibration: did the loan default, and what did disposal fetch."""

    # The cross-field rules must also run when an optional key is simply absent (JSON Lines).
    model_config = ConfigDict(validate_default=True)

    defaulted: bool
    default_date: date | None = None
    disposal_date: date | None = None
    disposal_value_minor: NonNegativeInt | None = None
    currency: str

    @field_validator("default_date")
    @classmethod
    def _date_iff_defaulted(cls, value: date | None, info: ValidationInfo) -> date | None:
        defaulted = info.data.get("defaulted")
        if defaulted and value is None:
            raise ValueError("required when defaulted is true")
        if defaulted is False and value is not None:
            raise ValueError("must be empty when defaulted is false")
        return value

    @field_validator("disposal_date")
    @classmethod
    def _disposal_after_default(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None or "default_date" not in info.data:
            return value  # nothing to check, or default_date is invalid and already reported
        if info.data["default_date"] is None:
            raise ValueError("a disposal needs a default_date")
        return _not_before(value, info, "default_date")

    @field_validator("disposal_value_minor")
    @classmethod
    def _value_with_date(cls, value: int | None, info: ValidationInfo) -> int | None:
        if "disposal_date" not in info.data:
            return value  # disposal_date is itself invalid and already reported
        if (value is None) != (info.data["disposal_date"] is None):
            raise ValueError("disposal_date and disposal_value_minor go together")
        return value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        return _currency(value)


ROW_MODELS: dict[FeedKind, type[FeedRow]] = {
    FeedKind.VEHICLES: VehicleRow,
    FeedKind.TELEMETRY: TelemetryRow,
    FeedKind.MAINTENANCE: MaintenanceRow,
    FeedKind.INSURANCE: InsuranceRow,
    FeedKind.INSPECTIONS: InspectionRow,
    FeedKind.OUTCOMES: OutcomeRow,
}
# The day each dated feed's row is about: the order of a vehicle's history.
DATE_FIELDS: dict[FeedKind, str] = {
    FeedKind.TELEMETRY: "recorded_on",
    FeedKind.MAINTENANCE: "service_date",
    FeedKind.INSURANCE: "event_date",
    FeedKind.INSPECTIONS: "inspection_date",
}
