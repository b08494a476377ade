"""Loans through a real node API process: the lifecycle, refusals translated from the
contract's custom errors, the role and bank matrix, and unknown loans."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import api_server
import loan_flow
from api_server import BANK_INDEX, OTHER_BANK_INDEX, NodeProcess, up_to_head, wait_for
from eth_account import Account
from loan_flow import (
    DAY,
    HEALTHY_VALUE,
    act,
    advance_time,
    apply,
    consented_apply,
    listed_loan,
    loan_manager,
    pledged_loan,
    scored_vehicle,
)
from oracle_reports import Chain
from sqlalchemy import select

from node_api.api_keys import Role
from node_api.db import make_engine
from node_api.models import LocalLoan, PendingLoan
from vcl.config import DEV_PRIVATE_KEYS
from vcl.eip712 import LienConsent, lien_consent_message

BANK = Account.from_key(DEV_PRIVATE_KEYS[BANK_INDEX]).address
OTHER_BANK = Account.from_key(DEV_PRIVATE_KEYS[OTHER_BANK_INDEX]).address
GRACE_PERIOD = 30 * DAY  # the deployment's default

deployment = loan_flow.deployment
chain = loan_flow.chain
bank_node = api_server.bank_node
other_bank_node = api_server.other_bank_node


def loan(node: NodeProcess, loan_id: str) -> dict[str, Any]:
    """The loan as the node's index holds it once it reached the chain's head."""
    with node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/loans/{loan_id}", headers=up_to_head(node))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def refused_in_state(node: NodeProcess, loan_id: str, action: str, state: str, **body: Any) -> None:
    """`action` is a 409 naming the loan's state, and the loan stays in it."""
    answer = act(node, loan_id, action, **body)
    assert answer.status_code == 409, f"{action}: {answer.text}"
    refusal = answer.json()
    assert refusal["error"] == "LoanInvalidState"
    assert refusal["details"]["state"] == state
    assert f"is {state}" in refusal["message"]
    assert action in refusal["message"]
    assert loan(node, loan_id)["state"] == state


def test_the_lifecycle_apply_approve_activate_repay_close(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, vehicle_id = scored_vehicle(bank_node, chain)
    applied = apply(bank_node, vin)
    assert applied.status_code == 201, applied.text
    created = applied.json()
    assert created["vehicle_id"] == vehicle_id
    assert created["transaction_hash"].startswith("0x")
    assert created["block_number"] > 0
    loan_id = created["loan_id"]
    view = loan(bank_node, loan_id)
    assert view["state"] == "Applied"
    assert view["bank"] == BANK
    assert view["borrower_ref"] == "borrower-0042"
    assert view["borrower_commitment"] == created["borrower_commitment"]
    assert view["principal"] == 1_000_000
    assert view["next_due_date"] is None

    assert act(bank_node, loan_id, "approve").json()["state"] == "Approved"
    with bank_node.client(Role.AUDITOR) as client:
        lien = client.get(f"/v1/vehicles/{vin}").json()["lien"]
    assert lien["loan_id"] == loan_id
    assert lien["bank"] == BANK

    activated = act(bank_node, loan_id, "activate")
    assert activated.status_code == 200, activated.text
    assert activated.json()["state"] == "Active"
    view = loan(bank_node, loan_id)
    assert view["current_rate_bps"] == 600
    assert view["loan_to_value_bps"] == 1_000_000 * 10_000 // HEALTHY_VALUE
    assert isinstance(view["next_due_date"], str)
    assert view["next_due_date"].endswith("Z")
    assert isinstance(view["activated_at"], str)

    part = act(bank_node, loan_id, "repay", amount=400_000)
    assert part.status_code == 200, part.text
    assert part.json()["state"] == "Active"
    assert loan(bank_node, loan_id)["outstanding"] == 600_000
    rest = act(bank_node, loan_id, "repay", amount=600_000)
    assert rest.json()["state"] == "Repaid"
    view = loan(bank_node, loan_id)
    assert view["repaid"] == 1_000_000
    assert view["outstanding"] == 0
    closed = act(bank_node, loan_id, "close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "Closed"

    # The list reads the indexed events: it shows the close once the indexer has it.
    item = wait_for(lambda: listed_loan(bank_node, loan_id, state="closed", vehicle=vin))
    assert item is not None
    assert item["state"] == "Closed"
    assert item["borrower_ref"] == "borrower-0042"
    assert (item["principal"], item["repaid"], item["outstanding"]) == (1_000_000, 1_000_000, 0)
    assert item["vehicle_id"] == vehicle_id
    assert item["transaction_hash"] == created["transaction_hash"]
    assert isinstance(item["activated_at"], str)
    assert listed_loan(bank_node, loan_id, state="Applied") is None
    assert listed_loan(bank_node, loan_id, bank=BANK.lower()) is not None
    assert listed_loan(bank_node, loan_id, bank=OTHER_BANK) is None
    assert listed_loan(bank_node, loan_id, vehicle=vehicle_id) is not None
    with bank_node.client(Role.AUDITOR) as client:
        first = client.get("/v1/loans", params={"limit": 1}).json()
        assert len(first["items"]) == 1
        assert first["total"] >= 1
        assert first["next_offset"] == (1 if first["total"] > 1 else None)
        for bad, error in (
            ({"state": "Sleeping"}, "InvalidState"),
            ({"bank": "0x12"}, "InvalidAddress"),
            ({"vehicle": "0xabc"}, "InvalidVehicle"),
            ({"offset": 2**70}, "InvalidRequest"),
        ):
            answer = client.get("/v1/loans", params=bad)
            assert answer.status_code == 422, bad
            assert answer.json()["error"] == error


def test_an_action_not_allowed_in_the_state_is_409_naming_the_state(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    loan_id = apply(bank_node, vin).json()["loan_id"]
    for action in ("activate", "close"):
        answer = act(bank_node, loan_id, action)
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["error"] == "LoanInvalidState"
        assert body["details"]["state"] == "Applied"
        assert "Applied" in body["message"]
    assert loan(bank_node, loan_id)["state"] == "Applied"  # nothing changed
    missing = act(bank_node, loan_id, "repay")
    assert missing.status_code == 422
    assert missing.json()["error"] == "MissingAmount"


def test_a_second_pledge_is_409_naming_the_existing_lien(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _, first = pledged_loan(bank_node, chain)
    second = apply(bank_node, vin).json()["loan_id"]
    answer = act(bank_node, second, "approve")
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["error"] == "RegistryLienExists"
    assert body["details"]["existing_loan_id"] == first
    assert body["details"]["existing_bank"] == BANK
    assert first in body["message"]
    assert loan(bank_node, second)["state"] == "Applied"


def test_another_banks_officer_gets_403_from_the_contract(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    loan_id = apply(bank_node, vin).json()["loan_id"]
    answer = act(other_bank_node, loan_id, "approve")
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "LoanNotLender"
    # The other bank reads the loan, but not the borrower reference.
    view = loan(other_bank_node, loan_id)
    assert view["state"] == "Applied"
    assert view["borrower_ref"] is None


def test_auditor_and_reviewer_may_not_write(bank_node: NodeProcess, chain: Chain) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    loan_id = apply(bank_node, vin).json()["loan_id"]
    for role in (Role.AUDITOR, Role.REVIEWER):
        answer = act(bank_node, loan_id, "approve", role=role)
        assert answer.status_code == 403
        assert answer.json()["error"] == "Forbidden"
        with bank_node.client(role) as client:
            refused = client.post("/v1/loans", json={"vin": vin})
        assert refused.status_code == 403
    assert loan(bank_node, loan_id)["state"] == "Applied"


def test_an_unknown_loan_is_404_and_a_bad_id_422(bank_node: NodeProcess) -> None:
    with bank_node.client(Role.AUDITOR) as client:
        unknown = client.get("/v1/loans/999999")
        assert unknown.status_code == 404
        assert unknown.json()["error"] == "UnknownLoan"
        assert client.get("/v1/loans/abc").status_code == 422
    answer = act(bank_node, "999999", "approve")
    assert answer.status_code == 404
    assert answer.json()["error"] == "UnknownLoan"
    assert act(bank_node, "1", "teleport").status_code == 404


def test_a_loan_on_an_unknown_vehicle_is_404(bank_node: NodeProcess) -> None:
    answer = apply(bank_node, api_server.random_vin())
    assert answer.status_code == 404
    assert answer.json()["error"] == "UnknownVehicle"


def test_an_idempotent_application_acts_once(bank_node: NodeProcess, chain: Chain) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    body = {
        "vin": vin,
        "borrower_ref": "borrower-7",
        "principal": 500_000,
        "base_rate_bps": 500,
        "term_seconds": 3_600_000,
        "installment_interval_seconds": 360_000,
    }
    headers = {"Idempotency-Key": "loan-7"}
    with bank_node.client(Role.OFFICER) as client:
        first = client.post("/v1/loans", json=body, headers=headers)
        retry = client.post("/v1/loans", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_reject_and_cancel_end_a_loan_and_are_refused_once_final(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    rejected_id = apply(bank_node, vin).json()["loan_id"]
    rejected = act(bank_node, rejected_id, "reject")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "Rejected"
    for action in ("reject", "cancel", "approve"):
        refused_in_state(bank_node, rejected_id, action, "Rejected")

    _, _, cancelled_id = pledged_loan(bank_node, chain)
    cancelled = act(bank_node, cancelled_id, "cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "Cancelled"
    refused_in_state(bank_node, cancelled_id, "cancel", "Cancelled")
    refused_in_state(bank_node, cancelled_id, "reject", "Cancelled")
    # The cancelled loan's lien is released: the vehicle can be pledged again.
    again = apply(bank_node, vin).json()["loan_id"]
    assert act(bank_node, again, "approve").status_code == 200


def test_sync_rate_overdue_default_and_liquidate(bank_node: NodeProcess, chain: Chain) -> None:
    vin, vehicle_id = scored_vehicle(bank_node, chain)
    loan_id = apply(bank_node, vin, installment_interval_seconds=DAY).json()["loan_id"]
    # Before the lien: none of the keeper's actions applies to an applied loan.
    for action in ("sync-rate", "mark-overdue", "mark-defaulted"):
        refused_in_state(bank_node, loan_id, action, "Applied")
    refused_in_state(bank_node, loan_id, "liquidate", "Applied", amount_recovered=1)
    assert act(bank_node, loan_id, "approve").status_code == 200
    assert act(bank_node, loan_id, "activate").status_code == 200
    refused_in_state(bank_node, loan_id, "mark-defaulted", "Active")
    refused_in_state(bank_node, loan_id, "liquidate", "Active", amount_recovered=1)

    # A worse score raises the rate the chain records once synced.
    chain.report(vehicle_id, score=3000, value=HEALTHY_VALUE)
    before = loan(bank_node, loan_id)
    assert before["applied_rate_bps"] == 600
    assert before["current_rate_bps"] > 600
    synced = act(bank_node, loan_id, "sync-rate")
    assert synced.status_code == 200, synced.text
    assert synced.json()["state"] == "Active"
    assert loan(bank_node, loan_id)["applied_rate_bps"] == before["current_rate_bps"]

    early = act(bank_node, loan_id, "mark-overdue")
    assert early.status_code == 409
    assert early.json()["error"] == "LoanNotYetDue"
    advance_time(chain, DAY + 60)
    overdue = act(bank_node, loan_id, "mark-overdue")
    assert overdue.status_code == 200, overdue.text
    assert overdue.json()["state"] == "Overdue"
    refused_in_state(bank_node, loan_id, "mark-overdue", "Overdue")
    advance_time(chain, GRACE_PERIOD)
    defaulted = act(bank_node, loan_id, "mark-defaulted")
    assert defaulted.status_code == 200, defaulted.text
    assert defaulted.json()["state"] == "Defaulted"

    liquidated = act(bank_node, loan_id, "liquidate", amount_recovered=700_000)
    assert liquidated.status_code == 200, liquidated.text
    assert liquidated.json()["state"] == "Liquidated"
    view = loan(bank_node, loan_id)
    assert view["amount_recovered"] == 700_000
    for action in ("sync-rate", "mark-overdue", "mark-defaulted"):
        refused_in_state(bank_node, loan_id, action, "Liquidated")
    refused_in_state(bank_node, loan_id, "liquidate", "Liquidated", amount_recovered=1)
    item = wait_for(lambda: listed_loan(bank_node, loan_id, state="liquidated", vehicle=vin))
    assert item is not None
    assert item["amount_recovered"] == 700_000
    assert item["rate_bps"] == before["current_rate_bps"]


@contextmanager
def inserts_fail(database_url: str, table: str) -> Iterator[None]:
    """Every INSERT into `table` fails (a trigger) while inside: a database failure at
    exactly that write of the node process."""
    engine = make_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    create = (
        [
            "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
            f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_insert()",
        ]
        if postgres
        else [
            f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        ]
    )
    drop = [f"DROP TRIGGER refuse_insert ON {table}", "DROP FUNCTION refuse_insert()"]
    try:
        with engine.begin() as connection:
            for statement in create:
                connection.exec_driver_sql(statement)
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop if postgres else ["DROP TRIGGER refuse_insert"]:
                connection.exec_driver_sql(statement)
        engine.dispose()


def stored_references(database_url: str) -> tuple[list[str], dict[str, str]]:
    """(pending commitments, loan id -> borrower reference) in the node's database."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            pending = list(connection.scalars(select(PendingLoan.borrower_commitment)))
            bound = select(LocalLoan.loan_id, LocalLoan.borrower_ref)
            local = {loan_id: ref for loan_id, ref in connection.execute(bound).tuples()}
    finally:
        engine.dispose()
    return pending, local


def test_a_database_failure_after_the_receipt_loses_no_borrower_reference(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    database_url = bank_node.env["VCL_DATABASE_URL"]
    with inserts_fail(database_url, "local_loans"):
        applied = apply(bank_node, vin, borrower_ref="borrower-kept-9")
        assert applied.status_code == 201, applied.text  # the loan is on-chain
        loan_id = applied.json()["loan_id"]
        pending, local = stored_references(database_url)
        assert applied.json()["borrower_commitment"] in pending
        assert loan_id not in local
        assert loan(bank_node, loan_id)["borrower_ref"] is None  # not bound yet
    # The database works again: the list binds the pending record to the indexed loan.
    item = wait_for(lambda: listed_loan(bank_node, loan_id, vehicle=vin, state="applied"))
    assert item is not None
    assert item["borrower_ref"] == "borrower-kept-9"
    pending, local = stored_references(database_url)
    assert applied.json()["borrower_commitment"] not in pending
    assert local[loan_id] == "borrower-kept-9"
    assert loan(bank_node, loan_id)["borrower_ref"] == "borrower-kept-9"


def test_a_refused_application_leaves_no_pending_record(
    bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    refused = apply(bank_node, vin, installment_interval_seconds=400 * DAY)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "LoanInvalidTerms"
    pending, _ = stored_references(bank_node.env["VCL_DATABASE_URL"])
    assert pending == []


# ---------------------------------------------------------------- lien consent and expiry

APPROVAL_TTL = 14 * DAY  # the deployment's default


def lien_of(node: NodeProcess, vin: str) -> dict[str, Any] | None:
    with node.client(Role.AUDITOR) as client:
        answer = client.get(f"/v1/vehicles/{vin}", headers=up_to_head(node))
    assert answer.status_code == 200, answer.text
    lien: dict[str, Any] | None = answer.json()["lien"]
    return lien


def test_another_bank_applies_with_the_registering_banks_consent_and_gets_the_lien(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, vehicle_id = scored_vehicle(bank_node, chain)
    applied, consent = consented_apply(other_bank_node, bank_node, vin, borrower_ref="b-77")
    assert applied.status_code == 201, applied.text
    assert consent["signer"] == BANK
    assert consent["lender"] == OTHER_BANK
    assert consent["vehicle_id"] == vehicle_id
    loan_id = applied.json()["loan_id"]
    assert applied.json()["borrower_commitment"] == consent["borrower_commitment"]

    # The digest the node signed is the contract's, and the chain has marked it used.
    manager = loan_manager(chain)
    on_chain = manager.functions.lienConsentDigest(
        bytes.fromhex(vehicle_id[2:]),
        OTHER_BANK,
        bytes.fromhex(consent["borrower_commitment"][2:]),
        consent["principal"],
        consent["deadline"],
        bytes.fromhex(consent["nonce"][2:]),
    ).call()
    assert "0x" + bytes(on_chain).hex() == consent["digest"]
    assert manager.functions.isConsentUsed(on_chain).call()

    approved = act(other_bank_node, loan_id, "approve")
    assert approved.status_code == 200, approved.text
    lien = lien_of(bank_node, vin)
    assert lien is not None
    assert (lien["bank"], lien["loan_id"], lien["active"]) == (OTHER_BANK, loan_id, True)
    view = loan(other_bank_node, loan_id)
    assert view["bank"] == OTHER_BANK
    assert view["borrower_ref"] == "b-77"  # the lender keeps its borrower reference
    assert isinstance(view["approved_at"], str)
    assert loan(bank_node, loan_id)["borrower_ref"] is None  # the registering bank does not


def test_an_application_on_another_banks_vehicle_without_a_consent_is_403(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    answer = apply(other_bank_node, vin)
    assert answer.status_code == 403, answer.text
    refusal = answer.json()
    assert refusal["error"] == "LienConsentRequired"
    assert BANK in refusal["message"]
    assert refusal["details"]["registered_by"] == BANK
    made = loan_flow.borrower_commitment(other_bank_node)
    issued = loan_flow.lien_consent(bank_node, vin, OTHER_BANK, made["borrower_commitment"])
    no_salt = apply(other_bank_node, vin, consent=issued.json())
    assert no_salt.status_code == 422
    assert no_salt.json()["error"] == "MissingBorrowerSalt"
    pending, _ = stored_references(other_bank_node.env["VCL_DATABASE_URL"])
    assert pending == []
    assert lien_of(bank_node, vin) is None


def test_a_consent_for_another_lender_principal_or_borrower_is_refused(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, vehicle_id = scored_vehicle(bank_node, chain)
    made = loan_flow.borrower_commitment(other_bank_node, "borrower-9")
    commitment = made["borrower_commitment"]
    issued = loan_flow.lien_consent(bank_node, vin, OTHER_BANK, commitment, 1_000_000).json()

    def apply_with(consent: dict[str, Any], **extra: Any) -> Any:
        body = {"borrower_ref": "borrower-9", "borrower_salt": made["borrower_salt"], **extra}
        return apply(other_bank_node, vin, consent=consent, **body)

    # More than the registering bank consented to.
    bigger = apply_with(issued, principal=2_000_000)
    # Another borrower behind the same salt.
    other_borrower = apply_with(issued, borrower_ref="borrower-10")
    # A consent the registering bank signed for another lender (a stranger's address).
    stranger = Account.from_key(DEV_PRIVATE_KEYS[9]).address
    w3 = chain.sender(0).w3
    for_stranger = LienConsent(
        bytes.fromhex(vehicle_id[2:]),
        stranger,
        bytes.fromhex(commitment[2:]),
        1_000_000,
        issued["deadline"],
        os.urandom(32),
    )
    manager = loan_manager(chain).address
    message = lien_consent_message(for_stranger, w3.eth.chain_id, manager)
    signed = Account.from_key(DEV_PRIVATE_KEYS[BANK_INDEX]).sign_message(message)
    other_lender = apply_with(
        {
            **issued,
            "nonce": "0x" + for_stranger.nonce.hex(),
            "signature": "0x" + bytes(signed.signature).hex(),
        }
    )
    # The lender's own signature instead of the registering bank's.
    forged = Account.from_key(DEV_PRIVATE_KEYS[OTHER_BANK_INDEX]).sign_message(
        lien_consent_message(
            LienConsent(
                bytes.fromhex(vehicle_id[2:]),
                OTHER_BANK,
                bytes.fromhex(commitment[2:]),
                1_000_000,
                issued["deadline"],
                bytes.fromhex(issued["nonce"][2:]),
            ),
            w3.eth.chain_id,
            manager,
        )
    )
    self_signed = apply_with({**issued, "signature": "0x" + bytes(forged.signature).hex()})

    for answer in (bigger, other_borrower, other_lender, self_signed):
        assert answer.status_code == 403, answer.text
        refusal = answer.json()
        assert refusal["error"] == "LoanInvalidConsent"
        assert f"registering bank {BANK}" in refusal["message"]
    assert self_signed.json()["details"]["recovered"] == OTHER_BANK
    assert lien_of(bank_node, vin) is None
    pending, _ = stored_references(other_bank_node.env["VCL_DATABASE_URL"])
    assert pending == []
    # The untouched consent still works, once.
    assert apply_with(issued).status_code == 201


def test_a_used_or_expired_consent_is_refused(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    made = loan_flow.borrower_commitment(other_bank_node, "borrower-11")
    issued = loan_flow.lien_consent(bank_node, vin, OTHER_BANK, made["borrower_commitment"])
    body: dict[str, Any] = {"borrower_ref": "borrower-11", "borrower_salt": made["borrower_salt"]}
    first = apply(other_bank_node, vin, consent=issued.json(), **body)
    assert first.status_code == 201, first.text
    again = apply(other_bank_node, vin, consent=issued.json(), **body)
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "LoanConsentUsed"
    assert "used" in again.json()["message"]

    short = loan_flow.lien_consent(
        bank_node, vin, OTHER_BANK, made["borrower_commitment"], valid_for_seconds=60
    )
    assert short.status_code == 201, short.text
    advance_time(chain, 120)
    late = apply(other_bank_node, vin, consent=short.json(), **body)
    assert late.status_code == 403, late.text
    assert late.json()["error"] == "LoanConsentExpired"
    assert short.json()["expires_at"] in late.json()["message"]


def test_only_the_registering_bank_issues_a_consent_and_only_for_an_active_bank(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, _ = scored_vehicle(bank_node, chain)
    made = loan_flow.borrower_commitment(other_bank_node)
    commitment = made["borrower_commitment"]
    # The other bank cannot consent to a lien on a vehicle it did not register (for itself).
    not_theirs = loan_flow.lien_consent(other_bank_node, vin, OTHER_BANK, commitment)
    assert not_theirs.status_code == 403, not_theirs.text
    assert not_theirs.json()["error"] == "NotRegisteringBank"
    assert BANK in not_theirs.json()["message"]
    unknown = loan_flow.lien_consent(bank_node, api_server.random_vin(), OTHER_BANK, commitment)
    assert unknown.status_code == 404
    stranger = Account.from_key(DEV_PRIVATE_KEYS[9]).address
    for lender, error in ((stranger, "NotABank"), (BANK, "ConsentNotNeeded")):
        refused = loan_flow.lien_consent(bank_node, vin, lender, commitment)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == error
    for bad in ({"valid_for_seconds": 10}, {"valid_for_seconds": 365 * DAY}, {"principal": 0}):
        refused = loan_flow.lien_consent(bank_node, vin, OTHER_BANK, commitment, **bad)
        assert refused.status_code == 422, bad
    zero = loan_flow.lien_consent(bank_node, vin, OTHER_BANK, "0x" + "00" * 32)
    assert zero.status_code == 422
    # Reviewers and auditors cannot issue one.
    with bank_node.client(Role.AUDITOR) as client:
        body = {"vin": vin, "lender": OTHER_BANK, "borrower_commitment": commitment, "principal": 1}
        assert client.post("/v1/loans/lien-consents", json=body).status_code == 403


def test_an_approval_not_activated_in_time_expires_and_releases_the_lien(
    bank_node: NodeProcess, other_bank_node: NodeProcess, chain: Chain
) -> None:
    vin, vehicle_id, loan_id = pledged_loan(bank_node, chain)
    early = act(other_bank_node, loan_id, "expire")
    assert early.status_code == 409, early.text
    assert early.json()["error"] == "LoanApprovalNotExpired"
    assert "holds until" in early.json()["message"]

    advance_time(chain, APPROVAL_TTL + 60)
    late = act(bank_node, loan_id, "activate")
    assert late.status_code == 409, late.text
    assert late.json()["error"] == "LoanApprovalExpired"
    assert loan(bank_node, loan_id)["state"] == "Approved"
    # Any member's node may expire it (a keeper call): here the other bank's.
    expired = act(other_bank_node, loan_id, "expire")
    assert expired.status_code == 200, expired.text
    assert expired.json()["state"] == "Expired"
    lien = lien_of(bank_node, vin)
    assert lien is None or lien["active"] is False
    refused_in_state(bank_node, loan_id, "activate", "Expired")
    item = wait_for(lambda: listed_loan(bank_node, loan_id, state="expired"))
    assert item is not None
    assert item["state"] == "Expired"
    # The vehicle is free: a new application can pledge it.
    chain.report(vehicle_id, score=8000, value=HEALTHY_VALUE)
    again = apply(bank_node, vin).json()["loan_id"]
    assert act(bank_node, again, "approve").status_code == 200
