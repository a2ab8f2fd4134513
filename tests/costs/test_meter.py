"""The X cost meter against the sandbox network: a poll and replies produce exactly the
counts and spend worked out by hand from X's pay-per-use rules (reads per resource returned,
each resource once per UTC day; writes per request; a post with a link at its own price)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.channels import services as channels_services
from mentiondesk.channels.models import Handle
from mentiondesk.core.intents import Intent
from mentiondesk.costs import selectors
from mentiondesk.costs.models import XApiUsage
from mentiondesk.costs.services import UsageMeter
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services as reply_services
from mentiondesk.replies.models import PostAction, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.costs.conftest import poll

pytestmark = pytest.mark.django_db


def by_kind() -> dict[str, tuple[int, int, int, Decimal]]:
    """kind -> (requests, failed, units, amount) over the whole ledger."""
    rows = selectors.usage_grouped(usage=selectors.usage_filtered(), by=("kind",))
    return {r["kind"]: (r["requests"], r["failed"], r["units"], r["amount"]) for r in rows}


def spend(ticket: Ticket | None = None) -> Decimal:
    usage = selectors.usage_filtered(ticket=ticket.pk if ticket else None)
    return Decimal(selectors.usage_total(usage=usage)["amount"])


def test_a_poll_counts_each_request_and_bills_each_resource_once(
    two_tickets: tuple[Ticket, Ticket],
) -> None:
    maya, omar = two_tickets
    # 1. GET /2/users/by/username/Driftwood: 1 user read (our handle's id was unknown).
    # 2. GET /2/users/:id/mentions: 3 posts in `data`; maya's first post again in
    #    `includes.tweets` as the parent of her second (billed once: 3 post reads), and the two
    #    authors in `includes.users` (2 user reads, no request of their own).
    # 3. GET /2/users/:id/tweets: our timeline, empty (a request, nothing billed).
    assert by_kind() == {
        "post_read": (2, 0, 3, Decimal("0.015")),
        "user_read": (1, 0, 3, Decimal("0.030")),
    }
    assert spend() == Decimal("0.045")
    # maya's two posts are on her ticket, omar's one on his; users stay on the handle.
    assert spend(maya) == Decimal("0.010")
    assert spend(omar) == Decimal("0.005")
    assert not XApiUsage.objects.exclude(handle__username="Driftwood").exists()

    # Polling again the same day: one request each for mentions and our timeline, nothing new.
    poll()
    assert by_kind()["post_read"] == (4, 0, 3, Decimal("0.015"))
    assert spend() == Decimal("0.045")


def test_replies_bill_per_request_and_a_link_at_the_url_price(
    two_tickets: tuple[Ticket, Ticket], advocate: User
) -> None:
    maya, omar = two_tickets
    plain = reply_services.reply_create(ticket=maya, author=advocate, text="Sorry Maya, on it.")
    linked = reply_services.reply_create(
        ticket=omar, author=advocate, text="Thanks Omar! Tips: https://docs.example.com/editor"
    )
    for reply in (plain, linked):
        assert reply_services.reply_deliver(reply_id=reply.pk).status == Reply.Status.SENT

    # The first send asks GET /2/users/me once per process and token: a request, but our own
    # user was already billed today by the poll's username lookup, so 0 units.
    kinds = by_kind()
    assert kinds["user_read"] == (2, 0, 3, Decimal("0.030"))
    assert kinds["post_create"] == (1, 0, 1, Decimal("0.015"))
    assert kinds["post_create_with_url"] == (1, 0, 1, Decimal("0.200"))
    assert spend() == Decimal("0.260")  # 0.045 + 0.015 + 0.200
    assert spend(maya) == Decimal("0.025")  # 2 post reads + a plain reply
    assert spend(omar) == Decimal("0.205")  # 1 post read + a reply with a link
    assert selectors.ticket_spend(ticket_id=omar.pk).by_kind == {
        "Post read": 1,
        "Post create with a URL": 1,
    }


def test_a_rate_limited_read_is_a_failed_request_that_costs_nothing(
    priced_desk: SandboxServer,
) -> None:
    priced_desk.store.mention_add("maya", "@Driftwood hello?")
    priced_desk.store.fault_add("GET", "/2/users/", kind="status", status=429)
    results = channel_services.mentions_poll_all()
    assert "429" in results[0].error or "Too Many" in results[0].error
    # The 429 answered the username lookup: one user-read request, failed, nothing billed.
    assert by_kind() == {"user_read": (1, 1, 0, Decimal("0"))}
    assert spend() == 0


def test_likes_and_deletes_bill_per_request_and_a_refused_post_costs_nothing(
    priced_desk: SandboxServer, two_tickets: tuple[Ticket, Ticket], advocate: User, lead: User
) -> None:
    maya, omar = two_tickets
    Ticket.objects.filter(pk=omar.pk).update(intent=Intent.PRAISE)
    like = reply_services.post_like(post=omar.posts.get(), by=advocate)
    assert reply_services.post_action_run(action_id=like.pk).status == PostAction.Status.DONE

    reply = reply_services.reply_create(ticket=maya, author=advocate, text="Looking into it.")
    reply = reply_services.reply_deliver(reply_id=reply.pk)
    assert reply.post is not None
    delete = reply_services.post_delete(post=reply.post, by=lead)
    assert reply_services.post_action_run(action_id=delete.pk).status == PostAction.Status.DONE

    priced_desk.store.fault_add("POST", "/2/tweets", kind="status", status=400)
    # Maya's ticket is back in the advocate's hands (its reply was deleted): omar's is out
    # of Play's order.
    refused = reply_services.reply_create(
        ticket=omar, author=advocate, text="Thank you!", reason="a quick thank-you"
    )
    refused = reply_services.reply_deliver(reply_id=refused.pk)
    assert refused.status == Reply.Status.NEEDS_ATTENTION

    kinds = by_kind()
    assert kinds["like"] == (1, 0, 1, Decimal("0.015"))
    assert kinds["post_delete"] == (1, 0, 1, Decimal("0.010"))
    # Two POST /2/tweets: the sent reply (billed) and the refused one (counted, failed, free).
    assert kinds["post_create"] == (2, 1, 1, Decimal("0.015"))
    assert spend(omar) == Decimal("0.020")  # 1 post read + a like (+ a refused reply, free)
    assert spend(maya) == Decimal("0.035")  # 2 post reads + a reply + its delete


def test_a_backlog_poll_is_metered_in_one_batch_however_long(priced_desk: SandboxServer) -> None:
    # 1,000 mentions by 10 people: 10 pages of 100, more ids than one query may carry.
    for n in range(1000):
        priced_desk.store.mention_add(f"user{n % 10}", f"@Driftwood question number {n}")
    poll()
    # Requests: 1 username lookup, 10 mention pages, 1 (empty) look at our own timeline.
    # Units: 1,000 posts; 11 users (our handle, then the 10 authors once each today).
    assert by_kind() == {
        "post_read": (11, 0, 1000, Decimal("5.000")),
        "user_read": (1, 0, 11, Decimal("0.110")),
    }
    assert Ticket.objects.count() == 1000
    per_ticket = selectors.usage_grouped(usage=selectors.usage_filtered(), by=("ticket",))
    assert len(per_ticket) == 1001  # and the handle's own: requests, users
    assert {row["amount"] for row in per_ticket if row["ticket"]} == {Decimal("0.005")}
    assert per_ticket[-1] == {
        "ticket": None,
        "requests": 12,
        "failed": 0,
        "units": 11,
        "amount": Decimal("0.110"),
    }


def test_a_lookup_on_its_own_connection_is_metered_too(priced_desk: SandboxServer) -> None:
    handle = Handle.objects.get(username="Driftwood")
    with channels_services.handle_connection(handle=handle, meter=UsageMeter(handle=handle)) as x:
        channels_services.handle_resolve_remote_id(handle=handle, connector=x)
    assert handle.remote_id
    assert by_kind() == {"user_read": (1, 0, 1, Decimal("0.010"))}
