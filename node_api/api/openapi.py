"""The OpenAPI document states every error answer the API can give.

Routes declare their success bodies; the error answers are the same for all of them (one
body shape, `errors.body`), so they are added here in one place rather than on each route.
Schemathesis (tests/python/node_api/test_api_fuzz.py) holds the API to this document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA_NAME = "ErrorBody"
ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR_SCHEMA_NAME,
    "type": "object",
    "required": ["error", "message", "details"],
    "properties": {
        "error": {"type": "string", "description": "The error's name, e.g. LoanInvalidState"},
        "message": {"type": "string", "description": "What is wrong, for a person"},
        "details": {"type": "object", "description": "Arguments of the error, if any"},
    },
}

# Why each answer can happen; which operations can give it is decided in `_statuses`.
REASONS = {
    400: "the request body cannot be parsed",
    401: "no API key, or an unknown or revoked one",
    403: "the key's role may not do this, or the data is another institution's",
    404: "no such vehicle, loan, alert or document",
    409: "the state on the chain does not allow this (a lien exists, wrong loan state, ...)",
    413: "the request body is larger than the route's limit (BodyTooLarge, refused before it "
    "is read), or the uploaded document larger than the document limit",
    415: "the upload's content type is not allowed",
    422: "a field is malformed or invalid (VIN check digit, amount, ...)",
    503: "the chain, the database or the document store does not answer, or the node is "
    "already working on as many requests as it takes (NodeOverloaded, with Retry-After)",
}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [401, 403, 422, 503]
    if "{" in path or method == "post":
        statuses.append(404)
    if method == "post":
        statuses += [400, 409]
    if "requestBody" in operation:  # bodies are limited at the edge (node_api.api.edge)
        statuses.append(413)
    content = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        statuses.append(415)
    return sorted(statuses)


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers to every /v1 operation of an OpenAPI document (in place)."""
    ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    schema.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            statuses = _statuses(path, method, operation) if path.startswith("/v1/") else []
            if "422" in responses:  # FastAPI's default, answered by `errors` in ErrorBody
                statuses.append(422)
            for status in statuses:
                responses[str(status)] = {
                    "description": REASONS[status],
                    "content": {"application/json": {"schema": ref}},
                }
    # FastAPI's own validation body is never sent: `errors` answers 422 in ErrorBody.
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
