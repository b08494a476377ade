"""Settings of the node API process that the core `vcl.config.Settings` does not carry.

Read from the environment with the prefix `VCL_NODE_` (or a `.env` file); the chain,
database URL and deployment record come from the core settings (`VCL_`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from node_api.documents.peers import DEFAULT_PEER_TIMEOUT_S, PeerNode
from node_api.documents.policy import DEFAULT_MAX_BYTES

# Far above any JSON request of the API (a loan application is a few hundred bytes).
DEFAULT_MAX_JSON_BYTES = 1024 * 1024


class NodeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VCL_NODE_", env_file=".env", extra="ignore")

    # Blocks behind the head that are still considered reversible. 0 on QBFT (and anvil):
    # a block is final as soon as it is sealed.
    indexer_confirmations: int = Field(default=0, ge=0)
    # Most blocks read (one `eth_getLogs`) and written (one database transaction) per step.
    indexer_batch_blocks: int = Field(default=2000, ge=1)
    indexer_poll_interval_s: float = Field(default=1.0, gt=0)
    # First block to index when the database has no cursor yet (the deployment block
    # saves reading empty history; 0 is always correct).
    indexer_start_block: int = Field(default=0, ge=0)
    # How many blocks of recorded hashes are kept to find the fork point of a reorg.
    indexer_reorg_window: int = Field(default=512, ge=1)

    # Where the embedded document store keeps envelopes (when VCL_IPFS_URL is "embedded").
    store_dir: Path = Path("var/documents")
    # This member's document keyring (node_api.documents.keys): its X25519 private keys,
    # mode 0600, made by `vcl node document-key create`. Banks and auditors only: a node
    # without it (an issuer's, an operator's) opens no envelope.
    document_key_file: Path = Path("var/document-keys.json")
    # Other members' nodes asked for documents the embedded store does not hold, in order:
    # a JSON list of {"name", "url", "api_key"} (a key each peer issued to this node).
    peers: list[PeerNode] = Field(default_factory=list)
    # Seconds one peer may take to deliver a document before the next one is asked.
    peer_timeout_s: float = Field(default=DEFAULT_PEER_TIMEOUT_S, gt=0)
    # Document verification results kept in memory (node_api.verification), most recent.
    verification_cache_entries: int = Field(default=10_000, ge=1)
    # Largest accepted document upload, in bytes (the document policy's limit). A multipart
    # request may carry twice this (a pre-signed upload's document and envelope) plus 64 KiB.
    max_upload_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    # Largest accepted body of every other request (JSON), in bytes; refused with 413 at the
    # edge, before the route reads it (node_api.api.edge).
    max_json_bytes: int = Field(default=DEFAULT_MAX_JSON_BYTES, ge=1)
    # Seconds a readiness probe waits for each of the chain, the database and the store.
    readiness_timeout_s: float = Field(default=5.0, gt=0)
    # Worker processes serving the API (reads use every core); one of them indexes. More than
    # one needs VCL_LOCK_DIR (defaulted to var/locks) for the shared key's nonces.
    workers: int = Field(default=1, ge=1, le=64)
