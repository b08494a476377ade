"""`make screenshots`: a throw-away anvil, consortium and lending bank's node with the
dashboard tests' story (a scored, pledged and alerted vehicle, one alert already reviewed),
photographed by `node_api.dashboard.screenshots` into docs/screenshots/."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "node_api")]

from api_server import BANK_INDEX, BUILD_DIR, ISSUER_INDEX, start_node  # noqa: E402
from oracle_reports import Chain  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from scenario import deploy_with_models, tell  # noqa: E402

from node_api.api_keys import Role  # noqa: E402
from node_api.dashboard.browser import launch_chromium  # noqa: E402
from node_api.dashboard.screenshots import capture  # noqa: E402
from vcl.localchain import REPO_ROOT, LocalChain, LocalChainConfig, free_port  # noqa: E402


def main() -> None:
    out = REPO_ROOT / "docs" / "screenshots"
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalChain(LocalChainConfig(port=free_port())) as anvil,
    ):
        directory = Path(tmp)
        deployment = deploy_with_models(anvil, directory / "consortium")
        node = start_node(anvil, deployment, directory / "bank-node", BANK_INDEX)
        issuer = start_node(anvil, deployment, directory / "issuer-node", ISSUER_INDEX)
        try:
            chain = Chain(anvil, deployment, BUILD_DIR)
            reviewed = tell(node, chain, issuer)
            with node.client(Role.REVIEWER) as client:
                client.post(
                    f"/v1/alerts/{reviewed.alert_id}/review",
                    json={"decision": "escalated", "comment": "Escalated to the credit committee"},
                ).raise_for_status()
            story = tell(node, chain, issuer)  # a second vehicle whose alert is still open
            with sync_playwright() as driver:
                browser = launch_chromium(driver)
                try:
                    token = node.keys[Role.ADMIN]
                    for path in capture(
                        browser,
                        url=node.url,
                        token=token,
                        vin=story.vin,
                        loan=story.loan_id,
                        out=out,
                    ):
                        print(path.relative_to(REPO_ROOT))
                finally:
                    browser.close()
        finally:
            issuer.stop()
            node.stop()


if __name__ == "__main__":
    main()
