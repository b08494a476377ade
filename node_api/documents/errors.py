"""One exception tree for the document store, under the core package's `VclError`.

The REST layer maps these to answers (`DocumentTooLarge` and `ContentTypeRefused` to
4xx, `DocumentStoreUnavailable` to 503) and verification to results (`unavailable`,
`tampered`), so each says precisely which case it is.
"""

from __future__ import annotations

from vcl.errors import VclError
from vcl.sizes import human_bytes


class DocumentStoreError(VclError):
    """Base of every error the document store raises on purpose."""


class DocumentStoreUnavailable(DocumentStoreError):
    """The backend does not answer, answers with an error, or cannot write."""


class DocumentNotFound(DocumentStoreError):
    """No content for this CID here (or, for Kubo, on the network within the timeout)."""

    def __init__(self, cid: str, detail: str = "") -> None:
        self.cid = cid
        super().__init__(f"no document {cid}" + (f": {detail}" if detail else ""))


class DocumentTooLarge(DocumentStoreError):
    """`size` is exact, or with `exact=False` how much was read before giving up."""

    def __init__(self, size: int, limit: int, *, exact: bool = True) -> None:
        self.size = size
        self.limit = limit
        shown = human_bytes(size) if exact else f"more than {human_bytes(limit)}"
        super().__init__(f"the document is {shown}; the limit is {human_bytes(limit)}")


class EmptyDocument(DocumentStoreError):
    """The upload has no bytes: a file chosen wrongly, or cut off on the way."""


class ContentTypeRefused(DocumentStoreError):
    """The declared type is not allowed, or the bytes are not what the type says."""


class DocumentIntegrityError(DocumentStoreError):
    """Bytes do not match the CID or hash that names them: corrupted or substituted."""


class EnvelopeFormatError(DocumentIntegrityError):
    """The bytes are not an envelope this version can open (magic, length)."""


class EnvelopeTampered(DocumentIntegrityError):
    """The envelope fails authentication: altered, a swapped entry, or another content hash."""


class NotARecipient(DocumentStoreError):
    """The envelope holds no data key for a key of this node: it was not sealed for this
    member (not a reader then, or a key it no longer holds). Not tampering: another reader
    may open it."""


class NoRecipients(DocumentStoreError):
    """Nobody to seal a document for: no active bank or auditor has published a document
    key, and this node holds none of its own."""


class EnvelopeRecipientsRefused(DocumentIntegrityError):
    """A pre-sealed envelope is not sealed for every current reader (this node included)."""
