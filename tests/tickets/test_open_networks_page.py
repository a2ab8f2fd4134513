"""The ticket page of a Mastodon or Bluesky ticket: the composer counts as the network does,
links go to the network, and the reply form (whose "seen post" is an at:// URI on Bluesky)
sends the reply once, threaded, through the real connector and the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.connectors.mastodon import text_limits_clear
from mentiondesk.core.errors import DomainError
from mentiondesk.replies import services as reply_services
from mentiondesk.replies.models import Reply
from mentiondesk.tickets.models import Ticket
from tests.open_networks import POLICY, BlueskyNet, MastodonNet, Network, poll

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


def test_the_composer_says_a_reply_to_a_direct_mastodon_mention_stays_direct(
    open_desk: tuple[MastodonNet, BlueskyNet], advocate: User, client: Client
) -> None:
    mastodon, _ = open_desk
    mastodon.mention("@main my API key leaked, what now?", visibility="direct")
    mastodon.mention("@main how do I export my data?", who="kofi")
    poll()
    direct, public = Ticket.objects.filter(network="mastodon").order_by("created_at", "id")
    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[direct.pk])).content.decode()
    assert "This reply stays direct (visible only to @ana and the accounts it mentions)" in page
    page = client.get(reverse("tickets:detail", args=[public.pk])).content.decode()
    assert "data-reply-audience" not in page
    # The DM composer is offered on Mastodon (a DM is a direct status there).
    assert "Send direct message" in page and "data-dm-unavailable" not in page


def test_a_bluesky_ticket_says_there_are_no_direct_messages_instead_of_offering_one(
    open_desk: tuple[MastodonNet, BlueskyNet], advocate: User, client: Client
) -> None:
    _, bluesky = open_desk
    bluesky.mention("@main where do I send my invoice address?")
    poll()
    ticket = Ticket.objects.get(network="bluesky")
    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "Send direct message" not in page
    assert "data-dm-unavailable" in page and "Bluesky&#x27;s chat is a separate service" in page
    assert "data-reply-audience" not in page  # Bluesky posts are public

    # The service refuses too, for the form and the API alike: nothing is queued.
    response = client.post(
        reverse("tickets:dm", args=[ticket.pk]), {"text": "Your address?", "purpose": "invoice"}
    )
    assert response.status_code == 400
    token = account_services.token_create(user=advocate)[1]
    api = client.post(
        f"/api/v1/tickets/{ticket.pk}/direct-messages",
        data={"text": "Your address?", "purpose": "invoice"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert api.status_code == 400
    assert "Bluesky direct messages are not part of the desk" in api.json()["detail"]
    with pytest.raises(DomainError, match="Bluesky's chat is a separate service"):
        reply_services.dm_create(ticket=ticket, by=advocate, text="Hi", purpose="invoice")
    assert not Reply.objects.exists()


def test_the_mastodon_limit_is_the_instances_once_the_poll_has_read_it(
    open_desk: tuple[MastodonNet, BlueskyNet],
    advocate: User,
    infrastructure: User,
    client: Client,
) -> None:
    mastodon, _ = open_desk
    mastodon.server.store.max_characters = 1000
    mastodon.mention("@main can I paste a long stack trace?")
    poll()
    ticket = Ticket.objects.get(network="mastodon")
    assert ticket.handle.text_limit == 1000
    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-max-chars="1000"' in page and "0 / 1000" in page
    # reply_create counts against the instance's limit too: 700 fit, 1,001 do not.
    reply = reply_services.reply_create(ticket=ticket, author=advocate, text="a" * 700)
    assert reply.text.endswith("a" * 700)
    ticket.refresh_from_db()
    with pytest.raises(DomainError, match="Mastodon allows 1000"):
        reply_services.reply_create(
            ticket=ticket, author=advocate, text="b" * 1001, another_reply=True
        )
    # ...and so do status updates, from the Mastodon status handle (the policy's first).
    update = reply_services.status_update_create(by=infrastructure, text="c" * 700)
    assert (update.handle.network, update.handle.text_limit) == ("mastodon", 1000)
    with pytest.raises(DomainError, match="Mastodon allows 1000"):
        reply_services.status_update_create(by=infrastructure, text="d" * 1001)
    # A later poll that cannot read the instance keeps what it learnt.
    mastodon.server.store.fault_add("status", method="GET", path="/api/v2/instance")
    text_limits_clear()
    poll()
    ticket.handle.refresh_from_db()
    assert ticket.handle.text_limit == 1000


def test_the_stream_composer_counts_as_the_handle_does(
    open_desk: tuple[MastodonNet, BlueskyNet], advocate: User, client: Client
) -> None:
    """A Mastodon handle answering from the stream: its composer shows the instance's limit
    and counts as Mastodon does, like the ticket page's (reply_create checks the same)."""
    mastodon, bluesky = open_desk
    ours = 'role = "main"\ncredentials_env = "MENTIONDESK_MASTODON_TOKEN_DRIFTWOOD"'
    assert ours in POLICY
    policy_actions.policy_apply_text(
        text=POLICY.format(mastodon=mastodon.server.url, bluesky=bluesky.server.url).replace(
            ours, ours.replace("\n", '\nrespond_from = "stream"\n', 1)
        ),
        source="stream.toml",
    )
    mastodon.server.store.max_characters = 1000
    mastodon.mention("@main is there a dark mode?")
    poll()
    client.force_login(advocate)
    page = client.get(reverse("replies:stream")).content.decode()
    assert "is there a dark mode?" in page
    assert 'data-max-chars="1000" data-length-rule="mastodon"' in page
    assert "0 / 1000" in page and "0 / 280" not in page
