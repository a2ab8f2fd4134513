"""A NUL character in what a client sends is a clear 400, never a 500 (PostgreSQL refuses it
in every text column) and never stored (SQLite would keep it, and send it to X in a reply)."""

from __future__ import annotations

import io
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


NUL_JSON = json.dumps({"text": "a\u0000b"})


@pytest.mark.django_db(transaction=True)
def test_every_way_a_nul_comes_in_is_a_400_never_a_500(
    advocate: User, lead: User, ticket_id: int
) -> None:
    """Run on PostgreSQL too, where a NUL that got through would be a 500 (issue 18, item 8):
    JSON under another content type or none, a header the API stores, multipart fields (Django
    cleans a file's own name), ids in the path, the reports, costs and audit filters."""
    api = Client(raise_request_exception=False)
    auth = bearer(lead)
    notes = f"/api/v1/tickets/{ticket_id}/notes"
    replies = f"/api/v1/tickets/{ticket_id}/replies"
    sent = {
        "json as text/plain": api.post(notes, NUL_JSON, content_type="text/plain", **auth),
        "json, no content type": api.generic("POST", notes, NUL_JSON, content_type="", **auth),
        "idempotency header": api.post(
            replies,
            json.dumps({"text": "hi"}),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k\x00",
            **auth,
        ),
        "assignee": api.post(
            f"/api/v1/tickets/{ticket_id}/assign",
            json.dumps({"assignee": "ana\u0000"}),
            content_type="application/json",
            **auth,
        ),
        "post id": api.post(
            "/api/v1/posts/1%00/like", json.dumps({"reason": ""}), "application/json", **auth
        ),
        "stream id": api.post(
            "/api/v1/stream/1%00/reply", json.dumps({"text": "hi"}), "application/json", **auth
        ),
        "api audit filter": api.get("/api/v1/audit/events?actor=ana%00", **auth),
        "api costs filter": api.get("/api/v1/costs?handle=Driftwood%00", **auth),
        "api reports filter": api.get("/api/v1/reports/summary?handle=Driftwood%00", **auth),
        "bearer token": api.get("/api/v1/tickets", HTTP_AUTHORIZATION="Bearer md_\x00"),
    }
    page = Client(raise_request_exception=False)
    page.force_login(lead)
    upload = io.BytesIO(b"\x00binary contents are not text")
    upload.name = "notes.txt"
    sent |= {
        "multipart field": page.post(f"/tickets/{ticket_id}/notes", {"text": "a\x00b"}),
        "multipart file field": page.post(
            f"/tickets/{ticket_id}/notes", {"text": "ok", "f\x00": upload}
        ),
        "multipart reply": page.post(
            f"/tickets/{ticket_id}/reply",
            {"text": "hi", "idempotency_key": "k\x00", "status_after": "pending"},
        ),
        "reports filter": page.get("/reports/?handle=Driftwood%00"),
        "costs filter": page.get("/costs/?handle=Driftwood%00"),
        "audit filter": page.get("/audit/?actor=ana%00"),
        "stream page id": page.post("/stream/1%00/reply", {"text": "hi"}),
    }
    assert {name: r.status_code for name, r in sent.items()} == dict.fromkeys(sent, 400)
    assert all("NUL character" in r.content.decode() for r in sent.values())
    assert Reply.objects.count() == 0
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.NOTE).exists()
    # A binary file without a NUL in its name is no business of this rule.
    clean = io.BytesIO(b"\x00binary")
    clean.name = "notes.txt"
    response = page.post(f"/tickets/{ticket_id}/notes", {"text": "fine", "f": clean})
    assert response.status_code == 302
