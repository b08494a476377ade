"""`vcl governance`: a parameter change proposed, voted and executed by the banks from the
command line, and refusals as one line with a non-zero exit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from typer.testing import CliRunner
from web3 import Web3

from vcl.artifacts import load_artifact
from vcl.config import DEV_PRIVATE_KEYS, KeySource, Settings, get_settings
from vcl.contract_enums import ActionType, LoanState
from vcl.deploy import DEV_FOUNDERS, MemberKind, deploy_system, dev_founders, parameter_key
from vcl.deployments import DeploymentRecord
from vcl.eip712 import Report, ReportEntry, report_message
from vcl.governance import ZERO_ADDRESS, consortium_contract
from vcl.localchain import REPO_ROOT, LocalChain
from vcl.sender import sender_from_settings
from vcl.vin import vehicle_id
from vcl_cli import app

VCL = REPO_ROOT / ".venv/bin/vcl"
BUILD_DIR = REPO_ROOT / "build/contracts"


@pytest.fixture
def env(anvil: LocalChain, tmp_path: Path) -> dict[str, str]:
    settings = Settings(
        rpc_url=anvil.rpc_url,
        key_source=KeySource.DEV,
        build_dir=BUILD_DIR,
        deployment_file=tmp_path / "deployments.json",
    )
    deploy_system(sender_from_settings(settings), settings, dev_founders())
    return {
        "VCL_RPC_URL": anvil.rpc_url,
        "VCL_BUILD_DIR": str(BUILD_DIR),
        "VCL_DEPLOYMENT_FILE": str(settings.deployment_file),
        "VCL_KEY_SOURCE": "dev",
    }


@pytest.fixture
def vcl(env: dict[str, str]) -> Callable[..., tuple[int, str]]:
    """Run `vcl ...` in this process as dev account `account`: (exit code, output)."""
    runner = CliRunner()

    def run(*args: str, account: int = 1) -> tuple[int, str]:
        get_settings.cache_clear()
        result = runner.invoke(app, list(args), env={**env, "VCL_DEV_ACCOUNT_INDEX": str(account)})
        get_settings.cache_clear()
        return result.exit_code, result.output

    return run


def vcl_process(
    env: dict[str, str], *args: str, account: int = 1
) -> subprocess.CompletedProcess[str]:
    """`vcl` as an operator runs it: its own process, errors through `main()`."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("VCL_")}
    full.update(env, VCL_DEV_ACCOUNT_INDEX=str(account))
    return subprocess.run(
        [str(VCL), *args], env=full, capture_output=True, text=True, timeout=60, check=False
    )


def test_banks_change_a_parameter_by_proposal_vote_and_execution(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str]
) -> None:
    code, out = vcl("governance", "propose", "set-parameter", "GRACE_PERIOD", "3600")
    assert code == 0, out
    assert "proposal 1 created" in out
    assert vcl("governance", "vote", "1", "--yes", account=1)[0] == 0
    code, out = vcl("governance", "vote", "1", "--yes", account=2)
    assert code == 0, out
    code, out = vcl("governance", "execute", "1")
    assert code == 0, out

    code, listing = vcl("governance", "list")
    assert code == 0, listing
    assert "set-parameter" in listing
    assert "GRACE_PERIOD = 3600" in listing
    assert "yes 2 no 0  executed" in listing

    get_settings.cache_clear()
    os.environ.update(env)
    try:
        settings = get_settings()
        consortium = consortium_contract(sender_from_settings(settings), settings)
        value = consortium.functions.parameter(parameter_key("GRACE_PERIOD")).call()
    finally:
        for key in env:
            os.environ.pop(key, None)
        get_settings.cache_clear()
    assert value == 3600


def test_a_non_bank_proposal_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    done = vcl_process(
        env, "governance", "propose", "suspend", dev_founders()[0].address, account=3
    )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "ConsortiumUnauthorizedAccount" in done.stderr
    # The sentence first, the contract's error after it for whoever compares with the chain.
    auditor = dev_founders()[2].address
    assert done.stderr.startswith(f"error: {auditor} may not do this: only an active bank may. (")
    assert "Traceback" not in done.stderr


def test_bad_input_is_refused_before_anything_is_sent(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str]
) -> None:
    done = vcl_process(env, "governance", "propose", "set-parameter", "NO_SUCH", "1")
    assert done.returncode == 1
    assert done.stderr.startswith("error: unknown parameter 'NO_SUCH'")
    code, listing = vcl("governance", "list")
    assert code == 0
    assert "no proposals" in listing


def test_an_unreachable_chain_is_one_line(env: dict[str, str]) -> None:
    done = vcl_process({**env, "VCL_RPC_URL": "http://127.0.0.1:9"}, "governance", "list")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "no chain answers at http://127.0.0.1:9" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["governance"],
        ["governance", "propose"],
        ["governance", "propose", "admit"],
        ["governance", "propose", "set-parameter"],
        ["governance", "propose", "approve-model"],
        ["governance", "propose", "release-lien"],
        ["governance", "propose", "reappraise"],
        ["governance", "propose", "revoke-issuer-documents"],
        ["governance", "vote"],
        ["governance", "execute"],
        ["governance", "list"],
        ["localnet", "up"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


# ------------------------------------------- release-lien, reappraise, revoke-issuer-documents

BANK_INDEXES = [i for i, kind, _ in DEV_FOUNDERS if kind is MemberKind.BANK]
ISSUER_INDEX = next(i for i, kind, _ in DEV_FOUNDERS if kind is MemberKind.DOCUMENT_ISSUER)
OPERATOR_INDEXES = [i for i, kind, _ in DEV_FOUNDERS if kind is MemberKind.ORACLE_OPERATOR]
MODEL = Web3.keccak(text="cli-governance-model")
DAY = 86_400


@dataclass
class Deployed:
    """The deployment of `env`, and senders of its dev accounts, for setting the scene."""

    env: dict[str, str]

    def __post_init__(self) -> None:
        settings = Settings(
            rpc_url=self.env["VCL_RPC_URL"],
            key_source=KeySource.DEV,
            build_dir=BUILD_DIR,
            deployment_file=Path(self.env["VCL_DEPLOYMENT_FILE"]),
        )
        self.settings = settings
        self.senders = {
            i: sender_from_settings(settings.model_copy(update={"dev_account_index": i}))
            for i in range(10)
        }
        record = DeploymentRecord(settings.deployment_file)
        w3 = self.senders[0].w3
        self.contracts = {
            name: w3.eth.contract(
                address=record.address(settings.chain_id, name),
                abi=load_artifact(BUILD_DIR, name).abi,
            )
            for name in ("Consortium", "VehicleRegistry", "ConditionOracle", "LoanManager")
        }

    def address(self, index: int) -> str:
        return self.senders[index].address

    def passed(self, action: tuple[Any, ...]) -> None:
        """Proposed, voted by every bank and executed through the core sender."""
        consortium = self.contracts["Consortium"]
        banks = [self.senders[i] for i in BANK_INDEXES]
        for bank in banks:
            bank.forget_nonce()  # the CLI may have sent with the same key meanwhile
        banks[0].transact(consortium.functions.propose(action))
        proposal_id = consortium.functions.proposalCount().call()
        for bank in banks:
            bank.transact(consortium.functions.vote(proposal_id, True))
        banks[0].transact(consortium.functions.execute(proposal_id))

    def scored_vehicle(self, bank: int, vin: str) -> bytes:
        """Registered by `bank`, with a fresh score from a quorum of operators."""
        vid = vehicle_id(vin, self.settings.vin_secret.get_secret_value().encode())
        registry = self.contracts["VehicleRegistry"]
        self.senders[bank].transact(
            registry.functions.registerVehicle(vid, Web3.keccak(vid), 2_500_000, 1)
        )
        oracle = self.contracts["ConditionOracle"]
        w3 = self.senders[0].w3
        report = Report(
            round_id=int(oracle.functions.latestRound().call()) + 1,
            model_version=MODEL,
            observed_at=int(w3.eth.get_block("latest")["timestamp"]),
            scores=(ReportEntry(vid, 8000, (5000,) * 12, 2_400_000),),
        )
        quorum = (
            self.contracts["Consortium"].functions.parameter(parameter_key("ORACLE_QUORUM")).call()
        )
        message = report_message(report, w3.eth.chain_id, oracle.address)
        signatures = [
            bytes(Account.from_key(DEV_PRIVATE_KEYS[i]).sign_message(message).signature)
            for i in OPERATOR_INDEXES[:quorum]
        ]
        self.senders[OPERATOR_INDEXES[0]].transact(
            oracle.functions.submitReport(report.as_abi(), signatures)
        )
        return vid


def test_a_suspended_lenders_lien_is_released_by_vote_and_not_before(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str]
) -> None:
    chain = Deployed(env)
    chain.passed((int(ActionType.SET_MODEL_APPROVAL), ZERO_ADDRESS, 0, MODEL, 1))
    first, lender = BANK_INDEXES[0], BANK_INDEXES[1]
    vid = chain.scored_vehicle(lender, "1HGCM82633A004352")
    loans = chain.contracts["LoanManager"]
    bank = chain.senders[lender]
    bank.transact(
        loans.functions.applyForLoan(
            vid, Web3.keccak(vid), 1_000_000, 600, 360 * DAY, 30 * DAY, (0, bytes(32), b"")
        )
    )
    loan_id = loans.functions.loanCount().call()
    bank.transact(loans.functions.approve(loan_id))
    lender_address = chain.address(lender)

    # While the lender is an active bank, no vote can take its lien away.
    refused = vcl_process(
        env, "governance", "propose", "release-lien", lender_address, str(loan_id)
    )
    assert refused.returncode == 1
    assert "ConsortiumInvalidMemberStatus" in refused.stderr

    # An open proposal the lender voted for: its vote stops counting once it is suspended.
    code, out = vcl("governance", "propose", "set-parameter", "GRACE_PERIOD", "7200")
    assert code == 0, out
    open_id = out.split()[1]
    assert vcl("governance", "vote", open_id, "--yes", account=lender)[0] == 0

    chain.passed((int(ActionType.SUSPEND_MEMBER), lender_address, 0, bytes(32), 0))
    code, listing = vcl("governance", "list")
    [line] = [row for row in listing.splitlines() if row.split()[0] == open_id]
    assert "yes 1 no 0  open until" in line
    assert line.endswith("(counting now: yes 0 no 0)")
    code, out = vcl(
        "governance", "propose", "release-lien", lender_address, str(loan_id), account=first
    )
    assert code == 0, out
    proposal_id = out.split()[1]
    assert vcl("governance", "vote", proposal_id, "--yes", account=first)[0] == 0
    code, out = vcl("governance", "execute", proposal_id, account=first)
    assert code == 0, out

    assert loans.functions.loan(loan_id).call()[3] == LoanState.RELEASED
    assert chain.contracts["VehicleRegistry"].functions.lienOf(vid).call()[2] is False
    code, listing = vcl("governance", "list", account=first)
    assert code == 0, listing
    assert f"release-lien       lien of loan {loan_id} held by {lender_address}" in listing


def test_a_vehicle_is_reappraised_by_vote_named_by_its_vin(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str]
) -> None:
    chain = Deployed(env)
    vin = "1HGCM82633A004352"
    vid = vehicle_id(vin, chain.settings.vin_secret.get_secret_value().encode())
    registry = chain.contracts["VehicleRegistry"]
    chain.senders[BANK_INDEXES[0]].transact(
        registry.functions.registerVehicle(vid, Web3.keccak(vid), 2_500_000, 1)
    )
    code, out = vcl("governance", "propose", "reappraise", vin, "1900000")
    assert code == 0, out
    for bank in BANK_INDEXES:
        assert vcl("governance", "vote", "1", "--yes", account=bank)[0] == 0
    assert vcl("governance", "execute", "1")[0] == 0
    assert registry.functions.vehicle(vid).call()[1] == 1_900_000
    code, listing = vcl("governance", "list")
    assert f"reappraise         vehicle 0x{vid.hex()} appraised at 1900000" in listing

    # Refused before anything is sent, or by the contract for a vehicle it does not know.
    for args, said in (
        (["reappraise", vin, "0"], "an appraisal is 1.."),
        (["reappraise", "NOT-A-VIN", "5"], "VIN"),
        (["reappraise", "0x1234", "5"], "0x followed by 64 hex digits"),
        (["reappraise", "0x" + "ab" * 32, "5"], "RegistryUnknownVehicle"),
    ):
        done = vcl_process(env, "governance", "propose", *args)
        assert done.returncode == 1, args
        assert said in done.stderr, done.stderr
    assert chain.contracts["Consortium"].functions.proposalCount().call() == 1


def test_an_issuers_documents_are_revoked_up_to_a_cutoff_by_vote(
    vcl: Callable[..., tuple[int, str]], env: dict[str, str]
) -> None:
    chain = Deployed(env)
    issuer = chain.address(ISSUER_INDEX)
    registry = chain.contracts["VehicleRegistry"]
    code, out = vcl("governance", "propose", "revoke-issuer-documents", issuer, "--cutoff", "now")
    assert code == 0, out
    for bank in BANK_INDEXES:
        assert vcl("governance", "vote", "1", "--yes", account=bank)[0] == 0
    assert vcl("governance", "execute", "1")[0] == 0
    cutoff = registry.functions.issuerRevocationCutoff(issuer).call()
    proposal = chain.contracts["Consortium"].functions.proposal(1).call()
    assert cutoff == proposal[0][4] > 0
    code, listing = vcl("governance", "list")
    assert "revoke-issuer-documents" in listing
    assert f"documents of {issuer} anchored up to " in listing

    later = int(chain.senders[0].w3.eth.get_block("latest")["timestamp"]) + 3600
    for args, said in (
        # A bank is no issuer; a cutoff in the future would revoke what is not anchored yet.
        ([chain.address(BANK_INDEXES[1]), "--cutoff", "now"], "ConsortiumInvalidAction"),
        ([issuer, "--cutoff", str(later)], "ConsortiumInvalidAction"),
        ([issuer, "--cutoff", "yesterday"], "is not 'now', a unix time or an ISO 8601 time"),
    ):
        done = vcl_process(env, "governance", "propose", "revoke-issuer-documents", *args)
        assert done.returncode == 1, args
        assert said in done.stderr, done.stderr
