"""The demo's world beyond X (issue 20, items 1-3): local stand-ins of Slack, the status page,
the issue tracker, the forum and the support helpdesk, with Driftwood's content, and the
offline web behind the mentions' links, so every step of the handbook can be tried in the demo
without a credential or the internet.

`demo_world_start` starts them (each a daemon thread on a free local port: binding is all the
start waits for) and points the desk's settings at them, in this process only. The status page
follows the X script: an incident opens with the first reports of it and is resolved when the
requesters say it works again (`STATUS_SCRIPT`, watched by a thread). `demo_world_current` is
what the demo-only pages read (the Slack channels, the tour); None outside the demo.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from mentiondesk.sandbox.forum import DiscourseServer
from mentiondesk.sandbox.helpdesk import ZendeskServer
from mentiondesk.sandbox.issuetracker import GitLabServer, driftwood_projects
from mentiondesk.sandbox.slack import SlackServer
from mentiondesk.sandbox.statuspage import CannedIncident, StatuspageServer, driftwood_incidents
from mentiondesk.sandbox.web import WebServer
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.sandbox.x.store import SandboxStore

logger = logging.getLogger(__name__)

# Linked by their page on the stand-in: a shortlink would lead outside the demo.
RUNNERS_PENDING, PUSH_ERRORS = (replace(i, shortlink=None) for i in driftwood_incidents())
SSH_APAC = CannedIncident(
    name="SSH git operations timing out in Asia-Pacific",
    status="investigating",
    impact="minor",
    updates=[
        (
            "investigating",
            "Clones and pushes over SSH time out for some users in Asia-Pacific. HTTPS is not "
            "affected. We are looking at our Tokyo edge.",
        )
    ],
    components=["Git operations (SSH and HTTPS)"],
    new_status="degraded_performance",
    started_minutes_ago=4,
)
WEBHOOKS_DELAYED = CannedIncident(
    name="Webhook deliveries delayed",
    status="identified",
    impact="minor",
    updates=[
        ("investigating", "Some project webhooks are not being delivered."),
        ("identified", "A queue backlog delays webhook deliveries; we are adding workers."),
    ],
    components=["API"],
    new_status="degraded_performance",
    started_minutes_ago=10,
)


@dataclass(frozen=True)
class StatusEvent:
    """Once a mention containing `when` is on the network, open `opens` or resolve the
    incident named `resolves`."""

    when: str
    opens: CannedIncident | None = None
    resolves: str = ""


# What Driftwood's infrastructure team posts as the script plays (sandbox/x/script.py).
STATUS_SCRIPT = (
    StatusEvent("Three pushes failed in the last 10 minutes", opens=PUSH_ERRORS),
    StatusEvent("pipelines have been pending for 40 minutes", opens=RUNNERS_PENDING),
    StatusEvent("runners picked up again", resolves=RUNNERS_PENDING.name),
    StatusEvent("SSH clones are timing out from Tokyo", opens=SSH_APAC),
    StatusEvent("back up for me now", resolves=PUSH_ERRORS.name),
    StatusEvent("run the background migrations by hand", resolves=SSH_APAC.name),
    StatusEvent("webhooks to our Jenkins stopped firing", opens=WEBHOOKS_DELAYED),
)
# The status page is asked again this often, so a resolved incident leaves the tickets soon.
STATUS_CACHE_SECONDS = 10.0
STATUS_FOLLOW_SECONDS = 1.0
# Slack retries within seconds: nobody waits half a minute in a demo.
SLACK_RETRY_BASE_SECONDS = 2.0


@dataclass
class DemoWorld:
    slack: SlackServer
    statuspage: StatuspageServer
    gitlab: GitLabServer
    forum: DiscourseServer
    helpdesk: ZendeskServer
    web: WebServer
    stop: threading.Event = field(default_factory=threading.Event)
    status_done: set[int] = field(default_factory=set)

    def servers(self) -> list[Any]:
        return [self.slack, self.statuspage, self.gitlab, self.forum, self.helpdesk, self.web]


_current: DemoWorld | None = None


def demo_world_serve() -> DemoWorld:
    """Start the stand-ins on free local ports, with Driftwood's content; the status page
    starts with no incident (the script opens them). The demo's pages find it through
    `demo_world_current` from now on."""
    global _current  # one demo world per process, read by its pages
    world = DemoWorld(
        slack=SlackServer(workspace="driftwood").start(),
        statuspage=StatuspageServer(incidents=[]).start(),
        gitlab=GitLabServer().start(),
        forum=DiscourseServer().start(),
        helpdesk=ZendeskServer().start(),
        web=WebServer().start(),
    )
    _current = world
    return world


def demo_world_settings(*, world: DemoWorld, x: SandboxServer) -> dict[str, Any]:
    """The settings that point the desk at `world` and at the X sandbox's web pages."""
    return {
        "SLACK_ENABLED": True,
        "SLACK_API_URL": world.slack.api_url,
        "SLACK_BOT_TOKEN": world.slack.token,
        "SLACK_RETRY_BASE_SECONDS": SLACK_RETRY_BASE_SECONDS,
        "STATUSPAGE_URL": world.statuspage.url,
        "STATUSPAGE_CACHE_SECONDS": STATUS_CACHE_SECONDS,
        "GITLAB_URL": world.gitlab.url,
        "GITLAB_TOKEN": world.gitlab.token,
        "GITLAB_PROJECTS": [project.path for project in driftwood_projects()],
        "DISCOURSE_URL": world.forum.url,
        "ZENDESK_URL": world.helpdesk.url,
        "ZENDESK_EMAIL": world.helpdesk.email,
        "ZENDESK_TOKEN": world.helpdesk.api_token,
        "LINKS_OFFLINE_WEB_URL": world.web.url,
        "X_WEB_URL": x.url,
    }


def demo_world_start(*, x: SandboxServer) -> DemoWorld:
    """Start the world (`demo_world_serve`), point this process's settings at it, open the
    incidents the seeded mentions report, and keep the status page following the script."""
    world = demo_world_serve()
    for name, value in demo_world_settings(world=world, x=x).items():
        setattr(settings, name, value)
    status_follow_step(world=world, store=x.store)
    threading.Thread(
        target=_status_follow,
        kwargs={"world": world, "store": x.store},
        name="demo-statuspage",
        daemon=True,
    ).start()
    return world


def demo_world_stop(*, world: DemoWorld) -> None:
    """Stop `world`'s servers and its status thread (tests; the demo ends with its process)."""
    global _current
    world.stop.set()
    for server in world.servers():
        server.stop()
    if _current is world:
        _current = None


def demo_world_current() -> DemoWorld | None:
    """The running demo's world; None when this process is not the demo."""
    return _current


def status_follow_step(*, world: DemoWorld, store: SandboxStore) -> list[str]:
    """Apply the STATUS_SCRIPT events whose mention is now on the network, each once; returns
    what changed ("opened: …", "resolved: …")."""
    texts = [post["text"] for post in store.posts()]
    changes = []
    for index, event in enumerate(STATUS_SCRIPT):
        if index in world.status_done or not any(event.when in text for text in texts):
            continue
        world.status_done.add(index)
        if event.opens is not None:
            world.statuspage.incident_add(event.opens)
            changes.append(f"opened: {event.opens.name}")
        if event.resolves and world.statuspage.incident_resolve(event.resolves):
            changes.append(f"resolved: {event.resolves}")
    return changes


def _status_follow(*, world: DemoWorld, store: SandboxStore) -> None:
    while not world.stop.wait(STATUS_FOLLOW_SECONDS):
        try:
            status_follow_step(world=world, store=store)
        except Exception:
            # The demo goes on without its status page moving; the log says why.
            logger.exception("demo status page step failed")


# What the demo's pages show


@dataclass(frozen=True)
class SlackMessageShown:
    at: datetime
    text: str


@dataclass(frozen=True)
class SlackChannelShown:
    name: str
    channel_id: str
    messages: list[SlackMessageShown]


def demo_slack_channels(*, world: DemoWorld) -> list[SlackChannelShown]:
    """The Slack stand-in's channels, each with the messages the desk posted there, newest
    first; channels with messages come first."""
    messages = world.slack.messages
    channels = [
        SlackChannelShown(
            name=name,
            channel_id=channel_id,
            messages=[
                SlackMessageShown(at=datetime.fromtimestamp(float(m.ts), tz=UTC), text=m.text)
                for m in reversed(messages)
                if m.channel == channel_id
            ],
        )
        for name, channel_id in world.slack.channels.items()
    ]
    return sorted(channels, key=lambda c: not c.messages)
