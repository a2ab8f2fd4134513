"""The handbook's daily loop in the demo, in a real browser, each step reached from the Tour:
Play oldest first and a reply threaded to the requester's latest post (and, after their
follow-up, to that one: the composer says so), the campaign handle's stream, a direct message
answered privately, the status handle's update following up the reports, and the demo's pages
on a phone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Post
from mentiondesk.desk.demo_world import DemoWorld
from mentiondesk.sandbox.x.script import SCRIPT, XStage
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import ingest, sign_in, sign_out, tour_try
from tests.test_demo_world import ticket_of

pytestmark = pytest.mark.browser


def replied_to(post: dict[str, Any]) -> str:
    return next(r["id"] for r in post["referenced_tweets"] if r["type"] == "replied_to")


def test_play_takes_the_oldest_and_replies_thread_to_the_latest_post(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    demo: DemoWorld,
    advocate: User,
    screenshot_dir: Path,
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Play mode, oldest first")
    expect(page.get_by_role("heading", name="Twitter")).to_be_visible()
    expect(page.locator("tr.ticket-row .requester").first).to_have_text("@ana_codes")
    page.get_by_role("button", name=re.compile(r"^Play")).click()
    ticket = ticket_of("ana_codes")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator("#ticket-head [data-assignee]")).to_have_text("ana")

    # Two posts from Ana Codes, one ticket: the reply answers the newer one, and says so.
    first, latest = (p["id"] for p in live_desk.store.posts(author="ana_codes"))
    expect(page.locator("article.post-in")).to_have_count(2)
    expect(page.locator(f'article[data-post-id="{latest}"] .tag')).to_have_text("latest")
    thread = page.locator("#composer-thread")
    expect(thread).to_have_attribute("data-thread-post", latest)
    expect(thread).to_contain_text("still failing, and now the web UI")
    page.locator("#reply-text").fill("Sorry! We're on it: pushes and the web UI are affected.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Reply queued from @Driftwood.")).to_be_visible()
    (ours,) = live_desk.store.posts(author="Driftwood")
    assert replied_to(ours) == latest != first

    # Ana Codes answers our reply while the agent writes again: the follow-up joins the
    # ticket, the banner names it, the "In reply to" line moves to it, the reply threads to it.
    tour_try(page, live_server.url, "Follow-ups in the conversation")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket.pk}/")
    page.locator("#reply-text").fill("Glad to hear it! Thanks for letting us know.")
    answer = live_desk.store.mention_add(
        "ana_codes", "@Driftwood works again now, thank you!", in_reply_to=ours["id"]
    )
    ingest()
    banner = page.locator("#arrivals .arrivals-banner")
    expect(banner).to_contain_text("New post from @ana_codes arrived", timeout=15_000)
    expect(thread).to_have_attribute("data-thread-post", answer)
    expect(thread).to_contain_text("In reply to @ana_codes's latest post")
    expect(thread).to_contain_text("works again now, thank you!")
    page.screenshot(path=str(screenshot_dir / "demo-follow-up.png"), full_page=True)
    banner.get_by_role("button", name="I've read it").click()
    page.get_by_role("button", name="Send and solve").click()
    expect(
        page.get_by_text("Reply queued from @Driftwood and the ticket is solved.")
    ).to_be_visible()
    newest = live_desk.store.posts(author="Driftwood")[-1]
    assert replied_to(newest) == answer
    assert Ticket.objects.filter(requester_username="ana_codes").count() == 1


def test_the_campaign_handle_is_answered_from_its_stream(
    page: Page, live_server: Any, live_desk: SandboxServer, demo: DemoWorld, advocate: User
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Handles")
    expect(page.get_by_role("heading", name=re.compile(r"^Stream"))).to_be_visible()
    olu = page.locator("article.stream-post", has_text="@olu_data")
    olu.get_by_label("Reply to @olu_data").fill(
        "Yes: issues, comments and labels come over with the code."
    )
    olu.get_by_role("button", name="Reply").click()
    expect(page.get_by_text("Reply queued from @MoveToDriftwood to @olu_data.")).to_be_visible()
    expect(
        page.locator("article.stream-post", has_text="@olu_data").locator("[data-answered]")
    ).to_be_visible()
    (posted,) = live_desk.store.posts(author="MoveToDriftwood")
    assert "issues, comments and labels" in posted["text"]
    # Its conversation's ticket is solved by the answer: it never waits in the queue.
    assert Ticket.objects.get(requester_username="olu_data").status == Ticket.Status.SOLVED


def test_a_direct_message_writes_first_and_the_answer_stays_private(
    page: Page, live_server: Any, live_desk: SandboxServer, demo: DemoWorld, advocate: User
) -> None:
    # Alex's mention comes after the seed, as the script plays.
    alex = next(m for m in SCRIPT if m.author == "alex_j")
    XStage(live_desk.store).mention_post(alex, created_at=None)
    ingest()
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Direct messages")
    ticket = ticket_of("alex_j")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket.pk}/")

    dm = page.locator("#dm-box")
    dm.locator("summary").click()
    dm.get_by_label(re.compile(r"^Why private\?")).fill("to check the account's email address")
    dm.get_by_label("Direct message").fill("Which email address is on the locked account?")
    dm.get_by_role("button", name="Send direct message").click()
    expect(page.get_by_text("Direct message queued from @Driftwood.")).to_be_visible()
    (sent,) = live_desk.store.dms()
    assert sent["text"] == "Which email address is on the locked account?"

    store = live_desk.store
    store.dm_add(
        store.user_by_username("alex_j")["id"],
        store.user_by_username("Driftwood")["id"],
        "It's alex@example.org",
    )
    ingest()
    page.reload()
    private = page.locator("article.post-dm")
    expect(private).to_contain_text("It's alex@example.org")
    expect(private.locator(".tag")).to_have_text("Direct message")
    assert not Post.objects.filter(text__contains="alex@example.org").exists()


def test_infrastructure_posts_a_status_update_that_follows_up_the_reports(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    demo: DemoWorld,
    advocate: User,
    infrastructure: User,
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "The status handle")
    expect(page.get_by_text("You cannot post status updates")).to_be_visible()
    sign_out(page)

    sign_in(page, live_server.url, infrastructure.username)
    tour_try(page, live_server.url, "The status handle")
    incident = f"{demo.statuspage.url}/incidents/0001"
    page.locator("#status-text").fill("Git pushes over HTTPS fail for some users; on it.")
    page.get_by_label(re.compile(r"^Incident link")).fill(incident)
    page.locator("#status-follow-up").check()
    page.get_by_role("button", name="Post status update").click()
    expect(page.get_by_text("Status update queued from @DriftwoodStatus.")).to_be_visible()
    expect(page.locator("#status-updates article").first.locator(".badge")).to_have_text("Sent")
    (update,) = [
        p for p in live_desk.store.posts(author="DriftwoodStatus") if not p.get("referenced_tweets")
    ]
    assert "Git pushes over HTTPS fail" in update["text"]
    # Each open availability report gets the handbook's follow-up with the link.
    priya = live_desk.store.posts(author="priya_sre")[0]["id"]
    follow_ups = [
        p
        for handle in ("Driftwood", "DriftwoodStatus")
        for p in live_desk.store.posts(author=handle)
        if p.get("referenced_tweets") and replied_to(p) == priya
    ]
    assert len(follow_ups) == 1
    assert "Are you still experiencing issues?" in follow_ups[0]["text"]


def test_the_demos_pages_fit_a_phone(
    page: Page, live_server: Any, demo: DemoWorld, advocate: User
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, advocate.username)
    marta = ticket_of("marta_dev")
    for path in ("/demo/tour/", "/demo/slack/", f"/tickets/{marta.pk}/"):
        page.goto(live_server.url + path)
        if path.startswith("/tickets/"):
            expect(page.locator(".link-preview")).to_have_count(1)
            expect(
                page.locator('#evidence-block [data-source="issuetracker"] a').first
            ).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
