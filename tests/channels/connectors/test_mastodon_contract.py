"""Contract tests: the recorded Mastodon responses (shared/fixtures/mastodon/) replayed through
Mastodon.py and our parser, and the sandbox checked against the same recordings. Expected
values are read from the cassette files, never copied into the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mentiondesk.channels.connectors.base import (
    CallReport,
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RemotePost,
)
from mentiondesk.channels.connectors.mastodon import (
    MastodonConnector,
    content_text,
    parse_notifications,
    text_limits_clear,
)
from mentiondesk.channels.connectors.ratelimits import rate_limit_status
from mentiondesk.sandbox.mastodon import MastodonSandbox
from tests.channels.connectors.replay import ReplayServer, cassette, recorded_body

TOKEN = "__MASTODON_PY_TEST_ACCESS_TOKEN_2"


@pytest.fixture(autouse=True)
def _fresh_text_limits() -> Iterator[None]:
    text_limits_clear()
    yield
    text_limits_clear()


@contextmanager
def _replay(*names: str) -> Iterator[tuple[ReplayServer, MastodonConnector]]:
    server = ReplayServer(*names).start()
    connector = MastodonConnector(base_url=server.url, token=TOKEN)
    try:
        yield server, connector
    finally:
        connector.close()
        server.stop()


def _interaction(name: str, method: str, path_end: str) -> dict[str, Any]:
    return next(
        i
        for i in cassette(name)
        if i["request"]["method"] == method
        and i["request"]["uri"].split("?")[0].rstrip("/").endswith(path_end)
    )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_mentions_replayed_through_mastodon_py_parse_as_recorded() -> None:
    name = "test_notifications_mentions_only.yaml"
    recorded = recorded_body(_interaction(name, "GET", "/api/v1/notifications"))
    status = recorded[0]["status"]
    with _replay(name) as (server, connector):
        page = connector.mentions(status["mentions"][0]["id"])
        # types[]=mention went out as Mastodon.py writes it, and the requests list was read
        [(_, _, query), *_] = server.requests
        assert "types%5B%5D=mention" in query.split("&")
        assert ("GET", "/api/v1/notifications/requests") in [r[:2] for r in server.requests]
    [post] = page.posts
    assert post.remote_id == status["id"]
    assert post.author_id == status["account"]["id"]
    assert post.author_username == status["account"]["acct"]
    assert post.created_at == _time(status["created_at"])
    assert post.in_reply_to_id == status["in_reply_to_id"]
    assert post.conversation_id == status["id"], "a status replying to nothing is its own root"
    assert post.mentions == tuple(m["acct"] for m in status["mentions"])
    assert post.text == f"@{status['mentions'][0]['username']} hello!"
    assert post.raw == status and post.raw["visibility"] == status["visibility"]
    assert page.newest_id == recorded[0]["id"], "the checkpoint is the notification id"
    # The Link header's rel="next" carries max_id: the next page's token.
    assert page.next_token == recorded[-1]["id"]


def test_production_notifications_with_null_statuses_are_problems_kept_whole() -> None:
    name = "test_entity_notification.yaml"
    recorded = recorded_body(cassette(name)[0])
    with_status = [n for n in recorded if n["status"] is not None]
    with _replay(name) as (_server, connector):
        # No types[] filter recorded here: the replay answers the path regardless of query.
        page = connector.mentions("1")
    assert [p.remote_id for p in page.posts] == [n["status"]["id"] for n in with_status]
    assert len(page.problems) == len(recorded) - len(with_status)
    assert all(problem.raw in recorded for problem in page.problems), "kept whole"
    [post] = page.posts
    source = with_status[0]["status"]
    assert post.raw["visibility"] == "direct" == source["visibility"]
    assert post.author_username == source["account"]["acct"]
    assert "@" in post.author_username, "a remote author keeps its instance"
    assert post.mentions == tuple(m["acct"] for m in source["mentions"])
    assert page.newest_id == max((n["id"] for n in recorded), key=int)


def test_threaded_reply_replayed_keeps_parent_and_parent_author() -> None:
    name = "test_status_reply.yaml"
    posts = [i for i in cassette(name) if i["request"]["method"] == "POST"]
    parent, reply = recorded_body(posts[0]), recorded_body(posts[1])
    with _replay(name) as (_server, connector):
        # The recording's order: the parent (another account), verify_credentials, the reply.
        connector.post_create(parent["content"])
        connector.me()
        posted = connector.post_create(
            "@mastodonpy_test_2 same!",
            in_reply_to_id=parent["id"],
            visibility="public",
            idempotency_key="reply-1",
        )
    assert isinstance(posted, RemotePost)
    assert posted.remote_id == reply["id"]
    assert posted.in_reply_to_id == parent["id"] == reply["in_reply_to_id"]
    assert posted.in_reply_to_user_id == reply["in_reply_to_account_id"]
    assert posted.conversation_id == parent["id"], "the closest ancestor known"
    assert posted.mentions == tuple(m["acct"] for m in reply["mentions"])


def test_favourite_delete_and_instance_limit_replayed() -> None:
    fav = "test_status_fav_unfav.yaml"
    favourited = recorded_body(_interaction(fav, "POST", "/favourite"))
    deleted = recorded_body(_interaction(fav, "DELETE", favourited["id"]))
    instance = recorded_body(_interaction("test_stream_healthy.yaml", "GET", "/api/v2/instance"))
    with _replay(fav, "test_stream_healthy.yaml") as (_server, connector):
        assert connector.like("1", favourited["id"]) is favourited["favourited"] is True
        assert connector.post_delete(deleted["id"]) is True
        assert connector.text_limit() == instance["configuration"]["statuses"]["max_characters"]


def test_recorded_validation_error_is_rejected_not_unknown() -> None:
    empty = _interaction("test_status_empty.yaml", "POST", "/api/v1/statuses")
    with (
        _replay("test_status_empty.yaml") as (_server, connector),
        pytest.raises(Rejected) as created,
    ):
        connector.post_create("", visibility="public")
    assert not isinstance(created.value, OutcomeUnknown)
    assert created.value.status == empty["response"]["status"]["code"] == 422
    assert created.value.body == recorded_body(empty)
    assert recorded_body(empty)["error"] in created.value.detail  # the server's locale, as is


def test_every_replayed_request_is_reported_with_its_route_template() -> None:
    name = "test_status_fav_unfav.yaml"
    favourited = recorded_body(_interaction(name, "POST", "/favourite"))
    reports: list[CallReport] = []
    with _replay(name) as (_server, connector), connector.recording(reports.append):
        connector.like("1", favourited["id"])
        connector.post_delete(favourited["id"])
    assert [(r.endpoint, r.status) for r in reports] == [
        ("POST /api/v1/statuses/:id/favourite", 200),
        ("DELETE /api/v1/statuses/:id", 200),
    ]
    assert reports[0].body == favourited


def test_recorded_rate_limit_headers_fill_the_book_per_bucket() -> None:
    name = "test_status_fav_unfav.yaml"
    favourite = _interaction(name, "POST", "/favourite")
    delete = next(i for i in cassette(name) if i["request"]["method"] == "DELETE")
    with _replay(name) as (server, connector):
        connector.like("1", recorded_body(favourite)["id"])
        connector.post_delete(recorded_body(delete)["id"])
        general = rate_limit_status(base_url=server.url, token=TOKEN, endpoint="* /api/*")
        deletes = rate_limit_status(
            base_url=server.url, token=TOKEN, endpoint="DELETE /api/v1/statuses/:id"
        )
    assert general is not None and deletes is not None
    headers, delete_headers = favourite["response"]["headers"], delete["response"]["headers"]
    assert general.remaining == int(headers["x-ratelimit-remaining"][0])
    # Moved onto our clock by the skew read from the replay's Date header, to the second: a
    # slow exchange on a loaded machine may measure one second of it.
    assert abs(general.reset_at - _time(headers["x-ratelimit-reset"][0])) <= timedelta(seconds=1)
    assert deletes.limit == int(delete_headers["x-ratelimit-limit"][0]) == 30


def test_content_text_keeps_link_hrefs_and_mentions_as_text() -> None:
    text, urls = content_text(
        '<p><span class="h-card"><a href="https://s.example/@ana" class="u-url mention">'
        '@<span>ana</span></a></span> see <a href="https://docs.example/a/very/long/path/x?y=1"'
        ' rel="nofollow noopener" target="_blank"><span class="invisible">https://</span>'
        '<span class="ellipsis">docs.example/a/very/long/pa</span><span class="invisible">'
        'th/x?y=1</span></a> &amp; <a href="https://s.example/tags/help" class="mention hashtag"'
        ">#<span>help</span></a></p><p>line<br />two</p>"
    )
    assert text == "@ana see https://docs.example/a/very/long/path/x?y=1 & #help\n\nline\ntwo"
    assert urls == (
        {
            "url": "https://docs.example/a/very/long/path/x?y=1",
            "expanded_url": "https://docs.example/a/very/long/path/x?y=1",
            "display_url": "docs.example/a/very/long/pa…",
        },
    )


def test_malformed_items_are_problems_and_a_non_list_is_an_error() -> None:
    recorded = recorded_body(
        _interaction("test_notifications_mentions_only.yaml", "GET", "/api/v1/notifications")
    )
    broken = {**recorded[0], "status": {**recorded[0]["status"], "created_at": "yesterday"}}
    posts, problems, newest = parse_notifications([broken, "junk"])
    assert posts == [] and len(problems) == 2
    assert broken in [p.raw for p in problems] and "junk" in [p.raw for p in problems]
    assert newest == recorded[0]["id"]
    with pytest.raises(ConnectorError):
        parse_notifications({"error": "nope"})


# --- The sandbox agrees with the recordings -----------------------------------------------------


def _shape(value: Any) -> Any:
    """Keys and JSON types, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _same_shape(ours: Any, recorded: Any, where: str = "") -> None:
    if isinstance(recorded, dict):
        assert isinstance(ours, dict), where
        assert set(ours) == set(recorded), f"{where}: {set(ours) ^ set(recorded)}"
        for key in recorded:
            # A recorded null says nothing of the type (the sandbox may fill it, or not).
            if recorded[key] is not None and ours[key] is not None:
                _same_shape(ours[key], recorded[key], f"{where}.{key}")
    elif isinstance(recorded, list):
        assert isinstance(ours, list), where
        if recorded and ours:
            _same_shape(ours[0], recorded[0], f"{where}[0]")
    else:
        assert type(ours) is type(recorded), f"{where}: {ours!r} vs {recorded!r}"


@pytest.fixture
def instance() -> Iterator[MastodonSandbox]:
    server = MastodonSandbox().start()
    try:
        yield server
    finally:
        server.stop()


def test_sandbox_notifications_and_statuses_have_the_recorded_shapes(
    instance: MastodonSandbox,
) -> None:
    import requests

    name = "test_notifications_mentions_only.yaml"
    recorded_post = recorded_body(_interaction(name, "POST", "/api/v1/statuses"))
    recorded_list = _interaction(name, "GET", "/api/v1/notifications")
    desk = instance.store.account_add("driftwood")
    ana = instance.store.account_add("ana")
    headers = {"Authorization": f"Bearer {ana.token}"}
    posted = requests.post(
        f"{instance.url}/api/v1/statuses",
        data={"status": "@driftwood hello!"},
        headers=headers,
        timeout=5,
    )
    listed = requests.get(
        f"{instance.url}/api/v1/notifications",
        params={"types[]": "mention"},
        headers={"Authorization": f"Bearer {desk.token}"},
        timeout=5,
    )
    _same_shape(posted.json(), recorded_post, "POST status")
    _same_shape(listed.json(), recorded_body(recorded_list), "notifications")
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "link"):
        assert header in listed.headers, header
    reset = recorded_list["response"]["headers"]["x-ratelimit-reset"][0]
    assert len(listed.headers["x-ratelimit-reset"]) == len(reset), "ISO with microseconds"
    assert 'rel="next"' in listed.headers["link"] and "max_id=" in listed.headers["link"]
    # An unknown status answers the recorded error shape.
    missing = requests.get(f"{instance.url}/api/v1/statuses/0", headers=headers, timeout=5)
    recorded_missing = _interaction("test_status_missing.yaml", "GET", "/statuses/0")
    assert missing.status_code == recorded_missing["response"]["status"]["code"]
    _same_shape(missing.json(), recorded_body(recorded_missing))


def test_sandbox_reply_parses_like_the_recorded_reply(instance: MastodonSandbox) -> None:
    recorded = [
        recorded_body(i)
        for i in cassette("test_status_reply.yaml")
        if i["request"]["method"] == "POST"
    ][1]
    desk = instance.store.account_add("driftwood")
    ana = instance.store.account_add("ana")
    question = instance.store.status_post(ana.id, "@driftwood help", visibility="direct")
    with MastodonConnector(base_url=instance.url, token=desk.token) as connector:
        posted = connector.post_create(
            "@ana on it", in_reply_to_id=question["id"], visibility="direct"
        )
    _same_shape(posted.raw, recorded, "reply")
    assert posted.in_reply_to_user_id == ana.id
    assert posted.raw["visibility"] == "direct"


def test_rate_limited_answer_names_its_reset(instance: MastodonSandbox) -> None:
    desk = instance.store.account_add("driftwood")
    instance.store.fault_add("status", status=429, reset_in=120)
    with (
        MastodonConnector(base_url=instance.url, token=desk.token) as connector,
        pytest.raises(RateLimited) as limited,
    ):
        connector.me()
    assert (limited.value.reset_at - datetime.now(UTC)).total_seconds() > 100
