"""Recorded Bluesky answers (fixtures/bluesky/README.md: the atproto SDK's own test data, real
bsky.social answers) replayed from a local server through the real SDK and the connector."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from mentiondesk.channels.connectors.bluesky import BlueskyConnector
from mentiondesk.core.localserver import LocalServer

RECORDED = Path(__file__).parent / "fixtures" / "bluesky"
DID = "did:plc:kvwvcn5iqfooopmyzvb4qzba"
HANDLE = "test.marshal.dev"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text(encoding="utf-8"))
    return data


def jwt(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


class Replay(LocalServer):
    """Answers each XRPC method with a canned (status, body); logs the methods called."""

    name = "bluesky-replay"

    def __init__(self, answers: dict[str, tuple[int, Any]]) -> None:
        super().__init__()
        exp = int(time.time()) + 7200
        session = {
            "did": DID,
            "handle": HANDLE,
            "accessJwt": jwt(scope="com.atproto.access", sub=DID, exp=exp),
            "refreshJwt": jwt(scope="com.atproto.refresh", sub=DID, exp=exp + 86400),
        }
        self.answers = {"com.atproto.server.createSession": (200, session), **answers}
        self.called: list[str] = []
        self._lock = threading.Lock()

    def wsgi_app(self) -> Callable[..., Any]:
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            nsid = Request(environ).path.removeprefix("/xrpc/")
            with self._lock:
                self.called.append(nsid)
            status, body = self.answers.get(
                nsid, (501, {"error": "MethodNotImplemented", "message": nsid})
            )
            return Response(json.dumps(body), status=status, content_type="application/json")(
                environ, start_response
            )

        return app


@pytest.fixture
def replay() -> Iterator[Callable[[dict[str, tuple[int, Any]]], Replay]]:
    servers: list[Replay] = []

    def start(answers: dict[str, tuple[int, Any]]) -> Replay:
        servers.append(Replay(answers).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def connect(server: Replay) -> BlueskyConnector:
    return BlueskyConnector(service=server.url, handle=HANDLE, password="app-password-1234")


def test_a_recorded_post_view_reads_as_a_post(
    replay: Callable[[dict[str, tuple[int, Any]]], Replay],
) -> None:
    view = recorded("thread_view_post_with_embed_media.json")["thread"]["post"]
    server = replay({"app.bsky.feed.getPosts": (200, {"posts": [view]})})

    page = connect(server).posts_lookup([view["uri"]])

    assert page.problems == []
    (post,) = page.posts
    assert (post.remote_id, post.author_id, post.author_username) == (view["uri"], DID, HANDLE)
    assert post.text == ""  # an image post quoting another: no text, still a post
    assert post.created_at == datetime(2023, 9, 28, 12, 49, 36, 735000, tzinfo=UTC)
    assert post.conversation_id == view["uri"] and post.in_reply_to_id is None
    assert post.raw["cid"] == view["cid"]


def test_a_lost_create_is_settled_by_a_recorded_get_record(
    replay: Callable[[dict[str, tuple[int, Any]]], Replay],
) -> None:
    found = recorded("post_record.json")
    server = replay(
        {
            "com.atproto.repo.createRecord": (
                500,
                {"error": "InternalServerError", "message": "Internal Server Error"},
            ),
            "com.atproto.repo.getRecord": (200, found),
        }
    )

    post = connect(server).post_create("new text114", rkey="3k2yihcrp6f2c")

    assert (post.remote_id, post.raw["cid"]) == (found["uri"], found["cid"])
    assert post.created_at == datetime(2024, 2, 22, 19, 58, 13, 903293, tzinfo=UTC)
    assert server.called == [
        "com.atproto.server.createSession",
        "com.atproto.repo.createRecord",
        "com.atproto.repo.getRecord",
    ]


def test_a_third_party_record_with_extra_fields_and_no_time_zone_still_reads(
    replay: Callable[[dict[str, tuple[int, Any]]], Replay],
) -> None:
    found = recorded("extended_post_record.json")
    server = replay(
        {
            "com.atproto.repo.createRecord": (502, {"error": "BadGateway", "message": "x"}),
            "com.atproto.repo.getRecord": (200, found),
        }
    )

    post = connect(server).post_create("regress test", rkey="3k2yinh52ne2x")

    assert post.remote_id == found["uri"]
    assert post.created_at == datetime(2023, 7, 21, 1, 33, 51, 481951, tzinfo=UTC)  # read as UTC
