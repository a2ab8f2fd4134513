"""A NUL character in what a client sends is a clear 400, never a 500 (PostgreSQL refuses it
in every text column) and never stored (SQLite would keep it, and send it to X in a reply)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.replies.models import Reply
from mentiondesk.tickets.models import TicketEvent
from tests.api.test_tickets_api import bearer
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_id(db: None) -> int:
    handle = Handle.objects.create(username="Driftwood", role="main", remote_id="100")
    (ticket,) = tickets_from(handle, remote_post(author="maya"))
    return ticket.pk


def refused(response: object) -> None:
    assert response.status_code == 400, response.content  # type: ignore[attr-defined]
    assert "NUL character" in response.content.decode()  # type: ignore[attr-defined]


def test_the_api_refuses_a_nul_anywhere_with_a_json_400(
    client: Client, advocate: User, ticket_id: int
) -> None:
    auth = bearer(advocate)
    for body in ({"text": "fixed\u0000"}, {"text": "ok", "idempotency_key": "k\u0000"}):
        for path in (f"/api/v1/tickets/{ticket_id}/notes", f"/api/v1/tickets/{ticket_id}/replies"):
            response = client.post(path, json.dumps(body), content_type="application/json", **auth)
            refused(response)
            assert response.json()["code"] == "nul_character"
    refused(client.get("/api/v1/tickets?status=new%00", **auth))
    refused(client.get("/api/v1/tickets/1%00", **auth))
    assert Reply.objects.count() == 0
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.NOTE).exists()


def test_a_form_with_a_nul_is_a_400(client: Client, advocate: User, ticket_id: int) -> None:
    client.force_login(advocate)
    # As a browser posts a form.
    form = urlencode({"text": "see\x00this"})
    urlencoded = "application/x-www-form-urlencoded"
    refused(client.post(f"/tickets/{ticket_id}/notes", form, content_type=urlencoded))
    refused(client.get("/search/?q=requester:maya%00"))
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.NOTE).exists()
    # The same note without the NUL goes through.
    assert client.post(f"/tickets/{ticket_id}/notes", {"text": "see this"}).status_code == 302
