"""`vcl audit ...`: what happened to a vehicle or a loan, and the export of every event,
asked of a node API over HTTP with a person's API key.

The node answers with chain data only; this command prints it as a table (or the JSON
as the node sent it). An HTTP error, an unreachable node or a missing key is one line on
stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from vcl.contract_enums import LoanState

audit_app = typer.Typer(
    help="Audit trail from a node API: histories and exports.", no_args_is_help=True
)
out = Console(highlight=False, markup=False, soft_wrap=True)  # lines stay whole, never cut
err = Console(stderr=True, highlight=False)

TIMEOUT_S = 60.0
# Arguments shown in the history table: ids, parties and amounts, never whole commitments.
SHOWN_ARGUMENTS = (
    "loanId",
    "alertId",
    "bank",
    "issuer",
    "principal",
    "amount",
    "from",
    "to",
    "value",
    "decision",
    "proposalId",
    "cutoff",
)

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="VCL_NODE_URL", help="The node API's base URL."),
]
KeyOption = Annotated[
    str,
    typer.Option(
        "--api-key",
        envvar="VCL_API_KEY",
        help="An API key of the node (any role).",
        show_default=False,
    ),
]


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


class AuditCommandError(Exception):
    """Shown as one line; the command exits 1."""


@contextmanager
def _client(url: str, api_key: str) -> Iterator[httpx.Client]:
    if not api_key.strip():
        raise AuditCommandError("no API key: pass --api-key or set VCL_API_KEY")
    headers = {"Authorization": f"Bearer {api_key.strip()}"}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=TIMEOUT_S) as client:
        yield client


def _refusal(response: httpx.Response) -> AuditCommandError:
    """The node's error body (`error`, `message`) as one line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "message" in body:
        what = f"{body.get('error', 'Error')}: {body['message']}"
    else:
        what = response.reason_phrase or "no explanation"
    return AuditCommandError(f"the node answered {response.status_code}: {what}")


def _get_json(client: httpx.Client, path: str) -> dict[str, Any]:
    try:
        response = client.get(path)
    except httpx.HTTPError as exc:
        raise AuditCommandError(f"cannot reach the node API at {client.base_url}: {exc}") from exc
    if response.status_code != 200:
        raise _refusal(response)
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except AuditCommandError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"error: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _summary(event: dict[str, Any]) -> str:
    args: dict[str, Any] = event["args"]
    parts = [f"{name}={args[name]}" for name in SHOWN_ARGUMENTS if name in args]
    if event["event"] == "LoanStateChanged":
        parts = [
            f"loanId={args['loanId']}",
            f"{LoanState.label_of(args['from'])} -> {LoanState.label_of(args['to'])}",
        ]
    return " ".join(parts)


def _print_history(body: dict[str, Any]) -> None:
    """Plain fixed-width lines: nothing is cut, whatever the terminal, and they grep well."""
    subject = f"loan {body['loan_id']}" if "loan_id" in body else "vehicle"
    vin = body.get("vin") or "VIN not known to this node"
    out.print(f"{subject}: {vin}, vehicle id {body['vehicle_id']}")
    out.print(f"events indexed up to block {body['indexed_block']}")
    out.print(f"{'block':>8}  {'time (UTC)':<20}  {'event':<36}  {'transaction':<66}  details")
    for event in body["events"]:
        name = f"{event['contract']}.{event['event']}"
        out.print(
            f"{event['block_number']:>8}  {event['block_time']:<20}  {name:<36}  "
            f"{event['tx_hash']:<66}  {_summary(event)}"
        )
    out.print(f"{len(body['events'])} events")
    out.print(f"{len(body['documents'])} documents, verified now")
    for document in body["documents"]:
        for result in document["verification"]["documents"]:
            failed = [c["name"] for c in result["checks"] if c["outcome"] != "passed"]
            shown = f" (not passed: {', '.join(failed)})" if failed else ""
            out.print(f"  {document['cid']}  {document['doc_type']:<12}  {result['status']}{shown}")


@audit_app.command("history")
def history(
    url: UrlOption,
    api_key: KeyOption = "",
    vin: Annotated[
        str | None, typer.Argument(help="The vehicle's VIN.", show_default=False)
    ] = None,
    loan: Annotated[
        str | None, typer.Option("--loan", help="A loan id instead of a VIN.", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the node's JSON.")] = False,
) -> None:
    """Every event of a vehicle, or of a loan, and its documents verified afresh.

    A vehicle's history holds its loans', liens' and alerts' events too; each event with
    its transaction hash, block and time."""
    with _one_line_errors():
        if (vin is None) == (loan is None):
            raise AuditCommandError("give either a VIN or --loan ID")
        path = (
            f"/v1/audit/vehicles/{vin}/history"
            if loan is None
            else f"/v1/audit/loans/{loan}/history"
        )
        with _client(url, api_key) as client:
            body = _get_json(client, path)
        if as_json:
            out.print_json(json.dumps(body))
        else:
            _print_history(body)


@audit_app.command("export")
def export(
    *,
    url: UrlOption,
    out_path: Annotated[Path, typer.Option("--out", help="File to write.")],
    api_key: KeyOption = "",
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="csv, or json (one array).")
    ] = ExportFormat.CSV,
    from_block: Annotated[int | None, typer.Option(min=0, help="First block.")] = None,
    to_block: Annotated[int | None, typer.Option(min=0, help="Last block.")] = None,
    contract: Annotated[str | None, typer.Option(help="Only this contract's events.")] = None,
    event: Annotated[str | None, typer.Option(help="Only events of this name.")] = None,
) -> None:
    """Every indexed event (or the filtered ones) to a file.

    Streamed from the node; the file appears whole or not at all."""
    params: dict[str, str | int] = {"format": export_format.value}
    for name, value in (
        ("from_block", from_block),
        ("to_block", to_block),
        ("contract", contract),
        ("event", event),
    ):
        if value is not None:
            params[name] = value
    with _one_line_errors(), _client(url, api_key) as client:
        size, indexed = _download(client, params, out_path)
        out.print(f"wrote {size} bytes to {out_path} (events up to block {indexed})")


def _download(client: httpx.Client, params: dict[str, str | int], target: Path) -> tuple[int, str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    size = 0
    try:
        with os.fdopen(fd, "wb") as file:
            try:
                with client.stream("GET", "/v1/audit/export", params=params) as response:
                    if response.status_code != 200:
                        response.read()
                        raise _refusal(response)
                    indexed = response.headers.get("X-Indexed-Block") or "none"
                    for chunk in response.iter_bytes():
                        file.write(chunk)
                        size += len(chunk)
            except httpx.HTTPError as exc:
                raise AuditCommandError(f"the export from {client.base_url} failed: {exc}") from exc
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return size, indexed
