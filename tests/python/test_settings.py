import pytest

from vcl.chain import make_web3
from vcl.config import Mode, Settings
from vcl.errors import ChainUnavailable


def test_production_refuses_the_public_dev_keys() -> None:
    with pytest.raises(ValueError, match="publicly known keys"):
        Settings(mode=Mode.PRODUCTION)


def test_production_refuses_the_public_vin_secret() -> None:
    with pytest.raises(ValueError, match="VCL_VIN_SECRET"):
        Settings(mode=Mode.PRODUCTION, key_source="env", private_key="0x" + "11" * 32)


def test_production_refuses_the_public_document_key() -> None:
    with pytest.raises(ValueError, match="VCL_DOCUMENT_KEY"):
        Settings(
            mode=Mode.PRODUCTION,
            key_source="env",
            private_key="0x" + "11" * 32,
            vin_secret="a-real-consortium-secret",
        )


def test_document_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Settings(document_key="abcd")
    assert Settings(document_key="0x" + "ab" * 32).document_key_bytes == b"\xab" * 32


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
