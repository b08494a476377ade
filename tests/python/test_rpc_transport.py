"""The kept-alive JSON-RPC transport of `make_web3`: the same answers as web3's stock
provider, a connection the server closed is reopened, failures stay `OSError`s, and a URL
that needs `requests` (TLS, a proxy) keeps the stock provider."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from web3 import HTTPProvider, Web3

from vcl.chain import make_web3
from vcl.config import KeySource, Settings
from vcl.localchain import LocalChain, LocalChainConfig, free_port
from vcl.rpc_transport import KeepAliveHTTPProvider, RpcHttpError, provider_for


class _Stub(BaseHTTPRequestHandler):
    """A JSON-RPC endpoint that counts the methods asked and can answer an HTTP error."""

    protocol_version = "HTTP/1.1"  # keeps connections alive
    asked: ClassVar[Counter[str]] = Counter()
    status = 200

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).asked[request["method"]] += 1
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x539"}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[tuple[str, type[_Stub]]]:
    handler = type("Stub", (_Stub,), {"asked": Counter(), "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _settings(rpc_url: str, tmp_path: Path) -> Settings:
    return Settings(rpc_url=rpc_url, key_source=KeySource.DEV, deployment_file=tmp_path / "d.json")


def test_answers_are_the_stock_providers(anvil: LocalChain, tmp_path: Path) -> None:
    fast = make_web3(_settings(anvil.rpc_url, tmp_path))
    stock = Web3(HTTPProvider(anvil.rpc_url))
    assert isinstance(fast.provider, KeepAliveHTTPProvider)
    number = stock.eth.block_number
    assert fast.eth.get_block(number) == stock.eth.get_block(number)
    assert fast.eth.chain_id == stock.eth.chain_id
    with fast.batch_requests() as batch:
        batch.add(fast.eth.get_block(0))
        batch.add(fast.eth.get_block(number))
        genesis, latest = batch.execute()
    assert (genesis, latest) == (stock.eth.get_block(0), stock.eth.get_block(number))


def test_the_chain_id_is_asked_once_per_thread(stub: tuple[str, type[_Stub]]) -> None:
    url, handler = stub
    w3 = Web3(KeepAliveHTTPProvider(url, 5.0))
    assert [w3.eth.chain_id for _ in range(3)] == [1337] * 3
    assert w3.eth.block_number == 1337
    assert w3.eth.block_number == 1337
    assert handler.asked == Counter({"eth_chainId": 1, "eth_blockNumber": 2})


def test_a_connection_the_chain_closed_is_reopened() -> None:
    port = free_port()
    w3 = Web3(KeepAliveHTTPProvider(f"http://127.0.0.1:{port}", 5.0))
    with LocalChain(LocalChainConfig(port=port)):
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert w3.eth.block_number == 1
    # A new chain on the same port: the kept connection died with the old one.
    with LocalChain(LocalChainConfig(port=port)):
        # Not a method web3 retries: only reopening the connection makes it succeed.
        answer = w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert "error" not in answer
        assert w3.eth.block_number == 1


def test_failures_are_os_errors(stub: tuple[str, type[_Stub]]) -> None:
    url, handler = stub
    handler.status = 502
    w3 = Web3(KeepAliveHTTPProvider(url, 5.0))
    with pytest.raises(RpcHttpError, match="HTTP 502"):
        w3.provider.make_request("eth_sendRawTransaction", [])  # type: ignore[arg-type]
    closed = Web3(KeepAliveHTTPProvider(f"http://127.0.0.1:{free_port()}", 5.0))
    with pytest.raises(ConnectionRefusedError):
        closed.provider.make_request("eth_sendRawTransaction", [])  # type: ignore[arg-type]


def test_urls_that_need_requests_keep_the_stock_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(provider_for("https://rpc.bank.example:8545", 5.0)) is HTTPProvider
    assert type(provider_for("http://user:secret@10.0.0.5:8545", 5.0)) is HTTPProvider
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.bank.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert type(provider_for("http://10.0.0.5:8545", 5.0)) is HTTPProvider
    monkeypatch.setenv("NO_PROXY", "10.0.0.5")
    assert type(provider_for("http://10.0.0.5:8545", 5.0)) is KeepAliveHTTPProvider
