"""Documents: upload and anchor, list a vehicle's anchors, verify by CID.

On an issuer's node the node seals the document and signs the anchor with its own key.
On a bank's node the issuer has sealed and signed elsewhere: the upload carries the
envelope, the issuer, the signed issue time and the signature (`anchoring.Presigned`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from node_api.anchoring import Presigned, anchor_document
from node_api.api.deps import (
    EnvelopeReaderDep,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    WriterDep,
)
from node_api.api.errors import ApiError
from node_api.api.idempotency import request_hash, run_idempotent
from node_api.api.indexed import INDEXED_NOTE, INDEXED_RESPONSES, IndexedDep
from node_api.api.routes.vehicles import vehicle_id_of
from node_api.api.schemas import DocumentAnchoredOut, DocumentList, DocumentListItem
from node_api.documents.crypto import MAX_OVERHEAD as MAX_ENVELOPE_OVERHEAD
from node_api.documents.errors import DocumentTooLarge
from node_api.models import ChainEvent, ProjectedDocument
from node_api.projections.events import lower_words
from node_api.verification import verification_body
from vcl.cid import Cid, InvalidCid
from vcl.eip712 import DocumentType
from vcl.timestamps import iso

router = APIRouter(tags=["documents"])

# The largest envelope header (every reader's wrapped key); it only bounds what is read.
ENVELOPE_SLACK = MAX_ENVELOPE_OVERHEAD


def _doc_type(name: str) -> DocumentType:
    try:
        return DocumentType[name.strip().upper()]
    except KeyError:
        allowed = ", ".join(t.name.lower() for t in DocumentType)
        raise ApiError(
            422, "InvalidDocumentType", f"doc_type {name!r} is not one of: {allowed}"
        ) from None


def _read_capped(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise DocumentTooLarge(len(data), limit, exact=False)
    return data


def _signature(text: str) -> bytes:
    try:
        signature = bytes.fromhex(text.strip().removeprefix("0x"))
    except ValueError:
        raise ApiError(422, "MalformedSignature", "signature is not hex") from None
    if len(signature) != 65:
        raise ApiError(
            422, "MalformedSignature", f"a signature has 65 bytes, this one {len(signature)}"
        )
    return signature


@router.post(
    "/v1/vehicles/{vin}/documents",
    status_code=201,
    response_model=DocumentAnchoredOut,
    responses={404: {}, 413: {}, 415: {}, 422: {}},
)
def upload_document(
    *,
    vin: str,
    runtime: RuntimeDep,
    principal: WriterDep,
    file: Annotated[UploadFile, File(description="The document (plaintext)")],
    doc_type: Annotated[str, Form(description="maintenance, insurance, claim, ...")],
    issuer: Annotated[str | None, Form(description="Pre-signed: the issuer's address")] = None,
    issued_at: Annotated[int | None, Form(description="Pre-signed: signed unix time")] = None,
    signature: Annotated[str | None, Form(description="Pre-signed: EIP-712, 0x hex")] = None,
    envelope: Annotated[UploadFile | None, File(description="Pre-signed: the envelope")] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Store the document encrypted and anchor it on-chain; answers after the receipt."""
    limit = runtime.policy.max_bytes
    plaintext = _read_capped(file, limit)
    content_type = file.content_type or "application/octet-stream"
    kind = _doc_type(doc_type)
    presigned_fields = (issuer, issued_at, signature, envelope)
    signer: Presigned | None = None
    if any(f is not None for f in presigned_fields):
        if issuer is None or issued_at is None or signature is None or envelope is None:
            raise ApiError(
                422,
                "IncompletePresigned",
                "a pre-signed document needs issuer, issued_at, signature and envelope",
            )
        if not Web3.is_address(issuer):
            raise ApiError(422, "InvalidAddress", "issuer must be a 20-byte hex address")
        signer = Presigned(
            issuer=Web3.to_checksum_address(issuer),
            issued_at=issued_at,
            signature=_signature(signature),
            envelope=_read_capped(envelope, limit + ENVELOPE_SLACK),
        )
    fingerprint = request_hash(
        f"POST /v1/vehicles/{vin}/documents",
        kind.name,
        content_type,
        plaintext,
        *(
            ()
            if signer is None
            else (signer.issuer, str(signer.issued_at), signer.signature, signer.envelope)
        ),
    )

    def anchor() -> tuple[int, dict[str, Any]]:
        _, vid = vehicle_id_of(runtime, vin)
        anchored = runtime.counted(
            lambda: anchor_document(
                plaintext,
                content_type,
                vid,
                kind,
                runtime.sender.account if signer is None else signer,
                store=runtime.store,
                readers=runtime.readers,
                keyring=runtime.keyring,
                sender=runtime.sender,
                registry=runtime.registry,
                policy=runtime.policy,
            )
        )
        out = DocumentAnchoredOut(
            document_id="0x" + anchored.document_id.hex(),
            cid=anchored.cid,
            content_hash="0x" + anchored.content_hash.hex(),
            content_type=anchored.content_type,
            doc_type=kind.name.lower(),
            issuer=anchored.issuer,
            issued_at=iso(anchored.issued_at),
            transaction_hash=anchored.transaction_hash,
            block_number=anchored.block_number,
        )
        return 201, out.model_dump()

    return run_idempotent(runtime.sessions, principal, idempotency_key, fingerprint, anchor)


@router.get(
    "/v1/vehicles/{vin}/documents",
    response_model=DocumentList,
    responses=INDEXED_RESPONSES,
    description="The documents anchored for this vehicle, oldest first. `revoked`: by its "
    "issuer, or by a governance vote on its issuer's documents anchored up to a cutoff."
    + INDEXED_NOTE,
)
def list_documents(
    vin: str,
    runtime: RuntimeDep,
    session: SessionDep,
    _indexed: IndexedDep,
    _principal: PrincipalDep,
) -> DocumentList:
    _, vid = vehicle_id_of(runtime, vin)
    vid_hex = "0x" + vid.hex()
    chain_id = runtime.settings.chain_id
    documents = session.scalars(
        select(ProjectedDocument)
        .where(ProjectedDocument.chain_id == chain_id, ProjectedDocument.vehicle_id == vid_hex)
        .order_by(ProjectedDocument.block_number, ProjectedDocument.log_index)
    ).all()
    cutoffs = _revocation_cutoffs(session, chain_id)
    items = [
        DocumentListItem(
            document_id=d.document_id,
            doc_type=lower_words(d.doc_type),
            cid=_cid_text(d.cid),
            content_hash=d.content_hash,
            issuer=d.issuer,
            issued_at=iso(d.issued_at),
            revoked=d.revoked_at is not None or d.anchored_at <= cutoffs.get(d.issuer, -1),
            transaction_hash=d.transaction_hash,
            block_number=d.block_number,
        )
        for d in documents
    ]
    return DocumentList(vehicle_id=vid_hex, items=items)


def _revocation_cutoffs(session: Session, chain_id: int) -> dict[str, int]:
    """Issuer -> the governance cutoff in force (the latest `IssuerDocumentsRevoked`): its
    documents anchored at or before it are revoked (`VehicleRegistry.isDocumentRevoked`)."""
    cutoffs: dict[str, int] = {}
    found = session.scalars(
        select(ChainEvent.args).where(
            ChainEvent.chain_id == chain_id, ChainEvent.event_name == "IssuerDocumentsRevoked"
        )
    )
    for args in found:
        issuer = args["issuer"]
        cutoffs[issuer] = max(cutoffs.get(issuer, 0), int(args["cutoff"]))
    return cutoffs


def _cid_text(hex_cid: str) -> str:
    try:
        return str(Cid.from_binary(bytes.fromhex(hex_cid.removeprefix("0x"))))
    except InvalidCid:
        return hex_cid


@router.get(
    "/v1/documents/{cid}/verification",
    responses={404: {}, 422: {}, **INDEXED_RESPONSES},
    description="A verification of every anchor of `cid`: each check and the overall status "
    "(verified, tampered, bad_signature, unknown_issuer, revoked, unavailable). The anchor, its "
    "revocation and its issuer's status are the index's at `checked_at_block`; the result is "
    "kept until the index holds an event that changes it (a revocation, a change of the "
    "issuer's membership)." + INDEXED_NOTE,
)
def verify_document(
    cid: str, runtime: RuntimeDep, _principal: PrincipalDep, _indexed: IndexedDep
) -> dict[str, Any]:
    Cid.parse(cid)
    return verification_body(runtime.verifier, cid, runtime.metrics.verification_result)


@router.get(
    "/v1/documents/{cid}/envelope",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The envelope"},
        404: {},
        422: {},
    },
)
def document_envelope(cid: str, runtime: RuntimeDep, _principal: EnvelopeReaderDep) -> Response:
    """The stored envelope (encrypted bytes) of `cid`, for peer nodes: only what this node
    holds itself, never fetched from its own peers in turn. The caller checks the bytes
    against the CID; only a recipient's private key opens them. The one route a
    `peer` key may call."""
    envelope = runtime.store.cat_local(str(Cid.parse(cid)))
    return Response(content=envelope, media_type="application/octet-stream")
