"""Network-edge fixtures for connector tests: a tiny server answering canned bytes (for shapes
the sandbox never produces) and a port nobody listens on. The sandbox network itself is the
`sandbox` fixture of tests/conftest.py."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class CannedServer:
    """Answers every request with the same status, headers and body; records each hit."""

    def __init__(self, status: int, body: bytes | dict[str, Any], headers: dict[str, str]) -> None:
        self.status = status
        self.body = json.dumps(body).encode() if isinstance(body, dict) else body
        self.headers = headers
        self.hits: list[tuple[str, str]] = []
        self._server = ThreadedWSGIServer("127.0.0.1", 0, self._app, handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        self.hits.append((request.method, request.path))
        response = Response(self.body, status=self.status, headers=self.headers)
        return response(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def canned() -> Iterator[Callable[..., CannedServer]]:
    servers: list[CannedServer] = []

    def start(
        status: int, body: bytes | dict[str, Any], headers: dict[str, str] | None = None
    ) -> CannedServer:
        server = CannedServer(status, body, headers or {"content-type": "application/json"})
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting is refused before anything is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
