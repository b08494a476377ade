"""The one way to bind a deployed system contract: its proxy's address from the deployment
record, its ABI from the build."""

from __future__ import annotations

from web3 import Web3
from web3.contract import Contract

from vcl.artifacts import load_artifact
from vcl.config import Settings
from vcl.deployments import DeploymentRecord


def deployed_contract(w3: Web3, settings: Settings, name: str) -> Contract:
    """System contract `name` (Consortium, VehicleRegistry, ...) of this settings' chain."""
    address = DeploymentRecord(settings.deployment_file).address(settings.chain_id, name)
    return w3.eth.contract(address=address, abi=load_artifact(settings.build_dir, name).abi)
