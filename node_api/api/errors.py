"""One mapping from the typed errors of the node to HTTP answers.

Every error answer has the same body: `{"error": <name>, "message": <what is wrong>,
"details": {...}}`. A contract's refusal keeps its custom error's name as `error`, its
arguments and raw form (`details["raw"]`, e.g. `LoanNotYetDue(30, 1799264158)`), and says in
`message` what it means for a person (`vcl.error_messages`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from node_api.db import DatabaseUnavailable
from node_api.documents.errors import (
    ContentTypeRefused,
    DocumentIntegrityError,
    DocumentNotFound,
    DocumentStoreUnavailable,
    DocumentTooLarge,
    EmptyDocument,
    NoRecipients,
)
from node_api.verification import AmbiguousDocument, IndexBehind, UnknownDocument
from vcl.cid import InvalidCid
from vcl.errors import (
    ChainUnavailable,
    ReceiptTimeout,
    TransactionError,
    TransactionReverted,
    VclError,
)
from vcl.sizes import human_bytes
from vcl.vin import InvalidVin
from vcl.vin_secrets import VehicleRegisteredEarlier, VinSecretNotHeld

# Custom errors that are not "your request is malformed" (422, the default).
REVERT_STATUS: dict[str, int] = {
    "RegistryVehicleExists": 409,
    "RegistryLienExists": 409,
    "RegistryLienActive": 409,
    "RegistryDocumentExists": 409,
    "RegistryDocumentAlreadyRevoked": 409,
    "RegistryUnknownVehicle": 404,
    "RegistryUnknownDocument": 404,
    "ConsortiumUnauthorizedAccount": 403,
    "RegistryNotAuthorized": 403,
    "RegistryNotIssuer": 403,
    "LoanUnknown": 404,
    "LoanUnknownVehicle": 404,
    "LoanInvalidState": 409,
    "LoanNotLender": 403,
    "LoanStaleScore": 409,
    "LoanNotYetDue": 409,
    "LoanNoValuation": 409,
    "LoanInvalidConsent": 403,
    "LoanConsentExpired": 403,
    "LoanConsentUsed": 409,
    "LoanApprovalExpired": 409,
    "LoanApprovalNotExpired": 409,
    "LoanLenderStillActive": 409,
    "OracleUnknownAlert": 404,
    "OracleNotAlertBank": 403,
    "OracleAlertAlreadyReviewed": 409,
}

ErrorAnswer = tuple[int, dict[str, Any]]


class ApiError(Exception):
    """An answer decided by the API layer itself (401, 403, 404, 409, ...)."""

    def __init__(
        self, status: int, error: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details or {}


class BodyTooLarge(HTTPException):
    """A request body over its route's limit (node_api.api.edge). An `HTTPException`: raised
    while FastAPI reads the body, it is passed on, not turned into a 400."""

    def __init__(self, limit: int, setting: str, declared: int | None = None) -> None:
        self.limit = limit
        self.setting = setting
        self.declared = declared
        size = "over" if declared is None else f"{human_bytes(declared)}, over"
        message = (
            f"the request body is {size} this route's limit of {human_bytes(limit)} ({setting})"
        )
        super().__init__(status_code=413, detail=message)

    def content(self) -> dict[str, Any]:
        return body(
            "BodyTooLarge",
            str(self.detail),
            {"limit_bytes": self.limit, "declared_bytes": self.declared, "setting": self.setting},
        )


def body(error: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": error, "message": message, "details": details or {}}


def answer_for(exc: ApiError | VclError | OperationalError | PoolTimeout) -> ErrorAnswer:
    """The status and body for an error the node raises on purpose."""
    if isinstance(exc, ApiError):
        return exc.status, body(exc.error, exc.message, exc.details)
    if isinstance(exc, (OperationalError, PoolTimeout)):
        return 503, body("DatabaseUnavailable", "the node's database does not answer")
    if isinstance(exc, TransactionReverted):
        status = REVERT_STATUS.get(exc.error_name, 422)
        details = revert_details(exc)
        return status, body(exc.error_name or "UndecodedRevert", exc.explanation, details)
    if isinstance(exc, ReceiptTimeout):
        details = {"transaction_hash": exc.tx_hash}
        return 503, body("ReceiptTimeout", f"{exc}; it may still be mined", details)
    status, name = _status_of(exc)
    return status, body(name, str(exc))


def revert_details(exc: TransactionReverted, **extra: Any) -> dict[str, Any]:
    """The details of a contract's refusal: its arguments, its raw form (what an auditor
    compares with the chain) and the transaction, if mined."""
    return {
        "args": [_json(a) for a in exc.args_decoded],
        "raw": exc.raw,
        "transaction_hash": exc.tx_hash,
        **extra,
    }


def _status_of(exc: VclError) -> tuple[int, str]:
    table: tuple[tuple[type[VclError], int], ...] = (
        (InvalidVin, 422),
        (InvalidCid, 422),
        (DocumentTooLarge, 413),
        (ContentTypeRefused, 415),
        (EmptyDocument, 422),
        (DocumentIntegrityError, 422),
        (DocumentNotFound, 404),
        (UnknownDocument, 404),
        (AmbiguousDocument, 409),
        (IndexBehind, 503),
        (ChainUnavailable, 503),
        (TransactionError, 503),
        (DatabaseUnavailable, 503),
        (DocumentStoreUnavailable, 503),
        (NoRecipients, 409),  # no reader has published a document key yet
        (VehicleRegisteredEarlier, 409),  # the VIN's record is under an earlier VIN secret
        (VinSecretNotHeld, 503),  # this node must import the rotated VIN secret first
    )
    for kind, status in table:
        if isinstance(exc, kind):
            name = "ChainUnavailable" if kind is TransactionError else type(exc).__name__
            return status, name
    return 500, type(exc).__name__


def _json(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return str(value)


def to_response(status: int, content: dict[str, Any]) -> JSONResponse:
    return JSONResponse(status_code=status, content=content)


async def _handle(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, (ApiError, VclError, OperationalError, PoolTimeout)):
        raise exc
    status, content = answer_for(exc)
    response = to_response(status, content)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's validation errors in the one error body. The offending values are left
    out: a body field may hold a borrower's reference."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(part) for part in error["loc"]), "problem": error["msg"]}
        for error in exc.errors()
    ]
    message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    return to_response(422, body("InvalidRequest", message, {"errors": problems}))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    """The framework's own answers (unparseable body, unknown path) in the one error body."""
    assert isinstance(exc, HTTPException)
    name = HTTPStatus(exc.status_code).phrase.replace(" ", "")
    response = to_response(exc.status_code, body(name, str(exc.detail)))
    for header, value in (exc.headers or {}).items():
        response.headers[header] = value
    return response


async def _body_too_large(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return to_response(413, exc.content())


def install(app: FastAPI) -> None:
    for kind in (ApiError, VclError, OperationalError, PoolTimeout):
        app.add_exception_handler(kind, _handle)
    app.add_exception_handler(BodyTooLarge, _body_too_large)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
