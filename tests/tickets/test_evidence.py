"""The evidence panel's data through the API: sources, similar tickets, drafted replies."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from mentiondesk.accounts import services as accounts
from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from tests.factories import remote_post, tickets_from
from tests.integrations.test_evidence import (  # noqa: F401
    discourse,
    gitlab_server,
    no_sources,
    statuspage,
)

pytestmark = pytest.mark.django_db


def evidence_of(client: Client, user: User, ticket_id: int) -> dict[str, Any]:
    _, raw = accounts.token_create(user=user)
    response = client.get(
        f"/api/v1/tickets/{ticket_id}/evidence", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200
    return response.json()


def test_availability_ticket_gets_the_incident_and_the_seeds_question(
    client: Client,
    advocate: User,
    statuspage: Any,  # noqa: F811
) -> None:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    (ticket,) = tickets_from(handle, remote_post(author="maya", text="@Driftwood is it down?"))
    ticket_actions.ticket_intent_set(ticket=ticket, intent="availability", by=advocate)
    body = evidence_of(client, advocate, ticket.pk)
    sources = {s["source"]: s for s in body["sources"]}
    assert sources["statuspage"]["items"] and not sources["statuspage"]["error"]
    assert not sources["forum"]["configured"], "unconfigured sources say so"
    incident = sources["statuspage"]["items"][0]["url"]
    (draft,) = body["drafts"]
    assert draft["macro"] == "still_affected" and draft["fits"]
    assert draft["text"] == (
        f"@maya we're looking into it: {incident} Are you still experiencing issues?"
    )


def test_bug_report_gets_a_related_issue_or_the_new_issue_link(
    client: Client,
    advocate: User,
    gitlab_server: Any,  # noqa: F811
) -> None:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    (ticket,) = tickets_from(
        handle, remote_post(author="kai", text="@Driftwood runner token rotation fails with 401")
    )
    ticket_actions.ticket_intent_set(ticket=ticket, intent="bug_report", by=advocate)
    body = evidence_of(client, advocate, ticket.pk)
    issues = next(s for s in body["sources"] if s["source"] == "issuetracker")["items"]
    assert issues, "the contract server has a matching issue"
    drafts = {d["macro"]: d["text"] for d in body["drafts"]}
    assert issues[0]["url"] in drafts["related_issue"]
    assert drafts["new_issue"].endswith("/driftwood/driftwood/-/issues/new")


def test_a_failing_source_never_breaks_the_panel(
    client: Client,
    advocate: User,
    statuspage: Any,  # noqa: F811
) -> None:
    statuspage.fault("status", status=500, count=5)
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    (ticket,) = tickets_from(handle, remote_post(author="li", text="@Driftwood 502?"))
    body = evidence_of(client, advocate, ticket.pk)
    status = next(s for s in body["sources"] if s["source"] == "statuspage")
    assert status["items"] == [] and "500" in status["error"]
