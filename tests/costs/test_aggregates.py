"""The ledger as running totals: a flush adds to one row per day, handle, ticket, kind,
endpoint and price in one upsert, and a poll's post reads reach their tickets when a report
asks, through the posts read (models.BilledResource)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.models import Handle, Post
from mentiondesk.costs import selectors
from mentiondesk.costs.models import BilledResource, XApiUsage
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.costs.conftest import BILLING, ONE_HANDLE, poll

pytestmark = pytest.mark.django_db

MENTIONS = "GET /2/users/:id/mentions"


def rows() -> list[tuple[str, str, int | None, int, int]]:
    """(kind, endpoint, ticket, requests, units) of every ledger row."""
    return sorted(
        XApiUsage.objects.values_list("kind", "endpoint", "ticket_id", "requests", "units"),
        key=str,
    )


def spend(ticket: Ticket) -> Decimal:
    return Decimal(
        selectors.usage_total(usage=selectors.usage_filtered(ticket=ticket.pk))["amount"]
    )


def test_polls_add_to_one_row_per_day_handle_kind_and_endpoint_in_one_upsert(
    two_tickets: tuple[Ticket, Ticket], priced_desk: SandboxServer
) -> None:
    # The fixture's poll: no ticket rows, the three posts read are marked with their row.
    assert rows() == [
        ("post_read", "GET /2/users/:id/mentions", None, 1, 3),
        ("post_read", "GET /2/users/:id/tweets", None, 1, 0),
        ("user_read", "GET /2/users/:id/mentions", None, 0, 2),
        ("user_read", "GET /2/users/by/username/:username", None, 1, 1),
    ]
    mentions = XApiUsage.objects.get(kind="post_read", endpoint=MENTIONS)
    assert BilledResource.objects.filter(kind="post_read", usage=mentions).count() == 3

    priced_desk.store.mention_add("lena", "@Driftwood where is the changelog?")
    with CaptureQueriesContext(connection) as queries:
        poll()
    # An executemany would be logged once, as "N times: INSERT …".
    inserts = [
        re.sub(r"^\d+ times: ", "", q["sql"].strip()).split("(")[0].strip()
        for q in queries
        if "INSERT" in q["sql"]
    ]
    # One upsert of the totals, one insert of the new marks; nothing per post or ticket.
    assert inserts.count("INSERT INTO costs_xapiusage") == 1
    assert inserts.count("INSERT INTO costs_billedresource") == 1
    # The same rows, added to: one more post read and one more author; no new row.
    assert rows() == [
        ("post_read", "GET /2/users/:id/mentions", None, 2, 4),
        ("post_read", "GET /2/users/:id/tweets", None, 2, 0),
        ("user_read", "GET /2/users/:id/mentions", None, 0, 3),
        ("user_read", "GET /2/users/by/username/:username", None, 1, 1),
    ]
    lena = Ticket.objects.get(requester_username="lena")
    assert spend(lena) == Decimal("0.005")


def test_a_polls_reads_go_to_the_ticket_their_post_is_on_when_reported(
    two_tickets: tuple[Ticket, Ticket],
) -> None:
    maya, omar = two_tickets
    assert (spend(maya), spend(omar)) == (Decimal("0.010"), Decimal("0.005"))
    # maya's follow-up moves to omar's ticket (as a merge would): its read moves with it,
    # and the total stays what X billed.
    Post.objects.filter(ticket=maya, in_reply_to_remote_id__gt="").update(ticket=omar)
    assert (spend(maya), spend(omar)) == (Decimal("0.005"), Decimal("0.010"))
    everything = selectors.usage_filtered()
    assert selectors.usage_total(usage=everything)["amount"] == Decimal("0.045")
    top = selectors.usage_top_tickets(usage=everything)
    assert [(row["ticket_id"], row["total"]) for row in top] == [
        (omar.pk, Decimal("0.010")),
        (maya.pk, Decimal("0.005")),
    ]
    # A post no longer on any ticket: its read is the handle's again.
    Post.objects.filter(ticket=omar).update(ticket=None)
    by_ticket = selectors.usage_grouped(usage=everything, by=("ticket", "kind"))
    assert [(r["ticket"], r["kind"], r["units"]) for r in by_ticket] == [
        (maya.pk, "post_read", 1),
        (None, "post_read", 2),
        (None, "user_read", 3),
    ]


def test_a_price_change_mid_day_starts_new_rows_and_keeps_what_was_billed(
    two_tickets: tuple[Ticket, Ticket], priced_desk: SandboxServer
) -> None:
    maya, _ = two_tickets
    dearer = BILLING.format(budget="50.0").replace("post_read = 0.005", "post_read = 0.010")
    policy_actions.policy_apply_text(text=ONE_HANDLE + dearer, source="dearer.toml")
    latest = maya.posts.order_by("created_at").last()
    assert latest is not None
    priced_desk.store.mention_add(
        "maya", "@Driftwood and now the runner is stuck", in_reply_to=latest.remote_id
    )
    poll()
    prices = XApiUsage.objects.filter(kind="post_read", endpoint=MENTIONS).values_list(
        "unit_price", "units"
    )
    assert sorted(prices) == [(Decimal("0.005"), 3), (Decimal("0.010"), 1)]
    assert spend(maya) == Decimal("0.020")  # two reads at 0.005, one at 0.010
    by_kind = selectors.ticket_spend(ticket_id=maya.pk)
    assert (by_kind.amount, by_kind.units, by_kind.by_kind) == (
        Decimal("0.020"),
        3,
        {"Post read": 3},
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_merges_the_rows_of_one_key_and_keeps_every_figure() -> None:
    executor = MigrationExecutor(connection)
    before, after = [("costs", "0002_usage_rate_limited")], [("costs", "0003_usage_aggregates")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    usage_model = old.get_model("costs", "XApiUsage")
    handle = Handle.objects.create(username="Driftwood", role="main")
    now = timezone.now()
    ticket = Ticket.objects.create(
        handle=handle, requester_username="maya", created_at=now, last_inbound_at=now
    )
    common = {"day": "2026-12-01", "handle_id": handle.pk, "currency": "USD"}
    read = {**common, "kind": "post_read", "endpoint": MENTIONS, "unit_price": "0.005"}
    # Two polls, each with a row on the handle and a read attributed to maya's ticket.
    for _ in range(2):
        usage_model.objects.create(**read, requests=1, units=0, amount=0)
        usage_model.objects.create(**read, ticket_id=ticket.pk, units=1, amount="0.005")
    usage_model.objects.create(**read, requests=1, failed=1, rate_limited=1)
    usage_model.objects.create(
        **{**common, "kind": "post_create", "endpoint": "POST /2/tweets", "unit_price": "0.015"},
        ticket_id=ticket.pk,
        requests=1,
        units=1,
        amount="0.015",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    assert sorted(
        XApiUsage.objects.values_list(
            "kind", "ticket_id", "requests", "failed", "rate_limited", "units", "amount"
        ),
        key=lambda row: (row[0], row[1] is None),
    ) == [
        ("post_create", ticket.pk, 1, 0, 0, 1, Decimal("0.015")),
        ("post_read", ticket.pk, 0, 0, 0, 2, Decimal("0.010")),
        ("post_read", None, 3, 1, 1, 0, Decimal("0")),
    ]
    assert spend(ticket) == Decimal("0.025")
