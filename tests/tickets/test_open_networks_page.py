"""The ticket page of a Mastodon or Bluesky ticket: the composer counts as the network does,
links go to the network, and the reply form (whose "seen post" is an at:// URI on Bluesky)
sends the reply once, threaded, through the real connector and the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.replies.models import Reply
from mentiondesk.tickets.models import Ticket
from tests.open_networks import Network, poll

pytestmark = pytest.mark.django_db


def test_the_composer_and_links_follow_the_network_and_the_form_sends_once(
    net: Network,
    advocate: User,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = net.mention("@main the export is stuck")
    latest = net.mention("@main still stuck", reply_to=first)
    poll()
    ticket = Ticket.objects.get(network=net.name)
    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    label, limit, rule = {
        "mastodon": ("Mastodon", 500, "mastodon"),
        "bluesky": ("Bluesky", 300, "graphemes"),
    }[net.name]
    assert f'data-max-chars="{limit}"' in page
    assert f'data-length-rule="{rule}"' in page
    assert f"0 / {limit}" in page
    assert f"View on {label}" in page
    assert f'data-network="{net.name}">{label}</dd>' in page  # the network, named
    assert "View on X" not in page
    assert "x.com" not in page
    assert ticket.requester_url in page

    key = page.split('name="idempotency_key" value="', 1)[1].split('"', 1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("tickets:reply", args=[ticket.pk]),
            {
                "text": "Unstuck it, sorry!",
                "idempotency_key": key,
                "status_after": "pending",
                "seen_post_id": latest,
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    reply = Reply.objects.get()
    assert reply.status == Reply.Status.SENT
    (posted,) = net.ours()
    assert posted["parent"] == latest
