"""Content ids: the CIDv1 Kubo computes for `ipfs add --cid-version 1 --raw-leaves`.

Every node must derive the same id from the same bytes, whether it stores documents
in Kubo or in the embedded store, so the UnixFS importer is reproduced here exactly:
fixed-size chunks of 256 KiB, raw leaves, and above one chunk a balanced tree of dag-pb
nodes with at most 174 links each. A file of one chunk is a single raw block, so its
CID is simply sha2-256 of the bytes. The protobuf encoding is written out by hand (it is
three small messages) rather than pulling in a protobuf or multiformats dependency.

On-chain the CID is stored in binary form (`Cid.binary`); everywhere else it is the
base32 string Kubo prints (`str(cid)`, "bafk..." for raw, "bafy..." for dag-pb).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vcl.errors import VclError

RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12
SHA2_256_LENGTH = 32
CID_V0 = 0
CID_V1 = 1

# Kubo's defaults (`Import.UnixFSChunker=size-262144`, `Import.UnixFSFileMaxLinks=174`).
DEFAULT_CHUNK_SIZE = 262_144
DEFAULT_MAX_LINKS = 174

_UNIXFS_FILE = 2  # UnixFS Data.DataType.File
_BASE32_PREFIX = "b"  # multibase: base32, lower case, no padding
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_MAX_VARINT_BYTES = 9  # the multiformats varint spec caps values at 2**63


class InvalidCid(VclError):
    """A CID string or binary CID is malformed, or not one this node can verify."""


@dataclass(frozen=True)
class Cid:
    """A content id with a sha2-256 multihash: the only kind this node produces or accepts."""

    version: int
    codec: int
    digest: bytes

    @property
    def multihash(self) -> bytes:
        return _varint(SHA2_256) + _varint(len(self.digest)) + self.digest

    @property
    def binary(self) -> bytes:
        """The binary CID, as a dag-pb link holds it and as the chain stores it."""
        if self.version == CID_V0:
            return self.multihash
        return _varint(self.version) + _varint(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == CID_V0:
            return _base58btc(self.multihash)
        encoded = base64.b32encode(self.binary).decode("ascii")
        return _BASE32_PREFIX + encoded.lower().rstrip("=")

    @classmethod
    def parse(cls, text: str) -> Cid:
        """The CID of a base32 CIDv1 string, or `InvalidCid` saying what is wrong with it."""
        if not text:
            raise InvalidCid("empty CID")
        if text.startswith("Qm"):
            raise InvalidCid(f"{text!r} is a CIDv0: documents are addressed by CIDv1")
        if text[0] != _BASE32_PREFIX:
            raise InvalidCid(f"{_short(text)} is not base32 multibase (must start with 'b')")
        body = text[1:]
        if body != body.lower():
            raise InvalidCid(f"{_short(text)} mixes upper case into base32 lower case")
        padded = body.upper() + "=" * (-len(body) % 8)
        try:
            binary = base64.b32decode(padded)
        except binascii.Error as exc:
            raise InvalidCid(f"{_short(text)} is not valid base32: {exc}") from None
        cid = cls.from_binary(binary)
        if str(cid) != text:
            raise InvalidCid(f"{_short(text)} is not the canonical encoding of its CID")
        return cid

    @classmethod
    def from_binary(cls, binary: bytes) -> Cid:
        """The CID of binary CIDv1 bytes (the on-chain form)."""
        version, offset = _read_varint(binary, 0)
        if version != CID_V1:
            raise InvalidCid(f"CID version {version} is not accepted, only CIDv1")
        codec, offset = _read_varint(binary, offset)
        if codec not in (RAW, DAG_PB):
            raise InvalidCid(f"codec 0x{codec:x} is neither raw (0x55) nor dag-pb (0x70)")
        hash_code, offset = _read_varint(binary, offset)
        if hash_code != SHA2_256:
            raise InvalidCid(f"multihash 0x{hash_code:x} is not sha2-256 (0x12)")
        length, offset = _read_varint(binary, offset)
        digest = binary[offset:]
        if length != SHA2_256_LENGTH or len(digest) != SHA2_256_LENGTH:
            raise InvalidCid(
                f"sha2-256 digest must be {SHA2_256_LENGTH} bytes, "
                f"header says {length}, found {len(digest)}"
            )
        return cls(CID_V1, codec, digest)


@dataclass(frozen=True)
class ImportLayout:
    """How `ipfs add` cuts a file into blocks. The default is the one every node uses;
    the other fields exist so tests can check the encoder against Kubo's own vectors."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_links: int = DEFAULT_MAX_LINKS
    raw_leaves: bool = True
    cid_version: int = CID_V1

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.max_links < 2:
            raise ValueError("chunk_size must be positive and max_links at least 2")
        if self.cid_version == CID_V0 and self.raw_leaves:
            raise ValueError("CIDv0 cannot address raw leaves")


KUBO_DEFAULT = ImportLayout()


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


BlockSink = Callable[[Cid, bytes], None]


def compute_cid(data: bytes, layout: ImportLayout = KUBO_DEFAULT) -> Cid:
    """The CID `ipfs add` gives `data` under `layout` (by default Kubo's CIDv1 raw leaves)."""
    return import_file(io.BytesIO(data), layout)


def cid_string(data: bytes) -> str:
    return str(compute_cid(data))


def matches(cid: Cid, data: bytes) -> bool:
    """Whether `data` is the content `cid` names, as this node would have added it.

    A raw CID is checked directly against the digest (whatever the block size); a dag-pb
    CID is recomputed with the default layout, so content added with another chunker does
    not match and is refused rather than trusted.
    """
    if cid.codec == RAW:
        return hashlib.sha256(data).digest() == cid.digest
    return compute_cid(data) == cid


def import_file(
    reader: Readable, layout: ImportLayout = KUBO_DEFAULT, sink: BlockSink | None = None
) -> Cid:
    """The root CID of the UnixFS file DAG of the bytes `reader` yields; every block is
    passed to `sink` (leaves first, root last) when one is given."""
    return _Importer(reader, layout, sink).run()


@dataclass
class _Node:
    """A block placed in the tree: its CID, the bytes it and its descendants take
    (dag-pb `Tsize`) and the file bytes beneath it (UnixFS `blocksizes`)."""

    cid: Cid
    tree_size: int
    file_size: int


@dataclass
class _Importer:
    """Kubo's balanced layout (boxo `ipld/unixfs/importer/balanced`): the first leaf is the
    root until a second chunk exists; then each round wraps the current root as the first
    child of a new root one level deeper and fills that root's remaining links."""

    reader: Readable
    layout: ImportLayout
    sink: BlockSink | None
    _lookahead: bytes = field(default=b"", init=False)

    def run(self) -> Cid:
        self._lookahead = self._read_chunk()
        root = self._leaf(self._next_chunk())
        depth = 1
        while not self._done:
            root = self._fill([root], depth)
            depth += 1
        return root.cid

    @property
    def _done(self) -> bool:
        return not self._lookahead

    def _read_chunk(self) -> bytes:
        parts: list[bytes] = []
        missing = self.layout.chunk_size
        while missing:
            part = self.reader.read(missing)
            if not part:
                break
            parts.append(part)
            missing -= len(part)
        return b"".join(parts)

    def _next_chunk(self) -> bytes:
        chunk = self._lookahead
        self._lookahead = self._read_chunk() if chunk else b""
        return chunk

    def _fill(self, children: list[_Node], depth: int) -> _Node:
        while len(children) < self.layout.max_links and not self._done:
            if depth == 1:
                children.append(self._leaf(self._next_chunk()))
            else:
                children.append(self._fill([], depth - 1))
        file_size = sum(child.file_size for child in children)
        unixfs = _unixfs_file(b"", file_size, [child.file_size for child in children])
        block = _dag_pb_node(children, unixfs)
        tree_size = len(block) + sum(child.tree_size for child in children)
        return _Node(self._emit(DAG_PB, block), tree_size, file_size)

    def _leaf(self, chunk: bytes) -> _Node:
        if self.layout.raw_leaves:
            return _Node(self._emit(RAW, chunk), len(chunk), len(chunk))
        block = _dag_pb_node([], _unixfs_file(chunk, len(chunk), []))
        return _Node(self._emit(DAG_PB, block), len(block), len(chunk))

    def _emit(self, codec: int, block: bytes) -> Cid:
        cid = Cid(self.layout.cid_version, codec, hashlib.sha256(block).digest())
        if self.sink is not None:
            self.sink(cid, block)
        return cid


def _dag_pb_node(links: list[_Node], data: bytes) -> bytes:
    """PBNode as go-codec-dagpb writes it: links (field 2) first, then data (field 1).
    Each PBLink carries its hash, an empty name (Kubo always writes it) and Tsize."""
    out = bytearray()
    for link in links:
        body = (
            _bytes_field(1, link.cid.binary)
            + _bytes_field(2, b"")
            + _varint_field(3, link.tree_size)
        )
        out += _bytes_field(2, body)
    out += _bytes_field(1, data)
    return bytes(out)


def _unixfs_file(data: bytes, file_size: int, block_sizes: list[int]) -> bytes:
    """UnixFS `Data` message of type File; `Data` is omitted when empty, as Go leaves it nil."""
    out = _varint_field(1, _UNIXFS_FILE)
    if data:
        out += _bytes_field(2, data)
    out += _varint_field(3, file_size)
    for size in block_sizes:
        out += _varint_field(4, size)
    return out


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes_field(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = 0
    for index in range(_MAX_VARINT_BYTES):
        if offset + index >= len(data):
            raise InvalidCid("truncated CID: a varint runs past the end")
        byte = data[offset + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            if byte == 0 and index > 0:
                raise InvalidCid("non-minimal varint in CID")
            return value, offset + index + 1
    raise InvalidCid("varint in CID longer than 9 bytes")


def _base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, remainder = divmod(number, 58)
        digits = _BASE58_ALPHABET[remainder] + digits
    zeros = len(data) - len(data.lstrip(b"\0"))
    return _BASE58_ALPHABET[0] * zeros + digits


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
