"""What reading our own timeline back costs a poll: X requests and time at 1,000 open tickets.

A real `handle_poll` against the product's sandbox over HTTP. 1,000 requesters write to the
handle over two days; we answer 300 of them from the X app (posts the desk must find on our
timeline, not in its outbox) and post 200 unrelated updates. The first poll reads the
timeline back to the oldest open ticket; then, for a few rounds, 50 new mentions and 20
outside answers arrive between polls (the steady state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any

from harness import django_start, say

TIMELINE = "/tweets"


def timeline(*, tickets: int, rounds: int) -> dict[str, Any]:
    django_start()
    from mentiondesk.channels.connectors.x import XConnector
    from mentiondesk.channels.models import Handle
    from mentiondesk.intake.ingest import handle_poll
    from mentiondesk.sandbox.x.server import SandboxServer
    from mentiondesk.tickets.models import Ticket

    server = SandboxServer().start()
    store = server.store
    brand_id = store.user_add("Driftwood")
    handle = Handle.objects.create(username="Driftwood", role="main", remote_id=brand_id)

    start = datetime.now(UTC) - timedelta(days=2)
    step = timedelta(days=2) / (tickets + 600)
    moment = start
    asked: list[str] = []
    for n in range(tickets):
        moment += step
        asked.append(store.mention_add(f"user{n}", f"@Driftwood question {n}", created_at=moment))
        if n % 10 < 3:  # 30%: answered from the X app a little later
            store.mention_add(
                "Driftwood", f"@user{n} answer {n}", in_reply_to=asked[-1], created_at=moment
            )
        if n % 5 == 0:  # 20%: an unrelated post of ours
            store.mention_add("Driftwood", f"update {n}", created_at=moment)

    def poll() -> tuple[int, float]:
        before = sum(1 for r in store.request_log() if r.path.endswith(TIMELINE))
        x = XConnector(base_url=server.url, token=store.token_for("Driftwood"))
        started = perf_counter()
        result = handle_poll(handle=handle, connector=x)
        seconds = perf_counter() - started
        x.close()
        assert result.error == "", result.error
        after = sum(1 for r in store.request_log() if r.path.endswith(TIMELINE))
        return after - before, seconds

    say(f"first poll at {tickets} open tickets")
    first_requests, first_s = poll()
    open_count = Ticket.objects.filter(status__in=("new", "open")).count()
    steady: list[tuple[int, float]] = []
    for r in range(rounds):
        now = datetime.now(UTC) + timedelta(seconds=r)
        for n in range(50):
            post = store.mention_add(f"late{r}_{n}", f"@Driftwood later {n}", created_at=now)
            if n < 20:
                store.mention_add("Driftwood", f"@late{r}_{n} ok", in_reply_to=post, created_at=now)
        steady.append(poll())
    server.stop()
    return {
        "ours": len(store.posts("Driftwood")),
        "open_after_first": open_count,
        "first_requests": first_requests,
        "first_ms": first_s * 1000,
        "steady_requests": sum(r for r, _ in steady) / len(steady),
        "steady_ms": sum(s for _, s in steady) / len(steady) * 1000,
    }
