"""Documents through real node API processes: an issuer's node seals for the readers and
signs, a bank's node anchors a pre-signed document; listing, verification (only a reader
checks the content) and refused uploads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import api_server
import httpx
import pytest
from api_server import (
    BUILD_DIR,
    ISSUER_INDEX,
    MAX_UPLOAD_BYTES,
    NodeProcess,
    document_key_file,
    random_vin,
    register,
    wait_for,
)
from eth_account import Account
from web3 import Web3

from node_api.api_keys import Role
from node_api.documents.crypto import open_envelope, seal
from node_api.documents.embedded import EmbeddedDocumentStore
from node_api.documents.keys import Keyring, Recipient, load_keyring
from node_api.documents.readers import ReaderDirectory
from vcl.artifacts import load_artifact
from vcl.cid import compute_cid
from vcl.config import DEV_PRIVATE_KEYS
from vcl.eip712 import DocumentAnchor, DocumentType, document_message
from vcl.localchain import LocalChain

ISSUER = Account.from_key(DEV_PRIVATE_KEYS[ISSUER_INDEX])
STRANGER = Account.from_key(DEV_PRIVATE_KEYS[9])
AUDITOR_INDEX = 3
ISSUED_AT = 1_700_000_000


# The module's fixtures: one consortium and node processes for all its tests.
bank_node = api_server.bank_node
deployment = api_server.deployment
issuer_node = api_server.issuer_node


@pytest.fixture(scope="module")
def auditor_keys(
    anvil: LocalChain, deployment: Path, tmp_path_factory: pytest.TempPathFactory
) -> Keyring:
    """The auditor's document keys, published like its node would: a reader without a
    node process here."""
    directory = tmp_path_factory.mktemp("auditor")
    return load_keyring(document_key_file(anvil, deployment, directory, AUDITOR_INDEX))


def readers_now(node: NodeProcess, deployment: Path) -> tuple[Recipient, ...]:
    """The readers the chain lists now: what the issuer's software seals for."""
    w3 = Web3(Web3.HTTPProvider(node.env["VCL_RPC_URL"]))
    address = json.loads(deployment.read_text())["1337"]["Consortium"]
    consortium = w3.eth.contract(address=address, abi=load_artifact(BUILD_DIR, "Consortium").abi)
    return ReaderDirectory(w3, consortium).readers()


def stored_envelope(node: NodeProcess, cid: str) -> bytes:
    return EmbeddedDocumentStore(Path(node.env["VCL_NODE_STORE_DIR"])).cat_local(cid)


def upload(
    node: NodeProcess,
    vin: str,
    content: bytes = b"oil changed at 42 000 km",
    content_type: str = "text/plain",
    headers: dict[str, str] | None = None,
    **form: str,
) -> httpx.Response:
    with node.client(Role.OFFICER) as client:
        files: dict[str, tuple[str, bytes, str]] = {"file": ("doc", content, content_type)}
        envelope = form.pop("envelope", None)
        if envelope is not None:
            files["envelope"] = ("envelope", bytes.fromhex(envelope), "application/octet-stream")
        return client.post(
            f"/v1/vehicles/{vin}/documents",
            files=files,
            data={"doc_type": "maintenance", **form},
            headers=headers or {},
        )


def presigned(
    deployment: Path,
    vehicle_id: str,
    plaintext: bytes,
    recipients: tuple[Recipient, ...],
    signer: Account = ISSUER,
) -> dict[str, str]:
    registry = json.loads(deployment.read_text())["1337"]["VehicleRegistry"]
    sealed = seal(plaintext, recipients)
    envelope = sealed.envelope
    fields = DocumentAnchor(
        vehicle_id=bytes.fromhex(vehicle_id[2:]),
        doc_type=DocumentType.INSPECTION,
        cid=compute_cid(envelope).binary,
        content_hash=sealed.content_hash,
        issued_at=ISSUED_AT,
    )
    signature = signer.sign_message(document_message(fields, 1337, registry)).signature
    return {
        "doc_type": "inspection",
        "issuer": ISSUER.address,
        "issued_at": str(ISSUED_AT),
        "signature": "0x" + bytes(signature).hex(),
        "envelope": envelope.hex(),
    }


def verification(node: NodeProcess, cid: str) -> httpx.Response:
    with node.client(Role.AUDITOR) as client:
        return client.get(f"/v1/documents/{cid}/verification")


def test_issuer_node_signs_and_the_document_verifies(
    bank_node: NodeProcess, issuer_node: NodeProcess, auditor_keys: Keyring
) -> None:
    vin = register(bank_node).json()["vin"]
    plaintext = b"oil changed at 42 000 km"
    answer = upload(issuer_node, vin, plaintext)
    assert answer.status_code == 201, answer.text
    document = answer.json()
    assert document["issuer"] == ISSUER.address
    assert document["content_type"] == "text/plain"
    assert document["doc_type"] == "maintenance"
    assert document["cid"].startswith("bafkrei")
    # Salted: the anchor confirms no guess of the document.
    assert document["content_hash"] != "0x" + hashlib.sha256(plaintext).hexdigest()
    assert document["issued_at"].endswith("Z")

    # This bank's node has no peers: the envelope is copied into its store, as a peer fetch
    # or IPFS would. It was sealed for this bank, so the bank checks the content.
    envelope = stored_envelope(issuer_node, document["cid"])
    EmbeddedDocumentStore(Path(bank_node.env["VCL_NODE_STORE_DIR"])).add(envelope)
    checked = verification(bank_node, document["cid"])
    assert checked.status_code == 200
    [result] = checked.json()["documents"]
    assert result["status"] == "verified"
    assert result["document_id"] == document["document_id"]
    assert all(c["outcome"] == "passed" for c in result["checks"])
    # Answered from the bank's index (it waited for the issuer's anchor to be indexed there).
    assert int(checked.headers["X-Indexed-Block"]) <= result["checked_at_block"]
    assert (
        'vcl_document_verifications_total{status="verified"}'
        in httpx.get(f"{bank_node.url}/metrics").text
    )
    # The auditor opens it too; the issuer's own node holds no key for what it sealed.
    content_hash = bytes.fromhex(document["content_hash"][2:])
    assert open_envelope(envelope, auditor_keys, content_hash).plaintext == plaintext
    [at_issuer] = verification(issuer_node, document["cid"]).json()["documents"]
    assert at_issuer["status"] == "unavailable"
    opens = next(c for c in at_issuer["checks"] if c["name"] == "envelope_opens")
    assert opens["outcome"] == "unavailable"
    assert "no document key" in opens["detail"]

    def indexed() -> list[dict[str, object]]:
        with bank_node.client(Role.AUDITOR) as client:
            items: list[dict[str, object]] = client.get(f"/v1/vehicles/{vin}/documents").json()[
                "items"
            ]
            return items

    [listed] = wait_for(indexed)  # every member's node indexes every anchor
    assert listed["document_id"] == document["document_id"]
    assert listed["cid"] == document["cid"]
    assert listed["issuer"] == ISSUER.address
    assert listed["revoked"] is False
    assert listed["transaction_hash"] == document["transaction_hash"]


def test_bank_node_anchors_a_presigned_document(
    bank_node: NodeProcess, deployment: Path, auditor_keys: Keyring
) -> None:
    created = register(bank_node).json()
    plaintext = b"inspection passed, brakes 80%"
    readers = readers_now(bank_node, deployment)
    assert auditor_keys.member in {r.key_id.member for r in readers}
    answer = upload(
        bank_node,
        created["vin"],
        plaintext,
        **presigned(deployment, created["vehicle_id"], plaintext, readers),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["issuer"] == ISSUER.address
    assert answer.json()["issued_at"] == "2023-11-14T22:13:20Z"
    [result] = verification(bank_node, answer.json()["cid"]).json()["documents"]
    assert result["status"] == "verified"
    envelope = stored_envelope(bank_node, answer.json()["cid"])
    assert open_envelope(envelope, auditor_keys).plaintext == plaintext


def test_a_presigned_envelope_that_leaves_a_reader_out_is_refused(
    bank_node: NodeProcess, deployment: Path, auditor_keys: Keyring
) -> None:
    """An issuer that seals for the uploading bank only: the auditor could never open it."""
    created = register(bank_node).json()
    plaintext = b"inspection for one bank only"
    readers = readers_now(bank_node, deployment)
    only_bank = tuple(r for r in readers if r.key_id.member != auditor_keys.member)
    form = presigned(deployment, created["vehicle_id"], plaintext, only_bank)
    answer = upload(bank_node, created["vin"], plaintext, **form)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "EnvelopeRecipientsRefused"
    assert auditor_keys.member in answer.json()["message"]
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/vehicles/{created['vin']}/documents").json()["items"] == []


def test_a_forged_or_malformed_signature_is_refused(
    bank_node: NodeProcess, deployment: Path
) -> None:
    created = register(bank_node).json()
    plaintext = b"a forged inspection"
    readers = readers_now(bank_node, deployment)
    forged = presigned(deployment, created["vehicle_id"], plaintext, readers, signer=STRANGER)
    answer = upload(bank_node, created["vin"], plaintext, **forged)
    assert answer.status_code == 422
    assert answer.json()["error"] == "RegistryInvalidSigner"
    assert answer.json()["details"]["args"] == [ISSUER.address, STRANGER.address]

    malformed = {**forged, "signature": "0x1234"}
    answer = upload(bank_node, created["vin"], plaintext, **malformed)
    assert answer.status_code == 422
    assert answer.json()["error"] == "MalformedSignature"

    incomplete = {"doc_type": "inspection", "issuer": ISSUER.address}
    assert upload(bank_node, created["vin"], plaintext, **incomplete).status_code == 422
    with bank_node.client(Role.AUDITOR) as client:
        assert client.get(f"/v1/vehicles/{created['vin']}/documents").json()["items"] == []


def test_oversize_and_disallowed_uploads_are_refused(issuer_node: NodeProcess) -> None:
    vin = random_vin()
    too_big = upload(issuer_node, vin, b"a" * (MAX_UPLOAD_BYTES + 1))
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "DocumentTooLarge"
    zipped = upload(issuer_node, vin, b"PK\x03\x04 zip", "application/zip")
    assert zipped.status_code == 415
    assert "application/zip" in zipped.json()["message"]
    fake_pdf = upload(issuer_node, vin, b"not a pdf", "application/pdf")
    assert fake_pdf.status_code == 415
    assert "%PDF-" in fake_pdf.json()["message"]
    bad_type = upload(issuer_node, vin, doc_type="diary")
    assert bad_type.status_code == 422
    assert bad_type.json()["error"] == "InvalidDocumentType"


def test_documents_of_an_unknown_vehicle_are_404(issuer_node: NodeProcess) -> None:
    answer = upload(issuer_node, random_vin())
    assert answer.status_code == 404
    assert answer.json()["error"] == "RegistryUnknownVehicle"
    assert upload(issuer_node, "NOT-A-VIN").status_code == 422


def test_verification_of_an_unknown_or_malformed_cid(issuer_node: NodeProcess) -> None:
    unknown = str(compute_cid(b"never anchored"))
    answer = verification(issuer_node, unknown)
    assert answer.status_code == 404
    assert answer.json()["error"] == "UnknownDocument"
    malformed = verification(issuer_node, "QmNotACidV1")
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "InvalidCid"


def test_an_upload_retried_with_its_idempotency_key_is_anchored_once(
    bank_node: NodeProcess, issuer_node: NodeProcess
) -> None:
    vin = register(bank_node).json()["vin"]
    headers = {"Idempotency-Key": "upload-1"}
    first = upload(issuer_node, vin, b"claim 2026-001", headers=headers)
    retry = upload(issuer_node, vin, b"claim 2026-001", headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    changed = upload(issuer_node, vin, b"claim 2026-002", headers=headers)
    assert changed.status_code == 409
