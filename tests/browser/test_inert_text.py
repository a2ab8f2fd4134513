"""Tweets are hostile input: markup and scripts in them render as text, bidi and zero-width
characters stay visible as text and cannot reorder the page around them."""

from __future__ import annotations

from typing import Any

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.x.server import SandboxServer
from tests.browser.test_play_loop import sign_in
from tests.factories import remote_post, tickets_from

PAYLOAD = (
    "@Driftwood <img src=x onerror=\"document.title='owned'\">"
    "<script>document.title='owned'</script> \u202egnp.exe\u202c zero\u200bwidth"
)


def test_markup_in_a_tweet_renders_inert(
    page: Any, live_server: Any, live_desk: SandboxServer, advocate: User
) -> None:
    handle = Handle.objects.get(username="Driftwood")
    (ticket,) = tickets_from(handle, remote_post(author="mallory", text=PAYLOAD))
    sign_in(page, live_server.url, advocate.username)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    body = page.locator("body")
    assert "<script>document.title='owned'</script>" in body.inner_text()
    assert page.title() != "owned"
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("script:not([src])").count() == 0
    # Nothing is lost, and a right-to-left override cannot leak out of the tweet: each
    # paragraph of network text takes its own direction and is isolated from the page.
    text = page.locator(".post-text").first
    assert "\u202egnp.exe\u202c zero\u200bwidth" in text.inner_text()
    assert text.evaluate("e => getComputedStyle(e).unicodeBidi") == "plaintext"
    author = page.locator(".post-head strong").first
    assert author.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
