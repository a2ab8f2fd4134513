"""Play on an open network in a real browser (issue 17, item 6): a desk on Mastodon and Bluesky
lands on its Mastodon view; Play there takes the oldest Mastodon ticket (an older Bluesky one
waits in its own view), the composer says the reply to a direct mention stays direct and
counts against the instance's limit, and the reply goes out once, direct, threaded to the
mention, through the real connector and the Mastodon sandbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import sign_in
from tests.open_networks import BlueskyNet, MastodonNet, poll

pytestmark = pytest.mark.browser


def test_advocate_plays_a_mastodon_ticket_from_the_mastodon_view(
    page: Page,
    transactional_db: None,
    live_server: Any,
    open_desk: tuple[MastodonNet, BlueskyNet],
    advocate: User,
    screenshot_dir: Path,
) -> None:
    mastodon, bluesky = open_desk
    bluesky.mention("@main is the export down for everyone?")
    leaked = mastodon.mention("@main my API key leaked, what now?", visibility="direct")
    mastodon.mention("@main how do I export my data?", who="kofi")
    poll()

    sign_in(page, live_server.url, "ana", landing="Mastodon")
    nav = page.get_by_role("navigation", name="Ticket views")
    expect(nav.locator(".view-link > span:first-child")).to_have_text(
        ["Mastodon", "Bluesky", "All networks", "My tickets", "Pending", "Solved", "All tickets"]
    )
    rows = page.locator("tr.ticket-row")
    expect(rows.locator(".requester")).to_have_text(["@ana", "@kofi"])
    expect(rows.locator(".tag-net")).to_have_text(["Mastodon", "Mastodon"])
    page.screenshot(path=str(screenshot_dir / "mastodon-queue.png"), full_page=True)

    page.get_by_role("button", name=re.compile(r"^Play")).click()
    ana = Ticket.objects.get(network="mastodon", requester_username="ana")
    expect(page).to_have_url(re.compile(rf"/tickets/{ana.pk}/$"))
    expect(page.locator("#ticket-head [data-network]")).to_have_text("Mastodon")
    expect(page.locator("#ticket-head [data-assignee]")).to_have_text("ana")
    composer = page.locator("#composer")
    expect(composer.locator("[data-reply-audience]")).to_contain_text(
        "This reply stays direct (visible only to @ana"
    )
    expect(page.locator("#reply-count")).to_have_text("0 / 500")

    page.keyboard.press("r")
    reply_box = page.locator("#reply-text")
    expect(reply_box).to_be_focused()
    reply_box.press_sequentially("Revoke it under Settings > Tokens, then make a new one.")
    reply_box.press("Control+Enter")
    expect(page.get_by_text("Reply queued from @driftwood.")).to_be_visible()
    expect(page.locator(".post-out .badge-sent")).to_have_text("Sent")
    # The sandbox's post links are http://, which the timeline does not link: its text then.
    expect(page.get_by_text(re.compile(r"^Sent from @driftwood: "))).to_be_visible()

    (posted,) = mastodon.ours()
    assert posted["parent"] == leaked, "threaded to the mention"
    assert posted["visibility"] == "direct", "never answered in public"
    assert posted["text"].startswith("@ana Revoke it")

    # Next plays the Mastodon view again: kofi's ticket, not the older Bluesky one.
    page.locator("#reply-text").press("Escape")
    page.keyboard.press("n")
    kofi = Ticket.objects.get(network="mastodon", requester_username="kofi")
    expect(page).to_have_url(re.compile(rf"/tickets/{kofi.pk}/$"))
    expect(page.locator("[data-reply-audience]")).to_have_count(0)
    assert Ticket.objects.get(network="bluesky").assignee is None
    assert len(mastodon.ours()) == 1
