"""Saved searches in a real browser: a lead saves the search on the page under a name and
shares it, the sidebar lists it with its live count, it opens from there, is renamed and
deleted; an agent sees the shared one but cannot change it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import search
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import sign_in
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.browser


def test_save_share_open_rename_and_delete_a_search(
    page: Page, live_server: Any, live_desk: SandboxServer, advocate: User, lead: User
) -> None:
    handle = Handle.objects.get(username="Driftwood")
    tickets = tickets_from(
        handle,
        *(remote_post(author=f"user{i}", text=f"@Driftwood help {i}", minutes=i) for i in range(3)),
    )
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:2]]).update(status=Ticket.Status.SOLVED)
    search.ticket_documents_refresh()
    sign_in(page, live_server.url, lead.username)

    box = page.get_by_role("searchbox", name="Search tickets").first
    box.fill("status:solved sort:updated")
    box.press("Enter")
    expect(page.locator("tr.ticket-row")).to_have_count(2)
    page.get_by_label("Name this search").fill("Solved lately")
    page.get_by_label("Share with the team").check()
    page.get_by_role("button", name="Save search").click()
    expect(page.get_by_text("Saved as “Solved lately” and shared with the team")).to_be_visible()

    saved = page.get_by_role("list", name="Saved searches")
    link = saved.get_by_role("link", name=re.compile(r"Solved lately.*2"))
    expect(link).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Twitter")).click()
    # The count is live: a third ticket solved shows in the sidebar on the next page.
    Ticket.objects.filter(pk=tickets[2].pk).update(status=Ticket.Status.SOLVED)
    page.reload()
    link = saved.get_by_role("link", name=re.compile(r"Solved lately.*3"))
    link.click()
    expect(page).to_have_url(
        re.compile(r"/search\?q=status%3Asolved(\+|%20)sort%3Aupdated&saved=\d+")
    )
    expect(page.locator("tr.ticket-row")).to_have_count(3)
    expect(link).to_have_attribute("aria-current", "page")

    # Typing while a boosted page is still being swapped in lands in the old field (seen under
    # load as "SolvedSolved lately"): wait until the page has stopped loading.
    page.wait_for_load_state("networkidle")
    rename = page.get_by_label("Rename", exact=True)
    rename.fill("Solved")
    expect(rename).to_have_value("Solved")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_text("Renamed to “Solved”.")).to_be_visible()
    expect(saved.get_by_role("link", name=re.compile(r"^Solved\b"))).to_be_visible()

    # An agent sees the team's search, and not the buttons that change it.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server.url, advocate.username)
    saved.get_by_role("link", name=re.compile(r"^Solved")).click()
    expect(page.get_by_text("by lee")).to_be_visible()
    expect(page.get_by_role("button", name="Delete saved search")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server.url, lead.username)
    saved.get_by_role("link", name=re.compile(r"^Solved")).click()
    page.get_by_role("button", name="Delete saved search").click()
    expect(page.get_by_text("Deleted the saved search “Solved”.")).to_be_visible()
    expect(page.get_by_role("list", name="Saved searches")).to_have_count(0)
