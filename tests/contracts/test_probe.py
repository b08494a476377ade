import brownie


def test_compiles_deploys_and_decodes_custom_errors(Probe, accounts):
    probe = Probe.deploy({"from": accounts[0]})
    tx = probe.set(12, {"from": accounts[0]})
    assert probe.value() == 12
    assert tx.gas_price == 0
    with brownie.reverts("ProbeTooSmall: 3, 10"):
        probe.set(3, {"from": accounts[0]})
