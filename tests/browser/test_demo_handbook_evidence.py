"""The handbook's research steps in the demo, in a real browser, each reached from the Tour:
the status page for downtime (the incident resolves as the script plays), the issue tracker
for bugs and feature requests, the help center's solved tickets, the forum, the desk's own
similar solved tickets, and where a short link leads (its preview under the post)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.desk.demo_world import PUSH_ERRORS, RUNNERS_PENDING, DemoWorld, status_follow_step
from mentiondesk.sandbox.x.script import SCRIPT, SEED_COUNT, XStage
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import search
from tests.browser.journeys import sign_in, tour_try
from tests.test_demo_world import ticket_of

pytestmark = pytest.mark.browser


@pytest.fixture
def status_uncached(world: DemoWorld, settings: Any) -> None:
    """The status page asked afresh at every look (the demo caches it for seconds), set before
    the demo's mentions come in."""
    settings.STATUSPAGE_CACHE_SECONDS = 0


def source(page: Page, name: str) -> Any:
    return page.locator(f'#evidence-block [data-source="{name}"]')


def test_downtime_shows_the_open_incidents_and_a_resolved_one_leaves(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    status_uncached: None,
    demo: DemoWorld,
    advocate: User,
    screenshot_dir: Path,
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Downtime")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket_of('priya_sre').pk}/")

    incidents = source(page, "statuspage").get_by_role("link")
    expect(incidents).to_have_text([RUNNERS_PENDING.name, PUSH_ERRORS.name])
    expect(incidents.first).to_have_attribute("href", re.compile(f"^{demo.statuspage.url}/"))
    # The handbook's follow-up: forward the incident and ask if they still see it.
    draft = page.locator('.evidence-draft[data-macro="still_affected"]')
    expect(draft).to_contain_text("Are you still experiencing issues?")
    draft.get_by_role("button", name="Use this reply").click()
    expect(page.locator("#reply-text")).to_have_value(
        re.compile(rf"^@priya_sre we're looking into it: {re.escape(demo.statuspage.url)}/")
    )
    page.screenshot(path=str(screenshot_dir / "demo-downtime.png"), full_page=True)

    # The script plays on: runners pick up again and infrastructure resolves the incident.
    kofi = next(m for m in SCRIPT[SEED_COUNT:] if "runners picked up again" in m.text)
    XStage(live_desk.store).mention_post(kofi, created_at=None)
    assert status_follow_step(world=demo, store=live_desk.store) == [
        f"resolved: {RUNNERS_PENDING.name}"
    ]
    page.locator("#evidence-block").get_by_role("button", name="Refresh").click()
    expect(source(page, "statuspage").get_by_role("link")).to_have_text([PUSH_ERRORS.name])


def test_a_bug_report_links_its_issue_and_its_short_link_shows_where_it_leads(
    page: Page,
    live_server: Any,
    live_desk: SandboxServer,
    demo: DemoWorld,
    advocate: User,
    screenshot_dir: Path,
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Short links")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket_of('marta_dev').pk}/")

    # Where the link leads, from the offline web: title and site, before visiting it.
    post = page.locator("article.post-in").first
    preview = post.locator(".link-preview")
    expect(preview).to_have_count(1)
    expect(preview.locator(".link-preview-site")).to_have_text("driftwood.dev")
    expect(preview.locator(".link-preview-title")).to_have_text(
        re.compile(r"^Merge request diff view crashes on files over 5,000 lines")
    )
    expect(post.locator(".link-preview img")).to_have_count(0)

    # The issue tracker finds the issue; the macro picker puts it in the reply.
    tour_try(page, live_server.url, "Bug reports")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket_of('marta_dev').pk}/")
    issue_url = demo.gitlab.web_url("driftwood/driftwood", 48211)
    expect(source(page, "issuetracker").get_by_role("link").first).to_have_attribute(
        "href", issue_url
    )
    page.get_by_text("Macros", exact=True).click()
    page.locator('.macro-item[data-macro="related_issue"]').click()
    reply = page.locator("#reply-text")
    expect(reply).to_have_value(
        re.compile(rf"^@marta_dev thanks! This looks related: {issue_url} ")
    )
    expect(page.locator("#reply-count")).not_to_have_text(re.compile(r"^0 / "))
    page.screenshot(path=str(screenshot_dir / "demo-bug-report.png"), full_page=True)
    # Out of Play's order (older tickets wait), answering it needs a word on why.
    page.locator("#composer").get_by_label(
        re.compile(r"say why you take this one out of order")
    ).fill("Bug report with repro steps, quick to answer")
    reply.press("Control+Enter")
    expect(page.get_by_text("Reply queued from @Driftwood.")).to_be_visible()
    (posted,) = live_desk.store.posts(author="Driftwood")
    assert [u["expanded_url"] for u in posted["entities"]["urls"]] == [issue_url]


def test_a_feature_request_is_offered_the_related_issue_or_the_new_issue_page(
    page: Page, live_server: Any, demo: DemoWorld, advocate: User
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Feature requests")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket_of('jpark').pk}/")
    # Triage is not sure what it is (it suggests availability): Ana labels it, and the drafts
    # follow; a related issue when the tracker finds one, the new-issue page as a macro.
    page.get_by_label("What is it about?").select_option("feature_request")
    page.get_by_role("button", name="Label").click()
    expect(page.locator("#ticket-head [data-intent]")).to_contain_text("Feature request")
    drafts = page.locator(".evidence-draft")
    expect(drafts.first).to_have_attribute("data-macro", re.compile(r"^(related|new)_issue$"))
    expect(drafts.first).to_contain_text(f"{demo.gitlab.url}/")
    page.get_by_text("Macros", exact=True).click()
    page.locator('.macro-item[data-macro="new_issue"]').click()
    expect(page.locator("#reply-text")).to_have_value(
        re.compile(rf"^@jpark thanks! We couldn't find an existing issue .* {demo.gitlab.url}/")
    )


def test_a_support_question_finds_solved_tickets_forum_topics_and_the_desks_own_answers(
    page: Page, live_server: Any, demo: DemoWorld, advocate: User, screenshot_dir: Path
) -> None:
    sign_in(page, live_server.url, advocate.username)
    tour_try(page, live_server.url, "Support questions: solved tickets")
    tomasz = ticket_of("tomasz_w")
    expect(page).to_have_url(f"{live_server.url}/tickets/{tomasz.pk}/")
    helpdesk = source(page, "helpdesk").get_by_role("link")
    expect(helpdesk.first).to_have_attribute("href", re.compile(f"^{demo.helpdesk.url}/"))
    expect(source(page, "helpdesk").locator("a[href*='35512']")).to_have_count(1)

    tour_try(page, live_server.url, "Directing users to the forum")
    expect(page).to_have_url(f"{live_server.url}/tickets/{ticket_of('lena_ops').pk}/")
    forum = source(page, "forum").get_by_role("link")
    expect(forum.first).to_have_attribute("href", re.compile(f"^{demo.forum.url}/"))
    page.get_by_text("Macros", exact=True).click()
    page.locator('.macro-item[data-macro="forum_experts"]').click()
    expect(page.locator("#reply-text")).to_have_value(
        re.compile(rf"experts will be able to help: {re.escape(demo.forum.url)}/")
    )
    page.screenshot(path=str(screenshot_dir / "demo-forum.png"), full_page=True)

    # The desk's own history: once Ana solves one 502 report, the next one finds it.
    ana_codes = ticket_of("ana_codes")
    page.goto(f"{live_server.url}/tickets/{ana_codes.pk}/")
    page.get_by_label("Status", exact=True).select_option("solved")
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_text("is solved")).to_be_visible()
    search.ticket_documents_refresh()  # the worker's schedule, run now
    page.goto(f"{live_server.url}/tickets/{ticket_of('diego_mx').pk}/")
    similar = page.locator("#evidence-block .evidence-similar")
    expect(similar.get_by_role("link", name=f"#{ana_codes.pk} @ana_codes")).to_have_attribute(
        "href", f"/tickets/{ana_codes.pk}/"
    )
