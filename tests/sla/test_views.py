"""The queue page: time left per ticket, sorting by it, and rows about to breach."""

from __future__ import annotations

import re
from typing import Any

import time_machine
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle

from .conftest import at, carol_says, we_say_from_the_x_app

QUEUE = reverse("tickets:queue")


def rows(client: Client, query: str = "") -> list[tuple[str, str, str]]:
    """(row classes, subject link's ticket, time-left text) per queue row."""
    page = client.get(QUEUE + query).content.decode()
    found = re.findall(
        r'<tr class="ticket-row([^"]*)" data-ticket-id="(\d+)">.*?<td class="col-sla">(.*?)</td>',
        page,
        re.S,
    )
    return [
        (classes.strip(), pk, re.sub(r"<[^>]+>", "", cell).strip()) for classes, pk, cell in found
    ]


def test_queue_shows_time_left_highlights_and_sorts_by_it(
    handle: Handle,
    advocate: User,
    client: Client,
    clock: time_machine.Coordinates,
    django_assert_max_num_queries: Any,
) -> None:
    client.force_login(advocate)
    clock.move_to(at(10, 1))
    carol_says(handle, at(10), "1")  # first response due 10:30
    clock.move_to(at(10, 16))
    carol_says(handle, at(10, 15), "2")  # due 10:45
    clock.move_to(at(10, 21))
    we_say_from_the_x_app(handle, at(10, 20), "1")  # answered; resolution due 12:00
    clock.move_to(at(10, 40))  # 5 min before ticket 2's deadline: within warn_before (10m)
    first, second = (str(pk) for pk in handle.tickets.order_by("pk").values_list("pk", flat=True))
    assert rows(client, "?view=twitter") == [
        ("is-unassigned", first, "1h 20m"),
        ("is-unassigned is-sla-warning", second, "5m"),
    ]
    clock.move_to(at(10, 50))
    carol_says(handle, at(10, 49), "3")  # due 11:19
    third = str(handle.tickets.latest("pk").pk)
    clock.move_to(at(11, 10))
    # + 1: the incident cards above the rows (outage surges); + 1: the saved searches in the
    # sidebar (none here: the list query alone); + 1: the version the queue's pulse starts from.
    with django_assert_max_num_queries(9):
        by_due = rows(client, "?view=twitter&sort=due")
    assert by_due == [
        ("is-unassigned is-sla-overdue", second, "25m late"),
        ("is-unassigned is-sla-warning", third, "9m"),
        ("is-unassigned", first, "50m"),
    ]
