"""The runtime's deployment and sender (web3.py, not Brownie) on Brownie's chain.

Brownie decodes custom errors for its own calls; this checks that the core package does the
same for the transactions the product sends, with the same artifacts.
"""

import pytest
from conftest import key

from vcl.artifacts import load_artifact
from vcl.config import Settings
from vcl.deploy import deploy_system, dev_founders
from vcl.errors import TransactionReverted
from vcl.localchain import REPO_ROOT
from vcl.sender import sender_from_settings


def test_core_package_deploys_and_decodes_reverts(web3, tmp_path):
    settings = Settings(
        rpc_url=web3.provider.endpoint_uri,
        chain_id=web3.eth.chain_id,
        build_dir=REPO_ROOT / "build/contracts",
        deployment_file=tmp_path / "deployments.json",
    )
    addresses = deploy_system(sender_from_settings(settings), settings, dev_founders())
    assert all(len(web3.eth.get_code(address)) > 0 for address in addresses.values())

    auditor = sender_from_settings(settings.model_copy(update={"dev_account_index": 3}))
    registry = auditor.w3.eth.contract(
        address=addresses["VehicleRegistry"],
        abi=load_artifact(settings.build_dir, "VehicleRegistry").abi,
    )
    call = registry.functions.registerVehicle(key("vehicle:x"), key("owner:x"), 1000, 1)
    with pytest.raises(TransactionReverted) as caught:
        auditor.transact(call)
    assert caught.value.error_name == "ConsortiumUnauthorizedAccount"
    assert caught.value.args_decoded[0] == auditor.address
