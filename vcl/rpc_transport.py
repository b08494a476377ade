"""JSON-RPC over HTTP with one kept-alive `http.client` connection per thread.

web3's `HTTPProvider` posts through `requests`, which costs about 0.6 ms of CPU per call on
these machines (environment proxy and netrc lookups, adapters, hooks) against 0.1 ms for
`http.client` on a kept-alive connection; a write is several calls and every indexer step
several more, on every node. `KeepAliveHTTPProvider` keeps web3's whole provider (request
encoding, response decoding, the retry of read methods on a failed connection, the request
cache) and swaps only the transport. `provider_for` uses it where `requests` would add
nothing: plain http without an environment proxy or credentials; anything else keeps the
stock provider.
"""

from __future__ import annotations

import http.client
import select
import threading
import time
from typing import Any, cast
from urllib.parse import urlsplit

import requests.utils
from eth_typing import URI
from web3 import HTTPProvider
from web3._utils.batching import sort_batch_response_by_response_ids
from web3._utils.http import construct_user_agent
from web3.providers.rpc.utils import ExceptionRetryConfiguration, check_if_retry_on_failure
from web3.types import RPCEndpoint, RPCResponse

# eth_chainId never changes under a connection; web3 asks it before every eth_call and
# eth_estimateGas (its chain id validation) and for every transaction it builds. Only that
# method is cached: every other read stays fresh. No validation threshold: web3 would
# otherwise switch the provider's caching off and on around a request of its own each time
# it caches, a race between a node's threads.
CACHED_METHODS = {RPCEndpoint("eth_chainId")}
CHAIN_ID_CACHE: dict[str, Any] = {
    "cache_allowed_requests": True,
    "cacheable_requests": CACHED_METHODS,
    "request_cache_validation_threshold": None,
}


class RpcHttpError(OSError):
    """The endpoint answered with an HTTP error status or an unreadable HTTP response.

    An `OSError`, like every transport failure (refused, reset, timed out), so callers
    that treat a transport failure as the chain being unavailable keep doing so."""


class KeepAliveTransport:
    """POSTs to one URL over a connection per thread, reopened when the server closed it."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"not a plain http URL: {url}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout_s = timeout_s
        self.headers = {
            "Content-Type": "application/json",
            "User-Agent": construct_user_agent(__name__, type(self).__name__),
        }
        self._local = threading.local()

    def post(self, body: bytes) -> bytes:
        connection = self._connection()
        try:
            connection.request("POST", self.path, body, self.headers)
            response = connection.getresponse()
            content = response.read()
        except http.client.HTTPException as exc:
            connection.close()
            if isinstance(exc, ConnectionError):  # RemoteDisconnected
                raise
            raise RpcHttpError(
                f"unreadable HTTP answer from {self.host}:{self.port}: {exc!r}"
            ) from exc
        except OSError:
            connection.close()
            raise
        if response.status >= 400:
            raise RpcHttpError(f"HTTP {response.status} {response.reason} from {self.path}")
        return content

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
            self._local.connection = connection
        elif connection.sock is not None and _closed_by_server(connection.sock):
            connection.close()  # reconnects on the next request
        return connection


def _closed_by_server(sock: Any) -> bool:
    """An idle kept-alive socket that is readable was closed (or reset) by the server."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class KeepAliveHTTPProvider(HTTPProvider):
    """web3's `HTTPProvider` over `KeepAliveTransport`; eth_chainId asked once."""

    def __init__(self, url: str, timeout_s: float) -> None:
        super().__init__(
            url,
            request_kwargs={"timeout": timeout_s},
            # The same retries as the stock provider's, for this transport's errors.
            exception_retry_configuration=ExceptionRetryConfiguration(errors=(OSError,)),
            **CHAIN_ID_CACHE,
        )
        self._transport = KeepAliveTransport(url, timeout_s)

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        retry = self.exception_retry_configuration
        if retry is None or not check_if_retry_on_failure(method, retry.method_allowlist):
            return self._transport.post(request_data)
        for attempt in range(retry.retries):
            try:
                return self._transport.post(request_data)
            except tuple(retry.errors):
                if attempt == retry.retries - 1:
                    raise
                time.sleep(retry.backoff_factor * 2**attempt)
        raise RpcHttpError(f"{method}: no attempt made ({retry.retries} retries configured)")

    def make_batch_request(
        self, batch_requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        raw = self._transport.post(self.encode_batch_rpc_request(batch_requests))
        response = self.decode_rpc_response(raw)
        if not isinstance(response, list):
            return response  # an error answered for the whole batch
        return cast(list[RPCResponse], sort_batch_response_by_response_ids(response))


def provider_for(url: str, timeout_s: float) -> HTTPProvider:
    """The keep-alive provider for a plain http URL that `requests` would send directly;
    the stock provider where it would add something (TLS, a proxy, credentials)."""
    parts = urlsplit(url)
    direct = (
        parts.scheme == "http"
        and parts.hostname is not None
        and parts.username is None
        and not requests.utils.get_environ_proxies(url)
        and requests.utils.get_netrc_auth(url) is None
    )
    if direct:
        return KeepAliveHTTPProvider(url, timeout_s)
    return stock_provider(url, timeout_s)


def stock_provider(url: str, timeout_s: float) -> HTTPProvider:
    """web3's own provider (over `requests`), with the chain id asked once."""
    return HTTPProvider(URI(url), request_kwargs={"timeout": timeout_s}, **CHAIN_ID_CACHE)
