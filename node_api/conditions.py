"""What a score says: a report's per-vehicle entries decoded from its `submitReport`
calldata, and the 12 indicators explained with the weights of the model that scored them.

The contract keeps only the latest score; every accepted round emits `ReportAccepted`, and
the scores with their 12 signed indicator values travel in the calldata. The indexer decodes
each report once, when it indexes the round (`report_entries`), and the score projection
explains it (`node_api.projections.scores`): reading a history makes no chain call.

Contributions need the weights of the model that scored the round: the model files shipped
in `oracle/models/` are known by their version id; for any other version the raw indicator
values are returned, marked `model unknown`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from web3.contract import Contract
from web3.exceptions import Web3Exception

from oracle.errors import ModelError
from oracle.indicators import INDICATOR_NAMES
from oracle.model import MODELS_DIR, ScoreModel, load_model
from oracle.scoring import composite

MODEL_KNOWN = "known"
MODEL_UNKNOWN = "model unknown"


@dataclass(frozen=True)
class ReportedScore:
    score: int
    indicators: tuple[int, ...]
    estimated_value: int


@dataclass(frozen=True)
class DecodedReport:
    """One `submitReport` call: its round and every vehicle's entry by vehicle id (0x hex)."""

    round_id: int
    model_version: str
    observed_at: int
    scores: dict[str, ReportedScore]


def decode_report(oracle: Contract, calldata: bytes) -> DecodedReport | None:
    """The report of a `submitReport` input; None for any other call."""
    try:
        function, params = oracle.decode_function_input(calldata)
    except (ValueError, Web3Exception):
        return None
    if function.fn_name != "submitReport":
        return None
    report = params["report"]
    round_id, model_version, observed_at, entries = (
        (report["roundId"], report["modelVersion"], report["observedAt"], report["scores"])
        if isinstance(report, dict)
        else report
    )
    scores: dict[str, ReportedScore] = {}
    for entry in entries:
        vid, score, indicators, value = (
            (entry["vehicleId"], entry["score"], entry["indicators"], entry["estimatedValue"])
            if isinstance(entry, dict)
            else entry
        )
        scores["0x" + bytes(vid).hex()] = ReportedScore(
            int(score), tuple(int(v) for v in indicators), int(value)
        )
    return DecodedReport(int(round_id), "0x" + bytes(model_version).hex(), int(observed_at), scores)


@lru_cache(maxsize=1)
def known_models() -> dict[str, ScoreModel]:
    """The model files shipped with the node, by version id (0x hex)."""
    models: dict[str, ScoreModel] = {}
    for path in sorted(MODELS_DIR.glob("*.json")):
        try:
            model = load_model(path)
        except ModelError:
            continue  # a broken file explains nothing; the version shows as unknown
        models[model.version_hex] = model
    return models


def explain(model_version: str, values: Sequence[int]) -> tuple[str, list[dict[str, Any]]]:
    """The model's status and the indicators by name, with each one's weight and contribution
    to the score when the model that scored them is known (else weight and contribution None)."""
    model = known_models().get(model_version.lower())
    if model is None:
        return MODEL_UNKNOWN, [
            {"name": name, "value": value, "weight_bps": None, "contribution": None}
            for name, value in zip(INDICATOR_NAMES, values, strict=True)
        ]
    _, shares = composite(values, model.weights)
    return MODEL_KNOWN, [
        {"name": name, "value": value, "weight_bps": weight, "contribution": share}
        for name, value, weight, share in zip(
            INDICATOR_NAMES, values, model.weights, shares, strict=True
        )
    ]
