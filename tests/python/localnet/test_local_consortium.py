"""`make run` as a newcomer meets it: the same `vcl localnet up` command in a temporary
state directory on free ports, a smaller fleet, then the consortium's promises checked
over HTTP, and Ctrl-C (SIGINT) leaving no process behind."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from localnet.as_subprocess import children_of, start_localnet, wait_for
from vcl.deploy import dev_founders
from vcl.vin import CHECK_DIGIT_POSITION, check_digit

START_TIMEOUT_S = 150.0


def random_vin() -> str:
    draft = f"LSVAB2BM3R{random.randint(0, 9_999_999):07d}"
    digit = check_digit(draft)
    return draft[:CHECK_DIGIT_POSITION] + digit + draft[CHECK_DIGIT_POSITION + 1 :]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Consortium:
    process: subprocess.Popen[bytes]
    state_dir: Path
    document: dict[str, Any]

    def node(self, name: str) -> dict[str, Any]:
        return next(n for n in self.document["nodes"] if n["name"] == name)

    def client(self, name: str, key: str = "api_key") -> httpx.Client:
        node = self.node(name)
        headers = {"Authorization": f"Bearer {node[key]}"}
        return httpx.Client(base_url=node["url"], headers=headers, timeout=60.0)


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    state_dir = tmp_path_factory.mktemp("localnet")
    output = (state_dir / "launcher.out").open("wb")
    process = start_localnet(state_dir, output, vehicles=20, oracle_interval_s=1)
    try:
        consortium_file = state_dir / "consortium.json"

        def written() -> bool:
            assert process.poll() is None, (state_dir / "launcher.out").read_text()
            return consortium_file.exists()

        wait_for(written, START_TIMEOUT_S, "consortium.json")
        yield Consortium(process, state_dir, json.loads(consortium_file.read_text()))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        output.close()


def test_every_node_is_ready_and_listed(consortium: Consortium) -> None:
    document = consortium.document
    assert [n["name"] for n in document["nodes"]] == ["bank-a", "bank-b", "auditor", "issuer"]
    assert set(document["contracts"]) == {
        "Consortium",
        "VehicleRegistry",
        "ConditionOracle",
        "LoanManager",
    }
    assert document["chain"]["chain_id"] == 1337
    for node in document["nodes"]:
        ready = httpx.get(f"{node['url']}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert node["api_key"].startswith("vcl_")
    oracle_metrics = httpx.get(document["oracle"]["metrics_url"], timeout=10).text
    assert "vcl_oracle_rounds_total" in oracle_metrics


def registered_vehicle(consortium: Consortium) -> tuple[str, str]:
    vin = random_vin()
    body = {"vin": vin, "owner_ref": "owner-test", "appraisal_value": 9_000_000}
    with consortium.client("bank-a") as bank_a:
        created = bank_a.post("/v1/vehicles", json=body)
    assert created.status_code == 201, created.text
    return vin, created.json()["vehicle_id"]


def listed(consortium: Consortium, node: str, vehicle_id: str) -> bool:
    with consortium.client(node) as client:
        offset: int | None = 0
        while offset is not None:
            page = client.get("/v1/vehicles", params={"limit": 200, "offset": offset}).json()
            if any(item["vehicle_id"] == vehicle_id for item in page["items"]):
                return True
            offset = page["next_offset"]
    return False


def test_a_vehicle_registered_on_bank_a_is_indexed_by_bank_b_and_the_auditor(
    consortium: Consortium,
) -> None:
    _, vehicle_id = registered_vehicle(consortium)
    for node in ("bank-b", "auditor"):
        wait_for(lambda n=node: listed(consortium, n, vehicle_id), 30, f"{node} to index it")


def test_a_document_uploaded_by_the_issuer_verifies_on_bank_b(consortium: Consortium) -> None:
    vin, vehicle_id = registered_vehicle(consortium)
    with consortium.client("issuer") as issuer:
        uploaded = issuer.post(
            f"/v1/vehicles/{vin}/documents",
            data={"doc_type": "maintenance"},
            files={"file": ("service.txt", b"Oil and filters changed at 42,000 km", "text/plain")},
        )
    assert uploaded.status_code == 201, uploaded.text
    cid = uploaded.json()["cid"]
    # bank-b's own store never received the envelope: it fetches it from its peers.
    with consortium.client("bank-b") as bank_b:
        verification = bank_b.get(f"/v1/documents/{cid}/verification")
    assert verification.status_code == 200, verification.text
    [document] = verification.json()["documents"]
    assert document["vehicle_id"] == vehicle_id
    assert document["status"] == "verified", document


def test_value_alerts_reach_the_lending_bank_and_only_it_reviews(consortium: Consortium) -> None:
    progress = consortium.state_dir / "demo-progress.json"
    wait_for(
        lambda: progress.exists() and json.loads(progress.read_text()).get("complete"),
        90,
        "the demo data",
    )
    banks = {f.name: f.address for f in dev_founders() if f.name in ("bank-a", "bank-b")}

    def alerts_of(name: str) -> list[dict[str, Any]]:
        with consortium.client(name, "reviewer_api_key") as client:
            page = client.get("/v1/alerts", params={"bank": banks[name]})
        assert page.status_code == 200, page.text
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    lender, alert = wait_for(
        lambda: next(((n, a[0]) for n in banks if (a := alerts_of(n))), None), 60, "an alert"
    )
    with consortium.client(lender) as officer:
        loan = officer.get(f"/v1/loans/{alert['loan_id']}").json()
    assert loan["bank"] == alert["bank"] == banks[lender]
    assert alert["value"] * 10_000 < alert["appraisal"] * alert["threshold_bps"]

    other = next(name for name in banks if name != lender)
    review = {"decision": "confirmed_risk", "comment": "Inspection booked"}
    with consortium.client(other, "reviewer_api_key") as stranger:
        refused = stranger.post(f"/v1/alerts/{alert['alert_id']}/review", json=review)
    assert refused.status_code == 403, refused.text
    with consortium.client(lender, "reviewer_api_key") as reviewer:
        reviewed = reviewer.post(f"/v1/alerts/{alert['alert_id']}/review", json=review)
    assert reviewed.status_code == 200, reviewed.text


def test_the_demo_lends_on_another_banks_vehicle_with_its_consent(consortium: Consortium) -> None:
    progress = consortium.state_dir / "demo-progress.json"
    wait_for(
        lambda: progress.exists() and json.loads(progress.read_text()).get("complete"),
        90,
        "the demo data",
    )
    loans = json.loads(progress.read_text())["loans"]
    [loan_id] = [loan for key, loan in loans.items() if key.endswith("-consented")]
    with consortium.client("auditor") as auditor:
        loan = auditor.get(f"/v1/loans/{loan_id}").json()
        vehicle: dict[str, Any] | None = None
        offset: int | None = 0
        while vehicle is None and offset is not None:
            page = auditor.get("/v1/vehicles", params={"limit": 200, "offset": offset}).json()
            vehicle = next(
                (v for v in page["items"] if v["vehicle_id"] == loan["vehicle_id"]), None
            )
            offset = page["next_offset"]
    assert loan["state"] == "Active"
    assert vehicle is not None
    banks = {f.address for f in dev_founders() if f.name in ("bank-a", "bank-b")}
    assert {loan["bank"], vehicle["registered_by"]} == banks  # lender and registrar differ


def test_sigint_stops_every_process(consortium: Consortium) -> None:
    launcher = consortium.process
    children = children_of(launcher.pid)
    assert len(children) == 6  # anvil, four nodes, the oracle scheduler
    launcher.send_signal(signal.SIGINT)
    assert launcher.wait(timeout=90) == 0
    survivors = [pid for pid in children if group_alive(pid)]
    assert survivors == []
    anvil_state = consortium.state_dir / "anvil-state.json"
    assert anvil_state.exists()
    assert anvil_state.stat().st_size > 0


def test_no_log_holds_a_vin_or_a_borrower_reference(consortium: Consortium) -> None:
    """After the run: every process's log and the launcher's output, against the fleet."""
    fleet = (consortium.state_dir / "fleet/vehicles.csv").read_text().splitlines()
    vins = [line.split(",")[0] for line in fleet[1:]]
    logs = [*sorted((consortium.state_dir / "logs").glob("*.log"))]
    logs.append(consortium.state_dir / "launcher.out")
    assert len(logs) == 7
    for log in logs:
        text = log.read_text(errors="replace")
        assert not [vin for vin in vins if vin in text], log.name
        assert "borrower-" not in text, log.name
        assert "owner-" not in text, log.name


def test_sigint_while_starting_leaves_no_process(tmp_path: Path) -> None:
    launcher = start_localnet(tmp_path, subprocess.DEVNULL)
    try:
        # Interrupted with the chain up and the node processes still starting.
        children = wait_for(
            lambda: (found := children_of(launcher.pid)) and len(found) >= 3 and found, 60, "nodes"
        )
        assert not (tmp_path / "consortium.json").exists()
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=90) == 0
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert [pid for pid in children if group_alive(pid)] == []
