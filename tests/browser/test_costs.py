"""The X cost meter in a real browser: the composer warns as soon as a reply has a link, with
the policy's prices; the lead's cost page shows what the poll cost."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.intake import ingest as channel_services
from mentiondesk.sandbox.x.server import SandboxServer
from tests.browser.journeys import sign_out
from tests.browser.test_rules import play, sign_in
from tests.costs.conftest import billed_policy

pytestmark = pytest.mark.browser


def test_the_composer_hints_that_a_link_multiplies_the_cost(
    page: Page, live_server: Any, live_desk: SandboxServer, advocate: User, lead: User
) -> None:
    policy_actions.policy_apply_text(text=billed_policy(), source="priced.toml")
    live_desk.store.mention_add("maya", "@Driftwood where do I find the API docs?")
    assert not [r.error for r in channel_services.mentions_poll_all() if r.error]

    sign_in(page, live_server.url, "ana")
    play(page)
    # What the ticket cost is for leads, who pay; the agent sees the work.
    expect(page.locator("#ticket-head")).not_to_contain_text("X API cost")
    hint = page.locator("#composer [data-cost-hint]")
    text = page.locator("#composer textarea[name=text]")
    text.fill("@maya here you are")
    expect(hint).to_be_hidden()
    text.fill("@maya here you are: https://docs.example.com/api")
    expect(hint).to_be_visible()
    expect(hint).to_have_text(
        "This reply has a link: X bills it 0.20 USD instead of 0.015 USD (13.3 times as much)."
    )
    text.fill("@maya here you are")
    expect(hint).to_be_hidden()

    sign_out(page)
    sign_in(page, live_server.url, "lee")
    page.goto(f"{live_server.url}/?view=all")
    page.locator("tr.ticket-row", has_text="@maya").get_by_role("link").click()
    expect(page.locator("#ticket-head")).to_contain_text("X API cost")
    page.get_by_role("link", name="X API costs").click()
    expect(page).to_have_url(re.compile(r"/costs/$"))
    # 1 username lookup (0.01) + 1 mention (0.005) + its author (0.01), per hand.
    expect(page.locator("[data-total-amount]")).to_have_text("0.025 USD")
