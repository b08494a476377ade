"""The consortium endpoints through a real auditor's node process: the founding members
with their roles, and proposals made and voted by the banks (through the core sender)
with their votes, status and pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import api_server
import httpx
import pytest
from api_server import BUILD_DIR, NodeProcess, wait_for
from eth_account import Account
from oracle_reports import Chain
from web3 import Web3

from node_api.api_keys import Role
from vcl.contract_enums import ActionType
from vcl.deploy import DEV_FOUNDERS, MemberKind, dev_founders
from vcl.errors import TransactionReverted
from vcl.localchain import LocalChain
from vcl.sender import TransactionSender

AUDITOR_INDEX = 3
BANK_A, BANK_B = 1, 2
SET_PARAMETER = 4  # IConsortium.ActionType
ZERO_ADDRESS = "0x" + "00" * 20

deployment = api_server.deployment


auditor_node = api_server.node_fixture("auditor_node", "auditor", AUDITOR_INDEX)


@pytest.fixture(scope="module")
def chain(anvil: LocalChain, deployment: Path) -> Chain:
    return Chain(anvil, deployment, BUILD_DIR)


def get(node: NodeProcess, path: str, role: Role = Role.AUDITOR, **params: Any) -> httpx.Response:
    with node.client(role) as client:
        return client.get(path, params=params)


def proposal_once(node: NodeProcess, proposal_id: int, tx_hash: str) -> dict[str, Any]:
    """The proposal once the node has indexed the transaction `tx_hash`."""

    def indexed() -> dict[str, Any] | None:
        answer = get(node, f"/v1/consortium/proposals/{proposal_id}")
        if answer.status_code != 200:
            return None
        body: dict[str, Any] = answer.json()
        hashes = {body["created_tx_hash"], body["executed_tx_hash"]}
        hashes.update(v["tx_hash"] for v in body["votes"])
        return body if tx_hash in hashes else None

    body = wait_for(indexed)
    assert body is not None, f"{tx_hash} never appeared in proposal {proposal_id}"
    return body


def tx_hash(receipt: Any) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def test_members_are_the_founders_with_their_roles(auditor_node: NodeProcess) -> None:
    answer = get(auditor_node, "/v1/consortium/members", Role.OFFICER)
    assert answer.status_code == 200, answer.text
    members = {m["address"]: m for m in answer.json()["items"]}
    founders = dev_founders()
    assert list(members) == [f.address for f in founders]
    labels = {MemberKind.BANK: "Bank", MemberKind.AUDITOR: "Auditor"}
    for founder, (_, _, name) in zip(founders, DEV_FOUNDERS, strict=True):
        member = members[founder.address]
        assert member["status"] == "Active"
        assert member["name"] == name
        assert member["name_hash"] == "0x" + bytes(Web3.keccak(text=name)).hex()
        assert member["joined_block"] > 0
        if founder.kind in labels:
            assert member["kind"] == labels[founder.kind]
    roles = {members[f.address]["name"]: members[f.address]["roles"] for f in founders}
    assert roles["bank-a"] == ["BANK_ROLE", "MEMBER_ROLE"]
    assert roles["auditor"] == ["AUDITOR_ROLE", "MEMBER_ROLE"]
    assert roles["oracle-1"] == ["ORACLE_ROLE", "MEMBER_ROLE"]
    assert roles["issuer"] == ["ISSUER_ROLE", "MEMBER_ROLE"]


def test_proposals_show_their_votes_status_and_execution(
    auditor_node: NodeProcess, chain: Chain
) -> None:
    consortium = chain.contracts["Consortium"]
    bank_a, bank_b = chain.sender(BANK_A), chain.sender(BANK_B)
    heartbeat = Web3.keccak(text="HEARTBEAT")

    def propose(value: int) -> tuple[int, Any]:
        action = (SET_PARAMETER, ZERO_ADDRESS, 0, heartbeat, value)
        receipt = bank_a.transact(consortium.functions.propose(action))
        return int(consortium.functions.proposalCount().call()), receipt

    split, created = propose(3600)
    yes = bank_a.transact(consortium.functions.vote(split, True))
    no = bank_b.transact(consortium.functions.vote(split, False))
    body = proposal_once(auditor_node, split, tx_hash(no))
    assert body["proposer"] == bank_a.account.address
    assert body["created_tx_hash"] == tx_hash(created)
    assert body["created_block"] == created["blockNumber"]
    assert body["action"] == {
        "action_type": "SetParameter",
        "account": ZERO_ADDRESS,
        "kind": "None",
        "key": "0x" + bytes(heartbeat).hex(),
        "key_name": "HEARTBEAT",
        "value": "3600",
    }
    assert (body["votes_for"], body["votes_against"], body["status"]) == (1, 1, "open")
    assert [(v["voter"], v["support"], v["tx_hash"], v["block_number"]) for v in body["votes"]] == [
        (bank_a.account.address, True, tx_hash(yes), yes["blockNumber"]),
        (bank_b.account.address, False, tx_hash(no), no["blockNumber"]),
    ]

    passed, _ = propose(7200)
    bank_a.transact(consortium.functions.vote(passed, True))
    second = bank_b.transact(consortium.functions.vote(passed, True))
    assert proposal_once(auditor_node, passed, tx_hash(second))["status"] == "passed"
    executed = bank_a.transact(consortium.functions.execute(passed))
    body = proposal_once(auditor_node, passed, tx_hash(executed))
    assert body["status"] == "executed"
    assert (body["executed_block"], body["executed_tx_hash"]) == (
        executed["blockNumber"],
        tx_hash(executed),
    )

    page = get(auditor_node, "/v1/consortium/proposals", limit=1)
    assert page.status_code == 200, page.text
    first = page.json()
    assert [p["proposal_id"] for p in first["items"]] == [str(passed)]  # newest first
    assert first["next_offset"] == 1
    assert first["active_banks"] == 2
    rest = get(auditor_node, "/v1/consortium/proposals", limit=200, offset=1).json()
    assert rest["items"][0]["proposal_id"] == str(split)
    assert rest["items"][0]["votes_against"] == 1
    assert rest["next_offset"] is None
    assert first["total"] == rest["total"] == len(rest["items"]) + 1


def test_unknown_and_malformed_proposals_are_refused(auditor_node: NodeProcess) -> None:
    unknown = get(auditor_node, "/v1/consortium/proposals/999999")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "UnknownProposal"
    malformed = get(auditor_node, "/v1/consortium/proposals/first")
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "InvalidProposalId"
    with auditor_node.client() as anonymous:
        assert anonymous.get("/v1/consortium/members").status_code == 401


def test_a_suspended_voters_yes_no_longer_makes_a_proposal_passed(
    anvil: LocalChain, tmp_path: Path
) -> None:
    # A consortium of its own: a third bank joins it, which the other tests must not see.
    deployed = api_server.deployed_consortium(anvil, tmp_path / "consortium")
    chain = Chain(anvil, deployed, BUILD_DIR)
    node = api_server.start_node(anvil, deployed, tmp_path / "auditor", AUDITOR_INDEX)
    try:
        consortium = chain.contracts["Consortium"]
        bank_a, bank_b = chain.sender(BANK_A), chain.sender(BANK_B)
        joined = Account.create()
        bank_c = TransactionSender(bank_a.w3, joined, bank_a.decoder)

        def passed_by(voters: list[TransactionSender], action: tuple[Any, ...]) -> Any:
            bank_a.transact(consortium.functions.propose(action))
            proposal_id = consortium.functions.proposalCount().call()
            for voter in voters:
                voter.transact(consortium.functions.vote(proposal_id, True))
            return bank_a.transact(consortium.functions.execute(proposal_id))

        name = Web3.keccak(text="bank-c")
        passed_by(
            [bank_a, bank_b],
            (int(ActionType.ADMIT_MEMBER), joined.address, int(MemberKind.BANK), name, 0),
        )
        action = (SET_PARAMETER, ZERO_ADDRESS, 0, Web3.keccak(text="HEARTBEAT"), 5400)
        bank_a.transact(consortium.functions.propose(action))
        proposal_id = int(consortium.functions.proposalCount().call())
        bank_a.transact(consortium.functions.vote(proposal_id, True))
        vote_c = bank_c.transact(consortium.functions.vote(proposal_id, True))
        assert proposal_once(node, proposal_id, tx_hash(vote_c))["status"] == "passed"

        suspend = (int(ActionType.SUSPEND_MEMBER), joined.address, 0, b"\x00" * 32, 0)
        suspended = passed_by([bank_a, bank_b], suspend)
        proposal_once(node, proposal_id + 1, tx_hash(suspended))
        body = get(node, f"/v1/consortium/proposals/{proposal_id}").json()
        # Two yes-votes were cast; only bank A's counts now: not more than half of 2 banks.
        assert (body["votes_for"], body["status"]) == (2, "open")
        with pytest.raises(TransactionReverted) as refused:
            bank_a.transact(consortium.functions.execute(proposal_id))
        assert refused.value.error_name == "ConsortiumProposalNotPassed"
        assert refused.value.args_decoded == (proposal_id, 1, 2)
    finally:
        node.stop()
