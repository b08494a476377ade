"""What a node accepts as a document: a size limit and a content-type allowlist.

The declared type (the upload's Content-Type) must be on the allowlist and the bytes
must look like it: a file that says it is a PDF but starts like an executable is
refused. Checks run on the plaintext, before encryption.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from node_api.documents.errors import ContentTypeRefused, DocumentTooLarge, EmptyDocument

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
JSON = "application/json"
TEXT = "text/plain"

_TEXT_CHARSETS = frozenset({"utf-8", "us-ascii"})
# C0 controls other than tab, line feed, form feed and carriage return, and DEL.
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-")


def _is_jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff")


def _is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n")


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _BINARY_CONTROLS.search(text) is None


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


_SIGNATURES: Mapping[str, tuple[Callable[[bytes], bool], str]] = {
    PDF: (_is_pdf, "does not start with %PDF-"),
    JPEG: (_is_jpeg, "has no JPEG start-of-image marker"),
    PNG: (_is_png, "has no PNG signature"),
    JSON: (_is_json, "is not UTF-8 JSON"),
    TEXT: (_is_text, "is not UTF-8 text without control characters"),
}

DEFAULT_ALLOWED = frozenset(_SIGNATURES)


@dataclass(frozen=True)
class DocumentPolicy:
    max_bytes: int = DEFAULT_MAX_BYTES
    allowed_types: frozenset[str] = DEFAULT_ALLOWED

    def __post_init__(self) -> None:
        unknown = self.allowed_types - DEFAULT_ALLOWED
        if unknown:
            raise ValueError(f"no content check exists for {', '.join(sorted(unknown))}")

    def check(self, data: bytes, declared_type: str) -> str:
        """The normalized content type of `data`, or a typed error saying why it is refused."""
        if len(data) > self.max_bytes:
            raise DocumentTooLarge(len(data), self.max_bytes)
        if not data:
            raise EmptyDocument("the file is empty (0 bytes): choose the document's file again")
        content_type = _normalize(declared_type)
        if content_type not in self.allowed_types:
            allowed = ", ".join(sorted(self.allowed_types))
            raise ContentTypeRefused(f"content type {content_type!r} is not allowed ({allowed})")
        looks_right, complaint = _SIGNATURES[content_type]
        if not looks_right(data):
            raise ContentTypeRefused(f"declared {content_type} but the content {complaint}")
        return content_type


def _normalize(declared: str) -> str:
    media_type, *params = (part.strip() for part in declared.split(";"))
    media_type = media_type.lower()
    for param in params:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in _TEXT_CHARSETS:
            raise ContentTypeRefused(f"charset {charset!r} is not accepted, only UTF-8")
    return media_type
