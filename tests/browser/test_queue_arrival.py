"""Arrival to screen (issue 21): an open queue page shows a ticket stored after it was drawn,
without a reload, because its pulse asks each second whether a ticket entered the view."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Frame, Page, Response, expect

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.x.server import SandboxServer
from tests.browser.journeys import sign_in
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.browser


def test_a_ticket_stored_after_the_page_was_drawn_appears_without_a_reload(
    page: Page, live_server: Any, live_desk: SandboxServer, advocate: User
) -> None:
    handle = Handle.objects.get(username="Driftwood")
    tickets_from(handle, remote_post(author="maya", text="@Driftwood my runner token expired"))
    sign_in(page, live_server.url, advocate.username)
    rows = page.locator("#ticket-rows tr.ticket-row")
    expect(rows).to_have_count(1)

    navigations: list[str] = []
    pulses: list[Response] = []

    def navigated(frame: Frame) -> None:
        if frame == page.main_frame:
            navigations.append(frame.url)

    page.on("framenavigated", navigated)
    page.on("response", lambda r: pulses.append(r) if "/pulse?" in r.url else None)
    (omar,) = tickets_from(
        handle, remote_post(author="omar", text="@Driftwood billed twice", minutes=1)
    )

    # An explicit wait, no timing: the row shows up on the page as it is.
    expect(rows).to_have_count(2, timeout=15_000)
    expect(rows.last).to_contain_text("@omar")
    assert navigations == []
    assert omar.pk in [r.json()["version"] for r in pulses if r.ok]
