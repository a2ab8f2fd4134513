"""The ticket page's evidence card (loaded with htmx after the page) and triage's label next
to the ticket's intent, through Django's test client and a local status page server."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle, Post
from mentiondesk.integrations.evidence import services as evidence_services
from mentiondesk.tickets.models import Ticket
from mentiondesk.triage.models import TriageResult
from tests.factories import remote_post, tickets_from
from tests.integrations.test_evidence import (  # noqa: F401
    no_sources,
    statuspage,
)

pytestmark = pytest.mark.django_db


def availability_ticket(by: User) -> Ticket:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    (ticket,) = tickets_from(handle, remote_post(author="maya", text="@Driftwood is it down?"))
    ticket_actions.ticket_intent_set(ticket=ticket, intent="availability", by=by)
    return ticket


def test_the_page_loads_the_card_lazily_and_it_lists_the_incident_and_the_draft(
    client: Client,
    advocate: User,
    statuspage: Any,  # noqa: F811
) -> None:
    ticket = availability_ticket(advocate)
    client.force_login(advocate)
    url = reverse("tickets:evidence", args=[ticket.pk])

    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'hx-get="{url}"' in page and 'hx-trigger="load"' in page

    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body, "a partial, not the page"
    incident = evidence_services.statuspage_open_incidents().items[0]
    assert f'href="{escape(incident["url"])}"' in body
    assert escape(incident["title"]) in body
    draft = f"@maya we're looking into it: {incident['url']} Are you still experiencing issues?"
    assert 'data-macro="still_affected"' in body
    assert f'data-use-reply="{escape(draft)}"' in body
    assert "Too long" not in body
    assert "Not configured: issuetracker, forum, helpdesk" in body


def test_with_every_source_off_the_card_says_not_configured(client: Client, advocate: User) -> None:
    ticket = availability_ticket(advocate)
    client.force_login(advocate)
    response = client.get(reverse("tickets:evidence", args=[ticket.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Not configured: statuspage, issuetracker, forum, helpdesk" in body
    assert "Similar solved tickets" in body
    assert "evidence-error" not in body


def test_the_evidence_card_requires_login(client: Client, advocate: User) -> None:
    ticket = availability_ticket(advocate)
    response = client.get(reverse("tickets:evidence", args=[ticket.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_header_shows_leads_triage_label_for_the_first_post(
    client: Client, advocate: User, lead: User
) -> None:
    ticket = availability_ticket(advocate)
    post = Post.objects.get(ticket=ticket, direction=Post.Direction.INBOUND)
    TriageResult.objects.filter(post=post).delete()
    TriageResult.objects.create(
        post=post,
        intent="availability",
        intent_confidence=0.87,
        sentiment="negative",
        context="unknown",
        model_version="test",
    )
    client.force_login(lead)
    body = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-triage-intent="availability"' in body
    assert "87%" in body and "model" in body
