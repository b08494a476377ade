"""Score model parameters, their canonical JSON, the version id, and model files.

The version id is keccak256 over the canonical JSON (sorted keys, no spaces, ASCII) of
`{"format": FORMAT, "parameters": ...}`. Every parameter is an integer, so the canonical form
is the same in any language. Metadata (where a model came from, calibration figures) is kept
in the file but outside the hash: it cannot change a score.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from oracle.errors import ModelError
from oracle.indicators import INDICATOR_NAMES, INDICATORS, indicator_bounds
from vcl.durable_files import write_atomically

FORMAT = "vcl-oracle-model/1"
TOTAL_WEIGHT = 10_000
MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL_PATH = MODELS_DIR / "default.json"

Bps = Annotated[int, Field(ge=0, le=10_000)]
Positive = Annotated[int, Field(gt=0)]


class _Params(BaseModel):
    # strict: a float such as 0.5 is refused, so every parameter stays an exact integer.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class IndicatorParams(_Params):
    """How one indicator's raw value maps to 0..10000 (linear from `worst` to `best`)."""

    name: str
    weight: Bps
    best: int
    worst: int


class ScoringParams(_Params):
    """Parameters of the raw indicator computations (see docs/oracle-model.md)."""

    window_days: Positive
    min_span_days: Positive
    min_distance_km: Positive
    service_interval_days: Positive
    service_interval_km: Positive
    odometer_tolerance_km: Annotated[int, Field(ge=0)]
    # OBD-II trouble code prefix -> severity points; the longest matching prefix wins.
    dtc_severity: dict[str, Annotated[int, Field(ge=0)]]
    dtc_default_severity: Annotated[int, Field(ge=0)]
    inspection_minor_defect_points: Annotated[int, Field(ge=0, le=100)]
    inspection_major_defect_points: Annotated[int, Field(ge=0, le=100)]
    inspection_fail_points: Annotated[int, Field(ge=0, le=100)]
    inspection_missing_points: Annotated[int, Field(ge=0, le=100)]


class ValuationParams(_Params):
    """Parameters of the valuation formula (see docs/oracle-model.md)."""

    # Depreciation per year of vehicle age, in bps; the last entry holds for all later years.
    age_rate_bps_by_year: Annotated[tuple[Bps, ...], Field(min_length=1)]
    mileage_rate_bps_per_10000km: Bps
    expected_km_per_year: Positive
    mileage_floor_bps: Bps
    condition_reference_score: Bps
    # Value lost per unit of score shortfall, in bps: 12000 = 1.2 points of value per point.
    condition_slope_bps: Annotated[int, Field(ge=0, le=50_000)]
    condition_floor_bps: Bps


class ModelParameters(_Params):
    """Everything that determines a score and a value: exactly what the version id covers."""

    indicators: tuple[IndicatorParams, ...]
    scoring: ScoringParams
    valuation: ValuationParams

    @field_validator("indicators")
    @classmethod
    def _twelve_in_order(cls, value: tuple[IndicatorParams, ...]) -> tuple[IndicatorParams, ...]:
        names = tuple(spec.name for spec in value)
        if names != INDICATOR_NAMES:
            raise ValueError(f"the indicators, in this order, are {', '.join(INDICATOR_NAMES)}")
        total = sum(spec.weight for spec in value)
        if total != TOTAL_WEIGHT:
            raise ValueError(f"weights sum to {total}, they must sum to {TOTAL_WEIGHT}")
        for spec, definition in zip(value, INDICATORS, strict=True):
            if (spec.best > spec.worst) != definition.higher_is_better or spec.best == spec.worst:
                way = "above" if definition.higher_is_better else "below"
                raise ValueError(f"{spec.name}: best must lie {way} worst")
        return value


class ScoreModel(BaseModel):
    """A model: its parameters (hashed into the version) and free-form metadata (not hashed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parameters: ModelParameters
    metadata: dict[str, Any] = Field(default_factory=dict)

    # Cached: the model is frozen, and scoring reads these for every vehicle of every push.
    @functools.cached_property
    def version(self) -> bytes:
        """The 32-byte version id that goes on-chain with every score."""
        return model_version(self.parameters)

    @property
    def version_hex(self) -> str:
        return "0x" + self.version.hex()

    @functools.cached_property
    def weights(self) -> tuple[int, ...]:
        return tuple(spec.weight for spec in self.parameters.indicators)

    @functools.cached_property
    def bounds(self) -> tuple[tuple[int, int], ...]:
        """Each indicator's (worst, best - worst), as normalisation takes them."""
        return indicator_bounds(self.parameters)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy computes its cached values afresh: `update` may change the parameters."""
        copied = super().model_copy(update=update, deep=deep)
        for name in ("version", "weights", "bounds"):
            copied.__dict__.pop(name, None)
        return copied

    @model_validator(mode="after")
    def _metadata_is_json(self) -> ScoreModel:
        try:
            json.dumps(self.metadata, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"metadata must be plain JSON ({exc})") from exc
        return self

    def with_parameters(self, parameters: ModelParameters, **metadata: Any) -> ScoreModel:
        """A new model (new version) derived from this one."""
        return ScoreModel(parameters=parameters, metadata={"parent": self.version_hex, **metadata})


def canonical_json(parameters: ModelParameters) -> bytes:
    """The bytes the version id hashes."""
    document = {"format": FORMAT, "parameters": parameters.model_dump(mode="json")}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def model_version(parameters: ModelParameters) -> bytes:
    return keccak(canonical_json(parameters))


def load_model(path: Path = DEFAULT_MODEL_PATH) -> ScoreModel:
    """Read a model file; a stored `version` that does not match the parameters is refused."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the model ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelError(f"{path}: not a model file of format {FORMAT}")
    try:
        parameters = ModelParameters.model_validate_json(json.dumps(document.get("parameters")))
        model = ScoreModel(parameters=parameters, metadata=document.get("metadata", {}))
    except ValidationError as exc:
        raise ModelError(f"{path}: invalid model parameters\n{exc}") from exc
    stored = document.get("version")
    if stored is not None and stored != model.version_hex:
        raise ModelError(
            f"{path}: stored version {stored} does not match its parameters"
            f" ({model.version_hex}); the file was edited"
        )
    return model


def model_document(model: ScoreModel) -> str:
    document = {
        "format": FORMAT,
        "version": model.version_hex,
        "parameters": model.parameters.model_dump(mode="json"),
        "metadata": model.metadata,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save_model(model: ScoreModel, target: Path = MODELS_DIR) -> Path:
    """Write the model atomically and return its path: to `target` itself when it names a
    `.json` file, else to `<target>/<version hex>.json` (a directory, made if missing)."""
    if target.suffix == ".json" and not target.is_dir():
        path = target
    else:
        path = target / f"{model.version_hex}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, model_document(model).encode(), prefix=f".{path.name}.")
    return path
