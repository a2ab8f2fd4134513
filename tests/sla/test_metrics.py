"""SLA figures on /metrics: tickets overdue now, and breaches recorded."""

from __future__ import annotations

import time_machine
from django.test import Client, override_settings

from mentiondesk.actions import sla as sla_actions
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.slack import SlackServer
from tests.sla.conftest import breached_ticket


def _metrics(client: Client) -> set[str]:
    with override_settings(METRICS_TOKEN="t"):
        response = client.get("/metrics", headers={"Authorization": "Bearer t"})
    return set(response.content.decode().splitlines())


def test_overdue_tickets_and_breaches_are_exported(
    client: Client, handle: Handle, clock: time_machine.Coordinates, slack: SlackServer
) -> None:
    breached_ticket(handle, clock)
    lines = _metrics(client)
    assert 'mentiondesk_sla_overdue{metric="first_response"} 1.0' in lines
    assert not any(line.startswith("mentiondesk_sla_breaches_total{") for line in lines)
    sla_actions.sla_breaches_notify()
    assert 'mentiondesk_sla_breaches_total{metric="first_response"} 1.0' in _metrics(client)
