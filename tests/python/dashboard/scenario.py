"""A lending bank's node with a story to show: a vehicle scored over three rounds (the
first by a model this node does not know, the others by the shipped default model), a loan
on it that is active, and a value alert raised by the last round."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api_server import BUILD_DIR, NodeProcess, deployed_consortium, random_vin, register, wait_for
from eth_account import Account
from loan_flow import act, apply
from oracle_reports import BANKS, OPERATORS, SET_MODEL_APPROVAL, ZERO_ADDRESS, Chain

from node_api.api_keys import Role
from oracle.model import load_model
from oracle.scoring import composite
from vcl.config import DEV_PRIVATE_KEYS
from vcl.eip712 import Report, ReportEntry, report_message
from vcl.localchain import LocalChain

APPRAISAL = 2_500_000
# (model, indicators, value): healthy, worn, then below 70% of the appraisal.
ROUNDS = (
    ("unknown", (8000,) * 12, 2_400_000),
    (
        "default",
        (7000, 6500, 8000, 7200, 9000, 6000, 7500, 8800, 7000, 6400, 9100, 7300),
        2_100_000,
    ),
    (
        "default",
        (4000, 3500, 5200, 4800, 6000, 3000, 4500, 5800, 4100, 3900, 6100, 4200),
        1_600_000,
    ),
)
UNKNOWN_MODEL = bytes.fromhex("ab" * 32)


def deploy_with_models(anvil: LocalChain, directory: Path) -> Path:
    """The consortium with the default model and another version approved by both banks."""
    path = deployed_consortium(anvil, directory)
    chain = Chain(anvil, path, BUILD_DIR)
    consortium = chain.contracts["Consortium"]
    first, second = (chain.sender(index) for index in BANKS)
    for version in (load_model().version, UNKNOWN_MODEL):
        first.transact(
            consortium.functions.propose((SET_MODEL_APPROVAL, ZERO_ADDRESS, 0, version, 1))
        )
        proposal = consortium.functions.proposalCount().call()
        first.transact(consortium.functions.vote(proposal, True))
        second.transact(consortium.functions.vote(proposal, True))
        first.transact(consortium.functions.execute(proposal))
    return path


def submit(
    chain: Chain, vehicle_id: str, model: str, indicators: tuple[int, ...], value: int
) -> None:
    """A quorum-signed report of one vehicle; the score is the model's composite."""
    version = load_model().version if model == "default" else UNKNOWN_MODEL
    score = composite(indicators, load_model().weights)[0]
    oracle = chain.contracts["ConditionOracle"]
    w3 = chain.sender(OPERATORS[0]).w3
    now = int(w3.eth.get_block("latest")["timestamp"])
    report = Report(
        round_id=int(oracle.functions.latestRound().call()) + 1,
        model_version=version,
        observed_at=max(now, int(oracle.functions.latestObservedAt().call())),
        scores=(ReportEntry(bytes.fromhex(vehicle_id[2:]), score, indicators, value),),
    )
    message = report_message(report, int(w3.eth.chain_id), oracle.address)
    signatures = [
        bytes(Account.from_key(DEV_PRIVATE_KEYS[i]).sign_message(message).signature)
        for i in OPERATORS
    ]
    chain.sender(OPERATORS[0]).transact(oracle.functions.submitReport(report.as_abi(), signatures))


@dataclass(frozen=True)
class Story:
    vin: str
    vehicle_id: str
    loan_id: str
    alert_id: str
    document_cid: str


def tell(node: NodeProcess, chain: Chain, issuer: NodeProcess) -> Story:
    vin = random_vin()
    created = register(node, vin, appraisal_value=APPRAISAL)
    assert created.status_code == 201, created.text
    vehicle_id: str = created.json()["vehicle_id"]
    with issuer.client(Role.OFFICER) as client:
        document = client.post(
            f"/v1/vehicles/{vin}/documents",
            files={"file": ("report", b"inspection passed at 42 000 km", "text/plain")},
            data={"doc_type": "inspection"},
        )
    assert document.status_code == 201, document.text
    submit(chain, vehicle_id, *ROUNDS[0])
    applied = apply(node, vin)
    assert applied.status_code == 201, applied.text
    loan_id: str = applied.json()["loan_id"]
    for action in ("approve", "activate"):
        done = act(node, loan_id, action)
        assert done.status_code == 200, done.text
    for model, indicators, value in ROUNDS[1:]:
        submit(chain, vehicle_id, model, indicators, value)
    with node.client(Role.AUDITOR) as client:

        def open_alert() -> str | None:
            items = client.get("/v1/alerts", params={"status": "open"}).json()["items"]
            mine = [item for item in items if item["vehicle_id"] == vehicle_id]
            return mine[0]["alert_id"] if mine else None

        # The alert list reads the indexed events: wait for the indexer.
        alert_id = wait_for(open_alert)
        assert alert_id is not None, "the last round raised no alert"

        def indexed() -> bool:
            body = client.get(f"/v1/vehicles/{vin}/conditions").json()
            return len(body.get("points", [])) == len(ROUNDS)

        assert wait_for(indexed), "the indexer did not catch up with the rounds"
    return Story(vin, vehicle_id, loan_id, alert_id, document.json()["cid"])
