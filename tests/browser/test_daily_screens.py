"""The daily screens in a real browser: My tickets from the sidebar, search from the sidebar's
box (a refused query explained on the page), the requester card on a ticket, and the desk's
own 404 page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import search
from mentiondesk.tickets import services as ticket_services
from tests.browser.journeys import sign_in
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.browser


def test_my_tickets_search_and_the_404_page(
    page: Page, live_server: Any, live_desk: SandboxServer, advocate: User, lead: User
) -> None:
    handle = Handle.objects.get(username="Driftwood")
    maya, omar = tickets_from(
        handle,
        remote_post(author="maya", text="@Driftwood my runner token expired"),
        remote_post(author="omar", text="@Driftwood billed twice this month", minutes=1),
    )
    ticket_services.ticket_assign(ticket=maya, assignee=advocate, by=lead)
    search.ticket_documents_refresh()
    sign_in(page, live_server.url, advocate.username)

    page.get_by_role("link", name=re.compile(r"My tickets\s*1")).click()
    expect(page.get_by_role("heading", name="My tickets")).to_be_visible()
    rows = page.locator("#ticket-rows tr.ticket-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("@maya")

    box = page.get_by_role("searchbox", name="Search tickets").first
    box.fill("billed")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Search")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/search\?q=billed$"))
    expect(page.locator("tr.ticket-row")).to_have_count(1)
    page.locator("tr.ticket-row a.row-link").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{omar.pk}/$"))
    expect(page.locator("#requester-card")).to_contain_text("@omar · 1 ticket")
    expect(page.locator("#requester-card")).to_contain_text("Never answered yet")

    page.goto(f"{live_server.url}/search?q=colour%3Ared")
    expect(page.get_by_role("alert")).to_contain_text("unknown search filter 'colour'")
    expect(page.locator("tr.ticket-row")).to_have_count(0)

    response = page.goto(f"{live_server.url}/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="This page does not exist")).to_be_visible()
    page.get_by_role("link", name="Back to the queue").click()
    expect(page.get_by_role("heading", name="Twitter")).to_be_visible()
