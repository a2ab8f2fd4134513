"""The mentions the ingest benchmark polls: a sandbox store filled with a realistic mix, served
by a SandboxServer in a process of its own, so the network's side of each page runs on the other
core and shows up as latency, as X's would."""

from __future__ import annotations

import contextlib
import random
import time
from bisect import bisect_left, bisect_right
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from mentiondesk.sandbox.server import SandboxServer
from mentiondesk.sandbox.store import SandboxStore

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


class IndexedStore(SandboxStore):
    """A SandboxStore whose `mentions_of` finds the page by bisection in a per-user index taken
    once by `mentions_index`, then copies only that page.

    SandboxStore walks back from the newest post to the page asked for: at 100k mentions a deep
    page costs ~70 ms of server time, which the benchmark would charge to the desk. Same
    contract and same answers (`corpus_serve` compares them); posts added after indexing are
    not seen."""

    def reset(self) -> None:
        with self._lock:
            super().reset()
            self._mention_index: dict[str, tuple[list[int], list[str]]] = {}

    def mentions_index(self, user_id: str) -> None:
        ids = [post["id"] for post in super().mentions_of(user_id)]
        with self._lock:
            self._mention_index[user_id] = ([-int(i) for i in ids], ids)

    def mentions_of(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        until_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        if user_id not in self._mention_index:
            return super().mentions_of(user_id, since_id=since_id, until_id=until_id, limit=limit)
        keys, ids = self._mention_index[user_id]  # keys ascending: newest first
        start = bisect_right(keys, -int(until_id)) if until_id else 0
        stop = bisect_left(keys, -int(since_id)) if since_id else len(keys)
        if limit is not None:
            stop = min(stop, start + limit)
        return [post for i in ids[start:stop] if (post := self.post_get(i)) is not None]


def corpus_build(*, mentions: int, requesters: int, seed: int = 7) -> tuple[IndexedStore, int]:
    """A store holding `mentions` requester posts that mention our handles, oldest first, 20 s
    apart: 76 % @Driftwood, 8 % both handles, 6 % @DriftwoodStatus only, 8 % follow-ups
    replying to the author's own recent post, 2 % replies to an answer we posted from outside
    the desk (so the parent is ours); 30 % carry a link, which X turns into a t.co link.

    Returns the store and how many posts the handles' timelines hold together (a post that
    mentions both handles is in both)."""
    store = IndexedStore(
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


def _check_index(store: IndexedStore, user_id: str) -> float:
    """Assert the index answers as SandboxStore does on a few windows; return the seconds
    SandboxStore takes for the deepest page (for the report)."""
    ids = [p["id"] for p in SandboxStore.mentions_of(store, user_id)]
    deepest = ids[-101] if len(ids) > 101 else None
    windows: list[dict[str, Any]] = [
        {"limit": 101},
        {"until_id": ids[len(ids) // 2], "limit": 101},
        {"since_id": ids[len(ids) // 3], "limit": 101},
        {"since_id": ids[-5], "until_id": ids[3]},
    ]
    for window in windows:
        expected = SandboxStore.mentions_of(store, user_id, **window)
        assert store.mentions_of(user_id, **window) == expected, window
    started = time.perf_counter()
    SandboxStore.mentions_of(store, user_id, until_id=deepest, limit=101)
    return time.perf_counter() - started


def corpus_serve(conn: Connection, mentions: int, requesters: int) -> None:
    """Build and index the corpus, serve it, send the facts a poller needs through `conn`, and
    stop when `conn` says so or closes. A multiprocessing target."""
    started = time.perf_counter()
    store, in_timelines = corpus_build(mentions=mentions, requesters=requesters)
    facts: dict[str, Any] = {"in_timelines": in_timelines, "handles": {}}
    for username, _ in HANDLES:
        user_id = store.user_add(username)  # the existing user's id
        store.mentions_index(user_id)
        facts["handles"][username] = {"id": user_id, "token": store.token_for(username)}
    facts["sandbox_deep_page_s"] = _check_index(store, facts["handles"]["Driftwood"]["id"])
    facts["build_s"] = time.perf_counter() - started
    with SandboxServer(store) as server:
        facts["url"] = server.url
        conn.send(facts)
        with contextlib.suppress(EOFError):
            conn.recv()
