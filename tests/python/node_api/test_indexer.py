"""The indexer against a real anvil and the real contracts, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chain_activity import propose_and_vote, register_vehicle, register_vehicle_call, vehicle_id
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from web3 import HTTPProvider, Web3

from node_api.config import NodeSettings
from node_api.consistency import chain_events, stored_events
from node_api.db import make_engine, migrate
from node_api.indexer import Indexer
from node_api.indexer.chain_reader import ChainReader
from node_api.indexer.contracts import WatchedContracts
from node_api.indexer.errors import ChainReadFailed, ReorgTooDeep
from node_api.indexer.indexer import REINDEX_COMMAND
from node_api.indexer.store import IndexStore
from node_api.models import ChainEvent
from vcl.artifacts import load_artifact
from vcl.cli import dev_founders
from vcl.config import Settings
from vcl.deploy import SYSTEM_CONTRACTS, deploy_system
from vcl.sender import TransactionSender


@dataclass
class IndexedSystem:
    w3: Web3
    contracts: dict[str, Any]
    engine: Engine
    settings: Settings
    start_block: int
    make_indexer: Callable[..., Indexer]

    @property
    def addresses(self) -> list[Any]:
        return [c.address for c in self.contracts.values()]

    def chain_events(self) -> list[tuple[str, int, int, str]]:
        return chain_events(self.w3, self.addresses, self.start_block)

    def stored(self) -> list[tuple[str, int, int, str]]:
        return stored_events(self.engine)

    def rows(self, event_name: str | None = None) -> list[ChainEvent]:
        query = select(ChainEvent).order_by(ChainEvent.id)
        if event_name is not None:
            query = query.where(ChainEvent.event_name == event_name)
        with Session(self.engine) as session:
            return list(session.scalars(query))


@pytest.fixture
def system(
    database_url: str, settings: Settings, sender: TransactionSender
) -> Iterator[IndexedSystem]:
    """The contracts freshly deployed on the shared anvil, and a migrated empty database."""
    start_block = sender.w3.eth.block_number + 1
    addresses = deploy_system(sender, settings, dev_founders())
    contracts = {
        name: sender.w3.eth.contract(
            address=addresses[name], abi=load_artifact(settings.build_dir, name).abi
        )
        for name in SYSTEM_CONTRACTS
    }
    migrate(database_url)
    engine = make_engine(database_url)

    def make_indexer(**node_settings: Any) -> Indexer:
        node = NodeSettings(indexer_start_block=start_block, **node_settings)
        return Indexer.from_settings(settings, node, engine)

    yield IndexedSystem(sender.w3, contracts, engine, settings, start_block, make_indexer)
    engine.dispose()


def test_events_of_real_transactions_are_stored_once_with_exact_arguments(
    system: IndexedSystem, sender_for: Callable[[int], TransactionSender]
) -> None:
    bank_a, bank_b = sender_for(1), sender_for(2)
    vehicle = vehicle_id("a")
    appraisal = 2**100  # beyond every 64-bit integer column or JSON number
    register_vehicle(bank_a, system.contracts["VehicleRegistry"], vehicle, appraisal)
    proposal_id = propose_and_vote(bank_a, bank_b, system.contracts["Consortium"])
    indexer = system.make_indexer(indexer_batch_blocks=3)

    steps = indexer.catch_up()

    assert system.stored() == system.chain_events()
    assert sum(step.events_added for step in steps) == len(system.chain_events())
    names = {row.event_name for row in system.rows()}
    assert names >= {"MemberAdmitted", "ParameterChanged", "SystemContractsBound",
                     "VehicleRegistered", "ProposalCreated", "VoteCast"}  # fmt: skip
    assert len(system.rows("MemberAdmitted")) == len(dev_founders())
    [registered] = system.rows("VehicleRegistered")
    assert registered.contract_name == "VehicleRegistry"
    assert registered.vehicle_id == "0x" + vehicle.hex()
    assert registered.args["appraisalValue"] == str(appraisal)
    assert registered.args["bank"] == bank_a.address
    assert (
        registered.block_timestamp == system.w3.eth.get_block(registered.block_number)["timestamp"]
    )
    [vote] = system.rows("VoteCast")
    assert vote.args["proposalId"] == str(proposal_id)
    assert vote.args["support"] is True

    assert indexer.index_once().events_added == 0
    assert system.stored() == system.chain_events()


def test_replaying_indexed_blocks_changes_nothing(
    system: IndexedSystem, sender_for: Callable[[int], TransactionSender]
) -> None:
    bank_a = sender_for(1)
    for label in ("a", "b", "c"):
        register_vehicle(bank_a, system.contracts["VehicleRegistry"], vehicle_id(label), 10**6)
    indexer = system.make_indexer(indexer_batch_blocks=2)
    indexer.catch_up()
    with system.engine.connect() as connection:
        before = connection.execute(select(ChainEvent.__table__)).all()
    cursor = indexer.store.cursor()

    indexer.replay_from(system.start_block + 2)
    assert indexer.store.cursor() != cursor
    replayed = indexer.catch_up()

    assert sum(step.events_added for step in replayed) == 0
    assert indexer.store.cursor() == cursor
    with system.engine.connect() as connection:
        assert connection.execute(select(ChainEvent.__table__)).all() == before


def test_a_reorg_is_detected_rewound_and_indexed_again(
    system: IndexedSystem, sender_for: Callable[[int], TransactionSender]
) -> None:
    bank_a, bank_b = sender_for(1), sender_for(2)
    registry = system.contracts["VehicleRegistry"]
    orphaned = [vehicle_id("orphaned-1"), vehicle_id("orphaned-2")]
    for vehicle in orphaned:
        register_vehicle(bank_a, registry, vehicle, 10**6)
    indexer = system.make_indexer()
    indexer.catch_up()
    head = system.w3.eth.block_number

    # The last two blocks are replaced: bank B's registration instead of bank A's two.
    replacement = vehicle_id("replacement")
    reorg(system.w3, 2, bank_b.address, register_vehicle_call(registry, replacement))
    assert system.w3.eth.block_number == head

    assert indexer.index_once().rewound_to == head - 2
    indexer.catch_up()

    assert system.stored() == system.chain_events()
    assert stored_vehicles(system) == {replacement}
    assert indexer.metrics.reorgs_total == 1

    # Seen through a new block whose parent is not the indexed block.
    other, later = vehicle_id("other"), vehicle_id("later")
    reorg(system.w3, 1, bank_b.address, register_vehicle_call(registry, other))
    register_vehicle(bank_b, registry, later, 10**6)
    assert system.w3.eth.block_number == head + 1

    assert indexer.index_once().rewound_to == head - 1
    indexer.catch_up()

    assert system.stored() == system.chain_events()
    assert stored_vehicles(system) == {replacement, other, later}
    assert indexer.metrics.reorgs_total == 2


def reorg(w3: Web3, depth: int, sender: str, call: Any) -> None:
    """anvil replaces the last `depth` blocks by as many new ones, the first holding `call`."""
    tx = {
        "from": sender,
        "to": call.address,
        "data": call._encode_transaction_data(),
        "gas": 300_000,
        "gasPrice": 0,
    }
    answer = w3.provider.make_request("anvil_reorg", [depth, [[tx, 0]]])  # type: ignore[arg-type]
    assert "error" not in answer, answer


def stored_vehicles(system: IndexedSystem) -> set[bytes]:
    return {bytes.fromhex(row.vehicle_id[2:]) for row in system.rows("VehicleRegistered")}  # type: ignore[index]


def test_confirmation_depth_and_lag(
    system: IndexedSystem, sender_for: Callable[[int], TransactionSender]
) -> None:
    indexer = system.make_indexer(indexer_confirmations=2, indexer_batch_blocks=2)
    head = system.w3.eth.block_number
    assert indexer.lag_blocks is None  # nothing read yet
    assert indexer.measure_lag() == head - system.start_block + 1

    indexer.catch_up()
    assert indexer.lag_blocks == 2
    assert indexer.store.cursor() is not None
    assert indexer.store.cursor().number == head - 2  # type: ignore[union-attr]

    bank_a = sender_for(1)
    register_vehicle(bank_a, system.contracts["VehicleRegistry"], vehicle_id("lag"), 10**6)
    assert indexer.measure_lag() == 3
    assert system.rows("VehicleRegistered") == []  # not yet confirmed

    for _ in range(2):
        system.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    indexer.catch_up()
    assert len(system.rows("VehicleRegistered")) == 1
    assert indexer.lag_blocks == 2


def test_run_forever_follows_the_chain_until_stopped(
    system: IndexedSystem, sender_for: Callable[[int], TransactionSender]
) -> None:
    indexer = system.make_indexer(indexer_poll_interval_s=0.05)
    stop = threading.Event()
    loop = threading.Thread(target=indexer.run_forever, args=(stop,))
    loop.start()
    try:
        register_vehicle(sender_for(1), system.contracts["VehicleRegistry"], vehicle_id("f"), 1)
        deadline = time.monotonic() + 10
        while system.stored() != system.chain_events() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive()
    assert system.stored() == system.chain_events()
    assert len(system.rows("VehicleRegistered")) == 1
    assert indexer.metrics.lag_blocks == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_chain_outage_is_a_typed_error_and_the_loop_retries(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    w3 = Web3(HTTPProvider(f"http://127.0.0.1:{_closed_port()}", request_kwargs={"timeout": 1}))
    indexer = Indexer(
        ChainReader(w3),
        WatchedContracts(w3, {}, {}),
        IndexStore(engine, 1337),
        NodeSettings(indexer_poll_interval_s=0.05),
    )
    with pytest.raises(ChainReadFailed, match="reading the chain head failed"):
        indexer.index_once()

    stop = threading.Event()
    loop = threading.Thread(target=indexer.run_forever, args=(stop,))
    loop.start()
    time.sleep(0.3)
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive()
    assert indexer.metrics.read_errors_total >= 2
    assert indexer.metrics.last_error is not None
    assert indexer.store.cursor() is None
    engine.dispose()


def test_a_reorg_deeper_than_the_recorded_hashes_stops_and_names_the_command(
    system: IndexedSystem, sender_for: Callable[[int], TransactionSender]
) -> None:
    bank_a = sender_for(1)
    registry = system.contracts["VehicleRegistry"]
    for label in ("a", "b", "c"):
        register_vehicle(bank_a, registry, vehicle_id(label), 10**6)
    indexer = system.make_indexer(indexer_batch_blocks=1, indexer_reorg_window=1)
    indexer.catch_up()
    before = system.stored()

    reorg(system.w3, 4, sender_for(2).address, register_vehicle_call(registry, vehicle_id("d")))
    with pytest.raises(ReorgTooDeep, match=f"`{REINDEX_COMMAND}`"):
        indexer.index_once()
    assert system.stored() == before  # nothing was half rewound

    indexer.store.reset()
    indexer.catch_up()
    assert system.stored() == system.chain_events()
