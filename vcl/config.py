"""The one place settings are read from the environment (prefix `VCL_`) or a `.env` file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vcl.errors import ConfigError
from vcl.secrets_policy import (
    GENERATE_HINT,
    MIN_PASSWORD_CHARS,
    MIN_VIN_SECRET_BYTES,
    weak_private_key_reason,
    weak_secret_reason,
)

# The first account of anvil's well-known test mnemonic: public knowledge, so it is
# accepted only in development mode.
DEV_PRIVATE_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)


DEV_VIN_SECRET = "development-only-vin-secret"  # noqa: S105 - refused in production


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class KeySource(StrEnum):
    DEV = "dev"  # anvil's well-known accounts, by index
    ENV = "env"  # VCL_PRIVATE_KEY
    KEYSTORE = "keystore"  # an encrypted JSON keystore file and its password


class Settings(BaseSettings):
    """Everything a process needs to talk to the chain, its database and its documents."""

    model_config = SettingsConfigDict(env_prefix="VCL_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = 1337
    # Besu QBFT and Clique put 97+ bytes of extra data in block headers.
    proof_of_authority: bool = False
    # Consortium networks run at gas price 0 (Besu `--min-gas-price=0`, anvil `--gas-price 0`).
    gas_price_wei: int = Field(default=0, ge=0)
    # Processes of this machine coordinate through lock files here: those sending with one
    # key share its nonces (vcl.nonces: a node's workers, a CLI given the same directory), a
    # node's workers elect the one that indexes. Unset: the process owns its key alone.
    lock_dir: Path | None = None
    receipt_timeout_s: float = Field(default=60.0, gt=0)

    key_source: KeySource = KeySource.DEV
    dev_account_index: int = Field(default=0, ge=0, lt=len(DEV_PRIVATE_KEYS))
    private_key: SecretStr | None = None
    keystore_path: Path | None = None
    keystore_password: SecretStr | None = None

    # Keys the VIN -> vehicle id HMAC (vcl.vin); one value across the consortium.
    vin_secret: SecretStr = SecretStr(DEV_VIN_SECRET)
    # Secrets the VIN secret was rotated to since the founding one (vcl.vin_secrets), JSON,
    # mode 0600; written by `vcl vin-secret rotate|import`.
    vin_secrets_file: Path | None = None

    # Founding members for a deployment (vcl.founders): required in production mode,
    # where the development founders (anvil's public accounts) are refused.
    founders_file: Path | None = None

    build_dir: Path = Path("build/contracts")
    # The local consortium's (`make run`, `vcl chain up`), so that `vcl` finds it by default.
    deployment_file: Path = Path("var/dev/deployments.json")
    database_url: str = "sqlite:///var/node.db"
    ipfs_url: str = "embedded"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.mode is Mode.PRODUCTION and self.key_source is KeySource.DEV:
            raise ValueError(
                "key_source 'dev' uses publicly known keys: set VCL_KEY_SOURCE to 'env' "
                "or 'keystore' in production mode"
            )
        production = self.mode is Mode.PRODUCTION
        if production and self.vin_secret.get_secret_value() == DEV_VIN_SECRET:
            raise ValueError("set VCL_VIN_SECRET: the development VIN secret is public")
        if production:
            self._refuse_weak_secrets()
        if self.key_source is KeySource.ENV and self.private_key is None:
            raise ValueError("key_source 'env' needs VCL_PRIVATE_KEY")
        if self.key_source is KeySource.KEYSTORE and (
            self.keystore_path is None or self.keystore_password is None
        ):
            raise ValueError(
                "key_source 'keystore' needs VCL_KEYSTORE_PATH and VCL_KEYSTORE_PASSWORD"
            )
        return self

    def _refuse_weak_secrets(self) -> None:
        """Production: no well-known key under any key source, no placeholder, no secret too
        short or too regular to be random (`vcl.secrets_policy`; a keystore's key is checked
        when it is opened, `vcl.keys`)."""
        if self.key_source is KeySource.ENV and self.private_key is not None:
            reason = weak_private_key_reason(self.private_key.get_secret_value(), DEV_PRIVATE_KEYS)
            if reason is not None:
                raise ValueError(f"VCL_PRIVATE_KEY {reason}")
        checks = [
            ("VCL_VIN_SECRET", self.vin_secret, MIN_VIN_SECRET_BYTES),
            ("VCL_KEYSTORE_PASSWORD", self.keystore_password, MIN_PASSWORD_CHARS),
        ]
        database_password = urlsplit(self.database_url).password
        if database_password is not None:
            password = SecretStr(database_password)
            checks.append(("the password of VCL_DATABASE_URL", password, MIN_PASSWORD_CHARS))
        for name, secret, min_length in checks:
            if secret is None:
                continue
            reason = weak_secret_reason(secret.get_secret_value(), min_length=min_length)
            if reason is not None:
                raise ValueError(f"{name} {reason}: generate one, e.g. {GENERATE_HINT}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once."""
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(str(exc)) from exc
