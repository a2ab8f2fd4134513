"""A post answered from another client, in a real browser: the composer refuses the second
answer, says who answered and where, and sends it with one confirmation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.browser.journeys import ingest, sign_in

pytestmark = pytest.mark.browser


def test_agent_sees_the_answer_from_another_client_and_sends_another_reply(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    advocate: User,
    screenshot_dir: Path,
) -> None:
    asked = live_desk.store.mention_add("maya", "@Driftwood how do I rotate a runner token?")
    ingest()
    ticket = Ticket.objects.get()

    sign_in(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator("#ticket-head h1")).to_contain_text("@maya")

    # While Ana types, a teammate answers in the X app; the poll pulls it in.
    driftwood = live_desk.store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    outside = live_desk.store.post_create(
        driftwood, "@maya Settings > CI/CD > Runners, then Reset token", in_reply_to=asked
    )
    ingest()
    link = f"https://x.com/Driftwood/status/{outside['id']}"

    text = "Docs for it: https://docs.driftwood.dev/runners#rotate"
    page.locator("#reply-text").fill(text)
    page.locator("#reply-text").press("Control+Enter")

    collision = page.locator("#collision")
    expect(collision).to_contain_text(f"@Driftwood answered from another client: {link}")
    expect(page.locator("#reply-text")).to_have_value(text)
    assert len(live_desk.store.posts(author="Driftwood")) == 1, "nothing sent yet"
    page.screenshot(path=str(screenshot_dir / "another-reply-refused.png"), full_page=True)

    # One explicit confirmation sends the same text as a second reply to the same post.
    collision.get_by_role("button", name="Send another reply").click()
    expect(page.get_by_text("Reply queued from @Driftwood.")).to_be_visible()
    expect(page.locator("#collision")).to_have_count(0)
    events = page.locator("#ticket-events")
    expect(events.locator(".event-another_reply")).to_contain_text("Another reply confirmed")
    expect(events.get_by_role("link", name="The earlier answer on X ↗")).to_have_attribute(
        "href", link
    )
    expect(page.locator(".post-out .badge-sent")).to_have_count(1)

    ours = live_desk.store.posts(author="Driftwood")
    assert len(ours) == 2
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.ANOTHER_REPLY)
    assert event.actor == advocate
    page.screenshot(path=str(screenshot_dir / "another-reply-sent.png"), full_page=True)
