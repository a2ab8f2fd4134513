"""The shared machinery of the stand-ins: fault injection (`Fault`, `Faults`), JSON answers,
dropped connections and vendor times for every sandbox server, and `ContractServer`, the base
of the evidence contract servers (statuspage, issuetracker, forum, helpdesk in sandbox/): a
threaded werkzeug server on a free localhost port, a log of every request, and faults. Each
subclass answers its vendor's paths in `handle`. The X, Mastodon and Bluesky stand-ins keep
their state in a store, and Slack has a server of its own, with the same `Faults` (their own
kinds, `method` and `after`) and `fault_without_answer` for the kinds every server shares.

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
from html import escape
from typing import Any, NoReturn

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
    """One injected failure, for the next `count` requests to `method` (None: any) and paths
    starting with `path` (None: any). What a kind answers is each server's; `after` answers
    once the request's work is done (a write whose answer is lost)."""

    kind: str
    count: int = 1
    path: str | None = None
    method: str | None = None
    after: bool = False
    status: int = 500
    retry_after: str = "30"  # Retry-After of an evidence server's or Slack's 429
    reset_in: float = 60.0  # seconds to the reset a social network's 429 names
    delay: float = 0.0
    body: str = ""
    error: str = ""  # the error code a vendor's `error` answer names (Slack's "internal_error")


class Faults:
    """The faults waiting on one server, thread-safe: each request takes the first that
    matches it, and a fault is gone once `count` requests took it."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.kinds = tuple(kinds)
        self._lock = threading.Lock()
        self._waiting: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in self.kinds:
            raise ValueError(f"unknown fault kind {fault.kind!r}; expected one of {self.kinds}")
        with self._lock:
            self._waiting.append(fault)

    def take(self, *, path: str, method: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self._waiting:
                if fault.method in (None, method) and (
                    fault.path is None or path.startswith(fault.path)
                ):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._waiting.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._waiting.clear()


class ContractServer(LocalServer):
    """A threaded werkzeug server on `host`; `port=0` picks a free port. `stop()` then
    `start()` brings it back on the same port. Subclasses implement `handle` and may override
    `ratelimited_response` with their vendor's 429 body."""

    name = "contract"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults = Faults(FAULT_KINDS)
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
        self._faults.add(
            Fault(
                kind,
                count=count,
                path=path,
                status=status,
                retry_after=str(retry_after),
                delay=delay,
                body=body,
            )
        )

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
        fault = self._faults.take(path=request.path)
        if fault is not None:
            answer = self._fault_answer(fault, request)
            if answer is not None:
                return answer
        return self.handle(request)

    def _fault_answer(self, fault: Fault, request: Request) -> Response | None:
        if fault_without_answer(fault, request, server=self.name):
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
        return error_page(fault.status)


def fault_without_answer(fault: Fault, request: Request, *, server: str) -> bool:
    """Carry out the kinds every stand-in shares that answer nothing of their own: `drop`
    closes the connection without answering (it does not return); `slow` waits `delay`
    seconds, then True: the request is handled as usual. False for any other kind, which the
    server answers."""
    if fault.kind == "drop":
        drop_connection(request, server=server)
    if fault.kind == "slow":
        time.sleep(fault.delay)
        return True
    return False


def error_page(status: int) -> Response:
    """HTTP `status` with an HTML error page, as a gateway or proxy in front of a vendor shows."""
    page = f"<html><body><h1>{status} Server Error</h1></body></html>"
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON answer in UTF-8, as the vendors send it."""
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def html_page(status: int, title: str, body: str = "", *, description: str = "") -> Response:
    """A stand-in's web page, where the desk's links to a vendor's site lead in the demo.
    `title` and `description` (an Open Graph description, for link previews) are escaped
    here; `body` is HTML whose text the caller escaped."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        f'<meta property="og:title" content="{escape(title)}">'
        f'<meta property="og:description" content="{escape(description)}">'
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def iso(when: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as GitLab, Discourse, Zendesk, Mastodon
    (`2026-08-01T13:51:42.823Z`) and the Bluesky AppView (`indexedAt`) write it."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def drop_connection(request: Request, *, server: str) -> NoReturn:
    """Close the client's socket without answering, like a crashed gateway. werkzeug's server
    treats a ConnectionError from the app as a dropped connection and writes nothing."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed by the client
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError(f"{server} fault: drop")
