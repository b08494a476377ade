"""Request and response bodies. Money in integer minor units; times ISO 8601 UTC."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

UINT128_MAX = 2**128 - 1


class VehicleCreate(BaseModel):
    vin: str = Field(description="17-character VIN; validated, kept only in this node's DB")
    owner_ref: str = Field(
        min_length=1,
        max_length=256,
        description="The bank's reference of the owner; only a salted commitment goes on-chain",
    )
    appraisal_value: int = Field(gt=0, le=UINT128_MAX, description="Minor units")
    appraised_at: datetime | None = Field(
        default=None, description="ISO 8601; defaults to the latest block's time"
    )


class Receipt(BaseModel):
    transaction_hash: str
    block_number: int


class VehicleCreated(Receipt):
    vehicle_id: str
    vin: str
    owner_commitment: str


class Lien(BaseModel):
    bank: str
    loan_id: str
    active: bool
    placed_at: str


class Condition(BaseModel):
    round_id: int
    score: int = Field(description="0..10000")
    estimated_value: int = Field(description="Minor units")
    model_version: str
    updated_at: str


class Appraisal(BaseModel):
    value: int = Field(description="Minor units")
    appraised_at: str


class VehicleView(BaseModel):
    vehicle_id: str
    vin: str
    registered_by: str
    registered_at: str
    owner_commitment: str
    owner_ref: str | None = Field(description="Only on the registering bank's node")
    appraisal: Appraisal
    lien: Lien | None
    condition: Condition | None


class VehicleListItem(BaseModel):
    vehicle_id: str
    vin: str | None = Field(description="Only for vehicles this node registered")
    registered_by: str
    registered_at: str
    owner_commitment: str
    appraisal_value_at_registration: int
    has_lien: bool
    transaction_hash: str
    block_number: int


class VehiclePage(BaseModel):
    items: list[VehicleListItem]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class DocumentAnchoredOut(Receipt):
    document_id: str
    cid: str
    content_hash: str
    content_type: str
    doc_type: str
    issuer: str
    issued_at: str


class DocumentListItem(BaseModel):
    document_id: str
    doc_type: str
    cid: str
    content_hash: str
    issuer: str
    issued_at: str
    revoked: bool
    transaction_hash: str
    block_number: int


class DocumentList(BaseModel):
    vehicle_id: str
    items: list[DocumentListItem]


HEX32_PATTERN = r"^0x[0-9a-fA-F]{64}$"
SIGNATURE_PATTERN = r"^0x[0-9a-fA-F]{130}$"
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
# A lien consent's life: long enough to apply, short enough that a forgotten one lapses.
CONSENT_MIN_S = 60
CONSENT_DEFAULT_S = 3 * 86_400
CONSENT_MAX_S = 30 * 86_400


class LienConsentIn(BaseModel):
    """The registering bank's consent as its node issued it (`POST /v1/loans/lien-consents`);
    the issued answer may be passed whole, its other fields are not needed."""

    deadline: int = Field(gt=0, le=2**64 - 1, description="Unix time")
    nonce: str = Field(pattern=HEX32_PATTERN)
    signature: str = Field(pattern=SIGNATURE_PATTERN, description="65 bytes, 0x hex")


class LoanCreate(BaseModel):
    vin: str | None = Field(default=None, description="A VIN this node registered")
    vehicle_id: str | None = Field(default=None, description="0x + 64 hex digits")
    borrower_ref: str = Field(
        min_length=1,
        max_length=256,
        description="The bank's reference of the borrower; only a salted commitment goes on-chain",
    )
    principal: int = Field(gt=0, le=UINT128_MAX, description="Minor units")
    base_rate_bps: int = Field(gt=0, le=2**32 - 1)
    term_seconds: int = Field(gt=0, le=2**64 - 1)
    installment_interval_seconds: int = Field(gt=0, le=2**64 - 1)
    borrower_salt: str | None = Field(
        default=None,
        pattern=HEX32_PATTERN,
        description="The salt of a commitment from POST /v1/loans/borrower-commitments (the one "
        "a lien consent names); a fresh one when absent",
    )
    consent: LienConsentIn | None = Field(
        default=None,
        description="The registering bank's lien consent: needed when another bank registered "
        "the vehicle, ignored when this bank did",
    )


class BorrowerCommitmentCreate(BaseModel):
    borrower_ref: str = Field(min_length=1, max_length=256)


class BorrowerCommitment(BaseModel):
    borrower_commitment: str = Field(description="sha256(salt || borrower_ref), 0x hex")
    borrower_salt: str = Field(description="Give it back with the application; keep it private")


class LienConsentCreate(BaseModel):
    vin: str | None = Field(default=None, description="A VIN this node registered")
    vehicle_id: str | None = Field(default=None, description="0x + 64 hex digits")
    lender: str = Field(pattern=ADDRESS_PATTERN, description="The applying bank's address")
    borrower_commitment: str = Field(
        pattern=HEX32_PATTERN, description="The commitment of the lender's application"
    )
    principal: int = Field(gt=0, le=UINT128_MAX, description="Minor units")
    valid_for_seconds: int = Field(
        default=CONSENT_DEFAULT_S,
        ge=CONSENT_MIN_S,
        le=CONSENT_MAX_S,
        description="How long the consent can be used, from the latest block's time",
    )


class LienConsentIssued(BaseModel):
    vehicle_id: str
    lender: str
    borrower_commitment: str
    principal: int
    deadline: int = Field(description="Unix time: the last block time it can be used at")
    expires_at: str
    nonce: str
    signature: str = Field(description="The registering bank's EIP-712 LienConsent signature")
    signer: str = Field(description="The registering bank")
    digest: str = Field(description="LoanManager.lienConsentDigest: usable once")


class LoanCreated(Receipt):
    loan_id: str
    vehicle_id: str
    borrower_commitment: str


class LoanActionBody(BaseModel):
    amount: int | None = Field(default=None, gt=0, le=UINT128_MAX, description="repay: minor units")
    amount_recovered: int | None = Field(
        default=None, ge=0, le=UINT128_MAX, description="liquidate: minor units"
    )


class LoanActionDone(Receipt):
    loan_id: str
    action: str
    state: str


class LoanStateChange(BaseModel):
    from_state: str
    to_state: str
    changed_at: str
    block_number: int
    transaction_hash: str


class LoanView(BaseModel):
    """A loan from this node's index; the figures that move with time (current rate,
    loan-to-value, next due date) computed as the contract's views compute them, as of the
    indexed block's time (`as_of`)."""

    loan_id: str
    vehicle_id: str
    bank: str
    state: str
    borrower_commitment: str
    borrower_ref: str | None = Field(description="Only on the lending bank's node")
    principal: int
    repaid: int
    outstanding: int
    amount_recovered: int
    base_rate_bps: int
    applied_rate_bps: int
    current_rate_bps: int
    loan_to_value_bps: int | None = Field(description="None without a valuation")
    baseline_score: int
    term_seconds: int
    installment_interval_seconds: int
    applied_at: str
    approved_at: str | None
    activated_at: str | None
    next_due_date: str | None
    state_history: list[LoanStateChange] = Field(
        default_factory=list, description="Every state change, oldest first"
    )
    as_of: str | None = Field(
        default=None, description="The indexed block's time the time-dependent figures use"
    )


class LoanListItem(BaseModel):
    """A loan as the indexed events tell it."""

    loan_id: str
    vehicle_id: str
    bank: str
    state: str
    borrower_commitment: str
    borrower_ref: str | None = Field(description="Only on the lending bank's node")
    principal: int
    repaid: int
    outstanding: int
    amount_recovered: int | None = Field(description="Once liquidated")
    base_rate_bps: int
    rate_bps: int = Field(
        description="The last rate the chain recorded: the base rate until a rate update"
    )
    term_seconds: int
    installment_interval_seconds: int
    applied_at: str
    activated_at: str | None
    state_changed_at: str
    transaction_hash: str = Field(description="The application's transaction")
    block_number: int


class LoanPage(BaseModel):
    items: list[LoanListItem]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class AlertReviewIn(BaseModel):
    decision: str = Field(description="confirmed_risk, false_positive or escalated")
    comment: str = Field(min_length=1, max_length=4000, description="Kept on this node only")


class AlertReview(BaseModel):
    decision: str
    reviewer_ref: str = Field(description="On-chain: sha256(salt || the reviewer's reference)")
    comment_hash: str
    reviewed_at: str
    comment: str | None = Field(description="Only on the reviewing bank's node")
    reviewer: str | None = Field(
        default=None, description="Only on the reviewing bank's node: who reviewed"
    )


class AlertView(BaseModel):
    alert_id: str
    vehicle_id: str
    vin: str | None = Field(
        default=None, description="Only on the node that registered the vehicle (off-chain)"
    )
    bank: str
    loan_id: str
    status: str
    round_id: int
    threshold_bps: int
    value: int
    appraisal: int
    raised_at: str
    closed_round_id: int | None
    review: AlertReview | None


class AlertPage(BaseModel):
    items: list[AlertView]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class AlertReviewed(Receipt):
    alert_id: str
    decision: str
    reviewer_ref: str
    reviewer: str
    comment_hash: str
