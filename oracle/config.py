"""Settings of the oracle's transmission and command line (prefix `VCL_ORACLE_`).

Chain, key and VIN secret come from the core `vcl.config.Settings` (`VCL_`); only what is
the oracle's own lives here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oracle.model import DEFAULT_MODEL_PATH
from vcl.config import DEV_PRIVATE_KEYS
from vcl.errors import ConfigError

DevIndex = Annotated[int, Field(ge=0, lt=len(DEV_PRIVATE_KEYS))]


class OracleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VCL_ORACLE_", env_file=".env", extra="ignore")

    # The transmitter's write-ahead journal (SQLite).
    # Defaults: the local consortium's oracle (`make run`), so that `vcl oracle status` sees it.
    journal_path: Path = Path("var/dev/oracle/journal.sqlite")
    # The feed store: deliveries validated as they arrive (`vcl oracle ingest`, `--store`).
    feed_store_path: Path = Path("var/dev/oracle/feeds.sqlite")
    model_path: Path = DEFAULT_MODEL_PATH
    # Development only (core `VCL_KEY_SOURCE=dev`): anvil accounts of the oracle operators
    # (the four of `vcl.deploy.DEV_FOUNDERS`). The first transmits; in single-process mode
    # they all sign, and a report carries the quorum's first signatures.
    dev_operator_indexes: tuple[DevIndex, ...] = (4, 5, 6, 8)
    # Batches: at most this many vehicles, and at most `block_fill` of the block gas limit
    # (see `oracle.transmission.batch_size_for`; 250 first scores take about 8.7 M gas).
    max_batch_vehicles: int = Field(default=250, ge=1)
    block_fill: float = Field(default=0.5, gt=0, le=0.9)
    # How often the sender asks for a pending report's receipt (seconds): a local anvil
    # mines a report in tens of milliseconds; a QBFT node's 1-2 s blocks need no finer.
    receipt_poll_s: float = Field(default=0.01, gt=0, le=5)
    # Rounds sent and not yet confirmed at once (consecutive nonces of the one sender):
    # waiting for each receipt before the next send caps a push at one report per block.
    rounds_in_flight: int = Field(default=4, ge=1, le=64)
    # Retries of RPC failures: attempts in a row, backoff base and cap (seconds).
    rpc_attempts: int = Field(default=6, ge=1)
    rpc_backoff_s: float = Field(default=0.5, ge=0)
    rpc_backoff_max_s: float = Field(default=8.0, ge=0)

    @field_validator("dev_operator_indexes")
    @classmethod
    def _distinct(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError("dev operator indexes must be distinct and not empty")
        return value


@lru_cache(maxsize=1)
def get_oracle_settings() -> OracleSettings:
    try:
        return OracleSettings()
    except ValidationError as exc:
        raise ConfigError(f"oracle settings (VCL_ORACLE_*): {exc}") from exc
