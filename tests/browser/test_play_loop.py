"""The play loop in a real browser: sign in, see the queue, play, read, reply, see it sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import ingest, sign_in

pytestmark = pytest.mark.browser

TICKET_URL = re.compile(r"/tickets/\d+/$")


def replied_to(post: dict[str, Any]) -> str:
    return next(r["id"] for r in post.get("referenced_tweets", []) if r["type"] == "replied_to")


def test_advocate_plays_reads_and_replies_once_to_the_latest_post(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    advocate: User,
    screenshot_dir: Path,
) -> None:
    now = datetime.now(UTC)
    live_desk.store.mention_add(
        "olek", "@Driftwood love the new pipeline editor!", created_at=now - timedelta(hours=3)
    )
    first = live_desk.store.mention_add(
        "maya",
        "@Driftwood pushing to main fails with a 502 since this morning",
        created_at=now - timedelta(minutes=40),
        expanded_urls=["https://gitlab.example.com/maya/app/-/jobs/123"],
    )
    live_desk.store.mention_add("sam", "@Driftwood how do I rotate a runner token?")
    ingest()

    sign_in(page, live_server.url, "ana")
    rows = page.locator("tr.ticket-row .requester")
    expect(rows).to_have_text(["@olek", "@maya", "@sam"])  # oldest first
    expect(page.locator("time.age").first).to_have_text("3h")
    page.screenshot(path=str(screenshot_dir / "queue.png"), full_page=True)

    # Play with the button: the oldest ticket becomes ours.
    page.get_by_role("button", name=re.compile(r"^Play")).click()
    expect(page).to_have_url(TICKET_URL)
    expect(page.locator("#ticket-head h1")).to_contain_text("@olek")
    expect(page.locator("#ticket-head [data-assignee]")).to_have_text("ana")

    # Strict play: `n` on a ticket still open brings it back, and says why.
    page.keyboard.press("n")
    expect(page.get_by_text("Finish or hand back this ticket first")).to_be_visible()
    expect(page.locator("#ticket-head h1")).to_contain_text("@olek")
    # Once it is solved, `n` (the keyboard's Play) takes the next one.
    page.get_by_label("Status", exact=True).select_option("solved")
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_text("is solved")).to_be_visible()
    page.keyboard.press("n")
    expect(page.locator("#ticket-head h1")).to_contain_text("@maya")
    maya = Ticket.objects.get(requester_username="maya")
    expect(page).to_have_url(re.compile(rf"/tickets/{maya.pk}/$"))
    assert maya.assignee == advocate

    # Read the conversation: the post, its link on X, the expanded short link.
    conversation = page.locator("#ticket-activity")
    expect(conversation).to_contain_text("pushing to main fails with a 502")
    expect(conversation.get_by_role("link", name="View on X ↗")).to_have_attribute(
        "href", f"https://x.com/maya/status/{first}"
    )
    expect(
        conversation.get_by_role("link", name="https://gitlab.example.com/maya/app/-/jobs/123")
    ).to_be_visible()
    expect(page.locator("#composer")).to_contain_text("Reply from @Driftwood")

    # While the advocate reads, Maya writes again in the same conversation.
    latest = live_desk.store.mention_add(
        "maya", "@Driftwood still failing, any news?", in_reply_to=first
    )
    ingest()

    # `r` focuses the reply box; the count follows the text; Ctrl+Enter sends.
    page.keyboard.press("r")
    reply_box = page.locator("#reply-text")
    expect(reply_box).to_be_focused()
    reply_box.press_sequentially("Sorry Maya! We are looking into the 502s right now.")
    expect(page.locator("#reply-count")).to_have_text("51 / 280")
    reply_box.press("Control+Enter")

    # The composer opened before Maya's follow-up: the send stops and shows it, text kept.
    expect(page.locator("#collision")).to_contain_text("still failing, any news?")
    assert live_desk.store.posts(author="Driftwood") == []
    expect(page.locator("#reply-text")).to_have_value(
        "Sorry Maya! We are looking into the 502s right now."
    )
    page.locator("#reply-text").press("Control+Enter")

    expect(page.get_by_text("Reply queued from @Driftwood.")).to_be_visible()
    sent_link = page.get_by_role("link", name="View the reply on X ↗")
    expect(sent_link).to_be_visible()
    expect(page.locator(".post-out .badge-sent")).to_have_text("Sent")
    expect(conversation).to_contain_text("still failing, any news?")

    (posted,) = live_desk.store.posts(author="Driftwood")
    assert replied_to(posted) == latest, "the reply threads to the requester's latest post"
    expect(sent_link).to_have_attribute("href", f"https://x.com/Driftwood/status/{posted['id']}")
    page.screenshot(path=str(screenshot_dir / "ticket.png"), full_page=True)

    # Escape leaves the reply box; `?` shows the shortcuts, Escape closes them; `g q` goes
    # back to the queue.
    page.locator("#reply-text").press("Escape")
    expect(page.locator("#reply-text")).not_to_be_focused()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    page.keyboard.press("g")
    page.keyboard.press("q")
    expect(page.get_by_role("heading", name="Twitter")).to_be_visible()
    # A second look finds nothing more to send: still exactly one post by us.
    assert len(live_desk.store.posts(author="Driftwood")) == 1


def test_light_agent_sees_no_composer(
    page: Page, live_server: Any, live_desk: SandboxServer, light_agent: User
) -> None:
    live_desk.store.mention_add("maya", "@Driftwood is the API down?")
    ingest()
    ticket = Ticket.objects.get()

    sign_in(page, live_server.url, "lisa")
    expect(page.get_by_role("button", name=re.compile(r"^Play"))).to_have_count(0)
    page.get_by_role("link", name="@Driftwood is the API down?").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    expect(page.locator("#composer")).to_have_count(0)
    expect(page.locator("#reply-text")).to_have_count(0)
    expect(page.get_by_text("Light agents read tickets and add internal notes")).to_be_visible()

    page.locator("#note-text").fill("Customer is on the beta programme.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#ticket-events")).to_contain_text("Customer is on the beta programme.")
