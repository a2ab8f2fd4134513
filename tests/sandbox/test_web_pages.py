"""The web pages of the open networks' sandboxes, where "View on Mastodon" and "View on
Bluesky" lead in the demo: a post's page shows its author, what it answers and its text,
escaped; an unknown post or account is a 404 page."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mentiondesk.sandbox.bluesky import BlueskySandbox
from mentiondesk.sandbox.mastodon import MastodonSandbox

HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


@pytest.fixture
def mastodon() -> Iterator[MastodonSandbox]:
    server = MastodonSandbox().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bluesky() -> Iterator[BlueskySandbox]:
    server = BlueskySandbox().start()
    try:
        yield server
    finally:
        server.stop()


def test_a_mastodon_status_page_shows_the_reply_escaped_with_what_it_answers(
    mastodon: MastodonSandbox,
) -> None:
    store = mastodon.store
    desk, ana = store.account_add("driftwood"), store.account_add("ana", display_name="Ana")
    question = store.status_post(ana.id, "@driftwood is it down?", visibility="private")
    answer = store.status_post(
        desk.id, f"@ana {HOSTILE}", in_reply_to_id=question["id"], visibility="private"
    )
    rendered = store.render_status(answer, viewer_id=desk.id)

    page = httpx.get(rendered["url"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text and "<b>bold</b>" not in page.text
    # As Mastodon's `content` has it: HTML of the text, quotes left as they are.
    assert '</span> &lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;bold' in page.text
    assert f'Replying to <a href="/@ana/{question["id"]}">@ana</a>' in page.text
    assert "<span data-visibility>private</span>" in page.text

    profile = httpx.get(rendered["account"]["url"])
    assert profile.status_code == 200
    assert "<h1>driftwood (@driftwood)</h1>" in profile.text
    assert f"/@driftwood/{answer['id']}" not in profile.text, "followers-only: not listed"
    assert httpx.get(f"{mastodon.url}/@ana/{answer['id']}").status_code == 404, "not ana's"
    assert httpx.get(f"{mastodon.url}/@nobody").status_code == 404


def test_a_bluesky_post_page_shows_the_reply_escaped_with_what_it_answers(
    bluesky: BlueskySandbox,
) -> None:
    store = bluesky.store
    store.account_add("driftwood.test", display_name="Driftwood")
    store.account_add("ana.test", display_name="Ana")
    question = store.post_add("ana.test", "@driftwood.test is it down?")
    answer = store.post_add("driftwood.test", HOSTILE, reply_to=question)
    rkey = answer.rsplit("/", 1)[1]

    for actor in ("driftwood.test", store.did_of("driftwood.test")):  # bsky.app takes either
        page = httpx.get(f"{bluesky.url}/profile/{actor}/post/{rkey}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<script>" not in page.text and "<b>bold</b>" not in page.text
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; " in page.text
        replied = question.rsplit("/", 1)[1]
        assert f'Replying to <a href="/profile/ana.test/post/{replied}">@ana.test</a>' in (
            page.text
        )

    profile = httpx.get(f"{bluesky.url}/profile/driftwood.test")
    assert profile.status_code == 200
    assert f'href="/profile/driftwood.test/post/{rkey}"' in profile.text
    assert httpx.get(f"{bluesky.url}/profile/ana.test/post/{rkey}").status_code == 404
    assert httpx.get(f"{bluesky.url}/profile/nobody.test").status_code == 404
    assert httpx.get(f"{bluesky.url}/elsewhere").status_code == 404
