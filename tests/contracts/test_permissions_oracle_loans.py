"""Who may call every write function of ConditionOracle and LoanManager.

Each function is called by every member kind, by a suspended and a removed member (the one that
would otherwise be allowed: the lending bank, or the transmitting oracle operator), and by a
stranger; the call either succeeds or reverts with the expected custom error. Nobody calls
``releaseByGovernance`` directly: only the Consortium executing a proposal
(tests/contracts/test_governance_actions.py).
"""

import pytest
from brownie import chain
from conftest import (
    APPRAISAL,
    BANK_ROLE,
    CONFIRMED_RISK,
    GOVERNANCE_ROLE,
    LOAN_TERMS,
    MEMBER_ROLE,
    ORACLE_ROLE,
    REMOVE,
    SUSPEND,
    action,
    consent_for,
    govern,
    key,
    new_vehicle,
    open_loan,
    reverts_with,
)

CALLERS = [
    "lender",
    "other_bank",
    "auditor",
    "oracle",
    "issuer",
    "suspended",
    "removed",
    "stranger",
]
GRACE = 30 * 86400
UNAUTHORIZED = "ConsortiumUnauthorizedAccount"

# function -> (role it needs, error for the other bank or None when any bank may call); keepers need
# nothing.
LENDER_ONLY = ["approve", "reject", "cancel", "activate", "recordRepayment", "liquidate", "close"]
KEEPER = ["markOverdue", "markDefaulted", "syncRate", "expireApproval"]
FUNCTIONS = [
    "submitReport",
    "reviewAlert",
    "applyForLoan",
    *LENDER_ONLY,
    *KEEPER,
    "releaseByGovernance",
]


def expected_outcome(function, caller):
    """None when the call must succeed, else (error name, needed role or None)."""
    if function in KEEPER:
        # Keepers: any active member; a suspended or removed member can do nothing.
        member = caller in ("lender", "other_bank", "auditor", "oracle", "issuer")
        return None if member else (UNAUTHORIZED, MEMBER_ROLE)
    if function == "submitReport":
        return None if caller == "oracle" else (UNAUTHORIZED, ORACLE_ROLE)
    if function == "releaseByGovernance":
        return (UNAUTHORIZED, GOVERNANCE_ROLE)
    if caller == "lender":
        return None
    if caller == "other_bank":
        if function == "applyForLoan":
            return None
        return ("OracleNotAlertBank" if function == "reviewAlert" else "LoanNotLender", None)
    return (UNAUTHORIZED, BANK_ROLE)


@pytest.fixture(scope="module")
def scene(system, reporter):
    """
    Loans of the first bank in every state a write function starts from, past due dates, an
    approval past APPROVAL_TTL, and one open alert.
    """
    bank = system.members.banks[0]
    loans = system.loans
    vehicles = [new_vehicle(system.registry, bank, f"perm-{i}") for i in range(9)]
    reporter.submit([(vehicle, 8000, APPRAISAL) for vehicle in vehicles])

    def approved(vehicle):
        loan_id = open_loan(loans, bank, vehicle)
        loans.approve(loan_id, {"from": bank})
        return loan_id

    def active(vehicle):
        loan_id = approved(vehicle)
        loans.activate(loan_id, {"from": bank})
        return loan_id

    ids = {
        "applied": open_loan(loans, bank, vehicles[0]),
        "stale_approval": approved(vehicles[1]),
        "active": active(vehicles[2]),
        "overdue": active(vehicles[3]),
        "defaulted": active(vehicles[4]),
        "repaid": active(vehicles[5]),
    }
    approved(vehicles[6])
    loans.recordRepayment(ids["repaid"], LOAN_TERMS["principal"], {"from": bank})
    chain.sleep(LOAN_TERMS["interval"] + GRACE + 1)
    loans.markOverdue(ids["overdue"], {"from": bank})
    loans.markOverdue(ids["defaulted"], {"from": bank})
    loans.markDefaulted(ids["defaulted"], {"from": bank})
    reporter.submit(
        [(vehicle, 8000, APPRAISAL) for vehicle in (*vehicles[:6], vehicles[8])]
        + [(vehicles[6], 5000, 1)]
    )
    assert system.oracle.alertCount() == 1
    ids["approved"] = approved(vehicles[8])  # after the time jump: within APPROVAL_TTL
    return {"loans": ids, "free_vehicle": vehicles[7], "alert": 1}


def _caller(system, function, caller):
    """The account of ``caller``; suspends or removes the member first for those kinds."""
    members = system.members
    if caller in ("suspended", "removed"):
        account = members.oracles[0] if function == "submitReport" else members.banks[0]
        voters = members.banks[1:3]
        govern(
            system.consortium,
            action(SUSPEND if caller == "suspended" else REMOVE, account=account),
            voters,
        )
        return account
    return {
        "lender": members.banks[0],
        "other_bank": members.banks[1],
        "auditor": members.auditor,
        "oracle": members.oracles[0],
        "issuer": members.issuers[0],
        "stranger": members.stranger,
    }[caller]


def _call(system, reporter, scene, function, account):
    loans, ids = system.loans, scene["loans"]
    sender = {"from": account}
    if function == "submitReport":
        return reporter.submit([(scene["free_vehicle"], 7000, APPRAISAL)], sender=account)
    if function == "reviewAlert":
        return system.oracle.reviewAlert(
            scene["alert"], CONFIRMED_RISK, key("staff"), key("comment"), sender
        )
    if function == "applyForLoan":
        vehicle, borrower = scene["free_vehicle"], key("borrower")
        consent = consent_for(loans, account, vehicle, borrower, 1000)
        return loans.applyForLoan(vehicle, borrower, 1000, 500, 86400, 86400, consent, sender)
    calls = {
        "approve": lambda: loans.approve(ids["applied"], sender),
        "reject": lambda: loans.reject(ids["applied"], sender),
        "cancel": lambda: loans.cancel(ids["approved"], sender),
        "activate": lambda: loans.activate(ids["approved"], sender),
        "recordRepayment": lambda: loans.recordRepayment(ids["active"], 1000, sender),
        "liquidate": lambda: loans.liquidate(ids["defaulted"], 1000, sender),
        "close": lambda: loans.close(ids["repaid"], sender),
        "markOverdue": lambda: loans.markOverdue(ids["active"], sender),
        "markDefaulted": lambda: loans.markDefaulted(ids["overdue"], sender),
        "syncRate": lambda: loans.syncRate(ids["active"], sender),
        "expireApproval": lambda: loans.expireApproval(ids["stale_approval"], sender),
        "releaseByGovernance": lambda: loans.releaseByGovernance(ids["active"], 1, sender),
    }
    return calls[function]()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_permission(system, reporter, scene, function, caller):
    account = _caller(system, function, caller)
    outcome = expected_outcome(function, caller)
    if outcome is None:
        tx = _call(system, reporter, scene, function, account)
        assert tx.status == 1
        return
    error, role = outcome
    args = (account, role) if role else ()
    with reverts_with(error, *args):
        _call(system, reporter, scene, function, account)
