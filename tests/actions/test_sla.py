"""SLA breach alerts (`actions.sla.sla_breaches_notify`) on the SLA desk of tests/sla: posted
to Slack once, never for old breaches or for a clock an ingested reply already stopped."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import time_machine
from django.db import connections

from mentiondesk.actions import policy as policy_actions
from mentiondesk.actions import sla as sla_actions
from mentiondesk.channels.models import Handle
from mentiondesk.intake import ingest as channel_services
from mentiondesk.integrations.slack import services as slack_services
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.sandbox.slack import SlackServer
from mentiondesk.sla.models import SlaBreach
from mentiondesk.tickets.models import Ticket
from tests.factories import remote_post
from tests.sla.conftest import OUR_ID, POLICY, at, breached_ticket, carol_says, sla_of


def test_a_breach_is_posted_to_slack_once(
    handle: Handle,
    clock: time_machine.Coordinates,
    slack: SlackServer,
    django_capture_on_commit_callbacks: object,
) -> None:
    ticket = breached_ticket(handle, clock)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert sla_actions.sla_breaches_notify() == 1
        assert sla_actions.sla_breaches_notify() == 0
    clock.move_to(at(10, 40))
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert sla_actions.sla_breaches_notify() == 0
    (message,) = slack.messages
    assert message.channel == slack.channel_id("support_managers")
    assert message.text.startswith(
        f"SLA breached: first response on ticket #{ticket.pk} from @carol to @Driftwood was "
        "due 2026-06-02 10:30 UTC."
    )
    assert SlaBreach.objects.get().slack_message.status == SlackMessage.Status.SENT


def test_old_breaches_are_recorded_but_not_announced(
    handle: Handle, clock: time_machine.Coordinates, slack: SlackServer
) -> None:
    breached_ticket(handle, clock)
    clock.move_to(at(10, 30).replace(day=4))  # two days late
    assert sla_actions.sla_breaches_notify() == 0
    assert not SlackMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_breach_jobs_post_once(slack: SlackServer) -> None:
    policy_actions.policy_apply_text(text=POLICY, source="sla.toml")
    handle = Handle.objects.get(username="Driftwood")
    with time_machine.travel(at(10, 1), tick=False) as clock:
        for conversation in ("1", "2", "3"):
            carol_says(handle, at(10), conversation)
        clock.move_to(at(10, 31))
        start = threading.Barrier(4)
        errors: list[BaseException] = []
        announced: list[int] = []

        def job() -> None:
            try:
                start.wait()
                announced.append(sla_actions.sla_breaches_notify())
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=job) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert sum(announced) == 3
        assert SlaBreach.objects.count() == 3
        slack_services.slack_outbox_drain()
    assert len(slack.messages) == 3
    assert len({m.text for m in slack.messages}) == 3


def test_no_alert_for_a_clock_an_ingested_reply_stopped_before_its_refresh_ran(
    handle: Handle, clock: time_machine.Coordinates, slack: SlackServer
) -> None:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10))
    clock.move_to(at(10, 29))
    answer = remote_post(
        author="Driftwood", author_id=OUR_ID, text="@carol done", conversation_id="7000"
    )
    # Stored, but the worker has not refreshed the ticket yet: it still looks due at 10:30.
    channel_services.mentions_store(handle=handle, posts=[replace(answer, created_at=at(10, 28))])
    assert sla_of(Ticket.objects.get()).due_at == at(10, 30)
    clock.move_to(at(10, 31))
    assert sla_actions.sla_breaches_notify() == 0
    assert not SlaBreach.objects.exists()
    assert sla_of(Ticket.objects.get()).due_metric == "resolution"
