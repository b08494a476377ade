"""Consortium: membership, roles, parameters, governance, binding of the system contracts."""

import brownie
import pytest
from brownie import Consortium, chain
from conftest import (
    ACTIVE,
    ADMIT,
    AUDITOR,
    AUDITOR_ROLE,
    BANK,
    BANK_ROLE,
    DAY,
    DEFAULT_PARAMETERS,
    DOCUMENT_ISSUER,
    GOVERNANCE_ROLE,
    ISSUER_ROLE,
    MEMBER_ROLE,
    NONE_STATUS,
    ORACLE_OPERATOR,
    ORACLE_ROLE,
    REAPPRAISE,
    REINSTATE,
    RELEASE_LIEN,
    REMOVE,
    REMOVED,
    REVOKE_ISSUER_DOCUMENTS,
    ROLE_OF_KIND,
    SET_MODEL_APPROVAL,
    SET_PARAMETER,
    SUSPEND,
    SUSPENDED,
    SYSTEM_ROLE,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    action,
    deploy_proxied,
    founding_arguments,
    govern,
    key,
    plain,
    reverts_with,
)

MODEL_V1 = key("model:v1")


@pytest.fixture(scope="module")
def banks(funded):
    return funded.banks


def propose(consortium, proposed_action, proposer):
    return consortium.propose(proposed_action, {"from": proposer}).return_value


# ---------------------------------------------------------------- construction


def test_constants_are_keccak_of_their_names(consortium):
    for name in (
        "BANK_ROLE",
        "AUDITOR_ROLE",
        "ORACLE_ROLE",
        "ISSUER_ROLE",
        "MEMBER_ROLE",
        "SYSTEM_ROLE",
        "GOVERNANCE_ROLE",
        *DEFAULT_PARAMETERS,
    ):
        assert getattr(consortium, name)() == key(name)


def test_founders_are_active_members_with_their_role(consortium, funded):
    founders, kinds, name_hashes, _, _ = founding_arguments(funded)
    for account, kind, name_hash in zip(founders, kinds, name_hashes, strict=True):
        member = consortium.memberOf(account)
        assert (member["kind"], member["status"], member["nameHash"]) == (kind, ACTIVE, name_hash)
        assert member["joinedAt"] > 0
        for role in (BANK_ROLE, AUDITOR_ROLE, ORACLE_ROLE, ISSUER_ROLE, SYSTEM_ROLE):
            assert consortium.hasRole(role, account) == (role == ROLE_OF_KIND[kind])
        assert consortium.hasRole(MEMBER_ROLE, account)  # every active member, any kind
    assert not consortium.hasRole(MEMBER_ROLE, funded.stranger)
    assert [
        consortium.activeMemberCount(kind)
        for kind in (0, BANK, AUDITOR, ORACLE_OPERATOR, DOCUMENT_ISSUER)
    ] == [
        0,
        3,
        1,
        3,
        2,
    ]


def test_constructor_emits_admissions_and_parameters(funded):
    founders, kinds, name_hashes, keys, values = founding_arguments(funded)
    deployed = deploy_proxied(
        Consortium, founders, kinds, name_hashes, keys, values, {"from": funded.deployer}
    )
    events = deployed.tx.events
    assert [(e["account"], e["kind"], e["nameHash"]) for e in events["MemberAdmitted"]] == list(
        zip(founders, kinds, name_hashes, strict=True)
    )
    assert [(e["key"], e["oldValue"], e["newValue"]) for e in events["ParameterChanged"]] == [
        (k, 0, v) for k, v in zip(keys, values, strict=True)
    ]


def test_parameters_hold_their_initial_values(consortium):
    for name, value in DEFAULT_PARAMETERS.items():
        assert consortium.parameter(key(name)) == value


def test_unknown_parameter_reverts(consortium):
    with reverts_with("ConsortiumUnknownParameter", key("NOPE")):
        consortium.parameter(key("NOPE"))


def test_non_member_has_no_role_and_zero_record(consortium, funded):
    assert plain(consortium.memberOf(funded.stranger)) == [0, NONE_STATUS, 0, ZERO_BYTES32]
    assert not consortium.hasRole(BANK_ROLE, funded.stranger)
    assert not consortium.hasRole(key("UNKNOWN_ROLE"), funded.banks[0])


def test_governance_role_is_held_by_the_consortium_alone(consortium, funded):
    assert consortium.hasRole(GOVERNANCE_ROLE, consortium)
    for account in (funded.banks[0], funded.deployer, funded.stranger):
        assert not consortium.hasRole(GOVERNANCE_ROLE, account)


def test_check_role_reverts_naming_account_and_role(consortium, funded):
    consortium.checkRole(BANK_ROLE, funded.banks[0])
    with reverts_with("ConsortiumUnauthorizedAccount", funded.auditor, BANK_ROLE):
        consortium.checkRole(BANK_ROLE, funded.auditor)


def _with(arguments, index, value):
    changed = list(arguments)
    changed[index] = value
    return changed


@pytest.mark.parametrize("index", [1, 2, 4])
def test_constructor_rejects_arrays_of_different_lengths(funded, index):
    arguments = founding_arguments(funded)
    shorter = _with(arguments, index, arguments[index][:-1])
    expected = len(arguments[3 if index == 4 else 0])
    with reverts_with("ConsortiumArrayLengthMismatch", expected, expected - 1):
        deploy_proxied(Consortium, *shorter, {"from": funded.deployer})


def test_constructor_requires_a_bank(funded):
    founders, kinds, names, keys, values = founding_arguments(funded)
    with reverts_with("ConsortiumNoFoundingBank"):
        deploy_proxied(
            Consortium, founders[3:], kinds[3:], names[3:], keys, values, {"from": funded.deployer}
        )


def test_constructor_rejects_zero_account_none_kind_and_duplicates(funded):
    founders, kinds, names, keys, values = founding_arguments(funded)
    with reverts_with("ConsortiumInvalidAccount", ZERO_ADDRESS):
        deploy_proxied(
            Consortium,
            [ZERO_ADDRESS, *founders[1:]],
            kinds,
            names,
            keys,
            values,
            {"from": funded.deployer},
        )
    with reverts_with("ConsortiumInvalidMemberKind", 0):
        deploy_proxied(
            Consortium, founders, [0, *kinds[1:]], names, keys, values, {"from": funded.deployer}
        )
    with reverts_with("ConsortiumMemberExists", founders[0], ACTIVE):
        deploy_proxied(
            Consortium,
            [*founders, founders[0]],
            [*kinds, BANK],
            [*names, names[0]],
            keys,
            values,
            {"from": funded.deployer},
        )


def test_constructor_rejects_unknown_missing_and_invalid_parameters(funded):
    founders, kinds, names, keys, values = founding_arguments(funded)
    with reverts_with("ConsortiumUnknownParameter", key("NOPE")):
        deploy_proxied(
            Consortium,
            founders,
            kinds,
            names,
            [*keys, key("NOPE")],
            [*values, 1],
            {"from": funded.deployer},
        )
    with reverts_with("ConsortiumMissingParameter", keys[-1]):
        deploy_proxied(
            Consortium, founders, kinds, names, keys[:-1], values[:-1], {"from": funded.deployer}
        )
    with reverts_with("ConsortiumInvalidParameter", keys[0], 0):
        deploy_proxied(
            Consortium, founders, kinds, names, keys, [0, *values[1:]], {"from": funded.deployer}
        )
    # threshold 9800 + hysteresis 500 would re-arm above 100% of the appraisal
    with reverts_with("ConsortiumInvalidParameter", key("ALERT_HYSTERESIS_BPS"), 500):
        deploy_proxied(
            Consortium, founders, kinds, names, keys, [9800, *values[1:]], {"from": funded.deployer}
        )


# ---------------------------------------------------------------- proposals


def test_propose_records_the_proposal_and_emits(consortium, banks, funded):
    admit = action(ADMIT, funded.candidate, AUDITOR, key("name:candidate"))
    tx = consortium.propose(admit, {"from": banks[0]})
    deadline = tx.timestamp + DEFAULT_PARAMETERS["VOTING_PERIOD"]
    assert tx.return_value == 1 == consortium.proposalCount()
    assert plain(tx.events["ProposalCreated"][0].values()) == [
        1,
        banks[0],
        ADMIT,
        funded.candidate,
        AUDITOR,
        key("name:candidate"),
        0,
        deadline,
    ]
    assert plain(consortium.proposal(1)) == [list(admit), banks[0], deadline, 0, 0, False]
    assert consortium.propose(admit, {"from": banks[1]}).return_value == 2


def test_unknown_proposal_reverts(consortium, banks):
    for proposal_id in (0, 1):
        with reverts_with("ConsortiumUnknownProposal", proposal_id):
            consortium.proposal(proposal_id)
        with reverts_with("ConsortiumUnknownProposal", proposal_id):
            consortium.vote(proposal_id, True, {"from": banks[0]})
        with reverts_with("ConsortiumUnknownProposal", proposal_id):
            consortium.execute(proposal_id, {"from": banks[0]})


@pytest.mark.parametrize(
    ("make_action", "error"),
    [
        (lambda m: action(ADMIT, m.banks[1], BANK), ("ConsortiumMemberExists", "banks1", ACTIVE)),
        (lambda m: action(ADMIT, ZERO_ADDRESS, BANK), ("ConsortiumInvalidAccount", ZERO_ADDRESS)),
        (lambda m: action(ADMIT, m.candidate, 0), ("ConsortiumInvalidMemberKind", 0)),
        (lambda m: action(ADMIT, m.candidate, BANK, value=1), ("ConsortiumInvalidAction", ADMIT)),
        (lambda m: action(SUSPEND, m.candidate), ("ConsortiumNotMember", "candidate")),
        (
            lambda m: action(REINSTATE, m.banks[1]),
            ("ConsortiumInvalidMemberStatus", "banks1", ACTIVE),
        ),
        (lambda m: action(REMOVE, m.stranger), ("ConsortiumNotMember", "stranger")),
        (lambda m: action(SUSPEND, m.banks[1], BANK), ("ConsortiumInvalidAction", SUSPEND)),
        (lambda m: action(REMOVE, m.banks[1], value=1), ("ConsortiumInvalidAction", REMOVE)),
        (
            lambda m: action(SET_PARAMETER, key_=key("NOPE"), value=1),
            ("ConsortiumUnknownParameter", key("NOPE")),
        ),
        (
            lambda m: action(SET_PARAMETER, key_=key("ORACLE_QUORUM"), value=0),
            ("ConsortiumInvalidParameter", key("ORACLE_QUORUM"), 0),
        ),
        (
            lambda m: action(SET_PARAMETER, m.banks[1], key_=key("ORACLE_QUORUM"), value=2),
            ("ConsortiumInvalidAction", SET_PARAMETER),
        ),
        (
            lambda m: action(SET_MODEL_APPROVAL, value=1),
            ("ConsortiumInvalidModelVersion", ZERO_BYTES32),
        ),
        (
            lambda m: action(SET_MODEL_APPROVAL, key_=MODEL_V1, value=2),
            ("ConsortiumInvalidAction", SET_MODEL_APPROVAL),
        ),
        # The system actions need the system contracts, not bound in this module.
        (
            lambda m: action(RELEASE_LIEN, m.banks[1], value=1),
            ("ConsortiumInvalidAction", RELEASE_LIEN),
        ),
        (
            lambda m: action(REAPPRAISE, key_=key("vehicle"), value=1),
            ("ConsortiumInvalidAction", REAPPRAISE),
        ),
        (
            lambda m: action(REVOKE_ISSUER_DOCUMENTS, m.issuers[0], value=1),
            ("ConsortiumInvalidAction", REVOKE_ISSUER_DOCUMENTS),
        ),
    ],
    ids=lambda value: "" if callable(value) else value[0],
)
def test_propose_validates_the_action(consortium, funded, make_action, error):
    name, *args = error
    named = {"banks1": funded.banks[1], "candidate": funded.candidate, "stranger": funded.stranger}
    with reverts_with(
        name, *(named.get(arg, arg) if isinstance(arg, str) else arg for arg in args)
    ):
        consortium.propose(make_action(funded), {"from": funded.banks[0]})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALERT_THRESHOLD_BPS", 0),
        ("ALERT_THRESHOLD_BPS", 9501),  # + hysteresis 500 > 100%
        ("ALERT_HYSTERESIS_BPS", 3001),  # + threshold 7000 > 100%
        ("RATE_STEP_BPS", 0),
        ("RATE_STEP_BPS", 10001),
        ("RATE_INCREASE_BPS", 10001),
        ("ORACLE_QUORUM", 0),
        ("ORACLE_QUORUM", 101),
        ("HEARTBEAT", 0),
        ("HEARTBEAT", 365 * DAY + 1),
        ("VOTING_PERIOD", 0),
        ("GRACE_PERIOD", 365 * DAY + 1),
        ("MAX_ROUND_GAP", 0),
        ("MAX_ROUND_GAP", 1_000_001),
        ("APPROVAL_TTL", 3599),
        ("APPROVAL_TTL", 365 * DAY + 1),
        ("VIN_SECRET_FINGERPRINT", 0),  # unset: no bank could tell which secret is current
    ],
)
def test_parameter_bounds(consortium, banks, name, value):
    with reverts_with("ConsortiumInvalidParameter", key(name), value):
        consortium.propose(action(SET_PARAMETER, key_=key(name), value=value), {"from": banks[0]})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALERT_THRESHOLD_BPS", 9500),
        ("ALERT_HYSTERESIS_BPS", 0),
        ("RATE_INCREASE_BPS", 0),
        ("GRACE_PERIOD", 0),
        ("MAX_ROUND_GAP", 1),
        ("MAX_ROUND_GAP", 1_000_000),
        ("APPROVAL_TTL", 3600),
        ("APPROVAL_TTL", 365 * DAY),
        ("VIN_SECRET_FINGERPRINT", 1),
        ("VIN_SECRET_FINGERPRINT", 2**256 - 1),
    ],
)
def test_parameter_bound_edges_are_accepted(consortium, banks, name, value):
    tx = govern(consortium, action(SET_PARAMETER, key_=key(name), value=value), banks[:2])
    assert plain(tx.events["ParameterChanged"][0].values()) == [
        key(name),
        DEFAULT_PARAMETERS[name],
        value,
    ]
    assert consortium.parameter(key(name)) == value


# ---------------------------------------------------------------- votes


def test_vote_counts_and_emits(consortium, banks, funded):
    proposal_id = propose(consortium, action(ADMIT, funded.candidate, BANK), banks[0])
    tx = consortium.vote(proposal_id, True, {"from": banks[0]})
    assert plain(tx.events["VoteCast"][0].values()) == [proposal_id, banks[0], True, 1, 0]
    tx = consortium.vote(proposal_id, False, {"from": banks[1]})
    assert plain(tx.events["VoteCast"][0].values()) == [proposal_id, banks[1], False, 1, 1]
    assert consortium.hasVoted(proposal_id, banks[0])
    assert consortium.hasVoted(proposal_id, banks[1])
    assert not consortium.hasVoted(proposal_id, banks[2])
    assert (
        consortium.proposal(proposal_id)["yesVotes"]
        == 1
        == consortium.proposal(proposal_id)["noVotes"]
    )


def test_one_vote_per_bank(consortium, banks, funded):
    proposal_id = propose(consortium, action(ADMIT, funded.candidate, BANK), banks[0])
    consortium.vote(proposal_id, True, {"from": banks[0]})
    with reverts_with("ConsortiumAlreadyVoted", proposal_id, banks[0]):
        consortium.vote(proposal_id, False, {"from": banks[0]})


def test_vote_and_execute_refused_after_deadline(consortium, banks, funded):
    proposal_id = propose(consortium, action(ADMIT, funded.candidate, BANK), banks[0])
    consortium.vote(proposal_id, True, {"from": banks[0]})
    consortium.vote(proposal_id, True, {"from": banks[1]})
    deadline = consortium.proposal(proposal_id)["deadline"]
    chain.sleep(DEFAULT_PARAMETERS["VOTING_PERIOD"] + 1)
    chain.mine()
    with reverts_with("ConsortiumProposalExpired", proposal_id, deadline):
        consortium.vote(proposal_id, True, {"from": banks[2]})
    with reverts_with("ConsortiumProposalExpired", proposal_id, deadline):
        consortium.execute(proposal_id, {"from": banks[0]})


def test_vote_and_execute_refused_after_execution(consortium, banks, funded):
    tx = govern(consortium, action(ADMIT, funded.candidate, BANK), banks[:2])
    proposal_id = tx.events["ProposalExecuted"][0]["proposalId"]
    assert consortium.proposal(proposal_id)["executed"]
    with reverts_with("ConsortiumProposalAlreadyExecuted", proposal_id):
        consortium.vote(proposal_id, True, {"from": banks[2]})
    with reverts_with("ConsortiumProposalAlreadyExecuted", proposal_id):
        consortium.execute(proposal_id, {"from": banks[0]})


# ---------------------------------------------------------------- execution


def test_execute_needs_more_than_half_of_active_banks(consortium, banks, funded):
    proposal_id = propose(consortium, action(ADMIT, funded.candidate, BANK), banks[0])
    consortium.vote(proposal_id, True, {"from": banks[0]})
    consortium.vote(proposal_id, False, {"from": banks[1]})
    with reverts_with("ConsortiumProposalNotPassed", proposal_id, 1, 3):
        consortium.execute(proposal_id, {"from": banks[0]})
    consortium.vote(proposal_id, True, {"from": banks[2]})
    tx = consortium.execute(proposal_id, {"from": banks[2]})
    assert plain(tx.events["ProposalExecuted"][0].values()) == [proposal_id, banks[2]]


def test_exactly_half_is_not_a_majority(consortium, banks, funded):
    govern(consortium, action(ADMIT, funded.candidate, BANK), banks[:2])  # now 4 banks
    proposal_id = propose(consortium, action(SET_MODEL_APPROVAL, key_=MODEL_V1, value=1), banks[0])
    consortium.vote(proposal_id, True, {"from": banks[0]})
    consortium.vote(proposal_id, True, {"from": banks[1]})
    with reverts_with("ConsortiumProposalNotPassed", proposal_id, 2, 4):
        consortium.execute(proposal_id, {"from": banks[0]})


def test_majority_is_measured_at_execution_time(consortium, banks, funded):
    proposal_id = propose(consortium, action(SET_MODEL_APPROVAL, key_=MODEL_V1, value=1), banks[0])
    consortium.vote(proposal_id, True, {"from": banks[0]})
    consortium.vote(proposal_id, True, {"from": banks[1]})
    govern(consortium, action(ADMIT, funded.candidate, BANK), banks[:2])
    govern(consortium, action(ADMIT, funded.stranger, BANK), banks[:3])  # 5 active banks
    with reverts_with("ConsortiumProposalNotPassed", proposal_id, 2, 5):
        consortium.execute(proposal_id, {"from": banks[0]})


def test_removed_voters_vote_no_longer_counts(consortium, banks, funded):
    """Issue 15, attack 3: with 4 banks, 2 yes-votes and one yes-voter removed, the proposal
    passed on the old code (2 votes as cast > 3 / 2); only banks active now count."""
    govern(consortium, action(ADMIT, funded.candidate, BANK), banks[:2])  # 4 banks
    proposal_id = propose(consortium, action(SET_MODEL_APPROVAL, key_=MODEL_V1, value=1), banks[0])
    consortium.vote(proposal_id, True, {"from": banks[0]})
    consortium.vote(proposal_id, True, {"from": funded.candidate})
    assert plain(consortium.countedVotes(proposal_id)) == [2, 0]
    govern(consortium, action(REMOVE, funded.candidate), banks)  # 3 banks left
    assert consortium.proposal(proposal_id)["yesVotes"] == 2  # as cast
    assert plain(consortium.countedVotes(proposal_id)) == [1, 0]
    with reverts_with("ConsortiumProposalNotPassed", proposal_id, 1, 3):
        consortium.execute(proposal_id, {"from": banks[0]})
    assert not consortium.isModelApproved(MODEL_V1)
    consortium.vote(proposal_id, True, {"from": banks[1]})
    consortium.execute(proposal_id, {"from": banks[0]})
    assert consortium.isModelApproved(MODEL_V1)


def test_suspended_voters_vote_counts_again_once_reinstated(consortium, banks, funded):
    proposal_id = propose(consortium, action(SET_MODEL_APPROVAL, key_=MODEL_V1, value=1), banks[0])
    consortium.vote(proposal_id, True, {"from": banks[0]})
    consortium.vote(proposal_id, True, {"from": banks[1]})
    consortium.vote(proposal_id, False, {"from": banks[2]})
    govern(consortium, action(SUSPEND, banks[1]), [banks[0], banks[2]])
    assert plain(consortium.countedVotes(proposal_id)) == [1, 1]
    with reverts_with("ConsortiumProposalNotPassed", proposal_id, 1, 2):
        consortium.execute(proposal_id, {"from": banks[0]})
    govern(consortium, action(REINSTATE, banks[1]), [banks[0], banks[2]])
    assert plain(consortium.countedVotes(proposal_id)) == [2, 1]
    consortium.execute(proposal_id, {"from": banks[0]})
    assert consortium.isModelApproved(MODEL_V1)


def test_counted_votes_of_unknown_proposal_reverts(consortium):
    with reverts_with("ConsortiumUnknownProposal", 1):
        consortium.countedVotes(1)


def test_execution_revalidates_the_action(consortium, banks, funded):
    first = propose(consortium, action(ADMIT, funded.candidate, AUDITOR), banks[0])
    second = propose(consortium, action(ADMIT, funded.candidate, BANK), banks[1])
    for proposal_id in (first, second):
        for bank in banks[:2]:
            consortium.vote(proposal_id, True, {"from": bank})
    consortium.execute(first, {"from": banks[0]})
    with reverts_with("ConsortiumMemberExists", funded.candidate, ACTIVE):
        consortium.execute(second, {"from": banks[0]})


def test_admit_member(consortium, banks, funded):
    tx = govern(
        consortium,
        action(ADMIT, funded.candidate, ORACLE_OPERATOR, key("name:candidate")),
        banks[:2],
    )
    assert plain(tx.events["MemberAdmitted"][0].values()) == [
        funded.candidate,
        ORACLE_OPERATOR,
        key("name:candidate"),
    ]
    assert plain(consortium.memberOf(funded.candidate)) == [
        ORACLE_OPERATOR,
        ACTIVE,
        tx.timestamp,
        key("name:candidate"),
    ]
    assert consortium.hasRole(ORACLE_ROLE, funded.candidate)
    assert consortium.activeMemberCount(ORACLE_OPERATOR) == 4


def test_suspend_and_reinstate_member(consortium, banks, funded):
    issuer = funded.issuers[0]
    tx = govern(consortium, action(SUSPEND, issuer), banks[:2])
    assert plain(tx.events["MemberSuspended"][0].values()) == [issuer, DOCUMENT_ISSUER]
    assert consortium.memberOf(issuer)["status"] == SUSPENDED
    assert not consortium.hasRole(ISSUER_ROLE, issuer)
    assert not consortium.hasRole(MEMBER_ROLE, issuer)
    assert consortium.activeMemberCount(DOCUMENT_ISSUER) == 1
    with reverts_with("ConsortiumInvalidMemberStatus", issuer, SUSPENDED):
        consortium.propose(action(SUSPEND, issuer), {"from": banks[0]})

    tx = govern(consortium, action(REINSTATE, issuer), banks[:2])
    assert plain(tx.events["MemberReinstated"][0].values()) == [issuer, DOCUMENT_ISSUER]
    assert consortium.hasRole(ISSUER_ROLE, issuer)
    assert consortium.activeMemberCount(DOCUMENT_ISSUER) == 2


def test_remove_member_is_final(consortium, banks, funded):
    auditor = funded.auditor
    tx = govern(consortium, action(REMOVE, auditor), banks[:2])
    assert plain(tx.events["MemberRemoved"][0].values()) == [auditor, AUDITOR]
    assert consortium.memberOf(auditor)["status"] == REMOVED
    assert not consortium.hasRole(AUDITOR_ROLE, auditor)
    assert not consortium.hasRole(MEMBER_ROLE, auditor)
    assert consortium.activeMemberCount(AUDITOR) == 0
    for refused in (action(REMOVE, auditor), action(REINSTATE, auditor), action(SUSPEND, auditor)):
        with reverts_with("ConsortiumInvalidMemberStatus", auditor, REMOVED):
            consortium.propose(refused, {"from": banks[0]})
    with reverts_with("ConsortiumMemberExists", auditor, REMOVED):
        consortium.propose(action(ADMIT, auditor, AUDITOR), {"from": banks[0]})


def test_removing_a_suspended_member_counts_it_once(consortium, banks, funded):
    operator = funded.oracles[0]
    govern(consortium, action(SUSPEND, operator), banks[:2])
    govern(consortium, action(REMOVE, operator), banks[:2])
    assert consortium.memberOf(operator)["status"] == REMOVED
    assert consortium.activeMemberCount(ORACLE_OPERATOR) == 2


def test_last_active_bank_cannot_be_suspended_or_removed(consortium, banks):
    govern(consortium, action(SUSPEND, banks[2]), banks[:2])
    govern(consortium, action(REMOVE, banks[1]), banks[:2])
    assert consortium.activeMemberCount(BANK) == 1
    for last_bank_action in (action(SUSPEND, banks[0]), action(REMOVE, banks[0])):
        with reverts_with("ConsortiumLastActiveBank", banks[0]):
            consortium.propose(last_bank_action, {"from": banks[0]})
    # the remaining bank governs alone and can bring a bank back
    govern(consortium, action(REINSTATE, banks[2]), banks[:1])
    assert consortium.hasRole(BANK_ROLE, banks[2])


def test_suspended_bank_can_no_longer_govern(consortium, banks, funded):
    proposal_id = propose(consortium, action(ADMIT, funded.candidate, BANK), banks[0])
    govern(consortium, action(SUSPEND, banks[2]), banks[:2])
    for call in (
        lambda: consortium.propose(action(ADMIT, funded.stranger, BANK), {"from": banks[2]}),
        lambda: consortium.vote(proposal_id, True, {"from": banks[2]}),
        lambda: consortium.execute(proposal_id, {"from": banks[2]}),
    ):
        with reverts_with("ConsortiumUnauthorizedAccount", banks[2], BANK_ROLE):
            call()


def test_set_parameter(consortium, banks):
    tx = govern(
        consortium, action(SET_PARAMETER, key_=key("ALERT_THRESHOLD_BPS"), value=6500), banks[:2]
    )
    assert plain(tx.events["ParameterChanged"][0].values()) == [
        key("ALERT_THRESHOLD_BPS"),
        7000,
        6500,
    ]
    assert consortium.parameter(key("ALERT_THRESHOLD_BPS")) == 6500


def test_voting_period_change_applies_to_new_proposals(consortium, banks, funded):
    govern(consortium, action(SET_PARAMETER, key_=key("VOTING_PERIOD"), value=DAY), banks[:2])
    tx = consortium.propose(action(ADMIT, funded.candidate, BANK), {"from": banks[0]})
    assert consortium.proposal(tx.return_value)["deadline"] == tx.timestamp + DAY


def test_model_approval_and_withdrawal(consortium, banks):
    assert not consortium.isModelApproved(MODEL_V1)
    tx = govern(consortium, action(SET_MODEL_APPROVAL, key_=MODEL_V1, value=1), banks[:2])
    assert plain(tx.events["ModelVersionApproval"][0].values()) == [MODEL_V1, True]
    assert consortium.isModelApproved(MODEL_V1)
    tx = govern(consortium, action(SET_MODEL_APPROVAL, key_=MODEL_V1, value=0), banks[:2])
    assert plain(tx.events["ModelVersionApproval"][0].values()) == [MODEL_V1, False]
    assert not consortium.isModelApproved(MODEL_V1)


def test_execution_emits_action_events_then_proposal_executed(consortium, banks, funded):
    tx = govern(consortium, action(ADMIT, funded.candidate, BANK), banks[:2])
    names = [event.name for event in tx.events]
    assert names == ["MemberAdmitted", "ProposalExecuted"]


# ---------------------------------------------------------------- system contracts


def test_bind_system_contracts_once(consortium, registry, funded):
    oracle, loan_manager = funded.stranger, funded.candidate  # any non-zero addresses
    assert consortium.registry() == ZERO_ADDRESS
    assert not consortium.hasRole(SYSTEM_ROLE, registry)
    tx = consortium.bindSystemContracts(registry, oracle, loan_manager, {"from": funded.deployer})
    assert plain(tx.events["SystemContractsBound"][0].values()) == [registry, oracle, loan_manager]
    assert [consortium.registry(), consortium.oracle(), consortium.loanManager()] == [
        registry,
        oracle,
        loan_manager,
    ]
    for system in (registry, oracle, loan_manager):
        assert consortium.hasRole(SYSTEM_ROLE, system)
    assert not consortium.hasRole(SYSTEM_ROLE, funded.deployer)
    with reverts_with("ConsortiumSystemAlreadyBound"):
        consortium.bindSystemContracts(registry, oracle, loan_manager, {"from": funded.deployer})


def test_only_the_deployer_binds(consortium, registry, funded):
    with reverts_with("ConsortiumNotDeployer", funded.banks[0]):
        consortium.bindSystemContracts(
            registry, funded.stranger, funded.candidate, {"from": funded.banks[0]}
        )


@pytest.mark.parametrize("zero_index", [0, 1, 2])
def test_bind_refuses_zero_addresses(consortium, registry, funded, zero_index):
    addresses = [registry.address, funded.stranger.address, funded.candidate.address]
    addresses[zero_index] = ZERO_ADDRESS
    with reverts_with("ConsortiumInvalidSystemContract", ZERO_ADDRESS):
        consortium.bindSystemContracts(*addresses, {"from": funded.deployer})


def test_deployer_is_not_a_member(consortium, funded):
    assert consortium.memberOf(funded.deployer)["status"] == NONE_STATUS
    with reverts_with("ConsortiumUnauthorizedAccount", funded.deployer, BANK_ROLE):
        consortium.propose(action(ADMIT, funded.candidate, BANK), {"from": funded.deployer})


def test_reverted_proposal_leaves_no_trace(consortium, banks):
    with brownie.reverts():
        consortium.propose(action(SET_PARAMETER, key_=key("NOPE"), value=1), {"from": banks[0]})
    assert consortium.proposalCount() == 0


# ---------------------------------------------------------------- document keys

DOCUMENT_KEY = key("x25519 public key 1")


def test_bank_and_auditor_publish_document_keys_with_versions(consortium, funded):
    for member in (funded.banks[0], funded.auditor):
        assert plain(consortium.documentKeyOf(member)) == [ZERO_BYTES32, 0]
        tx = consortium.setDocumentKey(DOCUMENT_KEY, {"from": member})
        assert plain(tx.events["DocumentKeySet"][0].values()) == [member, DOCUMENT_KEY, 1]
        rotated = key("x25519 public key 2")
        tx = consortium.setDocumentKey(rotated, {"from": member})
        assert plain(tx.events["DocumentKeySet"][0].values()) == [member, rotated, 2]
        assert plain(consortium.documentKeyOf(member)) == [rotated, 2]


@pytest.mark.parametrize("who", ["issuer", "oracle", "stranger", "suspended", "removed"])
def test_only_active_banks_and_auditors_set_document_keys(consortium, funded, who):
    """An issuer or oracle operator with a document key would read every borrower document."""
    banks = funded.banks
    account = {
        "issuer": funded.issuers[0],
        "oracle": funded.oracles[0],
        "stranger": funded.stranger,
        "suspended": banks[2],
        "removed": banks[2],
    }[who]
    if who in ("suspended", "removed"):
        consortium.setDocumentKey(DOCUMENT_KEY, {"from": account})  # while active
        govern(consortium, action(SUSPEND if who == "suspended" else REMOVE, account), banks[:2])
    with reverts_with("ConsortiumUnauthorizedAccount", account, BANK_ROLE):
        consortium.setDocumentKey(key("another key"), {"from": account})
    assert consortium.documentKeyOf(account)[0] != key("another key")


def test_zero_document_key_is_refused(consortium, funded):
    with reverts_with("ConsortiumInvalidDocumentKey", ZERO_BYTES32):
        consortium.setDocumentKey(ZERO_BYTES32, {"from": funded.banks[0]})
    assert plain(consortium.documentKeyOf(funded.banks[0])) == [ZERO_BYTES32, 0]
