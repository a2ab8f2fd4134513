"""The demo on all three networks in a real browser (issue 17, "Done when"): with `mentiondesk
demo` running in this process (its X, Mastodon and Bluesky sandboxes, its worker thread on the
database task queue), an advocate plays one ticket from each network's view and answers it
from the composer; the demo's worker sends each reply, and each sandbox holds exactly one reply,
from the handle the composer named, threaded to the requester's latest post (X: replied_to;
Mastodon: in_reply_to_id, the visibility of the post it answers; Bluesky: reply root and
parent strong refs). The ticket shows it sent, and its "View on …" link opens the post on the
sandbox's own web page, never the real network's.

The script players are stopped once the demo is up and the test plays what it needs by hand,
so no new post moves a conversation on while a reply is being written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mentiondesk.channels.models import Post
from mentiondesk.desk.demo import PASSWORD, Demo
from mentiondesk.replies import services
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.script import ScriptPlayer
from mentiondesk.tickets.models import Ticket
from tests.browser.journeys import ingest, sign_in
from tests.running_demo import demo_running, demo_script_stop

pytestmark = pytest.mark.browser

QUEUES = ["default", "outbox", "ingest"]
# The demo's own backend: a reply is queued by the web request and sent by the worker thread.
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": QUEUES}}
# The worker sends within a pass or two (it sleeps a second when idle); the activity list
# redraws every 2 s while a reply is in flight.
SENT_WITHIN_MS = 30_000


@pytest.fixture
def demo(
    transactional_db: None, live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Demo]:
    settings.TASKS = DB_TASKS
    # The demo's published login is stored hashed with Django's default hasher (desk/demo.py),
    # which tests leave out for speed.
    settings.PASSWORD_HASHERS = [
        *settings.PASSWORD_HASHERS,
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    with demo_running(settings=settings, monkeypatch=monkeypatch) as started:
        demo_script_stop(started)
        yield started


def player(demo: Demo, name: str) -> ScriptPlayer:
    return next(p for p in demo.networks.players if p.name == name)


@dataclass(frozen=True)
class Answered:
    """What the browser did on one network: the ticket, the post the reply must answer, the
    reply's handle as the composer named it, the "View on …" link of the sent post, and every
    link the ticket has to the network (each post's, the requester's profile)."""

    ticket: Ticket
    latest: Post
    handle: str
    view_href: str
    network_links: list[str]

    def links_stay_on(self, sandbox_url: str) -> None:
        assert self.network_links, "links to the network"
        assert [h for h in self.network_links if not h.startswith(f"{sandbox_url}/")] == []


def answer_from_view(page: Page, base: str, view: str, text: str, label: str) -> Answered:
    """Open `view` from the views' list, Play its next ticket, reply `text` from the composer,
    and wait until the ticket shows the reply sent with its "View on `label`" link."""
    link = page.get_by_role("navigation", name="Ticket views").locator(
        ".view-link", has=page.locator("span:first-child", has_text=re.compile(f"^{view}$"))
    )
    href = link.get_attribute("href") or ""
    link.click()
    expect(page).to_have_url(f"{base}{href}")
    expect(page.get_by_role("heading", name=view, exact=True)).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Play")).click()
    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    ticket = Ticket.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    expect(page.locator("#ticket-head [data-network]")).to_have_text(label)
    latest = ticket.posts.filter(direction=Post.Direction.INBOUND).order_by("created_at").last()
    assert latest is not None
    expect(page.locator(f'article[data-post-id="{latest.remote_id}"] .tag')).to_have_text("latest")
    handle = page.locator("#composer .composer-head .handle").inner_text().removeprefix("@")

    page.keyboard.press("r")
    reply_box = page.locator("#reply-text")
    expect(reply_box).to_be_focused()
    reply_box.press_sequentially(text)
    reply_box.press("Control+Enter")
    expect(page.get_by_text(f"Reply queued from @{handle}")).to_be_visible()
    sent = page.locator("article.post-out", has_text=text)
    expect(sent.locator(".badge-sent")).to_have_text("Sent", timeout=SENT_WITHIN_MS)
    view = sent.get_by_role("link", name=f"View on {label} ↗")
    links = page.locator("#ticket-head h1 a, a.post-link")
    return Answered(
        ticket,
        latest,
        handle,
        view.get_attribute("href") or "",
        [links.nth(i).get_attribute("href") or "" for i in range(links.count())],
    )


def sandbox_page_shows(page: Page, answered: Answered, text: str) -> None:
    """The "View on …" link opens a readable page of the sandbox showing the reply."""
    with page.context.expect_page() as opened:
        page.locator("article.post-out", has_text=text).get_by_role(
            "link", name=re.compile(r"^View on ")
        ).click()
    post_page = opened.value
    expect(post_page).to_have_url(answered.view_href)
    expect(post_page.locator("blockquote")).to_contain_text(text)
    expect(post_page.locator("body")).to_contain_text("Sandbox")
    post_page.close()


def test_an_advocate_answers_a_mention_on_each_network_from_the_demo(
    page: Page, live_server: Any, demo: Demo, screenshot_dir: Path
) -> None:
    # Requesters add to their conversations before anyone answers: lena_ops's follow-up on
    # Mastodon is followers-only, kofi_builds's on Bluesky is a reply to his first post.
    mastodon_player = player(demo, "sandbox-mastodon-script")
    for _ in range(4):
        mastodon_player.step()
    player(demo, "sandbox-bluesky-script").step()
    ingest()
    sign_in(page, live_server.url, "ana", password=PASSWORD)

    # X
    text = "Sorry about the 502s: pushes work again, the fix is live."
    x = answer_from_view(page, live_server.url, "Twitter", text, "X")
    assert x.view_href.startswith(f"{demo.x.url}/{x.handle}/status/")
    x.links_stay_on(demo.x.url)
    page.screenshot(path=str(screenshot_dir / "demo-x-sent.png"), full_page=True)
    sandbox_page_shows(page, x, text)

    # Mastodon
    text = "Yes: they run on their own after the upgrade, nothing to start by hand."
    mastodon = answer_from_view(page, live_server.url, "Mastodon", text, "Mastodon")
    assert mastodon.view_href.startswith(f"{demo.networks.mastodon.url}/@{mastodon.handle}/")
    mastodon.links_stay_on(demo.networks.mastodon.url)
    page.screenshot(path=str(screenshot_dir / "demo-mastodon-sent.png"), full_page=True)
    sandbox_page_shows(page, mastodon, text)

    # Bluesky
    text = "We are on it: the runners' disks are being cleaned, jobs retry on their own."
    bluesky = answer_from_view(page, live_server.url, "Bluesky", text, "Bluesky")
    assert bluesky.view_href.startswith(
        f"{demo.networks.bluesky.url}/profile/{bluesky.handle}/post/"
    )
    bluesky.links_stay_on(demo.networks.bluesky.url)
    page.screenshot(path=str(screenshot_dir / "demo-bluesky-sent.png"), full_page=True)
    sandbox_page_shows(page, bluesky, text)

    # Another pass of the outbox sends nothing again.
    services.outbox_drain()
    assert set(Reply.objects.values_list("status", flat=True)) == {Reply.Status.SENT}

    x_replies_once(demo, x)
    mastodon_replies_once(demo, mastodon)
    bluesky_replies_once(demo, bluesky)


def x_replies_once(demo: Demo, answered: Answered) -> None:
    store = demo.x.store
    requester = answered.ticket.requester_username
    assert store.posts(requester)[-1]["id"] == answered.latest.remote_id, "the latest post"
    answers = [
        (post, author)
        for author in ("Driftwood", "DriftwoodStatus", "MoveToDriftwood")
        for post in store.posts(author)
        if {"type": "replied_to", "id": answered.latest.remote_id}
        in post.get("referenced_tweets", [])
    ]
    assert [author for _, author in answers] == [answered.handle], "one reply, from its handle"
    (post, _) = answers[0]
    assert answered.view_href == f"{demo.x.url}/{answered.handle}/status/{post['id']}"


def mastodon_replies_once(demo: Demo, answered: Answered) -> None:
    store = demo.networks.mastodon.store
    requester = store.account_by_username(answered.ticket.requester_username)
    assert requester is not None
    latest = store.statuses_by(requester.id)[-1]
    assert latest["id"] == answered.latest.remote_id, "the latest post"
    answers = [
        s
        for s in store.statuses.values()
        if s["in_reply_to_id"] == latest["id"] and s["account_id"] != requester.id
    ]
    assert [store.accounts[s["account_id"]].username for s in answers] == [answered.handle]
    (status,) = answers
    assert latest["visibility"] != "public", "the follow-up this test played"
    assert status["visibility"] == latest["visibility"], "the reply keeps its audience"
    assert status["text"].startswith(f"@{requester.username} "), "addressed to the requester"
    assert answered.view_href == (f"{demo.networks.mastodon.url}/@{answered.handle}/{status['id']}")


def bluesky_replies_once(demo: Demo, answered: Answered) -> None:
    store = demo.networks.bluesky.store
    assert store is not None
    requester = answered.ticket.requester_username
    latest = store.posts_by(requester)[-1]
    assert latest["uri"] == answered.latest.remote_id, "the latest post"
    parent = {"uri": latest["uri"], "cid": latest["cid"]}
    root = latest["value"].get("reply", {}).get("root", parent)
    assert root != parent, "the follow-up this test played: a thread of two"
    answers = [
        (post, handle)
        for handle in ("driftwood.dev", "status.driftwood.dev")
        for post in store.posts_by(handle)
        if post["value"].get("reply", {}).get("parent", {}).get("uri") == latest["uri"]
    ]
    assert [handle for _, handle in answers] == [answered.handle], "one reply, from its handle"
    (post, _) = answers[0]
    refs = post["value"]["reply"]
    assert {key: strong_ref(refs[key]) for key in ("root", "parent")} == {
        "root": strong_ref(root),
        "parent": parent,
    }
    assert answered.view_href == (
        f"{demo.networks.bluesky.url}/profile/{answered.handle}/post/{post['rkey']}"
    )


def strong_ref(ref: dict[str, Any]) -> dict[str, str]:
    """A strong ref's uri and cid (the SDK also writes its `$type`)."""
    return {"uri": ref["uri"], "cid": ref["cid"]}
