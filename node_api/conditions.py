"""A vehicle's condition-score history, read back from the oracle's report transactions.

The contract keeps only the latest score; every accepted round emits `ReportAccepted`, and
the scores with their 12 signed indicator values travel in the `submitReport` calldata.
The indexed `ReportAccepted` events name the transactions; each transaction's input is
fetched once and decoded with the contract's ABI. Decoded reports are cached by
(transaction hash, block hash): a transaction never changes, and a reorg that moves it
changes the block hash, so a stale entry is never served.

Contributions need the weights of the model that scored the round: the model files shipped
in `oracle/models/` are known by their version id; for any other version the raw indicator
values are returned, marked `model unknown`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3.contract import Contract
from web3.exceptions import Web3Exception

from node_api.models import ChainEvent
from oracle.errors import ModelError
from oracle.indicators import INDICATOR_NAMES
from oracle.model import MODELS_DIR, ScoreModel, load_model
from oracle.scoring import composite
from vcl.errors import ChainUnavailable

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


@dataclass(frozen=True)
class ScorePoint:
    """One round's score of one vehicle, where it was recorded."""

    round_id: int
    observed_at: int
    block_number: int
    block_time: int
    transaction_hash: str
    model_version: str
    reported: ReportedScore


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


class ConditionHistory:
    """Score histories from the indexed rounds, with the decoded reports cached in memory."""

    def __init__(self) -> None:
        self._reports: dict[tuple[str, str], DecodedReport | None] = {}
        self._lock = threading.Lock()

    def cached(self) -> int:
        return len(self._reports)

    def report(
        self, oracle: Contract, transaction_hash: str, block_hash: str
    ) -> DecodedReport | None:
        key = (transaction_hash.lower(), block_hash.lower())
        with self._lock:
            if key in self._reports:
                return self._reports[key]
        try:
            transaction = oracle.w3.eth.get_transaction(transaction_hash)  # type: ignore[arg-type]
        except (OSError, Web3Exception) as exc:
            raise ChainUnavailable(f"reading a report transaction failed: {exc}") from exc
        decoded = decode_report(oracle, bytes(transaction["input"]))
        with self._lock:
            self._reports[key] = decoded
        return decoded

    def points(
        self, session: Session, oracle: Contract, chain_id: int, vehicle_id: str
    ) -> list[ScorePoint]:
        """The vehicle's scores, oldest round first."""
        rows = session.execute(
            select(
                ChainEvent.transaction_hash,
                ChainEvent.block_hash,
                ChainEvent.block_number,
                ChainEvent.block_timestamp,
            )
            .where(
                ChainEvent.chain_id == chain_id,
                ChainEvent.contract_name == "ConditionOracle",
                ChainEvent.event_name == "ReportAccepted",
            )
            .order_by(ChainEvent.block_number, ChainEvent.log_index)
        ).tuples()
        points: list[ScorePoint] = []
        seen: set[str] = set()
        for tx_hash, block_hash, block_number, block_time in rows:
            if tx_hash in seen:
                continue
            seen.add(tx_hash)
            report = self.report(oracle, tx_hash, block_hash)
            entry = None if report is None else report.scores.get(vehicle_id.lower())
            if report is None or entry is None:
                continue
            points.append(
                ScorePoint(
                    round_id=report.round_id,
                    observed_at=report.observed_at,
                    block_number=block_number,
                    block_time=block_time,
                    transaction_hash=tx_hash,
                    model_version=report.model_version,
                    reported=entry,
                )
            )
        return points


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


def explained(point: ScorePoint) -> dict[str, Any]:
    """The 12 indicators of one score, with weights and contributions when the model is known."""
    status, indicators = explain(point.model_version, point.reported.indicators)
    return {"model_status": status, "indicators": indicators}


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
