"""A reply whose send X left unknown, in a real browser: the lead has X checked again, and only
once the check shows the post missing sends it again; it goes out once, both clicks audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.browser.journeys import ingest, sign_in, sign_out

pytestmark = pytest.mark.browser


def test_a_lead_checks_x_again_then_sends_the_reply_once(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    advocate: User,
    lead: User,
    screenshot_dir: Path,
) -> None:
    live_desk.store.mention_add("omar", "@Driftwood where are my build logs?")
    ingest()
    ticket = Ticket.objects.get()
    ours = Handle.objects.get(username="Driftwood").remote_id
    # X answers the post with a 503 (it may or may not have made it), and the search of our
    # posts that follows fails too: the outcome stays unknown.
    live_desk.store.fault_add("POST", "/2/tweets", kind="status", status=503)
    live_desk.store.fault_add("GET", f"/2/users/{ours}/tweets", kind="status", status=500)

    sign_in(page, live_server.url, advocate.username)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.locator("#reply-text").fill("Logs are under Jobs, Omar")
    page.locator("#reply-text").press("Control+Enter")
    parked = page.locator(".reply-needs_attention")
    expect(parked).to_contain_text("the check on X failed")
    expect(parked.get_by_role("button")).to_have_count(0)  # an advocate's page has no action

    sign_out(page)
    sign_in(page, live_server.url, lead.username)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(parked.get_by_role("button", name="Send again")).to_have_count(0)
    parked.get_by_role("button", name="Check X again").click()
    expect(page.get_by_text("Checking @Driftwood's posts on X for the reply.")).to_be_visible()
    expect(parked).to_contain_text("not among @Driftwood's")
    assert live_desk.store.posts(author="Driftwood") == []
    parked.screenshot(path=str(screenshot_dir / "reply-proven-missing.png"))

    parked.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("Reply queued again from @Driftwood.")).to_be_visible()
    expect(page.locator(".post-out .badge-sent")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "reply-sent-again.png"), full_page=True)
    assert [p["text"] for p in live_desk.store.posts(author="Driftwood")] == [
        "Logs are under Jobs, Omar"
    ]
    kinds = TicketEvent.objects.filter(actor=lead).values_list("kind", flat=True)
    assert list(kinds) == [TicketEvent.Kind.REPLY_RECHECKED, TicketEvent.Kind.REPLY_RETRIED]
