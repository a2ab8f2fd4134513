"""The demo's world in a real browser (issue 20): a scripted mention's ticket shows evidence
from the stand-ins and links its post on the sandbox; the tour leads to a spam report's
ticket, Report spam posts to the Slack stand-in, and the demo-only Slack page shows it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.desk.demo_world import RUNNERS_PENDING, DemoWorld
from mentiondesk.sandbox.x.server import SandboxServer
from tests.browser.journeys import ingest, sign_in, tour_try
from tests.test_demo_world import ticket_of, world  # noqa: F401

pytestmark = pytest.mark.browser


def test_a_ticket_shows_evidence_and_the_tour_leads_to_a_spam_report_on_the_slack_page(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    world: DemoWorld,  # noqa: F811
    advocate: User,
    screenshot_dir: Path,
) -> None:
    ingest()
    sign_in(page, live_server.url, "ana")

    page.goto(f"{live_server.url}/tickets/{ticket_of('marta_dev').pk}/")
    evidence = page.locator("#evidence-block")
    expect(evidence.locator('[data-source="issuetracker"] a').first).to_have_text(
        re.compile(r"^Merge request diff view crashes")
    )
    expect(evidence.locator('[data-source="statuspage"] a').first).to_have_text(
        RUNNERS_PENDING.name
    )
    expect(evidence.locator(".evidence-off")).to_have_count(0)
    expect(page.locator(".slack-off")).to_have_count(0)
    view = page.get_by_role("link", name=re.compile(r"View on X")).first
    expect(view).to_have_attribute("href", re.compile(rf"^{re.escape(live_desk.url)}/marta_dev/"))
    page.screenshot(path=str(screenshot_dir / "demo-ticket-evidence.png"), full_page=True)

    page.get_by_role("link", name="Tour (demo)").click()
    expect(page.get_by_role("heading", name="Tour", exact=True)).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "demo-tour.png"), full_page=True)
    expect(page.get_by_role("link", name="Try it on @bea_sec's ticket")).to_be_visible()
    tour_try(page, live_server.url, "Reports of spam")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket_of('bea_sec').pk}/")
    page.locator("#spam-box summary").click()
    page.get_by_role("button", name="Report spam", exact=True).click()
    expect(page.locator("#reply-text")).to_have_value(re.compile(r"^Thanks for letting us know"))

    page.get_by_role("link", name="Slack (demo)").click()
    expect(page.get_by_role("heading", name="Slack", exact=True)).to_be_visible()
    abuse = page.locator("section.slack-channel", has_text="#abuse")
    expect(abuse.locator(".slack-message")).to_have_count(1)
    expect(abuse).to_contain_text("Spam reported by @bea_sec")
    expect(abuse).to_contain_text("https://driftwood.dev/openleaf/leaf/-/issues/3391")
    page.screenshot(path=str(screenshot_dir / "demo-slack.png"), full_page=True)
