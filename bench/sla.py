"""SLA refresh throughput: how many tickets per second `tickets_sla_refresh` recomputes and
stores (what the worker does after each ingest page, and `mentiondesk sla refresh --all` after
an import). Tickets have a requester's post and our answer; the policy counts business hours
in Europe/Amsterdam with holidays, the costlier calendar.

    MENTIONDESK_DATABASE_URL=sqlite:////tmp/sla-bench.db .venv/bin/python bench/sla.py [N]

Runs on the database the URL names (fresh: it is migrated, tickets are added)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from time import perf_counter

from harness import django_start, say

POLICY = """
[[handle]]
username = "Driftwood"
user_id = "100"

[sla]
time_zone = "Europe/Amsterdam"
holidays = [2026-12-25, 2026-12-26]

[sla.business_hours]
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"

[[sla.target]]
name = "standard"
first_response = "2h"
next_response = "4h"
resolution = "24h"
"""


def main(count: int) -> None:
    django_start()
    from mentiondesk.actions import policy as policy_actions
    from mentiondesk.channels.models import Handle, Post
    from mentiondesk.sla import services
    from mentiondesk.tickets.models import Ticket

    policy_actions.policy_apply_text(text=POLICY, source="bench.toml")
    handle = Handle.objects.get(username="Driftwood")
    start = datetime(2026, 10, 1, 8, tzinfo=UTC)
    say(f"creating {count:,} tickets")
    tickets = Ticket.objects.bulk_create(
        Ticket(
            handle=handle,
            conversation_id=str(i),
            requester_remote_id=str(10_000 + i),
            requester_username=f"user{i}",
            created_at=start + timedelta(minutes=7 * i),
            last_inbound_at=start + timedelta(minutes=7 * i),
        )
        for i in range(count)
    )
    posts = []
    for i, ticket in enumerate(tickets):
        at = start + timedelta(minutes=7 * i)
        for n, (direction, author, delay) in enumerate(
            (("in", str(10_000 + i), 0), ("out", "100", 95))
        ):
            posts.append(
                Post(
                    remote_id=f"{i}{n}",
                    handle=handle,
                    ticket=ticket,
                    direction=direction,
                    author_remote_id=author,
                    author_username="x",
                    text="x",
                    created_at=at + timedelta(minutes=delay),
                    conversation_id=str(i),
                )
            )
    Post.objects.bulk_create(posts, batch_size=2000)
    say("refreshing")
    began = perf_counter()
    refreshed = services.tickets_sla_refresh(
        ticket_ids=[t.pk for t in tickets], now=start + timedelta(days=60)
    )
    seconds = perf_counter() - began
    print(f"SLA refresh: {refreshed:,} tickets in {seconds:.1f} s = {refreshed / seconds:,.0f}/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
