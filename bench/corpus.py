"""The mentions the ingest benchmark polls: a sandbox store filled with a realistic mix, served
by a SandboxServer in a process of its own, so the network's side of each page runs on the other
core and shows up as latency, as X's would."""

from __future__ import annotations

import contextlib
import random
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.sandbox.x.store import SandboxStore

# Ours, as in the demo policy: (username, role).
HANDLES = (("Driftwood", "main"), ("DriftwoodStatus", "status"))
UNLIMITED = 10**9
TEXTS = (
    "is anyone else getting 502s on git push? Three pushes failed in the last 10 minutes.",
    "the merge button has been spinning for a while now, is something down?",
    "how do I move my self-managed instance to the hosted plan without losing CI history?",
    "love the new code review view, thanks for shipping it!",
    "webhooks to our deploy server stopped firing around noon UTC, nothing in the logs.",
    "billing page says my seats are over the limit but we removed two people last week.",
)


def corpus_build(*, mentions: int, requesters: int, seed: int = 7) -> tuple[SandboxStore, int]:
    """A store holding `mentions` requester posts that mention our handles, oldest first, 20 s
    apart: 76 % @Driftwood, 8 % both handles, 6 % @DriftwoodStatus only, 8 % follow-ups
    replying to the author's own recent post, 2 % replies to an answer we posted from outside
    the desk (so the parent is ours); 30 % carry a link, which X turns into a t.co link.

    Returns the store and how many posts the handles' timelines hold together (a post that
    mentions both handles is in both)."""
    store = SandboxStore(
        rate_limits={
            "GET /2/users/:id/mentions": UNLIMITED,
            "GET /2/tweets": UNLIMITED,
            "GET /2/users/by/username/:username": UNLIMITED,
        }
    )
    for username, _ in HANDLES:
        store.user_add(username)
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(seconds=20 * mentions + 60)
    recent: list[tuple[str, str]] = []  # (author, post id): what follow-ups answer
    in_timelines = 0
    for n in range(mentions):
        at = start + timedelta(seconds=20 * n)
        author = f"user{rng.randrange(requesters)}"
        text = f"{rng.choice(TEXTS)} #{n}"
        links = [f"https://example.com/issues/{n}"] if rng.random() < 0.3 else None
        roll = rng.random()
        parent = None
        if roll < 0.10 and recent:
            author, parent = rng.choice(recent[-500:])
            if roll < 0.02:
                answer = f"@{author} thanks for the report, we're looking into it."
                parent = store.mention_add("Driftwood", answer, in_reply_to=parent, created_at=at)
            text = "@Driftwood " + text
        elif roll < 0.18:
            text = "@Driftwood @DriftwoodStatus " + text
            in_timelines += 1
        elif roll < 0.24:
            text = "@DriftwoodStatus " + text
        else:
            text = "@Driftwood " + text
        post_id = store.mention_add(
            author,
            text,
            in_reply_to=parent,
            created_at=at + timedelta(seconds=1),
            expanded_urls=links,
        )
        recent.append((author, post_id))
        in_timelines += 1
    return store, in_timelines


def corpus_serve(conn: Connection, mentions: int, requesters: int) -> None:
    """Build the corpus, serve it, send the facts a poller needs through `conn`, and
    stop when `conn` says so or closes. A multiprocessing target."""
    started = time.perf_counter()
    store, in_timelines = corpus_build(mentions=mentions, requesters=requesters)
    facts: dict[str, Any] = {"in_timelines": in_timelines, "handles": {}}
    for username, _ in HANDLES:
        user_id = store.user_add(username)  # the existing user's id
        facts["handles"][username] = {"id": user_id, "token": store.token_for(username)}
    facts["build_s"] = time.perf_counter() - started
    with SandboxServer(store) as server:
        facts["url"] = server.url
        conn.send(facts)
        with contextlib.suppress(EOFError):
            conn.recv()
