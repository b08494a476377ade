"""The one place a `Web3` is built, and the one way a read's chain outage is typed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from web3 import Web3
from web3.exceptions import Web3Exception
from web3.middleware import ExtraDataToPOAMiddleware

from vcl.config import Settings
from vcl.errors import ChainIdMismatch, ChainUnavailable
from vcl.rpc_transport import provider_for

RPC_TIMEOUT_S = 30.0


def make_web3(settings: Settings, *, check_chain_id: bool = True) -> Web3:
    """A connected `Web3` for the configured RPC, refusing a node of another chain.

    The proof-of-authority middleware is injected when configured: Besu QBFT headers
    carry validator data in `extraData` that the default formatter rejects. The provider
    keeps one connection per thread alive (`vcl.rpc_transport`).
    """
    w3 = Web3(provider_for(settings.rpc_url, RPC_TIMEOUT_S))
    if settings.proof_of_authority:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    if not check_chain_id:
        return w3
    try:
        chain_id = w3.eth.chain_id
    except (OSError, ValueError) as exc:  # connection refused, HTTP errors, bad JSON
        raise ChainUnavailable(f"no chain answers at {settings.rpc_url}: {exc}") from exc
    if chain_id != settings.chain_id:
        raise ChainIdMismatch(settings.rpc_url, settings.chain_id, chain_id)
    return w3


@contextmanager
def chain_read(what: str) -> Iterator[None]:
    """Chain reads in this block whose node does not answer raise `ChainUnavailable`."""
    try:
        yield
    except (OSError, Web3Exception) as exc:
        raise ChainUnavailable(f"reading {what} failed: {exc}") from exc
