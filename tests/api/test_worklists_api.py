"""The API of saved searches and of leads' bulk actions, beside GET /api/v1/search."""

from __future__ import annotations

import pytest
from django.test import Client

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.replies.models import Reply
from mentiondesk.tickets.models import SavedSearch, Ticket, TicketEvent
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


def bearer(user: User) -> dict[str, str]:
    _, raw = account_services.token_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def tickets() -> list[Ticket]:
    handle = Handle.objects.create(username="Driftwood", remote_id="100", role="main")
    return tickets_from(handle, *(remote_post(author=f"u{i}", minutes=i) for i in range(3)))


def test_saved_searches_create_list_rename_delete(
    client: Client, tickets: list[Ticket], advocate: User, lead: User
) -> None:
    auth = bearer(advocate)
    response = client.post(
        "/api/v1/saved-searches",
        {"name": "New", "query": "status:new sort:created"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 201
    created = response.json()
    assert created | {"id": 0} == {
        "id": 0,
        "name": "New",
        "query": "status:new sort:created",
        "is_shared": False,
        "owner": "ana",
        "count": None,
        "more": False,
    }
    listed = client.get("/api/v1/saved-searches", **auth).json()
    assert [(s["name"], s["count"]) for s in listed] == [("New", 3)]
    # Lead's shared search shows for the agent; the lead does not see the agent's.
    shared = client.post(
        "/api/v1/saved-searches",
        {"name": "Team", "query": "status:solved", "is_shared": True},
        content_type="application/json",
        **bearer(lead),
    )
    assert shared.status_code == 201
    assert [s["name"] for s in client.get("/api/v1/saved-searches", **auth).json()] == [
        "New",
        "Team",
    ]
    assert [s["name"] for s in client.get("/api/v1/saved-searches", **bearer(lead)).json()] == [
        "Team"
    ]
    url = f"/api/v1/saved-searches/{created['id']}"
    renamed = client.patch(url, {"name": "Fresh"}, content_type="application/json", **auth)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Fresh"
    # The agent may not change the lead's, nor see the lead's private ones.
    team_url = f"/api/v1/saved-searches/{shared.json()['id']}"
    assert client.delete(team_url, **auth).status_code == 403
    assert client.delete(url, **bearer(lead)).status_code == 404
    assert client.delete(url, **auth).status_code == 204
    assert list(SavedSearch.objects.values_list("name", flat=True)) == ["Team"]


def test_saved_search_refusals_name_the_field(client: Client, advocate: User) -> None:
    auth = bearer(advocate)
    bad = client.post(
        "/api/v1/saved-searches",
        {"name": "Red", "query": "colour:red"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 400 and "colour" in bad.json()["detail"]
    share = client.post(
        "/api/v1/saved-searches",
        {"name": "Team", "query": "token", "is_shared": True},
        content_type="application/json",
        **auth,
    )
    assert share.status_code == 403


def test_bulk_solve_reports_done_and_skipped(
    client: Client, tickets: list[Ticket], lead: User, advocate: User
) -> None:
    Reply.objects.create(
        ticket=tickets[1],
        handle=tickets[1].handle,
        author=advocate,
        text="On it",
        status=Reply.Status.SENDING,
    )
    response = client.post(
        "/api/v1/tickets/bulk",
        {"tickets": [t.pk for t in tickets], "action": "solve"},
        content_type="application/json",
        **bearer(lead),
    )
    assert response.status_code == 200
    assert response.json() == {
        "action": "solve",
        "done": [tickets[0].pk, tickets[2].pk],
        "skipped": [{"ticket": tickets[1].pk, "reason": "has a reply sending"}],
        "summary": f"2 solved, 1 skipped: #{tickets[1].pk} has a reply sending",
    }
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.STATUS_CHANGED).count() == 2


def test_bulk_assign_and_label(
    client: Client, tickets: list[Ticket], lead: User, advocate: User
) -> None:
    auth = bearer(lead)
    ids = [t.pk for t in tickets]
    assigned = client.post(
        "/api/v1/tickets/bulk",
        {"tickets": ids, "action": "assign", "assignee": "ana"},
        content_type="application/json",
        **auth,
    )
    assert assigned.status_code == 200 and assigned.json()["done"] == ids
    assert set(Ticket.objects.values_list("assignee__username", flat=True)) == {"ana"}
    labelled = client.post(
        "/api/v1/tickets/bulk",
        {"tickets": ids, "action": "intent", "intent": "praise"},
        content_type="application/json",
        **auth,
    )
    assert labelled.json()["summary"] == "3 labelled"
    nobody = client.post(
        "/api/v1/tickets/bulk",
        {"tickets": ids, "action": "assign", "assignee": "ghost"},
        content_type="application/json",
        **auth,
    )
    assert nobody.status_code == 404


def test_bulk_is_403_for_agents(client: Client, tickets: list[Ticket], advocate: User) -> None:
    response = client.post(
        "/api/v1/tickets/bulk",
        {"tickets": [tickets[0].pk], "action": "solve"},
        content_type="application/json",
        **bearer(advocate),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not Ticket.objects.filter(status=Ticket.Status.SOLVED).exists()
