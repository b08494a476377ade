"""A small in-process fake of Kubo's RPC API, for `KuboDocumentStore` tests.

No real Kubo daemon exists on this machine: no package registry reachable here ships
one, and the architecture forbids downloading binaries at install. The fake implements
the semantics the client relies on, with the CIDs computed by `vcl.cid` the way Kubo
computes them: POST only; `add` honouring cid-version, raw-leaves, chunker and pin;
`cat` with `length`; `pin/add`; `pin/ls` answering Kubo's 500 "is not pinned"; and
Kubo's error body `{"Message", "Code", "Type"}`. Tests can substitute stored content,
misconfigure the chunker, or make a command fail, to see what the client does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from vcl.cid import DEFAULT_CHUNK_SIZE, ImportLayout, compute_cid


def kubo_error(message: str, status: int = 500) -> httpx.Response:
    return httpx.Response(status, json={"Message": message, "Code": 0, "Type": "error"})


@dataclass
class FakeKubo:
    version: str = "0.39.0"
    chunk_size: int = DEFAULT_CHUNK_SIZE  # what `Import.UnixFSChunker` would be
    # False imitates a node whose import differs in a way the request cannot override.
    honours_chunker_option: bool = True
    content: dict[str, bytes] = field(default_factory=dict)
    pins: set[str] = field(default_factory=set)
    failing: dict[str, httpx.Response] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method != "POST":
            return httpx.Response(405, text="405 - Method Not Allowed")
        command = request.url.path.removeprefix("/api/v0/")
        if command in self.failing:
            return self.failing[command]
        params = dict(request.url.params)
        handlers = {
            "add": self._add,
            "cat": self._cat,
            "pin/add": self._pin_add,
            "pin/ls": self._pin_ls,
            "version": self._version,
        }
        if command not in handlers:
            return httpx.Response(404, text="404 page not found")
        return handlers[command](request, params)

    def _add(self, request: httpx.Request, params: dict[str, str]) -> httpx.Response:
        if params.get("cid-version") != "1" or params.get("raw-leaves") != "true":
            return kubo_error("this fake only imports with cid-version=1&raw-leaves=true", 400)
        if params.get("hash", "sha2-256") != "sha2-256":
            return kubo_error("this fake only hashes with sha2-256", 400)
        chunker = params.get("chunker", f"size-{self.chunk_size}")
        if not chunker.startswith("size-"):
            return kubo_error(f"unrecognized chunker option: {chunker}", 400)
        chunk_size = int(chunker.removeprefix("size-"))
        if not self.honours_chunker_option:
            chunk_size = self.chunk_size
        data = _multipart_file(request)
        layout = ImportLayout(chunk_size=chunk_size)
        cid = str(compute_cid(data, layout))
        self.content[cid] = data
        if params.get("pin", "true") == "true":
            self.pins.add(cid)
        return httpx.Response(200, text=_ndjson({"Name": "document", "Hash": cid}))

    def _cat(self, _: httpx.Request, params: dict[str, str]) -> httpx.Response:
        cid = params["arg"]
        if cid not in self.content:
            return _not_found(cid)
        data = self.content[cid]
        if "length" in params:
            data = data[: int(params["length"])]
        return httpx.Response(200, content=data)

    def _pin_add(self, _: httpx.Request, params: dict[str, str]) -> httpx.Response:
        cid = params["arg"]
        if cid not in self.content:
            return _not_found(cid)
        self.pins.add(cid)
        return httpx.Response(200, json={"Pins": [cid]})

    def _pin_ls(self, _: httpx.Request, params: dict[str, str]) -> httpx.Response:
        cid = params["arg"]
        if params.get("type") != "recursive":
            return kubo_error("this fake only lists recursive pins", 400)
        if cid not in self.pins:
            # kubo core/commands/pin/pin.go: fmt.Errorf("path '%s' is not pinned", p)
            return kubo_error(f"path '{cid}' is not pinned")
        return httpx.Response(200, json={"Keys": {cid: {"Type": "recursive", "Name": ""}}})

    def _version(self, _: httpx.Request, __: dict[str, str]) -> httpx.Response:
        return httpx.Response(
            200, json={"Version": self.version, "Commit": "", "Repo": "16", "System": "amd64"}
        )


def _not_found(cid: str) -> httpx.Response:
    return kubo_error(f"block was not found locally (offline): ipld: could not find {cid}")


def _ndjson(*objects: dict[str, Any]) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


def _multipart_file(request: httpx.Request) -> bytes:
    """The one file part of a multipart/form-data body, as httpx writes it."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    part = request.read().split(b"--" + boundary)[1]
    _, _, body = part.partition(b"\r\n\r\n")
    return body.removesuffix(b"\r\n")
