"""`brownie run scripts/deploy.py --network NAME`: deploy the consortium's contracts.

Thin on purpose: the work is `vcl.deploy`, which signs with the key of the settings
(`VCL_KEY_SOURCE`), not with Brownie's accounts, so the same code runs from `vcl deploy`.
Brownie supplies only the RPC URL: the node's chain id must match `VCL_CHAIN_ID` (the
chain the deployment record and every node API name), and the founders come from
`VCL_FOUNDERS_FILE` (required in production mode).
"""

from brownie import web3  # type: ignore[attr-defined]

from vcl.config import get_settings
from vcl.deploy import deploy_system
from vcl.founders import founders_for
from vcl.sender import sender_from_settings


def main() -> None:
    settings = get_settings().model_copy(update={"rpc_url": web3.provider.endpoint_uri})
    founders = founders_for(settings)
    for name, address in deploy_system(sender_from_settings(settings), settings, founders).items():
        print(f"{name:16} {address}")
