"""SLA fields through the REST API: time left on every ticket, sorting by it, the clocks."""

from __future__ import annotations

from typing import Any

import time_machine
from django.test import Client

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.tickets.models import Ticket

from .conftest import at, carol_says, we_say_from_the_x_app


def api_get(user: User, path: str) -> Any:
    _, raw = account_services.token_create(user=user)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(f"/api/v1{path}")
    assert response.status_code == 200, response.content
    return response.json()


def test_tickets_carry_time_left_and_sort_by_it(
    handle: Handle, advocate: User, clock: time_machine.Coordinates
) -> None:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10), "1")  # first response due 10:30
    clock.move_to(at(10, 6))
    carol_says(handle, at(10, 5), "2")  # due 10:35
    clock.move_to(at(10, 7))
    we_say_from_the_x_app(handle, at(10, 6), "1")  # answered: resolution due 12:00
    clock.move_to(at(10, 28))

    oldest_first = api_get(advocate, "/tickets")["items"]
    assert [t["conversation_id"] for t in oldest_first] == ["1", "2"]
    assert oldest_first[1]["sla"] == {
        "state": "warning",  # 7 minutes left, within warn_before (10m)
        "metric": "first_response",
        "due_at": "2026-06-02T10:35:00Z",
        "time_left_seconds": 7 * 60,
        "breached": False,
    }
    by_due = api_get(advocate, "/tickets?sort=due")["items"]
    assert [(t["conversation_id"], t["sla"]["due_at"]) for t in by_due] == [
        ("2", "2026-06-02T10:35:00Z"),
        ("1", "2026-06-02T12:00:00Z"),
    ]

    clock.move_to(at(10, 36))
    late = api_get(advocate, f"/tickets/{Ticket.objects.get(conversation_id='2').pk}")["sla"]
    assert (late["state"], late["time_left_seconds"], late["breached"]) == ("overdue", -60, True)


def test_ticket_clocks_endpoint(
    handle: Handle, advocate: User, clock: time_machine.Coordinates
) -> None:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10))
    clock.move_to(at(10, 41))
    we_say_from_the_x_app(handle, at(10, 40))
    ticket = Ticket.objects.get()
    clocks = api_get(advocate, f"/tickets/{ticket.pk}/sla")
    assert clocks == [
        {
            "metric": "first_response",
            "started_at": "2026-06-02T10:00:00Z",
            "stopped_at": "2026-06-02T10:40:00Z",
            "due_at": "2026-06-02T10:30:00Z",
            "target_seconds": 1800,
            "elapsed_seconds": 2400.0,
            "outcome": "breached",
        },
        {
            "metric": "resolution",
            "started_at": "2026-06-02T10:00:00Z",
            "stopped_at": None,
            "due_at": "2026-06-02T12:00:00Z",
            "target_seconds": 7200,
            "elapsed_seconds": 2460.0,
            "outcome": "running",
        },
    ]
