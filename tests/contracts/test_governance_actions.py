"""Governance actions carried out by the system contracts (issue 15, attack 2): releasing the liens
of a lender that is no longer an active bank, and appraising a vehicle by vote; and the
registering bank that can no longer move the appraisal behind a lienholder's value alert.

On the old code only the lender could end its loan, so a suspended or removed bank's liens stayed
for ever, and nobody but the registering bank or the lienholder could appraise.
"""

import pytest
from brownie import chain
from conftest import (
    ACTIVE,
    APPLIED,
    APPRAISAL,
    LOAN_ACTIVE,
    REAPPRAISE,
    REINSTATE,
    RELEASE_LIEN,
    RELEASED,
    REMOVE,
    SUSPEND,
    ZERO_BYTES32,
    action,
    govern,
    key,
    new_vehicle,
    open_loan,
    reverts_with,
)


@pytest.fixture(scope="module")
def banks(system):
    return system.members.banks


@pytest.fixture(scope="module")
def pledged(system, reporter, banks):
    """A vehicle registered by the first bank and pledged, with its consent, under an active loan
    of the second bank; the value then falls below the alert threshold: (vehicle, loan id)."""
    loans = system.loans
    vehicle = new_vehicle(system.registry, banks[0], "governance-test")
    reporter.submit([(vehicle, 8000, APPRAISAL)])
    loan_id = open_loan(loans, banks[1], vehicle)
    loans.approve(loan_id, {"from": banks[1]})
    loans.activate(loan_id, {"from": banks[1]})
    tx = reporter.submit([(vehicle, 5000, APPRAISAL // 2)])
    assert tx.events["ValueThresholdBreached"]["bank"] == banks[1]
    return vehicle, loan_id


def _propose(system, proposed_action, proposer):
    return system.consortium.propose(proposed_action, {"from": proposer}).return_value


# ---------------------------------------------------------------- ReleaseLien


@pytest.mark.parametrize("status_action", [SUSPEND, REMOVE], ids=["suspended", "removed"])
def test_governance_releases_the_lien_of_a_departed_lender(
    system, reporter, banks, pledged, status_action
):
    vehicle, loan_id = pledged
    consortium, voters = system.consortium, [banks[0], banks[2]]
    govern(consortium, action(status_action, banks[1]), voters)
    proposal_id = _propose(system, action(RELEASE_LIEN, banks[1], value=loan_id), banks[0])
    for voter in voters:
        consortium.vote(proposal_id, True, {"from": voter})
    tx = consortium.execute(proposal_id, {"from": banks[2]})

    assert dict(tx.events["LienReleasedByGovernance"]) == {
        "loanId": loan_id,
        "vehicleId": vehicle,
        "bank": banks[1],
        "proposalId": proposal_id,
    }
    assert dict(tx.events["LoanStateChanged"]) == {
        "loanId": loan_id,
        "bank": banks[1],
        "from": LOAN_ACTIVE,
        "to": RELEASED,
    }
    assert dict(tx.events["LienReleased"]) == {
        "vehicleId": vehicle,
        "bank": banks[1],
        "loanId": loan_id,
    }
    assert [event.name for event in tx.events][-1] == "ProposalExecuted"
    assert system.loans.loan(loan_id)["state"] == RELEASED
    assert not system.registry.lienOf(vehicle)["active"]
    # The lienholder's open alert closes with the next report, and the vehicle can be pledged again.
    tx = reporter.submit([(vehicle, 5000, APPRAISAL // 2)])
    assert tx.events["ValueAlertClosed"]["loanId"] == loan_id
    again = open_loan(system.loans, banks[0], vehicle)
    assert system.loans.loan(again)["state"] == APPLIED


def test_release_refused_while_the_lender_is_active(system, banks, pledged):
    _, loan_id = pledged
    with reverts_with("ConsortiumInvalidMemberStatus", banks[1], ACTIVE):
        _propose(system, action(RELEASE_LIEN, banks[1], value=loan_id), banks[0])


def test_release_refused_once_the_lender_is_reinstated(system, banks, pledged):
    """A proposal made while the lender was suspended cannot take its lien after reinstatement."""
    _, loan_id = pledged
    consortium, voters = system.consortium, [banks[0], banks[2]]
    govern(consortium, action(SUSPEND, banks[1]), voters)
    proposal_id = _propose(system, action(RELEASE_LIEN, banks[1], value=loan_id), banks[0])
    for voter in voters:
        consortium.vote(proposal_id, True, {"from": voter})
    govern(consortium, action(REINSTATE, banks[1]), voters)
    consortium.vote(proposal_id, True, {"from": banks[1]})  # even with every vote
    with reverts_with("ConsortiumInvalidMemberStatus", banks[1], ACTIVE):
        consortium.execute(proposal_id, {"from": banks[0]})
    assert system.loans.loan(loan_id)["state"] == LOAN_ACTIVE


def test_release_proposal_must_name_the_loans_lender(system, banks, pledged):
    """Voters read "release the liens of bank X": the loan must be X's."""
    _, loan_id = pledged
    govern(system.consortium, action(SUSPEND, banks[2]), banks[:2])
    with reverts_with("LoanNotLender", loan_id, banks[2]):
        _propose(system, action(RELEASE_LIEN, banks[2], value=loan_id), banks[0])


def test_release_proposal_is_validated(system, banks, pledged):
    _, loan_id = pledged
    members = system.members
    govern(system.consortium, action(SUSPEND, banks[1]), [banks[0], banks[2]])
    applied = open_loan(system.loans, banks[0], new_vehicle(system.registry, banks[0], "idle"))
    govern(system.consortium, action(SUSPEND, members.issuers[0]), [banks[0], banks[2]])
    cases = [
        (action(RELEASE_LIEN, banks[1], value=99), ("LoanUnknown", 99)),
        (action(RELEASE_LIEN, members.stranger, value=loan_id), ("ConsortiumNotMember",)),
        (action(RELEASE_LIEN, members.issuers[0], value=loan_id), ("ConsortiumInvalidAction",)),
        (
            action(RELEASE_LIEN, banks[1], key_=key("x"), value=loan_id),
            ("ConsortiumInvalidAction", RELEASE_LIEN),
        ),
        (action(RELEASE_LIEN, banks[1], 1, value=loan_id), ("ConsortiumInvalidAction",)),
    ]
    for proposed, (error, *args) in cases:
        with reverts_with(error, *args):
            _propose(system, proposed, banks[0])
    govern(system.consortium, action(SUSPEND, banks[0]), [banks[2], banks[0]])
    with reverts_with("LoanInvalidState", applied, APPLIED):
        _propose(system, action(RELEASE_LIEN, banks[0], value=applied), banks[2])


# ---------------------------------------------------------------- reappraisal


def test_registering_bank_cannot_close_the_lienholders_alert(system, reporter, banks, pledged):
    """The old attack: the registering bank lowers the appraisal of a vehicle pledged to another
    bank, and the next report closes that bank's open alert as recovered."""
    vehicle, _ = pledged
    alert_id = system.oracle.openAlertOf(vehicle)
    assert alert_id
    with reverts_with("RegistryNotAuthorized", vehicle, banks[0]):
        system.registry.reappraise(vehicle, APPRAISAL // 2, chain[-1].timestamp, {"from": banks[0]})
    tx = reporter.submit([(vehicle, 5000, APPRAISAL // 2)])
    assert "ValueRecovered" not in tx.events
    assert system.oracle.openAlertOf(vehicle) == alert_id


def test_governance_appraises_a_vehicle_whose_lienholder_is_gone(system, banks, pledged):
    vehicle, _ = pledged
    govern(system.consortium, action(SUSPEND, banks[1]), [banks[0], banks[2]])
    tx = govern(
        system.consortium,
        action(REAPPRAISE, key_=vehicle, value=APPRAISAL // 3),
        [banks[0], banks[2]],
    )
    assert dict(tx.events["VehicleReappraised"]) == {
        "vehicleId": vehicle,
        "bank": system.consortium.address,
        "oldValue": APPRAISAL,
        "newValue": APPRAISAL // 3,
        "appraisedAt": tx.timestamp,
    }
    stored = system.registry.vehicle(vehicle)
    assert (stored["appraisalValue"], stored["appraisedAt"]) == (APPRAISAL // 3, tx.timestamp)


@pytest.mark.parametrize(
    ("make_action", "error"),
    [
        (lambda v, m: action(REAPPRAISE, key_=v, value=0), ("ConsortiumInvalidAction", REAPPRAISE)),
        (
            lambda v, m: action(REAPPRAISE, key_=v, value=2**128),
            ("ConsortiumInvalidAction", REAPPRAISE),
        ),
        (
            lambda v, m: action(REAPPRAISE, m.banks[0], key_=v, value=1),
            ("ConsortiumInvalidAction", REAPPRAISE),
        ),
        (
            lambda v, m: action(REAPPRAISE, key_=key("vehicle:unknown"), value=1),
            ("RegistryUnknownVehicle", key("vehicle:unknown")),
        ),
        (
            lambda v, m: action(REAPPRAISE, key_=ZERO_BYTES32, value=1),
            ("RegistryUnknownVehicle", ZERO_BYTES32),
        ),
    ],
    ids=["zero", "over-uint128", "account-set", "unknown-vehicle", "zero-vehicle"],
)
def test_reappraise_proposal_is_validated(system, banks, pledged, make_action, error):
    vehicle, _ = pledged
    with reverts_with(*error):
        _propose(system, make_action(vehicle, system.members), banks[0])
