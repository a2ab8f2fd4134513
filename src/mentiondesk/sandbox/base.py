"""The shared machinery of the evidence contract servers (statuspage, issuetracker, forum,
helpdesk in sandbox/): a threaded werkzeug server on a free localhost port, a log of every
request, and fault injection. Each subclass answers its vendor's paths in `handle`.

    server = StatuspageServer().start()     # http://127.0.0.1:<free port>
    server.fault("slow", delay=1.0)         # the next request waits 1 s before answering
    server.fault("ratelimited", retry_after=120)
    server.requests                         # what the client sent

Faults (`fault(kind, count=1, path=None, …)`, for the next `count` requests, to paths starting
with `path` when set):
- `status`: HTTP `status` (default 500) with an HTML error page, as a proxy in front shows;
- `ratelimited`: HTTP 429 with `Retry-After: retry_after` and the vendor's own body;
- `slow`: wait `delay` seconds, then answer normally (a client with a shorter timeout gives up);
- `malformed`: HTTP 200, `application/json`, a body cut off mid-object;
- `body`: HTTP 200, `application/json`, exactly `body` (valid JSON of the wrong shape);
- `drop`: close the connection without answering.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from mentiondesk.core.localserver import LocalServer

FAULT_KINDS = ("status", "ratelimited", "slow", "malformed", "body", "drop")
# Request headers worth keeping in the log (auth is what the tests check).
LOGGED_HEADERS = ("authorization", "private-token", "user-agent", "accept", "api-key")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it, answered or not."""

    method: str
    path: str  # decoded, as werkzeug routes it
    raw_path: str  # as sent, percent-encoding kept ("/api/v4/projects/driftwood%2Fapp/issues")
    args: dict[str, str]  # the query string, last value wins
    headers: dict[str, str]  # LOGGED_HEADERS, lowercased names
    at: float  # epoch seconds


@dataclass
class Fault:
    kind: str
    count: int = 1
    status: int = 500
    retry_after: str = "30"
    delay: float = 0.0
    body: str = ""
    path: str | None = None


class ContractServer(LocalServer):
    """A threaded werkzeug server on `host`; `port=0` picks a free port. `stop()` then
    `start()` brings it back on the same port. Subclasses implement `handle` and may override
    `ratelimited_response` with their vendor's 429 body."""

    name = "contract"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        # Canned data is dated relative to this, so "updated 2 hours ago" stays true.
        self.now = datetime.now(UTC).replace(microsecond=0)

    def wsgi_app(self) -> Any:
        return self._app

    # Control and inspection

    def fault(
        self,
        kind: str,
        *,
        count: int = 1,
        status: int = 500,
        retry_after: int | str = 30,
        delay: float = 0.0,
        body: str = "",
        path: str | None = None,
    ) -> None:
        """Make the next `count` requests (to paths starting with `path`, if given) fail as
        described in the module docstring."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}")
        with self.lock:
            self._faults.append(Fault(kind, count, status, str(retry_after), delay, body, path))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self.lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget requests and pending faults (the canned data stays)."""
        with self.lock:
            self._requests.clear()
            self._faults.clear()

    def ago(self, **delta: float) -> str:
        """An ISO 8601 UTC time `delta` before the server started: ago(hours=2)."""
        return iso(self.now - timedelta(**delta))

    # The WSGI application

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def ratelimited_response(self, retry_after: str) -> Response:
        return json_response(429, {"error": "Too Many Requests"}, {"Retry-After": retry_after})

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return self._dispatch(request)(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "")
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            raw_path=raw.split("?", 1)[0] or request.path,
            args=dict(request.args.items()),
            headers={
                name: request.headers[name] for name in LOGGED_HEADERS if name in request.headers
            },
            at=time.time(),
        )
        with self.lock:
            self._requests.append(recorded)
            fault = self._fault_take(request.path)
        if fault is not None:
            answer = self._fault_answer(fault, request)
            if answer is not None:
                return answer
        return self.handle(request)

    def _fault_take(self, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.path is None or path.startswith(fault.path):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_answer(self, fault: Fault, request: Request) -> Response | None:
        if fault.kind == "drop":
            _drop_connection(request)
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return None
        if fault.kind == "ratelimited":
            return self.ratelimited_response(fault.retry_after)
        if fault.kind == "malformed":
            return Response(
                '{"data": [{"id": 1, "title": "Cut off mid',
                status=200,
                content_type="application/json; charset=utf-8",
            )
        if fault.kind == "body":
            return Response(fault.body, status=200, content_type="application/json; charset=utf-8")
        page = f"<html><body><h1>{fault.status} Server Error</h1></body></html>"
        return Response(page, status=fault.status, content_type="text/html; charset=utf-8")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def iso(when: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as GitLab, Discourse and Zendesk write it."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _drop_connection(request: Request) -> None:
    """Close the client's socket without answering, like a crashed gateway. werkzeug's server
    treats a ConnectionError from the app as a dropped connection and writes nothing."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed by the client
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("evidence test server fault: drop")
