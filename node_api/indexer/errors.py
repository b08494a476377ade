"""One exception tree for the indexer, under the core package's `VclError`.

`ChainReadFailed` and `ChainMovedDuringRead` are transient: the loop retries them after
the poll interval. The others need an operator.
"""

from __future__ import annotations

from vcl.errors import VclError


class IndexerError(VclError):
    """Base of every error the indexer raises on purpose."""


class ChainReadFailed(IndexerError):
    """The RPC node did not answer, or answered with an error."""


class ChainMovedDuringRead(IndexerError):
    """The chain reorganised while a block range was being read: nothing was written."""


class ReorgTooDeep(IndexerError):
    """No recorded block hash is still on the chain: the fork point is out of reach."""


class CursorMoved(IndexerError):
    """Another writer moved the cursor between this indexer's read and write."""
