"""The composer while the conversation moves on, in a real browser: a post arrives from the
sandbox while the agent types, the banner names it and the conversation shows it, the typed
text stays; after "I've read it" the send goes through. The macro picker inserts a macro at
the cursor with its unknown variable selected, and the length counter follows. A page whose
form expired shows a notice, or goes to sign in, rather than a page swapped into a panel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import ingest, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def on_ticket(
    page: Page, live_server: Any, live_desk: SandboxServer, advocate: User
) -> tuple[Ticket, str]:
    """Maya's question as a ticket, open in Ana's browser; the ticket and the question's id."""
    asked = live_desk.store.mention_add("maya", "@Driftwood how do I rotate a runner token?")
    ingest()
    ticket = Ticket.objects.get()
    sign_in(page, live_server.url, advocate.username)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    return ticket, asked


def test_a_post_arrives_while_the_agent_types_and_the_text_stays(
    page: Page, on_ticket: tuple[Ticket, str], live_desk: SandboxServer, screenshot_dir: Path
) -> None:
    ticket, asked = on_ticket
    expect(page.locator("#composer-thread")).to_have_attribute("data-thread-post", asked)
    composer = page.locator("#reply-text")
    text = "Settings > CI/CD > Runners, then "
    composer.fill(text)
    expect(page.locator("#reply-count")).to_have_text(f"{len(text.strip())} / 280")

    # The macro picker: every macro; one goes in at the cursor, its unknown link selected.
    page.get_by_text("Macros", exact=True).click()
    item = page.locator('.macro-item[data-macro="related_issue"]')
    expect(item).to_contain_text("{issue_url}")
    composer.press("End")
    item.click()
    expect(page.locator("#macro-picker")).not_to_have_attribute("open", "")
    typed = composer.input_value()
    assert typed.startswith(text + "@maya thanks! This looks related: {issue_url}")
    selected = page.evaluate(
        "() => { const t = document.getElementById('reply-text');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); }"
    )
    assert selected == "{issue_url}"
    composer.press("Control+a")
    composer.fill(text + "Reset token.")
    expect(page.locator("#reply-count")).to_have_text(f"{len(text + 'Reset token.')} / 280")

    # While Ana types, Maya writes again; the next poll brings it in.
    newer = live_desk.store.mention_add(
        "maya", "@Driftwood found it <b>myself</b>, thanks!", in_reply_to=asked
    )
    ingest()
    banner = page.locator("#arrivals .arrivals-banner")
    expect(banner).to_contain_text(
        "New post from @maya arrived — read it before sending", timeout=15_000
    )
    expect(banner).to_contain_text("found it <b>myself</b>")
    expect(page.locator(f'#ticket-activity [data-post-id="{newer}"]')).to_contain_text(
        "found it <b>myself</b>, thanks!"
    )
    expect(composer).to_have_value(text + "Reset token.")
    # The "In reply to" line names the post the reply will now thread to.
    thread = page.locator("#composer-thread")
    expect(thread).to_have_attribute("data-thread-post", newer)
    expect(thread).to_contain_text("In reply to @maya's latest post")
    expect(thread).to_contain_text("found it <b>myself</b>")
    page.screenshot(path=str(screenshot_dir / "new-post-arrived.png"), full_page=True)

    banner.get_by_role("button", name="I've read it").click()
    expect(page.locator("#arrivals .arrivals-banner")).to_have_count(0)
    expect(page.locator("#composer [name=seen_post_id]")).to_have_value(newer)
    composer.press("Control+Enter")
    expect(page.get_by_text("Reply queued from @Driftwood.")).to_be_visible()
    reply = Reply.objects.get(ticket=ticket)
    assert reply.text == text + "Reset token." and reply.in_reply_to_remote_id == newer


def test_a_ticket_page_whose_form_expired_shows_a_notice_or_goes_to_sign_in(
    page: Page, on_ticket: tuple[Ticket, str], advocate: User
) -> None:
    ticket, _ = on_ticket
    url = page.url
    page.locator("#reply-text").fill("Half a reply")

    # Still signed in, but the page's token is no longer the browser's: the heartbeat's
    # refusal is a notice in the toast, the page and the text stay.
    page.context.clear_cookies(name="csrftoken")
    notice = page.locator("#toast[data-page-expired]")
    expect(notice).to_contain_text("This page expired.", timeout=15_000)
    expect(notice.get_by_role("link", name="reload the page")).to_have_attribute(
        "href", f"/tickets/{ticket.pk}/"
    )
    expect(page.locator("#presence-list")).not_to_contain_text("expired")
    expect(page.locator("#reply-text")).to_have_value("Half a reply")

    # Signed out: the next poll goes to sign in, and back to this page after it.
    page.context.clear_cookies()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="), timeout=15_000)
    assert parse_qs(urlsplit(page.url).query)["next"] == [f"/tickets/{ticket.pk}/"]
    page.get_by_label("Username").fill(advocate.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(url)
