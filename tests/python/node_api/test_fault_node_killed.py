"""`kill -9` of a node API process while banks register vehicles with `Idempotency-Key`s.

The node is restarted on the same database; every client retries its requests with the
same keys until it gets a final answer. Each vehicle ends registered once, every answer
for a key is the one the chain shows, and the node's own records and indexed events
equal the chain's. A second test builds each state a kill can leave a request in, and
shows the retry finishing it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import (
    BANK_INDEX,
    BUILD_DIR,
    NodeProcess,
    deployed_consortium,
    random_vin,
    start_node,
    start_process,
    wait_for,
    wait_ready,
)
from eth_account import Account
from sqlalchemy import Engine, select

from node_api.api.idempotency import request_hash
from node_api.api.routes.vehicles import owner_commitment
from node_api.api.schemas import VehicleCreate
from node_api.api_keys import Role
from node_api.consistency import chain_events, stored_events
from node_api.db import make_engine, make_session_factory
from node_api.models import ApiKey, IdempotencyRecord, LocalVehicle
from vcl.artifacts import load_artifact
from vcl.chain import make_web3
from vcl.config import DEV_PRIVATE_KEYS, DEV_VIN_SECRET, KeySource, Settings
from vcl.deploy import SYSTEM_CONTRACTS
from vcl.deployments import DeploymentRecord
from vcl.localchain import LocalChain
from vcl.sender import sender_from_settings
from vcl.vin import normalize_vin, vehicle_id

BANK = Account.from_key(DEV_PRIVATE_KEYS[BANK_INDEX]).address
CLIENTS = 4
VEHICLES_PER_CLIENT = 6
KILL_AFTER_ANSWERS = 8  # of CLIENTS * VEHICLES_PER_CLIENT
CLIENT_DEADLINE_S = 90.0
# Answers that are not final: the node is down or restarting, or the key is still running.
RETRIED_STATUSES = {503}
RETRIED_ERRORS = {"IdempotencyKeyInProgress"}


@pytest.fixture
def deployment(anvil: LocalChain, tmp_path: Path) -> Path:
    """A consortium of the test's own: the chain's registrations are all this test's."""
    return deployed_consortium(anvil, tmp_path / "consortium")


@pytest.fixture
def engine_of() -> Iterator[Callable[[NodeProcess], Engine]]:
    engines: list[Engine] = []

    def make(node: NodeProcess) -> Engine:
        engines.append(make_engine(node.env["VCL_DATABASE_URL"]))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def node_database(database_url: str) -> str | None:
    """The node's database on each backend (None: SQLite in the node's directory)."""
    return None if database_url.startswith("sqlite") else database_url


@dataclass
class Bank:
    """A bank's client: its requests, each retried with its key until a final answer."""

    url: Callable[[], str]
    token: str
    bodies: dict[str, dict[str, Any]]  # by Idempotency-Key
    answers: dict[str, list[httpx.Response]] = field(default_factory=dict)
    outages_seen: int = 0
    finished: bool = False

    def run(self, answered: threading.Semaphore, stop: threading.Event) -> None:
        for key, body in self.bodies.items():
            answer = self._until_final(key, body, stop)
            if answer is None:
                return
            answered.release()
        self.finished = True

    def _until_final(
        self, key: str, body: dict[str, Any], stop: threading.Event
    ) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        while not stop.is_set():
            try:
                answer = httpx.post(
                    f"{self.url()}/v1/vehicles", json=body, headers=headers, timeout=30
                )
            except httpx.TransportError:
                self.outages_seen += 1  # the node is gone: the same request, same key, again
                stop.wait(0.1)
                continue
            self.answers.setdefault(key, []).append(answer)
            error = answer.json().get("error") if answer.status_code >= 400 else None
            if answer.status_code not in RETRIED_STATUSES and error not in RETRIED_ERRORS:
                return answer
            stop.wait(0.1)
        return None


def registrations(deployment: Path, rpc_url: str) -> dict[str, list[dict[str, Any]]]:
    """`VehicleRegistered` events of the deployment's registry, by vehicle id."""
    w3 = make_web3(Settings(rpc_url=rpc_url))
    address = DeploymentRecord(deployment).address(w3.eth.chain_id, "VehicleRegistry")
    registry = w3.eth.contract(address=address, abi=load_artifact(BUILD_DIR, "VehicleRegistry").abi)
    found: dict[str, list[dict[str, Any]]] = {}
    for event in registry.events.VehicleRegistered.get_logs(from_block=0):
        found.setdefault("0x" + bytes(event["args"]["vehicleId"]).hex(), []).append(
            {
                "bank": event["args"]["bank"],
                "owner_commitment": "0x" + bytes(event["args"]["ownerCommitment"]).hex(),
                "transaction_hash": "0x" + bytes(event["transactionHash"]).hex(),
            }
        )
    return found


def assert_database_equals_chain(engine: Engine, anvil: LocalChain, deployment: Path) -> None:
    w3 = make_web3(Settings(rpc_url=anvil.rpc_url))
    addresses = DeploymentRecord(deployment).addresses(w3.eth.chain_id)
    expected = chain_events(w3, [addresses[name] for name in SYSTEM_CONTRACTS], 0)
    assert wait_for(lambda: stored_events(engine) == expected, 20), (
        "the node's database does not hold exactly the chain's events"
    )


def local_vehicles(engine: Engine) -> dict[str, str]:
    """The node's own vehicle records: commitment by vehicle id."""
    with engine.connect() as connection:
        rows = connection.execute(select(LocalVehicle.vehicle_id, LocalVehicle.owner_commitment))
        return dict(rows.tuples().all())


def unfinished_claims(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(IdempotencyRecord).where(IdempotencyRecord.status_code.is_(None))
        return len(connection.execute(query).all())


def restart(node: NodeProcess, directory: Path) -> NodeProcess:
    """A new process of the same node: same settings, same database, same keys."""
    directory.mkdir(parents=True, exist_ok=True)
    url, process, log_path = start_process(node.env, directory)
    restarted = NodeProcess(url, process, node.env, log_path, node.keys)
    wait_ready(restarted)
    return restarted


def test_a_node_killed_during_writes_loses_and_duplicates_nothing(
    anvil: LocalChain,
    deployment: Path,
    node_database: str | None,
    tmp_path: Path,
    engine_of: Callable[[NodeProcess], Engine],
) -> None:
    node = start_node(anvil, deployment, tmp_path / "node", BANK_INDEX, node_database)
    current = {"node": node}
    vins = iter({random_vin() for _ in range(CLIENTS * VEHICLES_PER_CLIENT * 2)})
    banks = [
        Bank(
            url=lambda: current["node"].url,
            token=node.keys[Role.OFFICER],
            bodies={
                f"client-{c}-vehicle-{v}": {
                    "vin": next(vins),
                    "owner_ref": f"customer-{c}-{v}",
                    "appraisal_value": 1_000_000 + v,
                }
                for v in range(VEHICLES_PER_CLIENT)
            },
        )
        for c in range(CLIENTS)
    ]
    answered = threading.Semaphore(0)
    stop = threading.Event()
    threads = [threading.Thread(target=b.run, args=(answered, stop), daemon=True) for b in banks]
    try:
        for thread in threads:
            thread.start()
        for _ in range(KILL_AFTER_ANSWERS):
            assert answered.acquire(timeout=CLIENT_DEADLINE_S), node.log()[-3000:]
        node.process.kill()  # SIGKILL: no shutdown of any kind
        node.process.wait()
        current["node"] = restart(node, tmp_path / "restarted")
        for thread in threads:
            thread.join(timeout=CLIENT_DEADLINE_S)
        assert all(b.finished for b in banks), current["node"].log()[-3000:]
        assert sum(b.outages_seen for b in banks) > 0, "no client noticed the node being killed"

        on_chain = registrations(deployment, anvil.rpc_url)
        for bank in banks:
            for key, body in bank.bodies.items():
                final = bank.answers[key][-1]
                assert final.status_code == 201, (key, final.text)
                created = final.json()
                (registration,) = on_chain[created["vehicle_id"]]  # registered exactly once
                assert registration["bank"] == BANK
                # The retry answers as the first run would have: the chain's own transaction.
                assert created["transaction_hash"] == registration["transaction_hash"], key
                assert created["owner_commitment"] == registration["owner_commitment"], key
                assert created["vin"] == normalize_vin(body["vin"])
                earlier = [a.json() for a in bank.answers[key] if a.status_code == 201]
                assert all(answer == created for answer in earlier), key
        assert len(on_chain) == CLIENTS * VEHICLES_PER_CLIENT  # nothing registered twice
        # The node's own records: one per registration, with its commitment; none orphaned.
        engine = engine_of(node)
        assert local_vehicles(engine) == {
            vid: events[0]["owner_commitment"] for vid, events in on_chain.items()
        }
        assert unfinished_claims(engine) == 0
        assert_database_equals_chain(engine, anvil, deployment)
    finally:
        stop.set()
        current["node"].stop()


def test_a_retry_finishes_a_registration_wherever_a_kill_interrupted_it(
    anvil: LocalChain,
    deployment: Path,
    tmp_path: Path,
    engine_of: Callable[[NodeProcess], Engine],
) -> None:
    """The three states a killed process can leave a registration in, built by hand while
    the node is stopped: claimed only; local record written; transaction mined."""
    node = start_node(anvil, deployment, tmp_path / "node", BANK_INDEX)
    node.process.kill()
    node.process.wait()
    engine = engine_of(node)
    sessions = make_session_factory(engine)
    with sessions() as session:
        officer = session.scalars(select(ApiKey.id).where(ApiKey.role == Role.OFFICER.value)).one()
    settings = Settings(
        rpc_url=anvil.rpc_url,
        key_source=KeySource.DEV,
        build_dir=BUILD_DIR,
        deployment_file=deployment,
        dev_account_index=BANK_INDEX,
    )
    secret = DEV_VIN_SECRET.encode()  # the node runs with the development secret
    sender = sender_from_settings(settings)
    registry_address = DeploymentRecord(deployment).address(sender.chain_id, "VehicleRegistry")
    registry = sender.w3.eth.contract(
        address=registry_address, abi=load_artifact(BUILD_DIR, "VehicleRegistry").abi
    )
    bodies = {
        stage: {"vin": random_vin(), "owner_ref": f"customer-{stage}", "appraisal_value": 900_000}
        for stage in ("claimed", "recorded", "mined")
    }
    mined_tx = ""
    with sessions() as session:
        for stage, body in bodies.items():
            session.add(
                IdempotencyRecord(
                    api_key_id=officer,
                    idempotency_key=stage,
                    request_hash=request_hash(
                        "POST /v1/vehicles", VehicleCreate.model_validate(body).model_dump_json()
                    ),
                    status_code=None,
                    response=None,
                    created_at=datetime.now(UTC),
                    boot_id="a-process-that-was-killed",
                )
            )
            if stage == "claimed":
                continue
            vin = normalize_vin(body["vin"])
            vid = vehicle_id(vin, secret)
            salt = bytes([len(stage)]) * 32
            commitment = owner_commitment(salt, body["owner_ref"])
            session.add(
                LocalVehicle(
                    vehicle_id="0x" + vid.hex(),
                    vin=vin,
                    owner_ref=body["owner_ref"],
                    owner_salt="0x" + salt.hex(),
                    owner_commitment="0x" + commitment.hex(),
                    created_at=datetime.now(UTC),
                )
            )
            if stage == "mined":
                latest = sender.w3.eth.get_block("latest")["timestamp"]
                call = registry.functions.registerVehicle(vid, commitment, 900_000, latest)
                mined_tx = "0x" + bytes(sender.transact(call)["transactionHash"]).hex()
        session.commit()
    recorded_before = local_vehicles(engine)

    node = restart(node, tmp_path / "restarted")
    try:
        with node.client(Role.OFFICER) as client:
            answers = {
                stage: client.post("/v1/vehicles", json=body, headers={"Idempotency-Key": stage})
                for stage, body in bodies.items()
            }
            replays = {
                stage: client.post("/v1/vehicles", json=body, headers={"Idempotency-Key": stage})
                for stage, body in bodies.items()
            }
    finally:
        node.stop()

    on_chain = registrations(deployment, anvil.rpc_url)
    for stage, answer in answers.items():
        assert answer.status_code == 201, (stage, answer.text)
        created = answer.json()
        (registration,) = on_chain[created["vehicle_id"]]
        assert created["transaction_hash"] == registration["transaction_hash"], stage
        assert local_vehicles(engine)[created["vehicle_id"]] == registration["owner_commitment"]
        assert replays[stage].json() == created
        assert replays[stage].headers["Idempotent-Replayed"] == "true"
    assert answers["mined"].json()["transaction_hash"] == mined_tx  # not sent a second time
    for stage in ("recorded", "mined"):  # the commitment written before the crash is kept
        vid = answers[stage].json()["vehicle_id"]
        assert local_vehicles(engine)[vid] == recorded_before[vid]
    assert unfinished_claims(engine) == 0
