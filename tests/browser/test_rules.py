"""The workflow rules in a real browser: the reply handle for availability, hand-back with a
reason and experts, no retweet anywhere, the collision guard, presence, and the stream and
status pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.sandbox.slack import SlackServer
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import ingest, sign_in, sign_out
from tests.integrations.conftest import slack, slack_server  # noqa: F401

pytestmark = pytest.mark.browser

TICKET_URL = re.compile(r"/tickets/\d+/$")


def play(page: Page) -> None:
    page.get_by_role("button", name=re.compile(r"^Play")).click()
    expect(page).to_have_url(TICKET_URL)


def test_availability_ticket_switches_the_advocate_to_the_main_handle(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    advocate: User,
    screenshot_dir: Path,
) -> None:
    # Both handles: on X's self-serve plan (the default) the advocate's reply may only come
    # from a handle the post mentions (a @DriftwoodStatus-only report is infrastructure's).
    live_desk.store.mention_add(
        "maya",
        "@Driftwood @DriftwoodStatus is the site down? pushes fail with 502",
        created_at=datetime.now(UTC) - timedelta(minutes=7),
    )
    ingest()

    sign_in(page, live_server.url, "ana")
    play(page)
    composer = page.locator("#composer")
    expect(composer).to_contain_text("Reply from @Driftwood")
    # Triage labelled it on arrival: availability belongs to the status handle, which only
    # infrastructure posts from; the advocate's reply switches to the main handle, and says so.
    expect(page.locator("#ticket-head [data-intent]")).to_contain_text("Availability")
    expect(composer).to_contain_text("Reply from @Driftwood")
    expect(composer.locator("[data-reply-reason]")).to_have_text(
        "It is about availability: @DriftwoodStatus answers. Only infrastructure users post "
        "from @DriftwoodStatus, so your reply goes out from @Driftwood."
    )
    # Slack is not configured here: its actions look unavailable, not broken.
    expect(page.locator("#slack-off")).to_have_text(
        "Slack is not configured. An admin can connect it."
    )
    expect(page.get_by_role("button", name="Ask an expert…")).to_be_disabled()
    expect(page.get_by_role("button", name="Hand back…")).to_be_disabled()
    page.screenshot(path=str(screenshot_dir / "rules-availability.png"), full_page=True)

    # A direct message is collapsed until asked for, and needs a purpose.
    dm = page.locator("#dm-box")
    expect(dm.get_by_label("Direct message")).to_be_hidden()
    dm.locator("summary").click()
    dm.get_by_label("Direct message").fill("Could you send us your account's email privately?")
    dm.get_by_role("button", name="Send direct message").click()
    expect(page.locator("#dm-box")).to_contain_text(
        "say why this needs a private conversation (e.g. to collect a mailing address)"
    )
    expect(page.locator("#dm-box").get_by_label("Direct message")).to_have_value(
        "Could you send us your account's email privately?"
    )
    page.screenshot(path=str(screenshot_dir / "rules-dm-refused.png"), full_page=True)
    assert live_desk.store.dms() == []

    page.locator("#reply-text").fill("Sorry Maya, we are on it: https://status.example.com")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Reply queued from @Driftwood.")).to_be_visible()
    (posted,) = live_desk.store.posts(author="Driftwood")
    assert live_desk.store.posts(author="DriftwoodStatus") == []
    assert posted["referenced_tweets"][0]["type"] == "replied_to"


def test_hand_back_needs_a_reason_then_returns_the_ticket_to_the_queue(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    slack: SlackServer,  # noqa: F811
    advocate: User,
    screenshot_dir: Path,
) -> None:
    live_desk.store.mention_add("sam", "@Driftwood my self-managed runner ignores the new tags")
    ingest()
    ticket = Ticket.objects.get()

    sign_in(page, live_server.url, "ana")
    play(page)
    # Strict play: "Next ticket" on a ticket still open brings it back, and says why.
    page.get_by_role("button", name=re.compile(r"^Next ticket")).click()
    expect(page.get_by_text("Finish or hand back this ticket first")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    page.screenshot(path=str(screenshot_dir / "rules-strict-play.png"))

    hand_back = page.locator("#hand-back")
    hand_back.get_by_text("Hand back…").click()
    expect(hand_back.get_by_label("Why are you handing it back?")).to_be_visible()
    hand_back.get_by_role("button", name="Hand back to the queue").click()
    expect(page.locator("#hand-back")).to_contain_text("Choose who to ask.")
    page.locator("#hand-back").get_by_label("Ask").select_option(label="Self-managed")
    page.locator("#hand-back").get_by_role("button", name="Hand back to the queue").click()
    expect(page.locator("#hand-back")).to_contain_text("say why you are handing the ticket back")
    expect(page.locator("#ticket-head [data-assignee]")).to_have_text("ana")
    page.screenshot(path=str(screenshot_dir / "rules-hand-back-refused.png"), full_page=True)

    hand_back = page.locator("#hand-back")
    hand_back.get_by_label("Why are you handing it back?").fill(
        "Runner tags on self-managed: I need an expert."
    )
    expect(hand_back.get_by_label("Ask")).to_have_value("self_managed")
    hand_back.get_by_role("button", name="Hand back to the queue").click()

    expect(page.get_by_role("heading", name="Twitter")).to_be_visible()
    expect(page.get_by_text("is back in the queue")).to_be_visible()
    row = page.locator(f'tr.ticket-row[data-ticket-id="{ticket.pk}"]')
    expect(row.locator(".col-assignee")).to_have_text("Unassigned")
    page.screenshot(path=str(screenshot_dir / "rules-hand-back-queue.png"), full_page=True)
    (posted,) = slack.messages
    assert posted.channel == slack.channel_id("support_self-managed")
    assert "Runner tags on self-managed" in posted.text

    # The ticket's timeline shows the escalation's Slack message, posted, with its link.
    row.get_by_role("link").click()
    events = page.locator("#ticket-events")
    expect(events).to_contain_text("Handed back")
    expect(events.locator(".slack-status")).to_contain_text("Slack: sent")
    link = events.get_by_role("link", name="#support_self-managed ↗")
    expect(link).to_have_attribute("href", SlackMessage.objects.get().permalink)
    page.screenshot(path=str(screenshot_dir / "rules-hand-back-timeline.png"), full_page=True)


def test_there_is_no_retweet_button_only_a_suggestion(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    slack: SlackServer,  # noqa: F811
    advocate: User,
    screenshot_dir: Path,
) -> None:
    live_desk.store.mention_add("olek", "@Driftwood the new merge train is brilliant, thank you!")
    ingest()
    sign_in(page, live_server.url, "ana")
    play(page)

    retweets = page.get_by_text(re.compile("retweet", re.IGNORECASE))
    expect(retweets).to_have_count(1)
    assert [t.strip() for t in retweets.all_inner_texts()] == ["Suggest for retweet"]
    expect(page.get_by_role("button", name=re.compile("retweet", re.IGNORECASE))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("retweet", re.IGNORECASE))).to_have_count(0)

    # Triage labelled it praise. Relabelled as something else, a like needs a reason ("Like
    # anyway"); labelled praise again, it is one click.
    expect(page.locator("#ticket-head [data-intent]")).to_contain_text("Praise")
    page.get_by_label("What is it about?").select_option("other")
    page.get_by_role("button", name="Label").click()
    expect(page.locator("#ticket-head [data-intent]")).to_contain_text("Other")
    post = page.locator("article.post-in").first
    post.locator("summary", has_text="Like").click()
    expect(post.get_by_role("button", name="Like anyway")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "rules-like-anyway.png"), full_page=True)
    page.get_by_label("What is it about?").select_option("praise")
    page.get_by_role("button", name="Label").click()
    post = page.locator("article.post-in").first
    expect(post.get_by_role("button", name="Like anyway")).to_have_count(0)
    post.get_by_role("button", name="Like").click()
    expect(page.locator("article.post-in").first.locator("[data-like-state]")).to_have_text(
        "♥ Liked"
    )

    post = page.locator("article.post-in").first
    post.get_by_text("Suggest for retweet").click()
    post.get_by_label("Note for the social team").fill("Lovely quote for the launch thread")
    post.get_by_role("button", name="Send to the social team").click()
    expect(page.get_by_text("Suggested to #social_media")).to_be_visible()
    (posted,) = slack.messages
    assert posted.channel == slack.channel_id("social_media")
    page.screenshot(path=str(screenshot_dir / "rules-suggested.png"), full_page=True)


def test_collision_stops_the_send_and_lists_the_follow_up(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    advocate: User,
    lead: User,
    other_context: BrowserContext,
    screenshot_dir: Path,
) -> None:
    first = live_desk.store.mention_add(
        "maya",
        "@Driftwood pushing to main fails with a 502",
        created_at=datetime.now(UTC) - timedelta(minutes=12),
    )
    ingest()
    sign_in(page, live_server.url, "ana")
    play(page)

    # Lee, a lead, opens the same ticket (advocates cannot answer ana's): ana sees him there.
    lee = other_context.new_page()
    sign_in(lee, live_server.url, "lee")
    lee.goto(page.url)
    expect(page.locator("#presence-list")).to_contain_text("lee is viewing", timeout=8000)
    lee.locator("#reply-text").press_sequentially("Hi Maya")
    expect(page.locator("#presence-list")).to_contain_text("lee is typing…", timeout=8000)
    lee.close()

    page.locator("#reply-text").fill("Sorry Maya! We are looking into the 502s right now.")
    # While ana types, Maya writes again and the desk ingests it.
    live_desk.store.mention_add("maya", "@Driftwood never mind, it works again", in_reply_to=first)
    ingest()
    page.get_by_role("button", name="Send", exact=True).click()

    collision = page.locator("#collision")
    expect(collision).to_contain_text("Not sent — the conversation changed:")
    expect(collision.locator("li")).to_have_text(
        ["@maya wrote “@Driftwood never mind, it works again” since you opened it."]
    )
    expect(page.locator("#reply-text")).to_have_value(
        "Sorry Maya! We are looking into the 502s right now."
    )
    expect(page.locator("#ticket-activity")).to_contain_text("never mind, it works again")
    assert live_desk.store.posts(author="Driftwood") == []
    page.screenshot(path=str(screenshot_dir / "rules-collision.png"), full_page=True)

    # Read it, rewrite, send: this time it goes.
    page.locator("#reply-text").fill("Glad to hear it works again, Maya!")
    page.get_by_role("button", name="Send and solve").click()
    expect(
        page.get_by_text("Reply queued from @Driftwood and the ticket is solved.")
    ).to_be_visible()
    (posted,) = live_desk.store.posts(author="Driftwood")

    # Sent by mistake? Its author deletes it, after a confirmation with an optional reason.
    ours = page.locator(f'article.post-out[data-post-id="{posted["id"]}"]')
    ours.locator("summary", has_text="Delete").click()
    expect(ours.get_by_text("Delete this post from X?")).to_be_visible()
    ours.get_by_label("Reason").fill("Meant for another thread")
    page.screenshot(path=str(screenshot_dir / "rules-delete-confirm.png"), full_page=True)
    ours.get_by_role("button", name="Delete from X").click()
    ours = page.locator(f'article.post-out[data-post-id="{posted["id"]}"]')
    expect(ours).to_have_class(re.compile(r"\bis-deleted\b"))
    expect(ours.locator(".tag-muted")).to_have_text("deleted")
    assert live_desk.store.post_get(posted["id"]) is None


def test_stream_and_status_pages(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    advocate: User,
    infrastructure: User,
    screenshot_dir: Path,
) -> None:
    now = datetime.now(UTC)
    live_desk.store.mention_add(
        "kim",
        "@MoveToDriftwood how do I import 40 repos from my old host?",
        created_at=now - timedelta(minutes=20),
    )
    live_desk.store.mention_add(
        "lena",
        "@MoveToDriftwood moved our team over this weekend, smooth!",
        created_at=now - timedelta(minutes=3),
    )
    ingest()

    sign_in(page, live_server.url, "ana")
    page.get_by_role("link", name=re.compile(r"^Stream")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Stream"))).to_be_visible()
    kim = page.locator("article.stream-post", has_text="@kim")
    kim.get_by_label("Reply to @kim").fill(
        "Here is our import guide: https://docs.example.com/import"
    )
    kim.get_by_role("button", name="Reply").click()
    expect(page.get_by_text("Reply queued from @MoveToDriftwood to @kim.")).to_be_visible()
    expect(
        page.locator("article.stream-post", has_text="@kim").locator("[data-answered]")
    ).to_be_visible()
    (posted,) = live_desk.store.posts(author="MoveToDriftwood")
    assert "import guide" in posted["text"]
    page.screenshot(path=str(screenshot_dir / "rules-stream.png"), full_page=True)

    page.get_by_role("link", name="Status updates").click()
    expect(page.get_by_text("You cannot post status updates")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "rules-status-refused.png"), full_page=True)

    sign_out(page)
    sign_in(page, live_server.url, "ivan")
    page.get_by_role("link", name="Status updates").click()
    page.locator("#status-text").fill("We are investigating elevated error rates on git pushes.")
    page.get_by_label(re.compile(r"^Incident link")).fill("https://status.example.com/incidents/42")
    page.get_by_role("button", name="Post status update").click()
    expect(page.get_by_text("Status update queued from @DriftwoodStatus.")).to_be_visible()
    expect(page.locator("#status-updates article").first.locator(".badge")).to_have_text("Sent")
    page.screenshot(path=str(screenshot_dir / "rules-status.png"), full_page=True)
