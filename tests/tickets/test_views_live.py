"""What the ticket page polls or opens beside the conversation: the "new post arrived" banner
above the composer and the composer's macro picker, through Django's test client against a
real database and the sandbox network."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.integrations.evidence import services as evidence_services
from mentiondesk.replies import services as reply_services
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.factories import remote_post, tickets_from
from tests.tickets.test_views import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_advocate(client: Client, advocate: User) -> Client:
    client.force_login(advocate)
    return client


def arrivals(client: Client, ticket: Ticket, seen: str) -> str:
    response = client.get(
        reverse("tickets:arrivals", args=[ticket.pk]),
        {"seen_post_id": seen},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_banner_names_a_post_that_arrived_since_the_composer_opened(
    desk: SandboxServer, as_advocate: Client, advocate: User
) -> None:
    first = desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    ingest()
    ticket = Ticket.objects.get()
    page = as_advocate.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    url = reverse("tickets:arrivals", args=[ticket.pk])
    assert f'hx-get="{url}"' in page
    assert "hx-include=\"#composer [name='seen_post_id']\"" in page
    assert f'name="seen_post_id" value="{first}"' in page

    assert arrivals(as_advocate, ticket, first).strip() == "", "nothing new, no banner"

    newer = desk.store.mention_add(
        "maya", '@Driftwood <img src=x onerror="alert(1)"> still failing', in_reply_to=first
    )
    ingest()
    banner = arrivals(as_advocate, ticket, first)
    assert "New post from <bdi>@maya</bdi> arrived — read it before sending" in banner
    assert f'data-arrived="{newer}"' in banner
    assert f'data-arrivals-read="{newer}"' in banner
    assert "<img" not in banner and escape('<img src=x onerror="alert(1)">') in banner
    assert "<html" not in banner, "a partial, not the page"
    # The composer's "In reply to" line comes along, naming the post a send now threads to.
    assert f'<template data-composer-thread="{newer}">In reply to <bdi>@maya</bdi>' in banner

    # The banner warns of exactly what the send is refused for.
    with pytest.raises(reply_services.Collision) as refused:
        reply_services.reply_create(
            ticket=ticket, author=advocate, text="Looking into it", seen_post_id=first
        )
    assert refused.value.changes[0].startswith("@maya wrote")
    assert arrivals(as_advocate, ticket, newer).strip() == "", "read: no banner"


def test_the_banner_counts_several_posts_and_ignores_an_unknown_or_empty_seen_post(
    desk: SandboxServer, as_advocate: Client
) -> None:
    first = desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    ingest()
    second = desk.store.mention_add("maya", "@Driftwood any news?", in_reply_to=first)
    desk.store.mention_add("maya", "@Driftwood hello?", in_reply_to=second)
    ingest()
    ticket = Ticket.objects.get()
    banner = arrivals(as_advocate, ticket, first)
    assert "2 new posts arrived — read them before sending" in banner
    assert banner.count("data-arrived-post=") == 2
    assert arrivals(as_advocate, ticket, "").strip() == ""
    assert arrivals(as_advocate, ticket, "no-such-post").strip() == ""


def test_the_banner_and_the_picker_need_a_signed_in_user_and_a_ticket(
    client: Client, advocate: User
) -> None:
    for name in ("tickets:arrivals", "tickets:macros"):
        response = client.get(reverse(name, args=[1]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    client.force_login(advocate)
    for name in ("tickets:arrivals", "tickets:macros"):
        assert client.get(reverse(name, args=[999])).status_code == 404


@pytest.fixture
def ticket(advocate: User) -> Ticket:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    (ticket,) = tickets_from(handle, remote_post(author="maya", text="@Driftwood is it down?"))
    return ticket_actions.ticket_intent_set(ticket=ticket, intent="availability", by=advocate)


def test_the_picker_lists_every_macro_filled_with_what_the_desk_knows(
    ticket: Ticket, as_advocate: Client
) -> None:
    page = as_advocate.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'hx-get="{reverse("tickets:macros", args=[ticket.pk])}"' in page
    assert 'hx-trigger="toggle once"' in page

    response = as_advocate.get(reverse("tickets:macros", args=[ticket.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    # Every default macro, the ones for other intents too.
    for name in ("still_affected", "related_issue", "forum_community", "praise_thanks"):
        assert f'data-macro="{name}"' in body
    # Nothing kept from the status page yet: the incident link is left to fill in.
    still = "@maya we're looking into it: {incident_url} Are you still experiencing issues?"
    assert f'data-insert-reply="{escape(still)}"' in body
    assert "To fill in: {incident_url}" in body

    evidence_services.evidence_store(
        ticket_id=ticket.pk,
        sources={
            "statuspage": evidence_services.EvidenceResult(
                source="statuspage", items=[{"url": "https://status.example/incidents/7?a=1&b=2"}]
            )
        },
    )
    body = as_advocate.get(reverse("tickets:macros", args=[ticket.pk])).content.decode()
    filled = still.replace("{incident_url}", "https://status.example/incidents/7?a=1&b=2")
    assert f'data-insert-reply="{escape(filled)}"' in body


def test_the_picker_escapes_macros_and_flags_one_too_long(
    ticket: Ticket, as_advocate: Client, tmp_path: Path
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        "[[macro]]\n"
        'name = "quoted"\n'
        'text = "@{requester} <b>\\"hi\\"</b> & \'bye\' {issue_url}"\n'
        "[[macro]]\n"
        'name = "long"\n'
        'text = "@{requester} ' + "x" * 300 + '"\n'
    )
    policy_actions.policy_apply(path=path)
    body = as_advocate.get(reverse("tickets:macros", args=[ticket.pk])).content.decode()
    assert "<b>" not in body
    text = "@maya <b>\"hi\"</b> & 'bye' {issue_url}"
    assert f'data-insert-reply="{escape(text)}"' in body
    assert "To fill in: {issue_url}" in body
    assert "Too long: 306 / 280" in body
    assert body.count("other intent") == 0, "macros for any intent apply to every ticket"


def test_a_poll_that_finds_the_session_gone_is_sent_to_sign_in_without_a_new_csrf_cookie(
    client: Client, ticket: Ticket
) -> None:
    # The page's poll, signed out: redirected to sign in, and the browser follows in the
    # background. A CSRF cookie set by that answer could land after the sign-in page the
    # browser loads for the page, whose form would then be refused.
    response = client.get(
        reverse("tickets:arrivals", args=[ticket.pk]),
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver/tickets/{ticket.pk}/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:login"))
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == f"/accounts/login/?next=/tickets/{ticket.pk}/"
    assert "csrftoken" not in response.cookies
    # Another site's page is no place to come back to; the queue is.
    other = client.get(
        reverse("accounts:login"),
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"},
    )
    assert other["HX-Redirect"] == "/accounts/login/?next=/"

    # The browser's own visit draws the form, with its cookie.
    page = client.get(reverse("accounts:login"))
    assert b'name="csrfmiddlewaretoken"' in page.content and "csrftoken" in page.cookies
