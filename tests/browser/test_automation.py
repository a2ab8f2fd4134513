"""Automation with manners, in a real browser: a status update's follow-up reaches the
confident, unanswered availability report only, says it is automated, takes nobody's ticket,
and the status page says why the other report was skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from mentiondesk.triage.models import TriageResult
from tests.browser.journeys import ingest, sign_in

pytestmark = pytest.mark.browser


def test_a_status_follow_up_goes_only_to_the_sure_report_and_says_it_is_automated(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    advocate: User,
    infrastructure: User,
    screenshot_dir: Path,
) -> None:
    live_desk.store.mention_add("kai", "@Driftwood @DriftwoodStatus is the API down? 502s")
    live_desk.store.mention_add("nia", "@Driftwood the new dashboard colours are something")
    ingest()
    kai = Ticket.objects.get(requester_username="kai")
    nia = Ticket.objects.get(requester_username="nia")
    ticket_actions.ticket_intent_set(ticket=kai, intent="availability", by=advocate)
    # What a model once said of nia's post: availability, 30% sure.
    TriageResult.objects.filter(post__ticket=nia).update(
        intent="availability", intent_confidence=0.3
    )
    Ticket.objects.filter(pk=nia.pk).update(intent="availability")

    sign_in(page, live_server.url, infrastructure.username)
    page.goto(f"{live_server.url}/status/")
    page.get_by_role("textbox", name="Status update").fill("We're investigating 502s on the API.")
    page.get_by_label("Incident link").fill("https://status.driftwood.dev/incidents/7")
    page.get_by_text("Follow up on every open availability ticket").click()
    page.get_by_role("button", name="Post status update").click()

    skipped = page.locator(".follow-up-skipped")
    expect(skipped).to_contain_text("1 open report skipped", timeout=10_000)
    skipped.locator("summary").click()
    expect(skipped).to_contain_text("triage is only 30% sure")
    page.screenshot(path=str(screenshot_dir / "automation-skipped.png"), full_page=True)

    page.goto(f"{live_server.url}/tickets/{kai.pk}/")
    expect(page.locator("#ticket-events .tag-automated").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "automation-marked.png"), full_page=True)

    automated = Reply.objects.filter(is_automated=True)
    assert [r.ticket_id for r in automated] == [kai.pk]
    assert automated.get().status == Reply.Status.SENT
    assert dict(Ticket.objects.values_list("requester_username", "assignee")) == {
        "kai": None,
        "nia": None,
    }
