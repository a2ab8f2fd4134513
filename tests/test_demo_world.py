"""The demo's world beyond X (issue 20, items 1-3), at the services level: the stand-ins the
demo starts give the scripted mentions' tickets evidence, the Slack actions land in the Slack
stand-in, the status page follows the script, "View on X" stays on the sandbox and link
previews never resolve an outside name."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

import mentiondesk
from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Post
from mentiondesk.desk.demo_tour import TOUR, demo_tour_steps
from mentiondesk.desk.demo_world import (
    PUSH_ERRORS,
    RUNNERS_PENDING,
    SSH_APAC,
    DemoWorld,
    demo_slack_channels,
    demo_world_serve,
    demo_world_settings,
    demo_world_stop,
    status_follow_step,
)
from mentiondesk.intake import ingest
from mentiondesk.integrations.previews import fetch
from mentiondesk.integrations.previews.choices import PreviewStatus
from mentiondesk.integrations.previews.models import LinkPreview
from mentiondesk.integrations.slack.escalations import ticket_escalate, ticket_report_spam
from mentiondesk.replies.evidence import ticket_evidence_stored
from mentiondesk.sandbox.x.script import SCRIPT, SEED_COUNT, ScriptPlayer, script_seed
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.conftest import PASSWORD

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"the demo resolved {host}")


@pytest.fixture
def world(
    desk: SandboxServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DemoWorld]:
    """The demo's world around the test desk's sandbox, seeded with the script's first
    mentions; any name lookup by the link previewer fails the test."""
    monkeypatch.setattr(fetch, "peer_policy", fetch.PeerPolicy(resolve=no_dns))
    started = demo_world_serve()
    try:
        for name, value in demo_world_settings(world=started, x=desk).items():
            setattr(settings, name, value)
        script_seed(desk.store)
        status_follow_step(world=started, store=desk.store)
        yield started
    finally:
        demo_world_stop(world=started)


def ticket_of(username: str) -> Ticket:
    ticket = Ticket.objects.filter(requester_username=username).order_by("created_at").first()
    assert ticket is not None, username
    return ticket


def ingested() -> None:
    results = ingest.mentions_poll_all()
    assert not [r.error for r in results if r.error]


def test_scripted_mentions_get_evidence_from_every_stand_in(
    world: DemoWorld, django_capture_on_commit_callbacks: OnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ingested()

    marta = ticket_evidence_stored(ticket=ticket_of("marta_dev"))
    assert marta is not None
    issues = marta.sources["issuetracker"].items
    assert issues[0]["url"] == world.gitlab.web_url("driftwood/driftwood", 48211)
    incidents = [i["title"] for i in marta.sources["statuspage"].items]
    assert incidents == [RUNNERS_PENDING.name, PUSH_ERRORS.name]  # worst impact first

    tomasz = ticket_evidence_stored(ticket=ticket_of("tomasz_w"))
    assert tomasz is not None
    assert tomasz.sources["forum"].items[0]["url"].endswith("/8812")
    assert any("35512" in t["url"] for t in tomasz.sources["helpdesk"].items)
    assert not tomasz.unconfigured, "no source is left off in the demo"


def test_ask_an_expert_and_report_spam_post_into_the_slack_stand_in(
    world: DemoWorld,
    desk: SandboxServer,
    advocate: User,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    ingested()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_escalate(ticket=ticket_of("lena_ops"), by=advocate, category="self_managed")
        ticket_report_spam(ticket=ticket_of("bea_sec"), by=advocate)

    channels = {c.name: c for c in demo_slack_channels(world=world)}
    (question,) = channels["support_self-managed"].messages
    assert "@lena_ops" in question.text and "PostgreSQL 14" in question.text
    (report,) = channels["abuse"].messages
    assert "https://driftwood.dev/openleaf/leaf/-/issues/3391" in report.text
    # The report links the post on the sandbox network, never on x.com.
    assert f"{desk.url}/bea_sec/status/" in report.text
    assert "x.com" not in report.text


def test_the_status_page_opens_and_resolves_incidents_as_the_script_plays(
    world: DemoWorld, desk: SandboxServer
) -> None:
    assert world.statuspage.incidents_open() == [RUNNERS_PENDING.name, PUSH_ERRORS.name]
    player = ScriptPlayer(desk.store, follow_up_chance=0)
    played = {SCRIPT[SEED_COUNT].text}
    player.step()  # kofi: "runners picked up again"
    assert status_follow_step(world=world, store=desk.store) == [
        f"resolved: {RUNNERS_PENDING.name}"
    ]
    while not any("SSH clones are timing out" in text for text in played):
        played.update(desk.store.post_get(i)["text"] for i in player.step())  # type: ignore[index]
    assert status_follow_step(world=world, store=desk.store) == [f"opened: {SSH_APAC.name}"]
    assert world.statuspage.incidents_open() == [SSH_APAC.name, PUSH_ERRORS.name]


def test_view_on_x_leads_to_the_sandbox_post_page(world: DemoWorld, desk: SandboxServer) -> None:
    ingested()
    post = Post.objects.filter(author_username="marta_dev").first()
    assert post is not None
    assert post.url == f"{desk.url}/marta_dev/status/{post.remote_id}"
    page = httpx.get(post.url)
    assert page.status_code == 200
    assert "merge request diff view crashes" in page.text
    assert httpx.get(f"{desk.url}/marta_dev/status/1").status_code == 404


def test_link_previews_come_from_the_offline_web_without_a_name_lookup(
    world: DemoWorld, django_capture_on_commit_callbacks: OnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ingested()
    issue = LinkPreview.objects.get(url="https://driftwood.dev/driftwood/driftwood/-/issues/48211")
    assert issue.status == PreviewStatus.OK, issue.error
    assert issue.title.startswith("Merge request diff view crashes on files over 5,000 lines")
    assert issue.domain == "driftwood.dev"

    assert fetch.link_fetch("https://pics.example.net/mila/ide-dark-diff.png").error == (
        "failed: not an HTML page (image/png)"
    )
    assert fetch.link_fetch("https://docs.driftwood.dev/ci/environments/protected").error == (
        "failed: the site answered HTTP 404"
    )
    # An address written in a link is refused as on a real desk, offline web or not.
    assert fetch.link_fetch(f"{world.web.url}/").error.startswith(
        "refused: 127.0.0.1 is a loopback address"
    )


def test_the_slack_page_shows_the_channels_only_in_the_demo(
    world: DemoWorld, advocate: User, client: Client, django_capture_on_commit_callbacks: OnCommit
) -> None:
    ingested()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_report_spam(ticket=ticket_of("bea_sec"), by=advocate)
    advocate.set_password(PASSWORD)
    advocate.save()
    client.force_login(advocate)
    page = client.get("/demo/slack/")
    assert page.status_code == 200
    assert b"#abuse" in page.content and b"Spam reported by @bea_sec" in page.content
    assert b'href="/demo/slack/"' in client.get("/").content

    demo_world_stop(world=world)
    assert client.get("/demo/slack/").status_code == 404
    assert b'href="/demo/slack/"' not in client.get("/").content


def test_the_tour_links_each_handbook_step_to_a_ticket_or_page_to_try_it(
    world: DemoWorld, advocate: User, client: Client
) -> None:
    ingested()
    client.force_login(advocate)
    page = client.get("/demo/tour/")
    assert page.status_code == 200
    html = page.content.decode()
    spam = ticket_of("bea_sec")
    assert f'href="/tickets/{spam.pk}/">Try it on @bea_sec\'s ticket</a>' in html
    assert "Reports of spam" in html and 'href="/status/">Try it</a>' in html
    # A step whose mention the script has not played yet says so instead of a dead link.
    assert "@alex_j's mention has not arrived yet" in html
    steps = demo_tour_steps()
    assert [s for s in steps if not s.url] == [s for s in steps if s.step.requester == "alex_j"]

    demo_world_stop(world=world)
    assert client.get("/demo/tour/").status_code == 404


def test_every_evidence_link_leads_to_a_page_on_a_stand_in(
    world: DemoWorld, desk: SandboxServer, django_capture_on_commit_callbacks: OnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ingested()
    stand_ins = [server.url for server in world.servers()]
    titles = {}
    for username in ("marta_dev", "tomasz_w", "lena_ops"):
        found = ticket_evidence_stored(ticket=ticket_of(username))
        assert found is not None
        links = [item["url"] for result in found.configured for item in result.items]
        links += [found.variables["new_issue_url"], found.variables["forum_category_url"]]
        for url in links:
            assert url.startswith(tuple(stand_ins)), url
            page = httpx.get(url)
            assert page.status_code == 200, url
            assert page.headers["content-type"] == "text/html; charset=utf-8"
            titles[url] = page.text
    incident = next(u for u in titles if "/incidents/" in u)
    assert f"{RUNNERS_PENDING.name}</title>" in titles[incident]
    world.statuspage.incident_resolve(RUNNERS_PENDING.name)
    assert "<p>resolved · major impact</p>" in httpx.get(incident).text
    assert httpx.get(f"{world.gitlab.url}/driftwood/runner/-/issues/2210").status_code == 404


def test_no_environment_variable_points_a_desks_previews_at_an_offline_web() -> None:
    env = {**os.environ, "MENTIONDESK_LINKS_OFFLINE_WEB_URL": "http://127.0.0.1:9"}
    env["PYTHONPATH"] = str(Path(mentiondesk.__file__).parents[1])
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mentiondesk import settings; print(repr(settings.LINKS_OFFLINE_WEB_URL))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == "''"


def test_every_tour_step_has_a_browser_journey_that_follows_it() -> None:
    """Issue 20: each handbook step of the demo is driven in Chromium (tests/browser/), from
    the Tour's own link to try it; a step added to the tour needs its journey."""
    journeys = "".join(
        path.read_text() for path in (Path(__file__).parent / "browser").glob("test_*.py")
    )
    untried = [
        step.title
        for step in TOUR
        if not re.search(
            rf'tour_try\(\s*page,\s*live_server\.url,\s*"{re.escape(step.title)}"', journeys
        )
    ]
    assert untried == []
