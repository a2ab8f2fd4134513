"""A status update that asks for follow-ups sets them off once the worker has sent it: the
delivery calls back into status.py (`REPLY_SENT_HOOKS`), after commit, never before."""

from __future__ import annotations

from typing import Any

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(desk: SandboxServer, advocate: User) -> Ticket:
    """An open availability ticket: what a status update follows up."""
    desk.store.mention_add("kai", "@Driftwood @DriftwoodStatus is the API down?")
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]
    return ticket_actions.ticket_intent_set(
        ticket=Ticket.objects.get(), intent="availability", by=advocate
    )


@pytest.mark.parametrize("follow_up", [True, False])
def test_sending_a_status_update_follows_up_open_reports_when_asked(
    report: Ticket,
    infrastructure: User,
    follow_up: bool,
    django_capture_on_commit_callbacks: Any,
) -> None:
    update = services.status_update_create(
        by=infrastructure,
        text="We're investigating API errors.",
        incident_url="https://status.driftwood.dev/incidents/7",
        follow_up_open_reports=follow_up,
    )
    with django_capture_on_commit_callbacks() as after_commit:
        assert services.reply_deliver(reply_id=update.pk).status == Reply.Status.SENT
    assert not Reply.objects.filter(ticket=report).exists()  # nothing before the commit

    for callback in after_commit:
        callback()

    follow_ups = Reply.objects.filter(ticket=report, automation_phase="incident")
    assert [r.text for r in follow_ups] == (
        [
            "@kai we've posted an update on this: https://status.driftwood.dev/incidents/7 "
            "Are you still experiencing issues?"
        ]
        if follow_up
        else []
    )
