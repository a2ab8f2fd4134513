"""SLA fixtures: a desk with SLA targets and a clock to move, posts stored through the real
ingest, and the local Slack-compatible server for breach alerts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import TestCase

from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.models import Handle
from mentiondesk.intake import ingest as channel_services
from mentiondesk.sla.models import TicketSla
from mentiondesk.tickets.models import Ticket
from tests.factories import remote_post
from tests.integrations.conftest import slack, slack_server  # noqa: F401

OUR_ID = "100"
POLICY = f"""
[[handle]]
username = "Driftwood"
user_id = "{OUR_ID}"

[sla]
breach_channel = "support_managers"
warn_before = "10m"

[[sla.target]]
name = "outage"
priorities = ["high"]
first_response = "15m"

[[sla.target]]
name = "default"
first_response = "30m"
next_response = "45m"
resolution = "2h"
"""
DAY = datetime(2026, 6, 2, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute, second=second)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """The desk's clock, moved by each step (events are stamped with the time they happen)."""
    with time_machine.travel(at(9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def handle(db: None, clock: time_machine.Coordinates) -> Handle:
    policy_actions.policy_apply_text(text=POLICY, source="sla.toml")
    return Handle.objects.get(username="Driftwood")


def carol_says(handle: Handle, when: datetime, conversation: str = "7000") -> None:
    post = remote_post(
        author="carol", text="@Driftwood how do I rename a project?", conversation_id=conversation
    )
    store(handle, replace(post, created_at=when))


def we_say_from_the_x_app(handle: Handle, when: datetime, conversation: str = "7000") -> None:
    """Our post found on our own timeline: answered outside the desk, attached by ingest."""
    post = remote_post(
        author="Driftwood", author_id=OUR_ID, text="@carol on it", conversation_id=conversation
    )
    store(handle, replace(post, created_at=when))


def store(handle: Handle, post: RemotePost) -> None:
    """Ingest `post`, and run what ingest leaves for after the commit (the SLA refresh,
    triage) as a worker would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        channel_services.mentions_store(handle=handle, posts=[post])


def sla_of(ticket: Ticket) -> TicketSla:
    return TicketSla.objects.get(ticket=ticket)


def breached_ticket(handle: Handle, clock: time_machine.Coordinates) -> Ticket:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10))
    clock.move_to(at(10, 31))  # first response was due 10:30
    return Ticket.objects.get()
