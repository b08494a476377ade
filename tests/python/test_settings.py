"""Settings from the environment, and what production mode refuses (issue 15, attack 7): anvil's
well-known keys under every key source, placeholder and low-entropy secrets, development
founders."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from vcl.chain import make_web3
from vcl.config import DEV_PRIVATE_KEYS, Mode, Settings
from vcl.deploy import dev_founders
from vcl.errors import ChainUnavailable, ConfigError
from vcl.founders import founders_for
from vcl.keys import load_account
from vcl.localchain import REPO_ROOT

EXAMPLES = REPO_ROOT / "deploy/member"


def production(**update: Any) -> Settings:
    """A production configuration that is accepted, with `update` applied: a generated key,
    generated secrets."""
    values: dict[str, Any] = {
        "mode": Mode.PRODUCTION,
        "key_source": "env",
        "private_key": Account.create().key.hex(),
        "vin_secret": secrets.token_urlsafe(32),
        "database_url": f"postgresql+psycopg://vcl:{secrets.token_urlsafe(24)}@127.0.0.1/vcl",
    }
    return Settings(**{**values, **update})


def example_value(name: str) -> str:
    """The value `deploy/member/secrets.env.example` gives `name`."""
    text = (EXAMPLES / "secrets.env.example").read_text()
    found = re.search(rf"^{name}=(.*)$", text, re.M)
    assert found is not None, name
    return found.group(1)


def keystore(tmp_path: Path, key: str, password: str) -> Path:
    path = tmp_path / "keystore.json"
    path.write_text(json.dumps(Account.encrypt(key, password, kdf="pbkdf2", iterations=2)))
    return path


def test_production_refuses_the_public_dev_keys() -> None:
    with pytest.raises(ValueError, match="publicly known keys"):
        Settings(mode=Mode.PRODUCTION)


def test_production_refuses_the_public_vin_secret() -> None:
    with pytest.raises(ValueError, match="VCL_VIN_SECRET: the development VIN secret is public"):
        production(vin_secret="development-only-vin-secret")


def test_env_key_source_needs_a_key() -> None:
    with pytest.raises(ValueError, match="VCL_PRIVATE_KEY"):
        Settings(key_source="env")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VCL_RPC_URL", "http://10.0.0.5:8545")
    monkeypatch.setenv("VCL_CHAIN_ID", "2025")
    monkeypatch.setenv("VCL_PROOF_OF_AUTHORITY", "true")
    settings = Settings()
    assert (settings.rpc_url, settings.chain_id, settings.proof_of_authority) == (
        "http://10.0.0.5:8545",
        2025,
        True,
    )


def test_a_node_of_another_chain_is_refused(settings: Settings) -> None:
    with pytest.raises(ChainUnavailable, match="chain id 1337, settings say 2025"):
        make_web3(settings.model_copy(update={"chain_id": 2025}))


def test_nothing_listening_is_a_typed_error(settings: Settings) -> None:
    with pytest.raises(ChainUnavailable, match="no chain answers"):
        make_web3(settings.model_copy(update={"rpc_url": "http://127.0.0.1:9"}))


def test_proof_of_authority_middleware_reads_blocks(settings: Settings) -> None:
    w3 = make_web3(settings.model_copy(update={"proof_of_authority": True}))
    block = w3.eth.get_block("latest")
    assert block["number"] >= 0
    assert "proofOfAuthorityData" in block or len(block["extraData"]) <= 32


# --- production refuses well-known keys, placeholders and weak secrets (attack 7) -------------


def test_a_generated_production_configuration_is_accepted(tmp_path: Path) -> None:
    settings = production()
    assert load_account(settings).key.hex() == settings.private_key.get_secret_value()  # type: ignore[union-attr]
    password = secrets.token_urlsafe(24)
    key = Account.create().key
    stored = production(
        key_source="keystore",
        private_key=None,
        keystore_path=keystore(tmp_path, key.hex(), password),
        keystore_password=password,
    )
    assert load_account(stored).key == key


@pytest.mark.parametrize("index", range(len(DEV_PRIVATE_KEYS)))
def test_production_refuses_every_anvil_key_from_the_environment(index: int) -> None:
    key = DEV_PRIVATE_KEYS[index]
    for written in (key, key.removeprefix("0x"), key.upper(), "0X" + key[2:].upper(), f" {key}"):
        with pytest.raises(ValueError, match=f"well-known development key #{index}"):
            production(private_key=written)
    assert Settings(key_source="env", private_key=key).private_key is not None  # development


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("0x" + "00" * 32, "only 1 distinct bytes"),
        ("0x" + "11" * 32, "only 1 distinct bytes"),
        ("0x" + "0123456789abcdef" * 4, "only 8 distinct bytes"),
        ("0x" + bytes(range(1, 17)).hex() * 2, "only 16 distinct bytes"),
        ("CHANGE-ME", "not a 32-byte private key"),
        ("0x" + "ab" * 31, "not a 32-byte private key"),
    ],
)
def test_production_refuses_a_placeholder_or_patterned_private_key(key: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"VCL_PRIVATE_KEY .*{reason}"):
        production(private_key=key)


def test_production_refuses_a_keystore_holding_an_anvil_key(tmp_path: Path) -> None:
    """The keystore's content is only known once it is opened: the check is at load time."""
    password = secrets.token_urlsafe(24)
    path = keystore(tmp_path, DEV_PRIVATE_KEYS[4], password)
    settings = production(
        key_source="keystore", private_key=None, keystore_path=path, keystore_password=password
    )
    with pytest.raises(ConfigError, match="anvil's well-known development account #4"):
        load_account(settings)
    development = settings.model_copy(update={"mode": Mode.DEVELOPMENT})
    assert load_account(development).key.hex() == DEV_PRIVATE_KEYS[4].removeprefix("0x")
    weak = keystore(tmp_path, "0x" + "00" * 31 + "01", password)
    with pytest.raises(ConfigError, match=r"keystore .*distinct bytes"):
        load_account(settings.model_copy(update={"keystore_path": weak}))


@pytest.mark.parametrize("name", ["VCL_VIN_SECRET", "VCL_KEYSTORE_PASSWORD", "VCL_DATABASE_URL"])
def test_production_refuses_the_placeholders_of_the_secrets_example(name: str) -> None:
    value = example_value(name)
    field = name.removeprefix("VCL_").lower()
    update: dict[str, Any] = {field: value}
    if field == "keystore_password":
        update.update(key_source="keystore", private_key=None, keystore_path=Path("ks.json"))
    with pytest.raises(ValueError, match=f"{name}.* contains the placeholder 'changeme'"):
        production(**update)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("changeme", "placeholder 'changeme'"),
        ("Change_Me_to_something-very-long-and-random-1234", "placeholder 'changeme'"),
        ("<replace me with the consortium's shared secret>", "placeholder 'replaceme'"),
        ("PASSWORD", "placeholder word 'password'"),
        ("q8VhZ2pQxL0bR7tN3mKcW9yF4sJdA6u", "31 bytes long, at least 32"),  # random, 31 bytes
        ("a consortium secret", "19 bytes long"),
        ("abababababababababababababababababababab", "only 2 distinct characters"),
        ("0" * 64, "only 1 distinct characters"),
        ("0123456789abcdef" * 3, "repeats a shorter pattern"),
    ],
)
def test_production_refuses_a_placeholder_or_low_entropy_vin_secret(
    secret: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=f"VCL_VIN_SECRET .*{reason}"):
        production(vin_secret=secret)
    assert Settings(vin_secret=secret).vin_secret.get_secret_value() == secret  # development


def test_production_refuses_short_or_patterned_passwords() -> None:
    with pytest.raises(ValueError, match="VCL_KEYSTORE_PASSWORD is 2 bytes long"):
        production(
            key_source="keystore", private_key=None, keystore_path=Path("k"), keystore_password="pw"
        )
    with pytest.raises(ValueError, match="password of VCL_DATABASE_URL has only 3 distinct"):
        production(database_url="postgresql+psycopg://vcl:abcabcabcabcabcabcab@db/vcl")
    assert production(database_url="sqlite:///var/node.db").database_url.startswith("sqlite")


def test_a_refusal_never_shows_the_secret() -> None:
    secret = "short-but-secret"
    with pytest.raises(ValueError, match="16 bytes long") as caught:
        production(vin_secret=secret)
    assert secret not in str(caught.value)
    key = "0x" + "5a" * 32
    with pytest.raises(ValueError, match="distinct bytes") as caught:
        production(private_key=key)
    assert "5a5a" not in str(caught.value)


def _founders(tmp_path: Path, addresses: list[str]) -> Path:
    kinds = ["bank", "auditor", "oracle_operator", "document_issuer"]
    entries = [
        {"name": f"member-{i}", "kind": kinds[i % len(kinds)], "address": address}
        for i, address in enumerate(addresses)
    ]
    path = tmp_path / "founders.json"
    path.write_text(json.dumps(entries))
    return path


def test_production_refuses_founders_that_are_anvil_accounts(tmp_path: Path) -> None:
    real = [Account.create().address for _ in range(3)]
    anvil = dev_founders()[2].address  # anvil's account 3, the development auditor
    path = _founders(tmp_path, [*real, anvil])
    with pytest.raises(ConfigError, match=r"entry 3 .*anvil's well-known development account #3"):
        founders_for(production(founders_file=path))
    lowercase = _founders(tmp_path, [*real, anvil.lower()])
    with pytest.raises(ConfigError, match="account #3"):
        founders_for(production(founders_file=lowercase))
    assert len(founders_for(Settings(founders_file=path))) == 4  # development: allowed
    accepted = founders_for(production(founders_file=_founders(tmp_path, real)))
    assert [f.address for f in accepted] == real


def test_production_refuses_the_example_founders_file() -> None:
    example = EXAMPLES / "founders.example.json"
    with pytest.raises(
        ConfigError, match=r"entry 0 .*0x1111111111111111111111111111111111111111 is a placeholder"
    ):
        founders_for(production(founders_file=example))
