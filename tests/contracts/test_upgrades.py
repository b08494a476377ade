"""
Governed upgrades: each system contract is a UUPS implementation behind an ERC1967 proxy, and
only an executed ``UpgradeContract`` proposal of the Consortium installs a new implementation.

The central test populates a deployment (vehicles, liens, loans in every reachable state, one
on another bank's vehicle by consent, expired and released ones, scores, alerts open and
reviewed, documents anchored, revoked by their issuer and by vote, document keys, proposals
open and executed, a suspended bank), upgrades all four contracts by vote (the Consortium
included), reads every view of every contract before and after and finds them equal, then uses
the upgraded system.
"""

from types import SimpleNamespace

import brownie
import pytest
from brownie import (
    ConditionOracle,
    Consortium,
    ConsortiumProxy,
    LoanManager,
    VehicleRegistry,
    chain,
    web3,
)
from conftest import (
    APPRAISAL,
    DAY,
    DOCUMENT_ISSUER,
    LOAN_TERMS,
    MODEL_VERSION,
    REAPPRAISE,
    RELEASE_LIEN,
    REVOKE_ISSUER_DOCUMENTS,
    SET_PARAMETER,
    SUSPEND,
    UPGRADE_CONTRACT,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    action,
    govern,
    implementation_of,
    key,
    new_vehicle,
    open_loan,
    reverts_with,
    sign_document,
    sign_lien_consent,
)

IMPLEMENTATIONS = {
    "consortium": Consortium,
    "registry": VehicleRegistry,
    "oracle": ConditionOracle,
    "loans": LoanManager,
}
CID = b"\x01\x55\x12\x20" + bytes(range(32))
INSURANCE, INSPECTION = 1, 3  # IVehicleRegistry.DocumentType
PRINCIPAL = LOAN_TERMS["principal"]
INSTALMENT = PRINCIPAL // 12


def upgrade_action(proxy, implementation, value=0, kind=0):
    """An ``UpgradeContract`` action: the proxy, and the implementation's address in the key."""
    return action(
        UPGRADE_CONTRACT,
        proxy,
        kind,
        "0x" + "00" * 12 + str(implementation)[2:].lower(),
        value,
    )


def new_implementations(deployer):
    """A fresh implementation of each contract (anyone may deploy one; only a vote installs it)."""
    return {
        name: container.deploy({"from": deployer}) for name, container in IMPLEMENTATIONS.items()
    }


@pytest.fixture(scope="module")
def banks(system):
    return system.members.banks


# ---------------------------------------------------------------- the proxies


def test_every_system_contract_is_a_proxy_on_its_implementation(system):
    for name in IMPLEMENTATIONS:
        proxy = getattr(system, name)
        assert implementation_of(proxy) == proxy.implementation.address
        assert proxy.implementation.address != proxy.address
    for gated in (system.registry, system.oracle, system.loans):
        assert gated.consortium() == system.consortium.address
    assert system.oracle.registry() == system.registry.address
    assert system.loans.registry() == system.registry.address
    assert system.loans.oracle() == system.oracle.address


def test_nobody_initializes_a_proxy_again_or_an_implementation(system):
    stranger = system.members.stranger
    for name in IMPLEMENTATIONS:
        proxy = getattr(system, name)
        arguments = {
            "consortium": ([stranger], [1], [ZERO_BYTES32], [], []),
            "registry": (stranger,),
            "oracle": (stranger, stranger),
            "loans": (stranger, stranger, stranger),
        }[name]
        # An attacker initializing a proxy again, or the bare implementation, to own it.
        with reverts_with("InvalidInitialization"):
            proxy.initialize(*arguments, {"from": stranger})
        with reverts_with("InvalidInitialization"):
            proxy.implementation.initialize(*arguments, {"from": stranger})


@pytest.mark.parametrize("name", sorted(IMPLEMENTATIONS))
def test_no_bank_deployer_or_stranger_upgrades_directly(system, name):
    members = system.members
    proxy = getattr(system, name)
    replacement = IMPLEMENTATIONS[name].deploy({"from": members.stranger})
    for caller in (members.banks[0], members.deployer, members.stranger, members.oracles[0]):
        with reverts_with("ConsortiumUnauthorizedUpgrade", proxy, caller, replacement):
            proxy.upgradeToAndCall(replacement, b"", {"from": caller})
    assert implementation_of(proxy) == proxy.implementation.address


def test_the_implementation_itself_cannot_be_upgraded(system):
    implementation = system.registry.implementation
    with reverts_with("UUPSUnauthorizedCallContext"):
        implementation.upgradeToAndCall(implementation, b"", {"from": system.members.banks[0]})


# ---------------------------------------------------------------- the proposal


def test_upgrade_by_vote_installs_the_implementation_and_emits(system, banks):
    replacement = VehicleRegistry.deploy({"from": system.members.stranger})
    tx = govern(system.consortium, upgrade_action(system.registry, replacement), banks[:2])
    proposal_id = system.consortium.proposalCount()
    assert dict(tx.events["ContractUpgraded"][0]) == {
        "proxy": system.registry.address,
        "implementation": replacement.address,
        "proposalId": proposal_id,
    }
    assert tx.events["Upgraded"][0]["implementation"] == replacement.address
    assert implementation_of(system.registry) == replacement.address


def test_upgrade_without_a_majority_is_not_passed(system, banks):
    replacement = LoanManager.deploy({"from": banks[0]})
    proposal_id = system.consortium.propose(
        upgrade_action(system.loans, replacement), {"from": banks[0]}
    ).return_value
    system.consortium.vote(proposal_id, True, {"from": banks[0]})
    system.consortium.vote(proposal_id, False, {"from": banks[1]})
    with reverts_with("ConsortiumProposalNotPassed", proposal_id, 1, 3):
        system.consortium.execute(proposal_id, {"from": banks[0]})
    assert implementation_of(system.loans) == system.loans.implementation.address


def test_upgrade_target_must_be_one_of_the_four_proxies(system, banks):
    replacement = VehicleRegistry.deploy({"from": banks[0]})
    outsiders = (
        ZERO_ADDRESS,
        system.members.stranger,
        system.registry.implementation,  # the implementation, not the proxy
        ConsortiumProxy.deploy(replacement, b"", {"from": banks[0]}),  # a proxy of someone else
    )
    for outsider in outsiders:
        with reverts_with("ConsortiumInvalidUpgradeTarget", outsider):
            system.consortium.propose(upgrade_action(outsider, replacement), {"from": banks[0]})


def test_upgrade_implementation_must_be_a_uups_contract(system, banks):
    not_uups = (
        system.members.stranger,  # no code
        system.oracle,  # a proxy: its proxiableUUID reverts when delegated
    )
    for implementation in not_uups:
        with reverts_with("ConsortiumInvalidImplementation", implementation):
            system.consortium.propose(
                upgrade_action(system.registry, implementation), {"from": banks[0]}
            )


def test_upgrade_action_uses_only_its_fields(system, banks):
    replacement = VehicleRegistry.deploy({"from": banks[0]})
    invalid = (
        upgrade_action(system.registry, replacement, value=1),
        upgrade_action(system.registry, replacement, kind=DOCUMENT_ISSUER),
        # upper 96 bits of the key set: not an address
        action(UPGRADE_CONTRACT, system.registry, 0, "0x01" + str(replacement)[2:].rjust(62, "0")),
    )
    for proposed in invalid:
        with reverts_with("ConsortiumInvalidAction", UPGRADE_CONTRACT):
            system.consortium.propose(proposed, {"from": banks[0]})


# ---------------------------------------------------------------- a populated deployment


@pytest.fixture(scope="module")
def populated(system, reporter, banks):
    """A deployment in use: every kind of state the four contracts hold, with the ids to read it."""
    members = system.members
    registry, oracle, loans, consortium = (
        system.registry,
        system.oracle,
        system.loans,
        system.consortium,
    )
    bank, other_bank, departing = banks
    labels = ("applied", "approved", "active", "defaulted", "closed", "spare", "alert", "expired")
    vehicles = {label: new_vehicle(registry, bank, f"upgrade:{label}") for label in labels}
    vehicles["other"] = new_vehicle(registry, other_bank, "upgrade:other-bank")
    vehicles["released"] = new_vehicle(registry, departing, "upgrade:released")
    vehicles["consented"] = new_vehicle(registry, bank, "upgrade:consented")
    reporter.submit([(v, 9000, APPRAISAL * 9 // 10) for v in vehicles.values()])

    loan = {"applied": open_loan(loans, bank, vehicles["applied"])}
    for label in ("approved", "active", "defaulted", "closed", "alert", "expired"):
        loan[label] = open_loan(loans, bank, vehicles[label])
        loans.approve(loan[label], {"from": bank})
    for label in ("active", "defaulted", "closed", "alert"):
        loans.activate(loan[label], {"from": bank})
    loans.recordRepayment(loan["active"], INSTALMENT, {"from": bank})
    loans.recordRepayment(loan["closed"], PRINCIPAL, {"from": bank})
    loans.close(loan["closed"], {"from": bank})
    loan["rejected"] = open_loan(loans, bank, vehicles["spare"])
    loans.reject(loan["rejected"], {"from": bank})
    loan["cancelled"] = open_loan(loans, bank, vehicles["spare"])
    loans.cancel(loan["cancelled"], {"from": bank})
    loan["other"] = open_loan(loans, other_bank, vehicles["other"])
    # A lien on another bank's vehicle, by the registering bank's consent (used once).
    borrower = key("borrower:consented")
    deadline, nonce, signature = sign_lien_consent(
        bank, loans, vehicles["consented"], other_bank, borrower, PRINCIPAL
    )
    loan["consented"] = loans.applyForLoan(
        vehicles["consented"],
        borrower,
        PRINCIPAL,
        LOAN_TERMS["rate"],
        LOAN_TERMS["term"],
        LOAN_TERMS["interval"],
        (deadline, nonce, signature),
        {"from": other_bank},
    ).return_value
    loans.approve(loan["consented"], {"from": other_bank})
    consent = (vehicles["consented"], other_bank, borrower, PRINCIPAL, deadline, nonce)
    loan["released"] = open_loan(loans, departing, vehicles["released"])
    loans.approve(loan["released"], {"from": departing})

    chain.sleep(LOAN_TERMS["interval"] + 1)
    loans.markOverdue(loan["defaulted"], {"from": members.auditor})
    loans.expireApproval(loan["expired"], {"from": members.auditor})
    chain.sleep(30 * DAY)
    loans.markDefaulted(loan["defaulted"], {"from": members.auditor})
    chain.mine()

    # Fresh scores after the wait; two vehicles under liens fall below the alert threshold.
    reporter.submit(
        [
            (vehicles["alert"], 6000, APPRAISAL * 6 // 10),
            (vehicles["defaulted"], 5000, APPRAISAL * 5 // 10),
            (vehicles["active"], 8500, APPRAISAL * 85 // 100),
        ]
    )
    loans.syncRate(loan["alert"], {"from": members.auditor})
    reviewed = oracle.openAlertOf(vehicles["defaulted"])
    oracle.reviewAlert(reviewed, 1, key("reviewer"), key("comment"), {"from": bank})
    registry.reappraise(vehicles["spare"], APPRAISAL + 1, chain[-1].timestamp, {"from": bank})
    registry.transferOwnership(vehicles["spare"], key("owner:new"), {"from": bank})

    documents = []
    for index, issuer in enumerate(members.issuers):
        content, issued_at = key(f"upgrade:document:{index}"), chain[-1].timestamp - 60
        signature, digest = sign_document(
            issuer, registry.address, vehicles["active"], INSPECTION, CID, content, issued_at
        )
        registry.anchorDocument(
            vehicles["active"],
            INSPECTION,
            CID,
            content,
            issuer,
            issued_at,
            signature,
            {"from": bank},
        )
        documents.append((digest, vehicles["active"], INSPECTION, CID, content, issued_at))
    registry.revokeDocument(documents[1][0], {"from": members.issuers[1]})
    consortium.setDocumentKey(key("x25519:bank"), {"from": bank})
    consortium.setDocumentKey(key("x25519:bank:rotated"), {"from": bank})
    consortium.setDocumentKey(key("x25519:auditor"), {"from": members.auditor})

    open_proposal = consortium.propose(
        action(SET_PARAMETER, key_=key("RATE_STEP_BPS"), value=500), {"from": bank}
    ).return_value
    consortium.vote(open_proposal, True, {"from": bank})
    consortium.vote(open_proposal, False, {"from": departing})
    # Governance at work: an issuer suspended and its documents revoked up to now, a vehicle
    # appraised by vote, a bank suspended and its lien released.
    govern(consortium, action(SUSPEND, members.issuers[1]), banks[:2])
    govern(
        consortium,
        action(REVOKE_ISSUER_DOCUMENTS, members.issuers[0], value=chain[-1].timestamp),
        banks[:2],
    )
    govern(consortium, action(REAPPRAISE, key_=vehicles["closed"], value=APPRAISAL - 1), banks[:2])
    govern(consortium, action(SUSPEND, departing), banks[:2])
    govern(consortium, action(RELEASE_LIEN, departing, value=loan["released"]), banks[:2])

    everyone = [
        members.deployer,
        *banks,
        members.auditor,
        *members.oracles,
        *members.issuers,
        members.stranger,
        members.candidate,
    ]
    return SimpleNamespace(
        vehicles=vehicles,
        loans=loan,
        documents=documents,
        consents=[consent],
        accounts=everyone,
        system=system,
    )


ROLES = [
    key(name)
    for name in (
        "BANK_ROLE",
        "AUDITOR_ROLE",
        "ORACLE_ROLE",
        "ISSUER_ROLE",
        "MEMBER_ROLE",
        "SYSTEM_ROLE",
        "GOVERNANCE_ROLE",
        "UNKNOWN_ROLE",
    )
]
PARAMETERS = [
    key(name)
    for name in (
        "ALERT_THRESHOLD_BPS",
        "ALERT_HYSTERESIS_BPS",
        "RATE_STEP_BPS",
        "RATE_INCREASE_BPS",
        "ORACLE_QUORUM",
        "HEARTBEAT",
        "VOTING_PERIOD",
        "GRACE_PERIOD",
        "MAX_ROUND_GAP",
        "APPROVAL_TTL",
        "VIN_SECRET_FINGERPRINT",
        "NOT_A_PARAMETER",
    )
]


def view_arguments(world):
    """The argument lists each view of each contract is read with (every id the world holds)."""
    system = world.system
    vehicles = [*world.vehicles.values(), key("vehicle:unknown")]
    loan_ids = list(range(system.loans.loanCount() + 2))
    accounts = [str(a) for a in world.accounts] + [
        system.registry.address,
        system.consortium.address,
    ]
    proposal_ids = range(system.consortium.proposalCount() + 2)
    return {
        "consortium": {
            "hasRole": [(role, a) for role in ROLES for a in accounts],
            "checkRole": [(role, a) for role in ROLES for a in accounts],
            "activeMemberCount": [(kind,) for kind in range(5)],
            "memberOf": [(a,) for a in accounts],
            "parameter": [(p,) for p in PARAMETERS],
            "isModelApproved": [(MODEL_VERSION,), (key("model:other"),)],
            "proposal": [(i,) for i in proposal_ids],
            "countedVotes": [(i,) for i in proposal_ids],
            "documentKeyOf": [(a,) for a in accounts],
            "hasVoted": [
                (i, a) for i in range(system.consortium.proposalCount() + 1) for a in accounts
            ],
        },
        "registry": {
            "vehicle": [(v,) for v in vehicles],
            "lienOf": [(v,) for v in vehicles],
            "collateralOf": [(v,) for v in vehicles],
            "document": [(d[0],) for d in world.documents] + [(key("document:unknown"),)],
            "documentDigest": [d[1:] for d in world.documents],
            "isDocumentRevoked": [(d[0],) for d in world.documents] + [(key("document:unknown"),)],
            "issuerRevocationCutoff": [(a,) for a in accounts],
        },
        "oracle": {
            "latestRoundData": [(v,) for v in vehicles],
            "roundModelVersion": [(r,) for r in range(system.oracle.latestRound() + 2)],
            "openAlertOf": [(v,) for v in vehicles],
            "alert": [(i,) for i in range(system.oracle.alertCount() + 2)],
            "reportDigest": [
                (
                    (
                        7,
                        MODEL_VERSION,
                        1_700_000_000,
                        [(world.vehicles["active"], 7000, [7000] * 12, 12345)],
                    ),
                )
            ],
        },
        "loans": {
            name: [(i,) for i in loan_ids]
            for name in ("loan", "currentRateBps", "loanToValueBps", "outstanding", "nextDueDate")
        }
        | {
            "isTransitionAllowed": [(a, b) for a in range(13) for b in range(13)],
            "holdsLien": [(s,) for s in range(13)],
            "lienConsentDigest": list(world.consents),
            "isConsentUsed": [
                (system.loans.lienConsentDigest(*consent),) for consent in world.consents
            ]
            + [(key("consent:unknown"),)],
        },
    }


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return str(value) if not isinstance(value, (int, bool)) else value


def read_every_view(world):
    """Every view and pure function of the four contracts, called with every argument list;
    a revert is recorded as its message. Fails if a view has no argument list here."""
    system = world.system
    arguments = view_arguments(world)
    readings = {}
    for name in IMPLEMENTATIONS:
        contract = getattr(system, name)
        for entry in contract.abi:
            if entry.get("type") != "function" or entry["stateMutability"] not in ("view", "pure"):
                continue
            function = entry["name"]
            calls = [()] if not entry["inputs"] else arguments[name].get(function)
            assert calls is not None, f"{name}.{function} is not read by the upgrade test"
            for call_args in calls:
                try:
                    value = _plain(getattr(contract, function)(*call_args))
                except brownie.exceptions.VirtualMachineError as exc:
                    value = f"reverted: {exc.revert_msg}"
                readings[(name, function, repr(call_args))] = value
    return readings


def test_populated_deployment_upgraded_by_vote_reads_back_as_it_was(populated, banks):
    system = populated.system
    consortium = system.consortium
    before = read_every_view(populated)
    assert before[("oracle", "alertCount", "()")] == 2
    assert before[("loans", "loanCount", "()")] == 12
    loan_states = {system.loans.loan(i)["state"] for i in range(1, 13)}
    assert loan_states == {1, 2, 3, 5, 8, 9, 10, 11, 12}  # Applied..Defaulted, Closed..Released

    replacements = new_implementations(system.members.stranger)
    # Every upgrade proposed first, the Consortium's own executed first: the upgraded
    # Consortium then executes the other three.
    order = ("consortium", "registry", "oracle", "loans")
    proposals = {
        name: consortium.propose(
            upgrade_action(getattr(system, name), replacements[name]), {"from": banks[0]}
        ).return_value
        for name in order
    }
    for name in order:
        for voter in banks[:2]:
            consortium.vote(proposals[name], True, {"from": voter})
    for name in order:
        tx = consortium.execute(proposals[name], {"from": banks[1]})
        assert tx.events["ContractUpgraded"][0]["proxy"] == getattr(system, name).address
        assert implementation_of(getattr(system, name)) == replacements[name].address

    after = read_every_view(populated)
    # Only what the four upgrade proposals themselves changed may differ.
    expected = dict(before)
    for key_, value in after.items():
        if key_[0] == "consortium" and key_[1] in (
            "proposal",
            "countedVotes",
            "hasVoted",
            "proposalCount",
        ):
            continue
        assert key_ in expected, key_
        assert value == expected[key_], key_
    for proposal_id in range(1, min(proposals.values())):
        call = repr((proposal_id,))
        for function in ("proposal", "countedVotes"):
            assert after[("consortium", function, call)] == before[("consortium", function, call)]
        for account in populated.accounts:
            call = repr((proposal_id, str(account)))
            assert (
                after[("consortium", "hasVoted", call)] == before[("consortium", "hasVoted", call)]
            )
    assert consortium.proposalCount() == before[("consortium", "proposalCount", "()")] + 4


@pytest.fixture(scope="module")
def upgraded(populated, banks):
    """The populated deployment after all four contracts were upgraded by vote."""
    system = populated.system
    replacements = new_implementations(system.members.stranger)
    for name in ("consortium", "registry", "oracle", "loans"):
        govern(
            system.consortium,
            upgrade_action(getattr(system, name), replacements[name]),
            banks[:2],
        )
    return populated


def test_upgraded_system_keeps_working(upgraded, reporter, banks):
    system = upgraded.system
    members = system.members
    bank = banks[0]
    # a new vehicle, a report on it and the existing ones, a new loan through to activation
    vehicle = new_vehicle(system.registry, bank, "after-upgrade")
    round_before = system.oracle.latestRound()
    tx = reporter.submit(
        [(vehicle, 9100, APPRAISAL * 9 // 10), (upgraded.vehicles["alert"], 9000, APPRAISAL)]
    )
    assert system.oracle.latestRound() == round_before + 1
    assert "ValueRecovered" in tx.events  # the alert raised before the upgrade closes
    loan_id = open_loan(system.loans, bank, vehicle)
    system.loans.approve(loan_id, {"from": bank})
    system.loans.activate(loan_id, {"from": bank})
    assert system.registry.lienOf(vehicle)["loanId"] == loan_id
    # a document signed for the proxy's EIP-712 domain (the address did not change)
    content, issued_at = key("document:after-upgrade"), chain[-1].timestamp - 1
    signature, digest = sign_document(
        members.issuers[0], system.registry.address, vehicle, INSURANCE, CID, content, issued_at
    )
    tx = system.registry.anchorDocument(
        vehicle, INSURANCE, CID, content, members.issuers[0], issued_at, signature, {"from": bank}
    )
    assert tx.return_value == digest
    # governance still decides, and still alone decides upgrades
    govern(
        system.consortium,
        action(SET_PARAMETER, key_=key("HEARTBEAT"), value=3 * DAY),
        banks[:2],
    )
    assert system.consortium.parameter(key("HEARTBEAT")) == 3 * DAY
    # the governance actions that call into the (upgraded) registry still reach it
    govern(system.consortium, action(REAPPRAISE, key_=vehicle, value=APPRAISAL + 7), banks[:2])
    assert system.registry.vehicle(vehicle)["appraisalValue"] == APPRAISAL + 7
    back = system.registry.implementation  # the first implementation: still a valid one
    with reverts_with("ConsortiumUnauthorizedUpgrade", system.registry, bank, back):
        system.registry.upgradeToAndCall(back, b"", {"from": bank})
    govern(system.consortium, upgrade_action(system.registry, back), banks[:2])
    assert implementation_of(system.registry) == back.address
    assert web3.eth.get_code(back.address)
