"""Steps every browser journey takes: bring the sandbox's mentions in, sign in, and in the
demo's world follow a step of the tour."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from mentiondesk.intake import ingest as channel_services
from tests.conftest import PASSWORD


def ingest() -> None:
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


def sign_in(
    page: Page, base: str, username: str, *, landing: str = "Twitter", password: str = PASSWORD
) -> None:
    """Sign in as `username` and land on the queue, whose first view is `landing`."""
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=landing, exact=True)).to_be_visible()


def sign_out(page: Page) -> None:
    """Forget the session, leaving the page first: its polls (presence, activity, arrivals)
    would otherwise find the session gone and take the page to sign in."""
    page.goto("about:blank")
    page.context.clear_cookies()


def tour_try(page: Page, base: str, step: str) -> None:
    """Open the demo's Tour from the sidebar and follow the link of the handbook step titled
    `step`, as a new user learning the desk would."""
    page.goto(f"{base}/")
    page.get_by_role("link", name="Tour (demo)").click()
    expect(page.get_by_role("heading", name="Tour", exact=True)).to_be_visible()
    card = page.locator("li.tour-step").filter(
        has=page.get_by_role("heading", name=step, exact=True)
    )
    card.get_by_role("link", name=re.compile(r"^Try it")).click()
