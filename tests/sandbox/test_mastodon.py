"""The sandbox Mastodon instance on its own: idempotency window, notification requests,
paging, buckets and faults, as a client sees them over HTTP; and the status pages "View on
Mastodon" leads to in the demo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import time_machine

from mentiondesk.sandbox.mastodon import MastodonSandbox, MastodonStore


@pytest.fixture
def instance() -> Iterator[MastodonSandbox]:
    server = MastodonSandbox().start()
    try:
        yield server
    finally:
        server.stop()


def _get(instance: MastodonSandbox, token: str, path: str, **params: Any) -> requests.Response:
    return requests.get(
        f"{instance.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_an_idempotency_key_holds_for_an_hour_per_account() -> None:
    store = MastodonStore()
    desk, other = store.account_add("driftwood"), store.account_add("ana")
    with time_machine.travel(datetime(2026, 12, 7, 12, 0, tzinfo=UTC), tick=False) as clock:
        first = store.status_post(desk.id, "hello", idempotency_key="k")
        assert store.status_post(desk.id, "hello again", idempotency_key="k") is first
        assert store.status_post(other.id, "hello", idempotency_key="k") is not first
        clock.shift(3601)
        later = store.status_post(desk.id, "hello", idempotency_key="k")
    assert later["id"] != first["id"]
    assert [s["text"] for s in store.statuses_by(desk.id)] == ["hello", "hello"]


def test_notification_requests_group_filtered_mentions_by_account(
    instance: MastodonSandbox,
) -> None:
    store = instance.store
    desk = store.account_add("driftwood", for_not_following="filter")
    ana, bo = store.account_add("ana"), store.account_add("bo")
    store.status_post(ana.id, "@driftwood one")
    store.status_post(bo.id, "@driftwood two")
    store.status_post(ana.id, "@driftwood three")
    listed = _get(instance, desk.token, "/api/v1/notifications").json()
    assert listed == [], "filtered: not in the main list"
    held = _get(instance, desk.token, "/api/v1/notifications/requests").json()
    assert [(r["account"]["username"], r["notifications_count"]) for r in held] == [
        ("ana", "2"),
        ("bo", "1"),
    ]
    assert held[0]["last_status"]["content"].endswith("three</p>")
    from_ana = _get(instance, desk.token, "/api/v1/notifications", account_id=ana.id).json()
    assert [n["status"]["account"]["id"] for n in from_ana] == [ana.id, ana.id]
    everything = _get(instance, desk.token, "/api/v1/notifications", include_filtered="true")
    assert len(everything.json()) == 3


def test_link_paging_walks_every_mention_once(instance: MastodonSandbox) -> None:
    store = instance.store
    desk, ana = store.account_add("driftwood"), store.account_add("ana")
    for n in range(5):
        store.status_post(ana.id, f"@driftwood {n}")
    seen: list[str] = []
    response = _get(instance, desk.token, "/api/v1/notifications", limit=2)
    while response.json():
        seen += [n["status"]["content"] for n in response.json()]
        response = requests.get(
            response.links["next"]["url"],
            headers={"Authorization": f"Bearer {desk.token}"},
            timeout=5,
        )
    assert seen == [f"<p>{_mention(instance, 'driftwood')} {n}</p>" for n in (4, 3, 2, 1, 0)]


def _mention(instance: MastodonSandbox, username: str) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{instance.url}/@{username}"'
        f' class="u-url mention">@<span>{username}</span></a></span>'
    )


def test_deletions_count_in_their_own_bucket_and_faults_fire_once(
    instance: MastodonSandbox,
) -> None:
    store = instance.store
    desk = store.account_add("driftwood")
    status = store.status_post(desk.id, "oops")
    deleted = requests.delete(
        f"{instance.url}/api/v1/statuses/{status['id']}",
        headers={"Authorization": f"Bearer {desk.token}"},
        timeout=5,
    )
    assert deleted.json()["text"] == "oops"
    assert deleted.headers["x-ratelimit-limit"] == "30"
    assert _get(instance, desk.token, "/api/v2/instance").headers["x-ratelimit-limit"] == "300"
    store.fault_add("drop", path="/api/v1/accounts")
    with pytest.raises(requests.ConnectionError):
        _get(instance, desk.token, "/api/v1/accounts/verify_credentials")
    assert _get(instance, desk.token, "/api/v1/accounts/verify_credentials").ok


HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


def test_a_mastodon_status_page_shows_the_reply_escaped_with_what_it_answers(
    instance: MastodonSandbox,
) -> None:
    store = instance.store
    desk, ana = store.account_add("driftwood"), store.account_add("ana", display_name="Ana")
    question = store.status_post(ana.id, "@driftwood is it down?", visibility="private")
    answer = store.status_post(
        desk.id, f"@ana {HOSTILE}", in_reply_to_id=question["id"], visibility="private"
    )
    rendered = store.render_status(answer, viewer_id=desk.id)

    page = requests.get(rendered["url"], timeout=5)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text and "<b>bold</b>" not in page.text
    # As Mastodon's `content` has it: HTML of the text, quotes left as they are.
    assert '</span> &lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;bold' in page.text
    assert f'Replying to <a href="/@ana/{question["id"]}">@ana</a>' in page.text
    assert "<span data-visibility>private</span>" in page.text

    profile = requests.get(rendered["account"]["url"], timeout=5)
    assert profile.status_code == 200
    assert "<h1>driftwood (@driftwood)</h1>" in profile.text
    assert f"/@driftwood/{answer['id']}" not in profile.text, "followers-only: not listed"
    not_anas = requests.get(f"{instance.url}/@ana/{answer['id']}", timeout=5)
    assert not_anas.status_code == 404
    assert requests.get(f"{instance.url}/@nobody", timeout=5).status_code == 404
