"""The node API: chain indexer, document store, off-chain verification, REST API."""
