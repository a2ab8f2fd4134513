"""Leads' bulk actions in a real browser, by keyboard: tick rows on the queue (select all,
then untick one), solve them, read the summary with the ticket skipped and why; label from
the search results. Agents see no checkboxes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.browser.journeys import sign_in
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.browser


def test_a_lead_solves_and_labels_in_bulk_and_an_agent_cannot(
    page: Page, live_server: Any, live_desk: SandboxServer, advocate: User, lead: User
) -> None:
    handle = Handle.objects.get(username="Driftwood")
    tickets = tickets_from(
        handle,
        *(remote_post(author=f"user{i}", text=f"@Driftwood help {i}", minutes=i) for i in range(4)),
    )
    Reply.objects.create(
        ticket=tickets[1], handle=handle, author=advocate, text="On it", status=Reply.Status.SENDING
    )

    sign_in(page, live_server.url, advocate.username)
    expect(page.locator("tr.ticket-row")).to_have_count(4)
    expect(page.locator("input[data-bulk-pick]")).to_have_count(0)
    expect(page.locator("#bulk-form")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server.url, lead.username)
    select_all = page.get_by_label("Select all tickets shown")
    select_all.focus()
    page.keyboard.press("Space")
    expect(page.locator("[data-bulk-count]")).to_have_text("4 selected")
    last = page.get_by_label(f"Select ticket #{tickets[3].pk}")
    last.focus()
    page.keyboard.press("Space")
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    # `x` on a row's link ticks that row, as in Gmail and Front; again unticks it.
    row_link = page.locator(f'tr[data-ticket-id="{tickets[3].pk}"] a.row-link')
    row_link.focus()
    page.keyboard.press("x")
    expect(last).to_be_checked()
    expect(page.locator("[data-bulk-count]")).to_have_text("4 selected")
    page.keyboard.press("x")
    expect(last).not_to_be_checked()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    # The queue's poll (every 5 s) waits while rows are ticked: the selection survives it.
    page.wait_for_timeout(5_500)
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    expect(page.locator("input[data-bulk-pick]:checked")).to_have_count(3)

    page.get_by_label("Action", exact=True).select_option("solve")
    page.get_by_role("button", name="Apply to selected").focus()
    page.keyboard.press("Enter")
    expect(
        page.get_by_text(f"2 solved, 1 skipped: #{tickets[1].pk} has a reply sending.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Twitter")).to_be_visible()
    solved = set(Ticket.objects.filter(status=Ticket.Status.SOLVED).values_list("pk", flat=True))
    assert solved == {tickets[0].pk, tickets[2].pk}
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.STATUS_CHANGED, actor=lead).count() == 2

    # From the search results: label every new ticket as praise.
    box = page.get_by_role("searchbox", name="Search tickets").first
    box.fill("status:new")
    box.press("Enter")
    # The queue also shows two rows: wait for the search page itself before acting.
    expect(page.get_by_role("heading", name="Search")).to_be_visible()
    expect(page.locator("tr.ticket-row")).to_have_count(2)
    bulk = page.locator("#bulk-form")
    page.get_by_label("Select all tickets shown").check()
    bulk.get_by_label("Action", exact=True).select_option("intent")
    bulk.get_by_label("Intent", exact=True).select_option("praise")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("2 labelled.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/search\?q=status%3Anew$"))
    assert set(Ticket.objects.filter(status="new").values_list("intent", flat=True)) == {"praise"}
