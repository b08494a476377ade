"""`brownie run scripts/push_scores.py main FEEDS_OR_REPORTS --network NAME`: push scores.

Thin on purpose: the work is `oracle.operations`, the same code as `vcl oracle push`. It
signs with the keys of the settings (`VCL_KEY_SOURCE`; with development keys, the dev
operators of `VCL_ORACLE_DEV_OPERATOR_INDEXES`), not with Brownie's accounts, and journals
to `VCL_ORACLE_JOURNAL_PATH`, so a push interrupted here can be finished by either tool.
Without an argument it finishes the journal's unfinished rounds.
"""

from pathlib import Path

from brownie import web3  # type: ignore[attr-defined]

from oracle.config import get_oracle_settings
from oracle.model import load_model
from oracle.operations import OracleNode, PushSession, score_feeds
from oracle.report_files import is_report_location, report_files
from vcl.config import get_settings


def main(path: str | None = None) -> None:
    settings = get_settings().model_copy(
        update={"rpc_url": web3.provider.endpoint_uri, "chain_id": web3.eth.chain_id}
    )
    oracle_settings = get_oracle_settings()
    node = OracleNode.connect(settings, oracle_settings)
    with PushSession(node) as push:
        if path is not None and is_report_location(Path(path)):
            print(f"report files: {push.plan_files(report_files(Path(path))).outcome}")
        elif path is not None:
            scores = score_feeds(Path(path), load_model(oracle_settings.model_path))
            print(f"{len(scores)} vehicles scored: {push.plan_scores(scores).outcome}")
        summary = push.transmit()
    print(
        f"rounds {summary.rounds}: {summary.vehicles} vehicle scores, {summary.alerts} alerts, "
        f"{summary.transactions} transactions, {summary.gas_used:,} gas"
    )
