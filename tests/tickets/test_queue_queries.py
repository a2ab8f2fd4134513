"""The queue page and the API list cost the same number of queries for 5 tickets or 60: no
query per row, whatever the page shows about each ticket."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket
from tests.factories import remote_post, tickets_from


def _queries(client: Client, path: str, **extra: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **extra)
    assert response.status_code == 200, path
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_queue_and_list_queries_do_not_grow_with_the_tickets(
    client: Client, main_handle: Handle, lead: User
) -> None:
    client.force_login(lead)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {account_services.token_create(user=lead)[1]}"}
    tickets_from(main_handle, *(remote_post(author=f"few{i}", minutes=i) for i in range(5)))
    client.get("/api/v1/tickets", **auth)  # the token's first use is recorded: one write
    few = (_queries(client, "/"), _queries(client, "/api/v1/tickets", **auth))
    tickets_from(
        main_handle,
        *(
            remote_post(author=f"many{i}", text=f"@Driftwood help https://t.co/x{i}", minutes=i)
            for i in range(55)
        ),
    )
    many = (_queries(client, "/"), _queries(client, "/api/v1/tickets", **auth))
    assert many == few


@pytest.mark.django_db
def test_sidebar_counts_each_view_and_stops_at_the_cap(
    client: Client, main_handle: Handle, lead: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = tickets_from(main_handle, *(remote_post(author=f"u{i}", minutes=i) for i in range(4)))
    ticket_actions.ticket_status_set(ticket=tickets[0], status=Ticket.Status.SOLVED, by=lead)
    ticket_actions.ticket_status_set(ticket=tickets[1], status=Ticket.Status.PENDING, by=lead)
    ticket_services.ticket_assign(ticket=tickets[2], assignee=lead, by=lead)

    assert ticket_selectors.ticket_count_by_view() == {
        "twitter": 2,
        "mastodon": 0,
        "bluesky": 0,
        "all-networks": 2,
        "pending": 1,
        "solved": 1,
        "all": 4,
    }
    # Past the cap a view counts cap + 1, whatever it holds, and the sidebar says "cap+".
    assert ticket_selectors.ticket_count_by_view(cap=2) == {
        "twitter": 2,
        "mastodon": 0,
        "bluesky": 0,
        "all-networks": 2,
        "pending": 1,
        "solved": 1,
        "all": 3,
    }
    # "My tickets" counts the viewer's own, in the same query.
    assert ticket_selectors.ticket_count_by_view(viewer=lead)["mine"] == 1
    # A desk on X alone shows the Twitter view as the handbook has it: no empty Mastodon or
    # Bluesky views, no "All networks" repeating the Twitter view.
    client.force_login(lead)
    page = client.get("/").content.decode()
    counts = re.findall(r'<span>([^<]+)</span>\s*<span class="count[^"]*">([^<]+)</span>', page)
    assert counts == [
        ("Twitter", "2"),
        ("My tickets", "1"),
        ("Pending", "1"),
        ("Solved", "1"),
        ("All tickets", "4"),
    ]
    monkeypatch.setattr(ticket_selectors, "VIEW_COUNT_CAP", 3)
    page = client.get("/").content.decode()
    counts = re.findall(r'<span>([^<]+)</span>\s*<span class="count[^"]*">([^<]+)</span>', page)
    assert counts == [
        ("Twitter", "2"),
        ("My tickets", "1"),
        ("Pending", "1"),
        ("Solved", "1"),
        ("All tickets", "3+"),
    ]
