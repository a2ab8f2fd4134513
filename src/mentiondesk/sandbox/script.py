"""The demo's script machinery, shared by every network's sandbox: the Driftwood world's people
(`REQUESTERS`), a scripted mention (`ScriptedMention`), what a requester says when we answer
(`FOLLOW_UPS`), and `ScriptPlayer`, which plays a script on one network through its `Stage`.

A stage is how one network posts: a requester's mention, the replies our handles have made to
a requester, and a requester's follow-up to one of them. The script, the pace and the choice of
follow-ups are the player's, so every network plays the same way (sandbox/x/script.py,
sandbox/mastodon_script.py, sandbox/bluesky_script.py). Everything here is fiction.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, Self

logger = logging.getLogger(__name__)

# Seconds between two ticks of every network's player: one clock for the whole demo.
SCRIPT_INTERVAL = 20.0
# The seeded mentions are spread over this much of the past.
SEED_SPAN = timedelta(hours=6)

REQUESTERS = [
    ("ana_codes", "Ana Lima"),
    ("kofi_builds", "Kofi Mensah"),
    ("marta_dev", "Marta Nowak"),
    ("jpark", "Jin Park"),
    ("lena_ops", "Lena Vogel"),
    ("tomasz_w", "Tomasz Wiśniewski"),
    ("priya_sre", "Priya Raman"),
    ("nico_rs", "Nico Ferreira"),
    ("bea_sec", "Beatriz Souza"),
    ("sam_oss", "Sam O'Neill"),
    ("diego_mx", "Diego Hernández"),
    ("jess_migrates", "Jess Taylor"),
    ("olu_data", "Olu Adeyemi"),
    ("hana_k", "Hana Kobayashi"),
    ("rafa_dev", "Rafael Costa"),
    ("mila_ux", "Mila Petrova"),
    ("chris_admin", "Chris Becker"),
    ("yuki_t", "Yuki Tanaka"),
    ("ines_pm", "Inês Martins"),
    ("omar_cloud", "Omar Haddad"),
    ("tess_writes", "Tess Morgan"),
    ("viktor_ci", "Viktor Lund"),
    ("greta_devops", "Greta Hoffmann"),
    ("alex_j", "Alex Johnson"),
    ("noor_builds", "Noor Aziz"),
    ("dev_ravi", "Ravi Iyer"),
    ("kim_l", "Kim Larsen"),
    ("fatima_sec", "Fatima Zahra"),
]


@dataclass(frozen=True)
class ScriptedMention:
    """One scripted post. `kind` picks the follow-ups; `thread` makes it a reply to the
    author's own previous post (a requester adding to their conversation). `visibility` is
    Mastodon's (public, unlisted, private, direct); the other networks post publicly."""

    author: str
    text: str
    kind: str  # downtime | bug | feature | question | spam | praise | other
    urls: tuple[str, ...] = ()
    thread: bool = False
    visibility: str = "public"


# Follow-ups to one of our replies, by kind of conversation: (first time, second time).
FOLLOW_UPS: dict[str, tuple[list[str], list[str]]] = {
    "downtime": (
        [
            "still broken for me, same 502 on push",
            "not fixed here, still timing out from Frankfurt",
            "it's back for me, thanks for the quick update!",
            "works again 👍",
        ],
        ["all good now, thanks for keeping us posted", "confirmed fixed, thank you!"],
    ),
    "bug": (
        [
            "thanks, subscribed to the issue 👀",
            "the workaround didn't help, it still crashes",
            "perfect, the workaround does it for now",
        ],
        ["thanks, that sorted it"],
    ),
    "feature": (["upvoted, thanks for the link!", "great, I'll follow the epic"], ["🙏"]),
    "question": (
        [
            "thanks, works now!",
            "tried that, still getting the same error",
            "that did it, much appreciated 🙏",
            "hmm, the page you linked doesn't cover self-managed",
        ],
        ["got it working, thanks for your patience!"],
    ),
    "spam": (["thanks for acting so fast!"], ["👍"]),
    "praise": (["❤️"], ["🙌"]),
    "other": (["thanks!"], ["👍"]),
}


@dataclass(frozen=True)
class OurReply:
    """A reply one of our handles made to a requester's post, as a stage reports it."""

    id: str  # the reply's id on its network
    conversation: str  # the id of the conversation's first post
    root_text: str  # that first post's text: its kind picks the follow-ups
    requester: str  # the username of the requester we answered
    handle: str  # the username of our handle that answered


class Stage(Protocol):
    """One network, as a script player drives it."""

    def now(self) -> datetime:
        """The time on the network's clock."""

    def mention_post(self, entry: ScriptedMention, *, created_at: datetime | None) -> str:
        """Post `entry` as its author (at `created_at`, or now); returns the post's id."""

    def replies_ours(self) -> list[OurReply]:
        """Every reply our handles have made to a requester's post, oldest first."""

    def follow_up_post(self, reply: OurReply, *, text: str) -> str:
        """Post `text` as `reply.requester`, in answer to `reply`; returns the post's id."""


def script_seed_play(
    stage: Stage, script: Sequence[ScriptedMention], *, count: int, now: datetime | None = None
) -> list[str]:
    """Post the first `count` mentions of `script` with created_at spread over SEED_SPAN up to
    `now` (oldest first); returns their ids."""
    now = now or stage.now()
    step = SEED_SPAN / count
    return [
        stage.mention_post(entry, created_at=now - SEED_SPAN + step * index)
        for index, entry in enumerate(script[:count])
    ]


class ScriptPlayer:
    """Plays `script` from `start_at` on `stage`, one mention every `interval` seconds, in a
    daemon thread.

    On each tick it first looks at new replies from our handles to a requester: with
    probability `follow_up_chance` the requester answers our reply (at most twice per
    conversation, the second time satisfied). When the script is over, only follow-ups go on.
    `step()` runs one tick synchronously (tests).
    """

    def __init__(
        self,
        stage: Stage,
        script: Sequence[ScriptedMention],
        interval: float = SCRIPT_INTERVAL,
        *,
        start_at: int = 0,
        follow_up_chance: float = 0.6,
        seed: int | None = None,
        name: str = "sandbox-script",
    ) -> None:
        self.name = name  # of its thread
        self.stage = stage
        self.script = script
        self.interval = interval
        self.follow_up_chance = follow_up_chance
        self._next = start_at
        self._rng = random.Random(seed)  # noqa: S311 (demo texts, not security)
        self._seen_replies: set[str] = set()
        self._follow_ups: dict[str, int] = {}  # conversation id -> follow-ups posted
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except Exception:
                # The demo must keep playing; a store reset mid-tick is not worth dying for.
                logger.exception("%s tick failed", self.name)

    def step(self) -> list[str]:
        """One tick: follow-ups to our new replies, then the next scripted mention. Returns
        the ids of the posts it added."""
        added = self._follow_up()
        if self._next < len(self.script):
            added.append(self.stage.mention_post(self.script[self._next], created_at=None))
            self._next += 1
        return added

    def _kind_of(self, text: str) -> str:
        for entry in self.script:
            if text.startswith(entry.text):
                return entry.kind
        return "other"

    def _follow_up(self) -> list[str]:
        added = []
        for reply in self.stage.replies_ours():
            if reply.id in self._seen_replies:
                continue
            self._seen_replies.add(reply.id)
            done = self._follow_ups.get(reply.conversation, 0)
            if done >= 2 or self._rng.random() >= self.follow_up_chance:
                continue
            first, second = FOLLOW_UPS[self._kind_of(reply.root_text)]
            text = self._rng.choice(first if done == 0 else second)
            added.append(self.stage.follow_up_post(reply, text=f"@{reply.handle} {text}"))
            self._follow_ups[reply.conversation] = done + 1
        return added
