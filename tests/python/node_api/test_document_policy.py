from __future__ import annotations

import pytest

from node_api.documents.errors import ContentTypeRefused, DocumentTooLarge, EmptyDocument
from node_api.documents.policy import DocumentPolicy
from vcl.sizes import human_bytes

SAMPLES = {
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "application/json": b'{"odometer_km": 48210, "notes": "brake pads replaced"}',
    "text/plain": "Inspection passed.\r\n\tNo rust — 48 210 km\n".encode(),
}


@pytest.mark.parametrize(("content_type", "data"), SAMPLES.items())
def test_allowed_types_with_matching_content_pass(content_type: str, data: bytes) -> None:
    assert DocumentPolicy().check(data, content_type) == content_type


def test_declared_type_is_normalized() -> None:
    policy = DocumentPolicy()
    assert policy.check(SAMPLES["text/plain"], "Text/Plain; charset=UTF-8") == "text/plain"
    assert policy.check(SAMPLES["application/pdf"], "application/pdf ") == "application/pdf"


def test_size_limit_is_checked_first_and_names_both_sizes() -> None:
    with pytest.raises(DocumentTooLarge, match="document is 1001 bytes; the limit is 1000 bytes"):
        DocumentPolicy(max_bytes=1000).check(b"\0" * 1001, "application/x-msdownload")
    with pytest.raises(DocumentTooLarge, match=r"document is 20\.5 MiB; the limit is 20 MiB"):
        DocumentPolicy().check(b"\0" * (20 * 2**20 + 2**19), "application/pdf")
    assert DocumentPolicy(max_bytes=1000).check(b"a" * 1000, "text/plain") == "text/plain"


@pytest.mark.parametrize(
    ("data", "declared", "message"),
    [
        (
            b"MZ\x90\x00\x03",
            "application/x-msdownload",
            "'application/x-msdownload' is not allowed",
        ),
        (
            SAMPLES["image/png"],
            "application/pdf",
            "declared application/pdf but the content does not",
        ),
        (b"MZ\x90\x00\x03", "image/jpeg", "no JPEG start-of-image marker"),
        (SAMPLES["image/jpeg"], "image/png", "no PNG signature"),
        (b"{'not': json}", "application/json", "not UTF-8 JSON"),
        (b"plain\x00text", "text/plain", "without control characters"),
        (b"caf\xe9", "text/plain", "without control characters"),
        (b"caf\xe9", "text/plain; charset=latin-1", "charset 'latin-1' is not accepted"),
    ],
)
def test_refusals_say_what_is_wrong(data: bytes, declared: str, message: str) -> None:
    with pytest.raises(ContentTypeRefused, match=message):
        DocumentPolicy().check(data, declared)


def test_an_empty_file_is_its_own_refusal_not_a_content_type() -> None:
    with pytest.raises(EmptyDocument, match=r"the file is empty \(0 bytes\)"):
        DocumentPolicy().check(b"", "application/pdf")


def test_sizes_read_in_binary_units() -> None:
    assert human_bytes(1) == "1 byte"
    assert human_bytes(1023) == "1023 bytes"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(20 * 2**20) == "20 MiB"
    assert human_bytes(3 * 2**30 + 2**29) == "3.5 GiB"


def test_allowlist_can_be_narrowed_but_not_extended_without_a_check() -> None:
    pdf_only = DocumentPolicy(allowed_types=frozenset({"application/pdf"}))
    with pytest.raises(ContentTypeRefused, match="not allowed"):
        pdf_only.check(SAMPLES["image/png"], "image/png")
    with pytest.raises(ValueError, match="no content check exists for image/gif"):
        DocumentPolicy(allowed_types=frozenset({"image/gif"}))
