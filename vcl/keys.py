"""Where this process's signing key comes from (see `Settings.key_source`)."""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.signers.local import LocalAccount

from vcl.config import DEV_PRIVATE_KEYS, KeySource, Mode, Settings
from vcl.errors import ConfigError
from vcl.secrets_policy import weak_private_key_reason, well_known_address_index


def load_account(settings: Settings) -> LocalAccount:
    """The account this process signs with; the key never leaves the process.

    In production mode the key is checked once it is in hand, whatever its source: a
    keystore can hold one of anvil's well-known keys as well as the environment can.
    """
    if settings.key_source is KeySource.DEV:
        account = _from_key(DEV_PRIVATE_KEYS[settings.dev_account_index])
    elif settings.key_source is KeySource.ENV:
        assert settings.private_key is not None  # checked by Settings
        account = _from_key(settings.private_key.get_secret_value())
    else:
        account = _from_keystore(settings)
    if settings.mode is Mode.PRODUCTION:
        _refuse_well_known(account, settings)
    return account


def _from_keystore(settings: Settings) -> LocalAccount:
    assert settings.keystore_path is not None
    assert settings.keystore_password is not None
    try:
        keystore = json.loads(settings.keystore_path.read_text())
        key = Account.decrypt(keystore, settings.keystore_password.get_secret_value())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot open keystore {settings.keystore_path}: {exc}") from exc
    return _from_key(key.hex())


def _refuse_well_known(account: LocalAccount, settings: Settings) -> None:
    source = f"the key of VCL_KEY_SOURCE={settings.key_source.value}"
    known = well_known_address_index(account.address, DEV_PRIVATE_KEYS)
    if known is not None:
        raise ConfigError(
            f"{source} is anvil's well-known development account #{known} ({account.address}): "
            "anyone can sign with it, production mode refuses it"
        )
    reason = weak_private_key_reason(bytes(account.key).hex(), DEV_PRIVATE_KEYS)
    if reason is not None:
        raise ConfigError(f"{source} {reason}: production mode refuses it")


def _from_key(key: str) -> LocalAccount:
    try:
        account: LocalAccount = Account.from_key(key)
    except (ValueError, TypeError) as exc:
        raise ConfigError("the private key is not a 32-byte hex string") from exc
    return account
