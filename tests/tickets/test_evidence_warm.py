"""Evidence warm before the advocate asks: right after ingest the worker fetches and keeps each
new ticket's evidence, so the ticket page draws it at once (no lazy request, no network);
a failing source is kept with its error and shown, never raised."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from mentiondesk.accounts.models import User
from mentiondesk.intake import ingest as channel_services
from mentiondesk.integrations.evidence.models import TicketEvidence
from mentiondesk.sandbox.statuspage import StatuspageServer
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.integrations.test_evidence import statuspage  # noqa: F401

pytestmark = pytest.mark.django_db

OUTAGE = "@Driftwood is driftwood.dev down? CI jobs stuck in pending for ages"


def ingest(capture: Any) -> Ticket:
    with capture(execute=True):
        results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]
    return Ticket.objects.get()


def test_evidence_is_kept_right_after_ingest_and_the_page_shows_it_at_once(
    desk: SandboxServer,
    statuspage: StatuspageServer,  # noqa: F811
    client: Client,
    advocate: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    desk.store.mention_add("maya", OUTAGE)
    ticket = ingest(django_capture_on_commit_callbacks)
    kept = TicketEvidence.objects.get(ticket=ticket)
    incident = kept.sources["statuspage"]["items"][0]
    assert incident["url"] == "https://stspg.io/dw4kq81" and not kept.sources["statuspage"]["error"]
    assert kept.sources["forum"]["configured"] is False

    # Drawing the page asks no source: what was kept after ingest is shown.
    asked = len(statuspage.requests)
    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'href="{escape(incident["url"])}"' in page
    assert escape(incident["title"]) in page
    assert "still_affected" in page, "the drafted reply comes with it"
    assert 'hx-trigger="load"' not in page, "no lazy look-up"
    assert 'data-evidence-at="' in page
    assert len(statuspage.requests) == asked


def test_a_failing_source_is_recorded_and_shown_not_raised(
    desk: SandboxServer,
    statuspage: StatuspageServer,  # noqa: F811
    client: Client,
    advocate: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    statuspage.fault("status", status=503, count=5)
    desk.store.mention_add("maya", OUTAGE)
    ticket = ingest(django_capture_on_commit_callbacks)  # the ticket is there all the same
    error = TicketEvidence.objects.get(ticket=ticket).sources["statuspage"]["error"]
    assert error.startswith("statuspage: ") and "503" in error

    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'<p class="evidence-error" role="note">{escape(error)}</p>' in page


def test_refreshing_the_card_replaces_what_was_kept(
    desk: SandboxServer,
    statuspage: StatuspageServer,  # noqa: F811
    client: Client,
    advocate: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    desk.store.mention_add("maya", OUTAGE)
    ticket = ingest(django_capture_on_commit_callbacks)
    before = TicketEvidence.objects.get(ticket=ticket).fetched_at
    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'hx-get="{reverse("tickets:evidence", args=[ticket.pk])}"' in page  # "Refresh"
    response = client.get(reverse("tickets:evidence", args=[ticket.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert TicketEvidence.objects.get(ticket=ticket).fetched_at > before
