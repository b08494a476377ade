import brownie


def test_compiles_deploys_and_decodes_custom_errors(Probe, accounts):
    probe = Probe.deploy({"from": accounts[0]})
    tx = probe.set(12, {"from": accounts[0]})
    assert probe.value() == 12
    assert tx.gas_price == 0
    with brownie.reverts("ProbeTooSmall: 3, 10"):
        probe.set(3, {"from": accounts[0]})


def test_core_sender_on_brownies_chain(Probe, accounts, web3):
    """The runtime's sender (not Brownie's) deploys, transacts and decodes on the same chain."""
    import pytest

    from vcl.artifacts import load_artifact
    from vcl.config import Settings
    from vcl.errors import TransactionReverted
    from vcl.localchain import REPO_ROOT
    from vcl.sender import sender_from_settings

    settings = Settings(
        rpc_url=web3.provider.endpoint_uri,
        chain_id=web3.eth.chain_id,
        build_dir=REPO_ROOT / "build/contracts",
        dev_account_index=1,
    )
    sender = sender_from_settings(settings)
    assert sender.address == accounts[1].address
    artifact = load_artifact(settings.build_dir, "Probe")
    address, _ = sender.deploy(artifact)
    sender.transact(sender.w3.eth.contract(address=address, abi=artifact.abi).functions.set(77))
    assert Probe.at(address).value() == 77
    with pytest.raises(TransactionReverted) as caught:
        sender.transact(sender.w3.eth.contract(address=address, abi=artifact.abi).functions.set(1))
    assert (caught.value.error_name, caught.value.args_decoded) == ("ProbeTooSmall", (1, 10))
