"""The handbook's steps that go through Slack, in the demo, in a real browser, each reached
from the Tour and each seen arriving on the demo's Slack page: Hand back under no-skip (the
ticket is released with a reason, experts asked), Ask an expert for a self-managed question
(the advocate keeps the ticket), and a like plus a retweet suggestion for praise."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.desk.demo_world import DemoWorld
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import sign_in, tour_try
from tests.test_demo_world import ticket_of

pytestmark = pytest.mark.browser


def slack_channel(page: Page, name: str) -> Locator:
    """The demo's Slack page, opened from the sidebar: the channel `name`'s messages."""
    page.get_by_role("link", name="Slack (demo)").click()
    expect(page.get_by_role("heading", name="Slack", exact=True)).to_be_visible()
    return page.locator("section.slack-channel", has_text=f"#{name}").locator(".slack-message")


def test_hand_back_releases_a_ticket_under_no_skip_and_asks_the_experts(
    page: Page, live_server: Any, demo: DemoWorld, advocate: User, screenshot_dir: Path
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Don't skip, assign to yourself")
    ticket = ticket_of("ana_codes")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket.pk}/")
    page.locator("#assignee-block").get_by_role("button", name="Assign to me").click()
    expect(page.locator("#ticket-head [data-assignee]")).to_have_text("ana")

    # No skipping: the next ticket waits until this one is finished or handed back.
    page.get_by_role("button", name=re.compile(r"^Next ticket")).click()
    expect(page.get_by_text("Finish or hand back this ticket first")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket.pk}/")

    hand_back = page.locator("#hand-back")
    hand_back.get_by_text("Hand back…").click()
    hand_back.get_by_label("Why are you handing it back?").fill(
        "502s on push: I need someone from the hosted team."
    )
    hand_back.get_by_label("Ask").select_option(label="Hosted service")
    hand_back.get_by_role("button", name="Hand back to the queue").click()
    expect(page.get_by_text("is back in the queue")).to_be_visible()
    row = page.locator(f'tr.ticket-row[data-ticket-id="{ticket.pk}"]')
    expect(row.locator(".col-assignee")).to_have_text("Unassigned")
    assert Ticket.objects.get(pk=ticket.pk).assignee is None

    # Released: Play moves on to the next ticket instead of bringing this one back.
    page.get_by_role("button", name=re.compile(r"^Play")).click()
    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    expect(page.locator("#ticket-head h1")).not_to_contain_text("@ana_codes")

    messages = slack_channel(page, "support_gitlab-com")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text("502s on push: I need someone from the hosted team.")
    expect(messages.first).to_contain_text("@ana_codes")
    page.screenshot(path=str(screenshot_dir / "demo-hand-back-slack.png"), full_page=True)


def test_ask_an_expert_about_a_self_managed_install_and_keep_the_ticket(
    page: Page, live_server: Any, demo: DemoWorld, advocate: User
) -> None:
    sign_in(page, live_server.url, advocate.username)
    # Hosted or self-managed? Triage reads it from the words; the experts of each are offered.
    tour_try(page, live_server.url, "Hosted or self-managed?")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket_of('tomasz_w').pk}/")
    expect(page.locator("[data-triage-context]")).to_have_attribute("data-triage-context", "hosted")
    options = page.locator("#escalate-box").get_by_label("Ask").locator("option")
    expect(options).to_contain_text(["Hosted service", "Self-managed"])

    tour_try(page, live_server.url, "Involving experts")
    ticket = ticket_of("lena_ops")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket.pk}/")
    # Out of Play's order: taking it asks why.
    page.locator("#assignee-block").get_by_label(re.compile(r"say why")).fill(
        "Upgrade question, I know the area"
    )
    page.locator("#assignee-block").get_by_role("button", name="Assign to me").click()
    expect(page.locator("#ticket-head [data-assignee]")).to_have_text("ana")

    box = page.locator("#escalate-box")
    box.get_by_text("Ask an expert…").click()
    box.get_by_label("Ask").select_option(label="Self-managed")
    box.get_by_label(re.compile(r"^Question")).fill("Is 17.5 safe with PostgreSQL 14?")
    box.get_by_role("button", name="Ask in Slack").click()
    expect(page.locator("#ticket-head")).to_contain_text("Escalated")
    expect(page.locator("#ticket-head [data-assignee]")).to_have_text("ana")
    expect(page.locator("#ticket-events .slack-status")).to_contain_text("Slack: sent")

    expect(page.locator("[data-triage-context]")).to_have_attribute(
        "data-triage-context", "self_managed"
    )
    messages = slack_channel(page, "support_self-managed")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text("@lena_ops")
    expect(messages.first).to_contain_text("Is 17.5 safe with PostgreSQL 14?")


def test_praise_is_liked_and_suggested_for_retweet_to_the_social_team(
    page: Page, live_server: Any, live_desk: SandboxServer, demo: DemoWorld, advocate: User
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Likes")
    ticket = ticket_of("nico_rs")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket.pk}/")
    post = page.locator("article.post-in").first
    post.get_by_role("button", name="Like").click()
    expect(page.locator("article.post-in").first.locator("[data-like-state]")).to_have_text(
        "♥ Liked"
    )
    expect(page.locator("#ticket-events")).to_contain_text(re.compile(r"Liked · ana"))
    driftwood = live_desk.store.user_by_username("Driftwood")["id"]
    assert live_desk.store.likes() == [
        {"user_id": driftwood, "tweet_id": ticket.posts.get().remote_id}
    ]

    tour_try(page, live_server.url, "Retweeting")
    post = page.locator("article.post-in").first
    post.get_by_text("Suggest for retweet").click()
    post.get_by_label("Note for the social team").fill("Code search praise for the launch post")
    post.get_by_role("button", name="Send to the social team").click()
    expect(page.get_by_text("Suggested to #social_media")).to_be_visible()

    messages = slack_channel(page, "social_media")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text("Code search praise for the launch post")
    expect(messages.first).to_contain_text("/nico_rs/status/")
