"""The sandbox Bluesky's web pages, where "View on Bluesky" leads in the demo
(BLUESKY_WEB_URL): a post's page shows its author, what it answers and its text, escaped; an
unknown post or account is a 404 page."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mentiondesk.sandbox.bluesky import BlueskySandbox

HOSTILE = '<script>alert("x")</script> & <b>bold</b>'


@pytest.fixture
def bluesky() -> Iterator[BlueskySandbox]:
    server = BlueskySandbox().start()
    try:
        yield server
    finally:
        server.stop()


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
