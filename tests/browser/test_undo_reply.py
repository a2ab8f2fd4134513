"""An accidental reply deleted from the ticket page, in a real browser: the response is undone
and the ticket is back in the queue at its place, as the timeline says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import ingest, sign_in

pytestmark = pytest.mark.browser


def test_deleting_the_only_reply_puts_the_ticket_back_in_the_queue(
    page: Page, live_server: Any, live_desk: SandboxServer, advocate: User, screenshot_dir: Path
) -> None:
    live_desk.store.mention_add("omar", "@Driftwood where are my build logs?")
    ingest()
    ticket = Ticket.objects.get()

    sign_in(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.locator("#reply-text").fill("Wrong window, sorry")
    page.locator("#reply-text").press("Control+Enter")
    expect(page.get_by_text("Reply queued from @Driftwood.")).to_be_visible()
    expect(page.locator(".post-out .badge-sent")).to_have_count(1)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING and ticket.first_response_at is not None

    (ours,) = live_desk.store.posts(author="Driftwood")
    delete = page.locator(f"#delete-{ours['id']}")
    delete.locator("summary").click()
    delete.get_by_placeholder("Reason (optional)").fill("sent by mistake")
    delete.get_by_role("button", name="Delete from X").click()

    events = page.locator("#ticket-events")
    expect(events.locator(".event-response_undone")).to_contain_text(
        re.compile(r"was deleted: the ticket is new again and back in the queue")
    )
    page.screenshot(path=str(screenshot_dir / "reply-deleted-undone.png"), full_page=True)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.first_response_at) == (Ticket.Status.NEW, None)
    assert live_desk.store.posts(author="Driftwood") == []
