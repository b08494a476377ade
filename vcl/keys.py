"""Where this process's signing key comes from (see `Settings.key_source`)."""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.signers.local import LocalAccount

from vcl.config import DEV_PRIVATE_KEYS, KeySource, Settings
from vcl.errors import ConfigError


def load_account(settings: Settings) -> LocalAccount:
    """The account this process signs with; the key never leaves the process."""
    if settings.key_source is KeySource.DEV:
        return _from_key(DEV_PRIVATE_KEYS[settings.dev_account_index])
    if settings.key_source is KeySource.ENV:
        assert settings.private_key is not None  # checked by Settings
        return _from_key(settings.private_key.get_secret_value())
    assert settings.keystore_path is not None
    assert settings.keystore_password is not None
    try:
        keystore = json.loads(settings.keystore_path.read_text())
        key = Account.decrypt(keystore, settings.keystore_password.get_secret_value())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot open keystore {settings.keystore_path}: {exc}") from exc
    return _from_key(key.hex())


def _from_key(key: str) -> LocalAccount:
    try:
        account: LocalAccount = Account.from_key(key)
    except (ValueError, TypeError) as exc:
        raise ConfigError("the private key is not a 32-byte hex string") from exc
    return account
