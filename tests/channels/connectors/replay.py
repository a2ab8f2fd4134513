"""A test-only replay server for the recorded Mastodon cassettes (shared/fixtures/mastodon/):
each request is answered with the recorded response of the same method and path, verbatim
(status, headers, body), in recorded order when a path was recorded several times. The
Authorization header is ignored (README: placeholders only)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from werkzeug.wrappers import Request, Response

from mentiondesk.core.localserver import LocalServer

CASSETTES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "mastodon"
# Hop-by-hop or length headers that no longer describe the body once it is served again.
_DROPPED = {"content-length", "content-encoding", "transfer-encoding", "connection"}


def cassette(name: str) -> list[dict[str, Any]]:
    """The interactions of one cassette file, as recorded."""
    loaded = yaml.safe_load((CASSETTES / name).read_text(encoding="utf-8"))
    return list(loaded["interactions"])


def recorded_body(interaction: dict[str, Any]) -> Any:
    return json.loads(interaction["response"]["body"]["string"])


# Mastodon 4.3's notification requests were not recorded (the cassettes' instance had none
# pending): the replay answers that list empty, the shape of "no request", and says so here.
NOT_RECORDED = {("GET", "/api/v1/notifications/requests"): "[]"}


class ReplayServer(LocalServer):
    """Serves the interactions of `names`, and NOT_RECORDED; `requests` lists (method, path,
    query) received, and `unmatched` what had no recording (answered 599)."""

    name = "mastodon-replay"

    def __init__(self, *names: str) -> None:
        super().__init__()
        self._queue: dict[tuple[str, str], list[dict[str, Any]]] = {
            key: [{"response": {"status": {"code": 200}, "headers": {}, "body": {"string": b}}}]
            for key, b in NOT_RECORDED.items()
        }
        for name in names:
            for interaction in cassette(name):
                request = interaction["request"]
                path = urlsplit(request["uri"]).path.rstrip("/")
                self._queue.setdefault((request["method"], path), []).append(interaction)
        self.requests: list[tuple[str, str, str]] = []
        self.unmatched: list[tuple[str, str]] = []

    def wsgi_app(self) -> Any:
        return self._app

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path.rstrip("/")
        self.requests.append((request.method, path, request.query_string.decode()))
        queue = self._queue.get((request.method, path))
        if not queue:
            self.unmatched.append((request.method, path))
            return Response("no recording", status=599)(environ, start_response)
        interaction = queue.pop(0) if len(queue) > 1 else queue[0]
        recorded = interaction["response"]
        headers = [
            (name, value)
            for name, values in recorded["headers"].items()
            if name.lower() not in _DROPPED
            for value in values
        ]
        response = Response(
            recorded["body"]["string"].encode("utf-8"),
            status=recorded["status"]["code"],
            headers=headers,
            content_type="application/json; charset=utf-8",
        )
        return response(environ, start_response)
