"""Triage and outage surges in a real browser: filter the queue by triage's labels, correct a
label from the ticket page, and answer an outage surge from its incident card — each ticket
once, even on a double click — then follow up when the incident is resolved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.statuspage import StatuspageServer
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from mentiondesk.triage.models import TriageResult
from tests.browser.journeys import ingest, sign_out
from tests.browser.test_rules import sign_in
from tests.conftest import DESK_POLICY

pytestmark = pytest.mark.browser

OUTAGES = (
    "@Driftwood is driftwood.dev down? every page gives 502",
    "@Driftwood site down for anyone else? can't load anything",
    "@Driftwood outage?? driftwood.dev not loading at all",
)


@pytest.fixture
def statuspage(monkeypatch: pytest.MonkeyPatch) -> Iterator[StatuspageServer]:
    with StatuspageServer() as server:
        monkeypatch.setattr(settings, "STATUSPAGE_URL", server.url)
        monkeypatch.setattr(settings, "STATUSPAGE_TIMEOUT_SECONDS", 1.0)
        monkeypatch.setattr(settings, "STATUSPAGE_CACHE_SECONDS", 0.0)
        yield server


def replies_per_post(desk: SandboxServer, author: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for post in desk.store.posts(author=author):
        for ref in post.get("referenced_tweets") or []:
            if ref["type"] == "replied_to":
                counts[ref["id"]] = counts.get(ref["id"], 0) + 1
    return counts


def test_filter_the_queue_by_triage_and_correct_a_label(
    page: Page, live_server: Any, live_desk: SandboxServer, advocate: User, screenshot_dir: Path
) -> None:
    live_desk.store.mention_add("maya", OUTAGES[0])
    live_desk.store.mention_add("omar", "@Driftwood how do I set up LDAP on our self-managed box?")
    live_desk.store.mention_add("pia", "@Driftwood love the new merge request view! 🚀")
    ingest()

    sign_in(page, live_server.url, "ana")
    rows = page.locator("tr.ticket-row")
    expect(rows).to_have_count(3)
    page.screenshot(path=str(screenshot_dir / "triage-queue.png"), full_page=True)
    page.locator("select[name=intent]").select_option("availability")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"intent=availability"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("@maya")
    page.locator("select[name=intent]").select_option("")
    page.locator("select[name=context]").select_option("self_managed")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("@omar")

    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(3)
    rows.filter(has_text="@pia").get_by_role("link").click()
    triage = page.locator("#intent-block")
    expect(triage.locator("[data-triage-intent]")).to_contain_text("Praise")
    # The model's features and version are for leads, who tune triage (test_diagnostics).
    expect(triage.locator(".triage-evidence")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "triage-card.png"), full_page=True)

    triage.locator("select[name=intent]").select_option("feature_request")
    triage.get_by_role("button", name="Label").click()
    expect(page.locator("#intent-block [data-corrected-intent]")).to_contain_text("Feature request")
    result = TriageResult.objects.get(post__author_username="pia")
    assert (result.intent, result.corrected_intent) == ("praise", "feature_request")
    assert result.corrected_by == advocate


def test_one_click_answers_a_surge_once_and_the_follow_up_goes_once(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    statuspage: StatuspageServer,
    lead: User,
    advocate: User,
    screenshot_dir: Path,
) -> None:
    policy_actions.policy_apply_text(
        text=DESK_POLICY + "\n[surge]\nthreshold = 3\nwindow_minutes = 10\n", source="s.toml"
    )
    for n, text in enumerate(OUTAGES):
        live_desk.store.mention_add(f"user{n}", text)
    ingest()

    # An advocate sees the card, not its buttons.
    sign_in(page, live_server.url, "ana")
    card = page.locator(".surge-card")
    expect(card).to_contain_text("3 availability reports")
    expect(card.locator("[data-incident-url]")).to_have_attribute(
        "href", "https://stspg.io/dw4kq81"
    )
    expect(card).to_contain_text("Only lead and infrastructure users answer")
    expect(card.get_by_role("button")).to_have_count(0)
    sign_out(page)

    sign_in(page, live_server.url, "lee")
    button = card.get_by_role("button", name="Reply to 3 with the incident link")
    button.dblclick()
    expect(page.locator(".flash").first).to_contain_text("Incident reply queued")
    expect(card.locator("[data-surge-progress]")).to_contain_text("Replied 3 / 3 sent")
    page.screenshot(path=str(screenshot_dir / "surge-card.png"), full_page=True)
    # One reply per ticket on the network, each threaded to its requester's post (the lead
    # answers from the main handle: only infrastructure posts from the status handle).
    inbound = set(Ticket.objects.values_list("posts__remote_id", flat=True))
    assert replies_per_post(live_desk, "Driftwood") == dict.fromkeys(
        replies_per_post(live_desk, "Driftwood"), 1
    )
    assert set(replies_per_post(live_desk, "Driftwood")) <= inbound
    assert len(replies_per_post(live_desk, "Driftwood")) == 3
    assert Reply.objects.count() == 3

    card.get_by_role("button", name="Mark resolved").click()
    expect(card).to_contain_text("Resolved outage")
    expect(card).to_contain_text("follow-ups 3 sent")
    assert sorted(replies_per_post(live_desk, "Driftwood").values()) == [2, 2, 2]
    assert Reply.objects.count() == 6


def test_a_suggestion_waits_for_a_person_then_acts(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    infrastructure: User,
    screenshot_dir: Path,
) -> None:
    """A 54% availability label to both handles: shown as a suggestion, the reply stays on
    the main handle and says why; confirming it from the ticket page moves it to status."""
    live_desk.store.mention_add("sofia", "@Driftwood @DriftwoodStatus me da 403 con mi token")
    ingest()
    ticket = Ticket.objects.get(requester_username="sofia")
    # What the model said of it on real traffic: availability, 54% sure.
    TriageResult.objects.filter(post__ticket=ticket).update(
        intent="availability", intent_confidence=0.54
    )
    Ticket.objects.filter(pk=ticket.pk).update(intent="availability", intent_confidence=0.54)

    sign_in(page, live_server.url, "ivan")
    row = page.locator("tr.ticket-row", has_text="@sofia")
    expect(row.locator("[data-suggested]")).to_have_text("suggested: availability (54%)")
    row.get_by_role("link").click()
    expect(page.locator("dd[data-intent] [data-suggested]")).to_have_text(
        "suggested: availability (54%)"
    )
    reason = page.locator("[data-reply-reason]")
    expect(reason).to_contain_text("Triage only suggests availability (54%")
    page.screenshot(path=str(screenshot_dir / "triage-suggestion.png"), full_page=True)

    block = page.locator("#intent-block")
    block.locator("select[name=intent]").select_option("availability")
    block.get_by_role("button", name="Label").click()
    expect(page.locator("dd[data-intent]")).to_contain_text("Availability")
    expect(page.locator("[data-suggested]")).to_have_count(0)
    expect(reason).to_have_text("It is about availability: @DriftwoodStatus answers.")
