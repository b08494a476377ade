"""The chain indexer: every event of the consortium's contracts, in the node's database."""

from node_api.indexer.indexer import Indexer, StepResult
from node_api.indexer.metrics import IndexerMetrics, indexing_lag

__all__ = ["Indexer", "IndexerMetrics", "StepResult", "indexing_lag"]
