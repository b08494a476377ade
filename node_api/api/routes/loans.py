"""Loans: the application (a transaction), every lifecycle action, and the chain's view.

The borrower reference stays in this node's database; the chain gets a salted commitment
to it (written as pending before the application is sent, see `loan_records`). A
contract's refusal keeps its custom error's name and arguments; an action not allowed in
the loan's state is a 409 naming that state.

A lien needs the consent of the bank that registered the vehicle (it did the owner's KYC
and holds the owner's consent off-chain). On its own vehicles a bank's application is
its consent. Another bank (1) makes a borrower commitment on its node
(`POST /v1/loans/borrower-commitments`), (2) asks the registering bank's node for a consent
naming itself, that commitment and the principal (`POST /v1/loans/lien-consents`: an
EIP-712 `LienConsent` signed with that node's key, usable once, until its deadline), and
(3) applies with the salt and the consent.

Sources: `GET /v1/loans/{id}` and `GET /v1/loans` answer from this node's read models
(`node_api.projections`), as far as the index reached (`X-Indexed-Block`); a write answers
once the index holds its block, so a client reads its own writes. Every action's
preconditions (the loan exists, the vehicle's registering bank, a lender's role) and its
resulting state are read from the chain.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from web3 import Web3
from web3.logs import DISCARD

from node_api.api.deps import PageLimit, PageOffset, PrincipalDep, RuntimeDep, SessionDep, WriterDep
from node_api.api.errors import ApiError, revert_details
from node_api.api.idempotency import request_hash, run_idempotent
from node_api.api.indexed import (
    INDEXED_NOTE,
    INDEXED_RESPONSES,
    IndexedDep,
    found_or_current,
)
from node_api.api.loan_records import (
    bind,
    bind_indexed,
    bind_now,
    borrower_refs,
    drop_pending,
    write_pending,
)
from node_api.api.routes.vehicles import owner_commitment, vehicle_id_of
from node_api.api.schemas import (
    BorrowerCommitment,
    BorrowerCommitmentCreate,
    LienConsentCreate,
    LienConsentIssued,
    LoanActionBody,
    LoanActionDone,
    LoanCreate,
    LoanCreated,
    LoanListItem,
    LoanPage,
    LoanStateChange,
    LoanView,
)
from node_api.models import LocalLoan, PendingLoan, ProjectedLoan, ProjectedLoanState
from node_api.projections.loan_figures import (
    Terms,
    current_rate_bps,
    loan_to_value_bps,
    next_due_date,
    outstanding,
)
from node_api.projections.reads import latest_score, parameters
from node_api.runtime import NodeRuntime
from vcl.contract_enums import LoanState
from vcl.eip712 import LienConsent, lien_consent_digest, lien_consent_message
from vcl.errors import TransactionReverted
from vcl.timestamps import iso

log = logging.getLogger("node_api.loans")

router = APIRouter(prefix="/v1/loans", tags=["loans"])

STATE_BY_LABEL = {state.label.lower(): state for state in LoanState if state is not LoanState.NONE}

# URL action -> the LoanManager function (and which body field it takes).
ACTIONS: dict[str, tuple[str, str | None]] = {
    "approve": ("approve", None),
    "reject": ("reject", None),
    "cancel": ("cancel", None),
    "activate": ("activate", None),
    "repay": ("recordRepayment", "amount"),
    "mark-overdue": ("markOverdue", None),
    "mark-defaulted": ("markDefaulted", None),
    "sync-rate": ("syncRate", None),
    "liquidate": ("liquidate", "amount_recovered"),
    "close": ("close", None),
    "expire": ("expireApproval", None),
}

HASH_HEX_LENGTH = 66
REGISTRY = "VehicleRegistry"
LOANS = "LoanManager"
# `ILoanManager.LienConsent` of a bank applying on a vehicle it registered: its own
# transaction is the consent.
OWN_CONSENT: tuple[int, bytes, bytes] = (0, bytes(32), b"")


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _bytes(value: str) -> bytes:
    """0x hex the request schema already checked."""
    return bytes.fromhex(value.removeprefix("0x"))


def _receipt_fields(receipt: Any) -> dict[str, Any]:
    return {
        "transaction_hash": _hex(receipt["transactionHash"]),
        "block_number": receipt["blockNumber"],
    }


def _parse_loan_id(loan_id: str) -> int:
    if not (loan_id.isascii() and loan_id.isdigit()) or int(loan_id) == 0 or int(loan_id) >= 2**256:
        raise ApiError(422, "InvalidLoanId", "a loan id is a positive decimal integer")
    return int(loan_id)


@router.post(
    "",
    status_code=201,
    response_model=LoanCreated,
    responses={404: {"description": "unknown vehicle"}, 422: {"description": "bad terms"}},
)
def apply_for_loan(
    body: LoanCreate,
    runtime: RuntimeDep,
    principal: WriterDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Apply for a loan on a vehicle with this institution's key; answers after the receipt."""
    fingerprint = request_hash("POST /v1/loans", body.model_dump_json())
    return run_idempotent(
        runtime.sessions,
        principal,
        idempotency_key,
        fingerprint,
        lambda: (201, _apply(runtime, body)),
    )


def _vehicle_of(runtime: NodeRuntime, vin: str | None, vehicle_id: str | None) -> bytes:
    if (vin is None) == (vehicle_id is None):
        raise ApiError(422, "InvalidVehicle", "give exactly one of vin and vehicle_id")
    if vin is not None:
        return vehicle_id_of(runtime, vin)[1]
    raw = vehicle_id or ""
    try:
        vid = bytes.fromhex(raw.removeprefix("0x"))
    except ValueError:
        vid = b""
    if len(raw) != HASH_HEX_LENGTH or len(vid) != 32:
        raise ApiError(422, "InvalidVehicle", "vehicle_id must be 0x followed by 64 hex digits")
    return vid


def _registered_by(runtime: NodeRuntime, vid: bytes) -> str:
    """The bank that registered the vehicle: the one whose consent a lien needs."""
    vehicle = runtime.read("the vehicle", lambda: runtime.views.read(REGISTRY, "vehicle", vid))
    if not vehicle.exists:
        raise ApiError(404, "UnknownVehicle", "no vehicle with this id is registered")
    registered_by: str = vehicle.registeredBy
    return registered_by


def _consent_of(runtime: NodeRuntime, body: LoanCreate, registered_by: str) -> Any:
    """The `LienConsent` argument of the application: empty on this bank's own vehicle."""
    if registered_by == runtime.sender.address:
        return OWN_CONSENT
    if body.consent is None:
        raise ApiError(
            403,
            "LienConsentRequired",
            f"bank {registered_by} registered this vehicle: a lien needs its consent naming "
            f"this bank ({runtime.sender.address}), the borrower commitment and the principal "
            "(POST /v1/loans/lien-consents on its node)",
            {"registered_by": registered_by},
        )
    if body.borrower_salt is None:
        raise ApiError(
            422,
            "MissingBorrowerSalt",
            "a lien consent names a borrower commitment: give the borrower_salt it was made "
            "with (POST /v1/loans/borrower-commitments)",
        )
    consent = body.consent
    return (consent.deadline, _bytes(consent.nonce), _bytes(consent.signature))


def _apply(runtime: NodeRuntime, body: LoanCreate) -> dict[str, Any]:
    vid = _vehicle_of(runtime, body.vin, body.vehicle_id)
    registered_by = _registered_by(runtime, vid)
    consent = _consent_of(runtime, body, registered_by)
    borrower_ref = body.borrower_ref.strip()
    salt = secrets.token_bytes(32) if body.borrower_salt is None else _bytes(body.borrower_salt)
    commitment = owner_commitment(salt, borrower_ref)
    if body.borrower_salt is not None:
        _refuse_pending_commitment(runtime, _hex(commitment))
    loans = runtime.contracts[LOANS]
    tx = runtime.views.view(LOANS, "applyForLoan").transaction(
        vid,
        commitment,
        body.principal,
        body.base_rate_bps,
        body.term_seconds,
        body.installment_interval_seconds,
        consent,
    )
    commitment_hex = _hex(commitment)
    write_pending(
        runtime.sessions,
        commitment=commitment_hex,
        vehicle_id=_hex(vid),
        borrower_ref=borrower_ref,
        salt=_hex(salt),
    )
    try:
        receipt = runtime.counted(lambda: runtime.sender.send(tx))
    except TransactionReverted as exc:
        drop_pending(runtime.sessions, commitment_hex)
        raise _consent_refused(exc, runtime.sender.address) from exc
    # Any other failure keeps the pending record: the transaction may still be mined.
    events = loans.events.LoanApplied().process_receipt(receipt, errors=DISCARD)
    loan_id = str(events[0]["args"]["loanId"])
    bind_now(runtime.sessions, loan_id, commitment_hex)
    created = LoanCreated(
        loan_id=loan_id,
        vehicle_id=_hex(vid),
        borrower_commitment=_hex(commitment),
        **_receipt_fields(receipt),
    )
    return created.model_dump()


def _refuse_pending_commitment(runtime: NodeRuntime, commitment: str) -> None:
    """A given salt whose commitment an application in flight carries: a retry of that
    application, not a new one (the record of the first is kept until its loan is known)."""
    with runtime.sessions() as session:
        pending = session.get(PendingLoan, commitment) is not None
    if pending:
        raise ApiError(
            409,
            "BorrowerCommitmentPending",
            "an application with this borrower commitment is in flight: wait for its loan "
            "(GET /v1/loans) before applying again",
        )


def _consent_refused(exc: TransactionReverted, lender: str) -> Exception:
    """The contract's refusal of a lien consent, in words."""
    name, args = exc.error_name, exc.args_decoded
    if name == "LoanInvalidConsent" and len(args) == 3:
        _vid, expected, recovered = args
        return ApiError(
            403,
            name,
            f"the consent is not the registering bank {expected}'s signature for this "
            f"application (this vehicle, lender {lender}, this borrower commitment and "
            f"principal, its deadline and nonce): it recovers to {recovered}",
            revert_details(exc, registered_by=expected, recovered=recovered),
        )
    if name == "LoanConsentExpired" and len(args) == 2:
        deadline, now = (int(a) for a in args)
        return ApiError(
            403,
            name,
            f"the consent could be used until {iso(deadline)}; the chain's time is {iso(now)}: "
            "ask the registering bank for a new one",
            revert_details(exc, expired_at=iso(deadline)),
        )
    if name == "LoanConsentUsed" and len(args) == 1:
        return ApiError(
            409,
            name,
            "this consent was used by an earlier application: each consent is good for one",
            revert_details(exc),
        )
    return exc


@router.post(
    "/borrower-commitments",
    status_code=201,
    response_model=BorrowerCommitment,
    responses={422: {"description": "no borrower reference"}},
)
def make_borrower_commitment(
    body: BorrowerCommitmentCreate, _principal: WriterDep
) -> BorrowerCommitment:
    """A fresh salted commitment to a borrower, for an application on another bank's
    vehicle: the registering bank's consent names the commitment, and the application gives
    back the salt (the reference and the salt stay with this bank)."""
    salt = secrets.token_bytes(32)
    commitment = owner_commitment(salt, body.borrower_ref.strip())
    return BorrowerCommitment(borrower_commitment=_hex(commitment), borrower_salt=_hex(salt))


@router.post(
    "/lien-consents",
    status_code=201,
    response_model=LienConsentIssued,
    responses={
        403: {"description": "this bank did not register the vehicle"},
        404: {"description": "unknown vehicle"},
        422: {"description": "bad lender, commitment or validity"},
    },
)
def issue_lien_consent(
    body: LienConsentCreate, runtime: RuntimeDep, _principal: WriterDep
) -> LienConsentIssued:
    """This bank, the vehicle's registering bank, consents to a lien of another bank: an
    EIP-712 `LienConsent` for that lender, borrower commitment and principal, signed with
    this node's key, usable once until its deadline. Issue it only with the owner's signed
    consent in hand: the chain trusts this bank's word for it."""
    vid = _vehicle_of(runtime, body.vin, body.vehicle_id)
    own = runtime.sender.address
    registered_by = _registered_by(runtime, vid)
    if registered_by != own:
        raise ApiError(
            403,
            "NotRegisteringBank",
            f"bank {registered_by} registered this vehicle: only it can consent to a lien on it",
            {"registered_by": registered_by},
        )
    lender = Web3.to_checksum_address(body.lender)
    if lender == own:
        raise ApiError(
            422,
            "ConsentNotNeeded",
            "this bank registered the vehicle: its own applications need no consent",
        )
    if not _is_active_bank(runtime, lender):
        raise ApiError(422, "NotABank", f"{lender} is not an active bank of the consortium")
    commitment = _bytes(body.borrower_commitment)
    if commitment == bytes(32):
        raise ApiError(422, "InvalidCommitment", "a borrower commitment is not zero")
    now = runtime.read("the chain's time", runtime.views.latest_timestamp)
    consent = LienConsent(
        vehicle_id=vid,
        lender=lender,
        borrower_commitment=commitment,
        principal=body.principal,
        deadline=now + body.valid_for_seconds,
        nonce=secrets.token_bytes(32),
    )
    loans = runtime.contracts[LOANS].address
    chain_id = runtime.read("the chain id", lambda: runtime.sender.chain_id)
    signed = runtime.sender.account.sign_message(lien_consent_message(consent, chain_id, loans))
    log.info(
        "lien consent issued: vehicle %s, lender %s, until %s",
        _hex(vid),
        lender,
        iso(consent.deadline),
    )
    return LienConsentIssued(
        vehicle_id=_hex(vid),
        lender=lender,
        borrower_commitment=_hex(commitment),
        principal=consent.principal,
        deadline=consent.deadline,
        expires_at=iso(consent.deadline),
        nonce=_hex(consent.nonce),
        signature=_hex(bytes(signed.signature)),
        signer=own,
        digest=_hex(lien_consent_digest(consent, chain_id, loans)),
    )


def _is_active_bank(runtime: NodeRuntime, account: str) -> bool:
    consortium = runtime.contracts["Consortium"].functions
    role = runtime.read("BANK_ROLE", lambda: consortium.BANK_ROLE().call())
    answer: bool = runtime.read(
        "the lender's role", lambda: consortium.hasRole(role, account).call()
    )
    return answer


@router.post(
    "/{loan_id}/{action}",
    response_model=LoanActionDone,
    responses={
        403: {"description": "LoanNotLender, or a role that may not write"},
        404: {"description": "unknown loan or action"},
        409: {"description": "LoanInvalidState, RegistryLienExists, LoanStaleScore, ..."},
    },
)
def loan_action(
    *,
    loan_id: str,
    action: str,
    runtime: RuntimeDep,
    principal: WriterDep,
    body: LoanActionBody | None = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """One lifecycle action: approve, reject, cancel, activate, repay (amount), mark-overdue,
    mark-defaulted, sync-rate, liquidate (amount_recovered), close, expire (an approval
    older than APPROVAL_TTL: its lien is released; any member may call it)."""
    body = body or LoanActionBody()
    fingerprint = request_hash(f"POST /v1/loans/{loan_id}/{action}", body.model_dump_json())
    return run_idempotent(
        runtime.sessions,
        principal,
        idempotency_key,
        fingerprint,
        lambda: (200, _act(runtime, loan_id, action, body)),
    )


def _act(runtime: NodeRuntime, raw_id: str, action: str, body: LoanActionBody) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ApiError(
            404, "UnknownAction", f"no loan action {action!r}; one of: {', '.join(ACTIONS)}"
        )
    loan_id = _parse_loan_id(raw_id)
    function, field = ACTIONS[action]
    args: list[Any] = [loan_id]
    if field is not None:
        value = getattr(body, field)
        if value is None:
            raise ApiError(422, "MissingAmount", f"{action} needs {field} (minor units)")
        args.append(value)
    _read_loan(runtime, loan_id)  # 404 for an unknown loan before anything is sent
    tx = runtime.views.view("LoanManager", function).transaction(*args)
    try:
        receipt = runtime.counted(lambda: runtime.sender.send(tx))
    except TransactionReverted as exc:
        raise _translated(exc, loan_id, action) from exc
    state = LoanState(_read_loan(runtime, loan_id).state)
    done = LoanActionDone(
        loan_id=str(loan_id), action=action, state=state.label, **_receipt_fields(receipt)
    )
    return done.model_dump()


def _translated(exc: TransactionReverted, loan_id: int, action: str) -> Exception:
    """A refusal whose answer needs more words than the error's name."""
    if exc.error_name == "LoanInvalidState" and len(exc.args_decoded) == 2:
        state = LoanState(int(exc.args_decoded[1])).label
        return ApiError(
            409,
            "LoanInvalidState",
            f"loan {loan_id} is {state}: {action} is not allowed in this state",
            revert_details(exc, state=state),
        )
    if exc.error_name == "LoanApprovalNotExpired" and len(exc.args_decoded) == 2:
        expires_at = iso(int(exc.args_decoded[1]))
        return ApiError(
            409,
            "LoanApprovalNotExpired",
            f"loan {loan_id}'s approval holds until {expires_at}: it expires only after",
            revert_details(exc, expires_at=expires_at),
        )
    if exc.error_name == "LoanApprovalExpired" and len(exc.args_decoded) == 2:
        expires_at = iso(int(exc.args_decoded[1]))
        return ApiError(
            409,
            "LoanApprovalExpired",
            f"loan {loan_id}'s approval lapsed at {expires_at}: it can no longer be activated; "
            f"expire it (POST /v1/loans/{loan_id}/expire) to release the lien",
            revert_details(exc, expires_at=expires_at),
        )
    if exc.error_name == "RegistryLienExists" and len(exc.args_decoded) == 3:
        _vid, existing_loan, existing_bank = exc.args_decoded
        return ApiError(
            409,
            "RegistryLienExists",
            f"the vehicle is already pledged: lien of loan {existing_loan} held by bank "
            f"{existing_bank}",
            revert_details(exc, existing_loan_id=str(existing_loan), existing_bank=existing_bank),
        )
    return exc


def _read_loan(runtime: NodeRuntime, loan_id: int) -> Any:
    loan = runtime.read("the loan", lambda: runtime.views.read("LoanManager", "loan", loan_id))
    if loan.state == LoanState.NONE:
        raise ApiError(404, "UnknownLoan", f"no loan with id {loan_id}")
    return loan


def _terms(loan: ProjectedLoan) -> Terms:
    return Terms(
        state=loan.state,
        principal=int(loan.principal),
        repaid=int(loan.repaid),
        base_rate_bps=loan.base_rate_bps,
        applied_rate_bps=loan.applied_rate_bps,
        baseline_score=loan.baseline_score,
        term_seconds=loan.term_seconds,
        installment_interval_seconds=loan.installment_interval_seconds,
        activated_at=loan.activated_at,
    )


def _history(session: Session, chain_id: int, loan_id: str) -> list[LoanStateChange]:
    rows = session.scalars(
        select(ProjectedLoanState)
        .where(ProjectedLoanState.chain_id == chain_id, ProjectedLoanState.loan_id == loan_id)
        .order_by(ProjectedLoanState.block_number, ProjectedLoanState.log_index)
    )
    return [
        LoanStateChange(
            from_state=row.from_state,
            to_state=row.to_state,
            changed_at=iso(row.changed_at),
            block_number=row.block_number,
            transaction_hash=row.transaction_hash,
        )
        for row in rows
    ]


@router.get(
    "/{loan_id}",
    response_model=LoanView,
    responses={404: {}, 422: {}, **INDEXED_RESPONSES},
    description="The loan: state and its history, amounts, current rate, loan-to-value and "
    "next due date (computed as the contract's views compute them, at the indexed block's "
    "time)." + INDEXED_NOTE,
)
def get_loan(
    loan_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    indexed: IndexedDep,
    _principal: PrincipalDep,
) -> LoanView:
    number = _parse_loan_id(loan_id)
    chain_id = runtime.settings.chain_id
    loan = found_or_current(
        runtime, session, indexed, lambda: session.get(ProjectedLoan, (chain_id, str(number)))
    )
    if loan is None:
        raise ApiError(
            404,
            "UnknownLoan",
            f"no loan with id {number} (indexed to block {indexed.block_number})",
        )
    terms = _terms(loan)
    latest = latest_score(session, chain_id, loan.vehicle_id)
    params = parameters(session, chain_id)
    now = indexed.block_timestamp
    current = current_rate_bps(
        terms,
        latest,
        now,
        heartbeat=params.get("HEARTBEAT"),
        step_bps=params.get("RATE_STEP_BPS"),
        increase_bps=params.get("RATE_INCREASE_BPS"),
    )
    due = next_due_date(terms)
    own = loan.bank == runtime.sender.address
    local = _own_record(session, loan.loan_id, loan.borrower_commitment) if own else None
    return LoanView(
        loan_id=loan.loan_id,
        vehicle_id=loan.vehicle_id,
        bank=loan.bank,
        state=loan.state,
        borrower_commitment=loan.borrower_commitment,
        borrower_ref=None if local is None else local.borrower_ref,
        principal=terms.principal,
        repaid=terms.repaid,
        outstanding=outstanding(terms),
        amount_recovered=int(loan.amount_recovered or 0),
        base_rate_bps=loan.base_rate_bps,
        applied_rate_bps=loan.applied_rate_bps,
        current_rate_bps=current,
        loan_to_value_bps=loan_to_value_bps(terms, latest),
        baseline_score=loan.baseline_score,
        term_seconds=loan.term_seconds,
        installment_interval_seconds=loan.installment_interval_seconds,
        applied_at=iso(loan.applied_at),
        approved_at=iso(loan.approved_at) if loan.approved_at else None,
        activated_at=iso(loan.activated_at) if loan.activated_at else None,
        next_due_date=iso(due) if due else None,
        state_history=_history(session, chain_id, loan.loan_id),
        as_of=None if now is None else iso(now),
    )


def _own_record(session: Session, loan_id: str, commitment: str) -> LocalLoan | None:
    """This node's record of its loan, binding a pending one by its commitment if need be."""
    local = session.get(LocalLoan, loan_id)
    if local is not None:
        return local
    try:
        local = bind(session, loan_id, commitment)
        session.commit()
    except SQLAlchemyError:
        session.rollback()  # still pending: shown once the database takes the binding
        return None
    return local


@router.get(
    "",
    response_model=LoanPage,
    responses={422: {}, **INDEXED_RESPONSES},
    description="Every loan of the consortium, oldest first; filtered and paginated in the "
    "database." + INDEXED_NOTE,
)
def list_loans(
    *,
    runtime: RuntimeDep,
    session: SessionDep,
    _indexed: IndexedDep,
    _principal: PrincipalDep,
    state: Annotated[str | None, Query(description="Only loans in this state")] = None,
    bank: Annotated[str | None, Query(description="Only the loans of this bank (address)")] = None,
    vehicle: Annotated[str | None, Query(description="A VIN or vehicle id")] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> LoanPage:
    chain_id = runtime.settings.chain_id
    where = [ProjectedLoan.chain_id == chain_id]
    if state is not None:
        wanted = STATE_BY_LABEL.get(state.strip().lower())
        if wanted is None:
            names = ", ".join(s.label for s in STATE_BY_LABEL.values())
            raise ApiError(422, "InvalidState", f"unknown loan state {state!r}; one of: {names}")
        where.append(ProjectedLoan.state == wanted.label)
    if bank is not None:
        if not Web3.is_address(bank):
            raise ApiError(422, "InvalidAddress", "bank must be a 20-byte hex address")
        where.append(ProjectedLoan.bank == Web3.to_checksum_address(bank))
    if vehicle is not None:
        where.append(ProjectedLoan.vehicle_id == _vehicle_filter(runtime, vehicle))
    own_bank = runtime.sender.address
    total = session.scalar(select(func.count()).select_from(ProjectedLoan).where(*where)) or 0
    page = session.scalars(
        select(ProjectedLoan)
        .where(*where)
        .order_by(ProjectedLoan.block_number, ProjectedLoan.log_index)
        .limit(limit)
        .offset(offset)
    ).all()
    items = [_list_item(loan) for loan in page]
    ids = [item.loan_id for item in items]
    # After the page is read: every loan on it is indexed by now, so its pending reference
    # binds here (bound before, a loan indexed in between would show no reference).
    bind_indexed(session, chain_id, own_bank)
    refs = borrower_refs(session, ids)
    for item in items:
        if item.bank == own_bank:
            item.borrower_ref = refs.get(item.loan_id)
    next_offset = offset + len(items) if offset + len(items) < total else None
    return LoanPage(items=items, total=total, limit=limit, offset=offset, next_offset=next_offset)


def _vehicle_filter(runtime: NodeRuntime, vehicle: str) -> str:
    raw = vehicle.strip()
    if raw.startswith("0x"):
        if len(raw) != HASH_HEX_LENGTH or any(c not in "0123456789abcdefABCDEF" for c in raw[2:]):
            raise ApiError(422, "InvalidVehicle", "a vehicle id is 0x followed by 64 hex digits")
        return raw.lower()
    return _hex(vehicle_id_of(runtime, raw)[1])


def _list_item(loan: ProjectedLoan) -> LoanListItem:
    principal, repaid = int(loan.principal), int(loan.repaid)
    return LoanListItem(
        loan_id=loan.loan_id,
        vehicle_id=loan.vehicle_id,
        bank=loan.bank,
        state=loan.state,
        borrower_commitment=loan.borrower_commitment,
        borrower_ref=None,
        principal=principal,
        repaid=repaid,
        outstanding=principal - repaid,
        amount_recovered=None if loan.amount_recovered is None else int(loan.amount_recovered),
        base_rate_bps=loan.base_rate_bps,
        rate_bps=loan.applied_rate_bps,
        term_seconds=loan.term_seconds,
        installment_interval_seconds=loan.installment_interval_seconds,
        applied_at=iso(loan.applied_at),
        activated_at=None if loan.activated_at is None else iso(loan.activated_at),
        state_changed_at=iso(loan.state_changed_at),
        transaction_hash=loan.transaction_hash,
        block_number=loan.block_number,
    )
