"""The read models against a real anvil and the real contracts, on SQLite and PostgreSQL:
what a loan's life leaves in them, a reorg that takes an approval away, a rebuild from the
stored events alone, and an indexer killed with SIGKILL while it indexes."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chain_activity import register_vehicle, register_vehicle_call, vehicle_id
from oracle_reports import MODEL_VERSION, Chain
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session
from test_indexer import reorg
from test_indexer_crash import start_indexer, wait_for_cursor
from web3.exceptions import ContractLogicError

from node_api.config import NodeSettings
from node_api.consistency import chain_events, projections_match_rebuild, stored_events
from node_api.db import make_engine, migrate
from node_api.indexer import Indexer
from node_api.indexer.store import IndexStore
from node_api.models import (
    IndexedTimestamp,
    ProjectedAlert,
    ProjectedLien,
    ProjectedLoan,
    ProjectedLoanState,
    ProjectedMember,
    ProjectedParameter,
    ProjectedProposal,
    ProjectedScore,
    ProjectedVehicle,
)
from node_api.projections import projection_snapshot
from node_api.projections.projector import TABLES
from vcl.artifacts import load_artifact
from vcl.cli import dev_founders
from vcl.config import Settings
from vcl.deploy import SYSTEM_CONTRACTS, deploy_system
from vcl.errors import TransactionReverted
from vcl.localchain import REPO_ROOT, LocalChain
from vcl.sender import TransactionSender

APPRAISAL = 2_500_000
DAY = 86_400
NO_CONSENT = (0, bytes(32), b"")


@dataclass
class Consortium:
    w3: Any
    contracts: dict[str, Any]
    chain: Chain
    engine: Engine
    settings: Settings
    database_url: str
    start_block: int
    bank: TransactionSender
    other_bank: TransactionSender
    make_indexer: Callable[..., Indexer]

    def scored_vehicle(self, label: str, value: int = 2_400_000) -> bytes:
        vehicle = vehicle_id(label)
        register_vehicle(self.bank, self.contracts["VehicleRegistry"], vehicle, APPRAISAL)
        self.chain.report("0x" + vehicle.hex(), score=8000, value=value)
        return vehicle

    def apply(self, vehicle: bytes, principal: int = 1_000_000) -> int:
        loans = self.contracts["LoanManager"]
        self.bank.transact(
            loans.functions.applyForLoan(
                vehicle, b"\x01" * 32, principal, 600, 360 * DAY, 30 * DAY, NO_CONSENT
            )
        )
        loan_id: int = loans.functions.loanCount().call()
        return loan_id

    def act(self, function: str, *args: Any) -> None:
        self.bank.transact(getattr(self.contracts["LoanManager"].functions, function)(*args))

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return projection_snapshot(self.engine, self.settings.chain_id)

    def rebuilt(self) -> dict[str, list[tuple[Any, ...]]]:
        IndexStore(self.engine, self.settings.chain_id).rebuild_projections()
        return self.snapshot()

    def one(self, model: type[Any], **key: Any) -> Any:
        with Session(self.engine) as session:
            return session.scalars(select(model).filter_by(**key)).one()

    def all(self, model: type[Any], order_by: Any = None, **key: Any) -> list[Any]:
        query = select(model).filter_by(**key)
        if order_by is not None:
            query = query.order_by(*order_by)
        with Session(self.engine) as session:
            return list(session.scalars(query))


@pytest.fixture
def consortium(
    anvil: LocalChain,
    database_url: str,
    settings: Settings,
    sender: TransactionSender,
    sender_for: Callable[[int], TransactionSender],
) -> Iterator[Consortium]:
    """The contracts freshly deployed with a score model approved, and an empty database."""
    start_block = sender.w3.eth.block_number + 1
    addresses = deploy_system(sender, settings, dev_founders())
    contracts = {
        name: sender.w3.eth.contract(
            address=addresses[name], abi=load_artifact(settings.build_dir, name).abi
        )
        for name in SYSTEM_CONTRACTS
    }
    chain = Chain(anvil, settings.deployment_file, settings.build_dir)
    chain.approve_model()
    migrate(database_url)
    engine = make_engine(database_url)

    def make_indexer(**node_settings: Any) -> Indexer:
        node = NodeSettings(indexer_start_block=start_block, **node_settings)
        return Indexer.from_settings(settings, node, engine)

    yield Consortium(
        sender.w3,
        contracts,
        chain,
        engine,
        settings,
        database_url,
        start_block,
        sender_for(1),
        sender_for(2),
        make_indexer,
    )
    engine.dispose()


def test_a_loans_life_is_in_the_read_models_and_a_rebuild_agrees(
    consortium: Consortium,
) -> None:
    c = consortium
    indexer = c.make_indexer(indexer_batch_blocks=4)
    vehicle = c.scored_vehicle("healthy")
    vid = "0x" + vehicle.hex()
    loan_id = c.apply(vehicle)
    indexer.catch_up()  # part of the life indexed in one step, the rest in later ones
    c.act("approve", loan_id)
    c.act("activate", loan_id)
    c.act("recordRepayment", loan_id, 100_000)
    c.chain.report(vid, score=4000, value=1_500_000)  # 60% of the appraisal: an alert
    indexer.catch_up()

    registered = c.one(ProjectedVehicle, vehicle_id=vid)
    assert registered.registered_by == c.bank.address
    assert registered.appraisal_value == str(APPRAISAL)
    assert (registered.lien_loan_id, registered.lien_bank) == (str(loan_id), c.bank.address)
    assert c.one(ProjectedLien, loan_id=str(loan_id)).released_at is None

    loan = c.one(ProjectedLoan, loan_id=str(loan_id))
    assert (loan.state, loan.repaid, loan.principal) == ("Active", "100000", "1000000")
    assert loan.baseline_score == 8000  # the score in force when it was approved
    assert loan.approved_at is not None
    assert loan.activated_at is not None
    states = c.all(
        ProjectedLoanState,
        order_by=(ProjectedLoanState.block_number, ProjectedLoanState.log_index),
        loan_id=str(loan_id),
    )
    assert [(s.from_state, s.to_state) for s in states] == [
        ("None", "Applied"),
        ("Applied", "Approved"),
        ("Approved", "Active"),
    ]

    points = c.all(ProjectedScore, order_by=(ProjectedScore.block_number,), vehicle_id=vid)
    assert [(p.score, p.estimated_value) for p in points] == [(8000, "2400000"), (4000, "1500000")]
    assert all(p.threshold_bps == 7000 and p.appraisal == str(APPRAISAL) for p in points)
    assert points[0].model_version == "0x" + bytes(MODEL_VERSION).hex()
    assert [i["value"] for i in points[0].indicators] == [5000] * 12
    assert len({i["name"] for i in points[0].indicators}) == 12

    [alert] = c.all(ProjectedAlert, vehicle_id=vid)
    assert (alert.status, alert.loan_id, alert.threshold_bps) == ("open", str(loan_id), 7000)
    assert alert.review_decision is None

    members = {m.account: m for m in c.all(ProjectedMember)}
    assert len(members) == len(dev_founders())
    assert (members[c.bank.address].kind, members[c.bank.address].status) == ("Bank", "Active")
    [proposal] = c.all(ProjectedProposal)  # the model's approval
    assert proposal.action_type == "SetModelApproval"
    assert (proposal.yes_votes, proposal.executed_at is not None) == (2, True)
    assert len(proposal.votes) == 2
    threshold = [p for p in c.all(ProjectedParameter) if p.name == "ALERT_THRESHOLD_BPS"]
    assert [p.value for p in threshold] == ["7000"]

    built = c.snapshot()
    assert c.rebuilt() == built


def test_a_reorg_that_takes_the_approval_away_takes_it_from_the_read_models(
    consortium: Consortium,
) -> None:
    c = consortium
    vehicle = c.scored_vehicle("reorged")
    loan_id = c.apply(vehicle)
    c.act("approve", loan_id)
    indexer = c.make_indexer()
    indexer.catch_up()
    assert c.one(ProjectedLoan, loan_id=str(loan_id)).state == "Approved"
    assert c.one(ProjectedVehicle, vehicle_id="0x" + vehicle.hex()).lien_loan_id == str(loan_id)

    # The approval's block is replaced by one with another bank's registration.
    replacement = vehicle_id("replacement")
    registry = c.contracts["VehicleRegistry"]
    reorg(c.w3, 1, c.other_bank.address, register_vehicle_call(registry, replacement))
    assert indexer.index_once().rewound_to is not None
    indexer.catch_up()

    loan = c.one(ProjectedLoan, loan_id=str(loan_id))
    assert (loan.state, loan.approved_at, loan.baseline_score) == ("Applied", None, 0)
    states = c.all(ProjectedLoanState, loan_id=str(loan_id))
    assert [s.to_state for s in states] == ["Applied"]
    assert c.one(ProjectedVehicle, vehicle_id="0x" + vehicle.hex()).lien_loan_id is None
    assert c.all(ProjectedLien, loan_id=str(loan_id)) == []
    assert c.one(ProjectedVehicle, vehicle_id="0x" + replacement.hex()).registered_by == (
        c.other_bank.address
    )

    built = c.snapshot()
    assert c.rebuilt() == built


def test_a_reorg_that_takes_a_report_away_takes_its_scores_and_alert(
    consortium: Consortium,
) -> None:
    c = consortium
    vehicle = c.scored_vehicle("falling")
    vid = "0x" + vehicle.hex()
    loan_id = c.apply(vehicle)
    c.act("approve", loan_id)
    c.chain.report(vid, score=3000, value=1_000_000)
    indexer = c.make_indexer()
    indexer.catch_up()
    assert len(c.all(ProjectedScore, vehicle_id=vid)) == 2
    assert len(c.all(ProjectedAlert, vehicle_id=vid)) == 1

    registry = c.contracts["VehicleRegistry"]
    reorg(c.w3, 1, c.other_bank.address, register_vehicle_call(registry, vehicle_id("other")))
    indexer.catch_up()

    assert [p.score for p in c.all(ProjectedScore, vehicle_id=vid)] == [8000]
    assert c.all(ProjectedAlert, vehicle_id=vid) == []
    built = c.snapshot()
    assert c.rebuilt() == built


def test_killed_while_indexing_the_projections_equal_a_rebuild(consortium: Consortium) -> None:
    c = consortium
    for n in range(6):
        vehicle = c.scored_vehicle(f"killed-{n}")
        loan_id = c.apply(vehicle)
        c.act("approve", loan_id)
        if n % 2:
            c.act("activate", loan_id)
    head = c.w3.eth.block_number
    store = IndexStore(c.engine, c.settings.chain_id)
    for target in (c.start_block + 8, c.start_block + 20):
        process = start_indexer(c.settings, c.database_url, c.start_block)
        try:
            wait_for_cursor(store, target, process)
            time.sleep(0.005)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
    process = start_indexer(c.settings, c.database_url, c.start_block)
    try:
        wait_for_cursor(store, head, process)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0

    built = c.snapshot()
    assert len(built["proj_loans"]) == 6
    assert len(built["proj_scores"]) == 6
    assert projections_match_rebuild(c.engine, c.settings.chain_id)
    assert c.snapshot() == built  # the check changed nothing
    assert c.rebuilt() == built


def test_the_rebuild_command_restores_damaged_projections(consortium: Consortium) -> None:
    c = consortium
    vehicle = c.scored_vehicle("damaged")
    loan_id = c.apply(vehicle)
    c.act("approve", loan_id)
    c.make_indexer().catch_up()
    built = c.snapshot()
    with Session(c.engine) as session, session.begin():
        session.execute(delete(ProjectedLoanState))
        session.execute(update(ProjectedLoan).values(state="Closed"))
    assert not projections_match_rebuild(c.engine, c.settings.chain_id)

    env = {
        **os.environ,
        "VCL_RPC_URL": c.settings.rpc_url,
        "VCL_CHAIN_ID": str(c.settings.chain_id),
        "VCL_DATABASE_URL": c.database_url,
    }
    done = subprocess.run(
        [str(REPO_ROOT / ".venv/bin/vcl"), "node", "rebuild-projections"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"indexed to block {c.w3.eth.block_number}" in done.stdout
    assert c.snapshot() == built
    assert projections_match_rebuild(c.engine, c.settings.chain_id)


def test_a_database_indexed_before_the_projections_gets_them_at_the_next_step(
    consortium: Consortium,
) -> None:
    c = consortium
    vehicle = c.scored_vehicle("older")
    c.act("approve", c.apply(vehicle))
    indexer = c.make_indexer()
    indexer.catch_up()
    built = c.snapshot()
    # What migration 0008 finds in a database indexed by an older node: events and a
    # cursor, no projections and no indexed time.
    with Session(c.engine) as session, session.begin():
        for table in (*TABLES, IndexedTimestamp):
            session.execute(delete(table))
    assert all(rows == [] for rows in c.snapshot().values())

    register_vehicle(c.bank, c.contracts["VehicleRegistry"], vehicle_id("newer"), APPRAISAL)
    indexer.catch_up()

    after = c.snapshot()
    assert len(after["proj_vehicles"]) == len(built["proj_vehicles"]) + 1
    assert after["proj_loans"] == built["proj_loans"]
    assert projections_match_rebuild(c.engine, c.settings.chain_id)


ROUNDS = 4


def test_random_lives_and_reorgs_leave_the_projections_equal_to_a_rebuild(
    consortium: Consortium,
) -> None:
    """Random actions on loans and scores, each round ended by a reorg of random depth, the
    indexer stepping in random batch sizes: after each round the projections equal a rebuild
    and the stored events the chain's."""
    c = consortium
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    registry = c.contracts["VehicleRegistry"]
    vehicles: list[bytes] = []
    loans: list[int] = []
    indexer = c.make_indexer(indexer_batch_blocks=rng.randint(1, 4))

    def attempt(action: Callable[[], Any]) -> None:
        # Not allowed now (the loan's state, a vehicle a reorg took away): nothing happens.
        with contextlib.suppress(TransactionReverted, ContractLogicError):
            action()

    def random_action() -> None:
        choice = rng.choices(range(4), weights=(2, 3, 4, 5))[0]
        if choice == 0 or not vehicles:
            attempt(lambda: vehicles.append(c.scored_vehicle(f"random-{len(vehicles)}")))
        elif choice == 1:
            value = rng.choice((2_400_000, 1_500_000, 1_000_000))
            score = rng.randint(1000, 9000)
            vehicle = "0x" + rng.choice(vehicles).hex()
            attempt(lambda: c.chain.report(vehicle, score=score, value=value))
        elif choice == 2 or not loans:
            attempt(lambda: loans.append(c.apply(rng.choice(vehicles))))
        else:
            loan_id = rng.choice(loans)
            function, *args = rng.choice(
                (
                    ("approve",),
                    ("approve",),
                    ("activate",),
                    ("recordRepayment", 50_000),
                    ("cancel",),
                )
            )
            attempt(lambda: c.act(function, loan_id, *args))

    for round_ in range(ROUNDS):
        for _ in range(rng.randint(6, 10)):
            random_action()
            if rng.random() < 0.3:
                indexer.catch_up()
        indexer.catch_up()
        depth = rng.randint(1, 3)
        replacement = register_vehicle_call(registry, vehicle_id(f"reorg-{round_}"))
        reorg(c.w3, depth, c.other_bank.address, replacement)
        for sender in (c.bank, c.other_bank, *c.chain._senders.values()):
            sender.forget_nonce()  # the reorg dropped some of their transactions
        # What the reorg took away is not acted on again.
        vehicles[:] = [v for v in vehicles if registry.functions.vehicle(v).call()[5]]
        manager = c.contracts["LoanManager"].functions
        loans[:] = [n for n in loans if n <= manager.loanCount().call()]
        indexer.catch_up()
        where = f"seed {seed}, round {round_}, depth {depth}"
        assert stored_events(c.engine) == chain_events(
            c.w3, [contract.address for contract in c.contracts.values()], c.start_block
        ), where
        assert projections_match_rebuild(c.engine, c.settings.chain_id), where
    built = c.snapshot()
    assert built["proj_vehicles"], f"seed {seed}: no vehicle survived to be checked"
