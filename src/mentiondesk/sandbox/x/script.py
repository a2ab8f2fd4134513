"""The demo's network: people mentioning Driftwood, a fictional hosted code-collaboration service
(driftwood.dev, with a self-managed edition), and following up when Driftwood answers.

`script_seed` sets the scene; `ScriptPlayer` keeps it moving (one thread, one mention per tick).
Everything here is fiction: the people, the incidents and the links.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from mentiondesk.sandbox.x.store import SandboxStore

logger = logging.getLogger(__name__)

DEMO_HANDLES = [
    ("Driftwood", "main"),
    ("DriftwoodStatus", "status"),
    ("MoveToDriftwood", "campaign"),
]
HANDLE_NAMES = {
    "Driftwood": "Driftwood",
    "DriftwoodStatus": "Driftwood Status",
    "MoveToDriftwood": "Moving to Driftwood",
}

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
    author's own previous post (a requester adding to their conversation)."""

    author: str
    text: str
    kind: str  # downtime | bug | feature | question | spam | praise | other
    urls: tuple[str, ...] = ()
    thread: bool = False


M = ScriptedMention
SCRIPT: list[ScriptedMention] = [
    M(
        "ana_codes",
        "@Driftwood is anyone else getting 502s on git push? Three pushes failed in "
        "the last 10 minutes.",
        "downtime",
    ),
    M(
        "kofi_builds",
        "@DriftwoodStatus pipelines have been pending for 40 minutes on the shared "
        "runners. Is there an incident?",
        "downtime",
        ("https://driftwood.dev/kofi/infra-live/-/pipelines/88213",),
    ),
    M(
        "marta_dev",
        "@Driftwood the merge request diff view crashes when a file has more than "
        "5000 lines. Repro steps here:",
        "bug",
        ("https://driftwood.dev/driftwood/driftwood/-/issues/48211",),
    ),
    M(
        "ana_codes",
        "@Driftwood @DriftwoodStatus still failing, and now the web UI won't load either 😬",
        "downtime",
        thread=True,
    ),
    M(
        "jpark",
        "@Driftwood any plans to support stacked merge requests? It's the one thing "
        "keeping our team on our old host.",
        "feature",
    ),
    M(
        "lena_ops",
        "@Driftwood we run the self-managed edition 17.4 on our own servers. Is the "
        "upgrade to 17.5 safe with an external PostgreSQL 14?",
        "question",
    ),
    M(
        "tomasz_w",
        "@Driftwood on driftwood.dev, how do I move a project to another group without "
        "breaking its container registry?",
        "question",
    ),
    M(
        "priya_sre",
        "@Driftwood @DriftwoodStatus is driftwood.dev down? 'Whoops, something went "
        "wrong' on every page here in Berlin",
        "downtime",
    ),
    M(
        "nico_rs",
        "@Driftwood huge thanks to whoever built the new code search, it's unbelievably fast 🚀",
        "praise",
    ),
    M(
        "bea_sec",
        "@Driftwood a wave of fake 'crypto airdrop' issues is being opened on popular "
        "public projects, for example:",
        "spam",
        ("https://driftwood.dev/openleaf/leaf/-/issues/3391",),
    ),
    M(
        "sam_oss",
        "@Driftwood love how the status page says all green while I've been staring at a "
        "spinning merge button for 45 minutes. Great work 👏",
        "downtime",
    ),
    M(
        "diego_mx",
        "@Driftwood hola, ¿a alguien más le falla el push desde esta mañana? Me sale "
        "error 403 con mi token personal 😩",
        "question",
    ),
    M(
        "jess_migrates",
        "Finally did it: moved our 40 repos to @Driftwood in one afternoon with "
        "the importer. Thanks @MoveToDriftwood! #MoveToDriftwood",
        "praise",
    ),
    M(
        "olu_data",
        "@MoveToDriftwood does the importer bring over issue comments and labels "
        "too, or just the code?",
        "question",
    ),
    M(
        "hana_k",
        "@Driftwood the CI minutes page shows 0 for our group since yesterday. Display "
        "bug, or are we not being counted? 🤔",
        "bug",
    ),
    M(
        "rafa_dev",
        "@Driftwood feature request: let us pin a pipeline schedule to a runner tag. Upvote here:",
        "feature",
        ("https://driftwood.dev/driftwood/driftwood/-/issues/50102",),
    ),
    # Played after the seed, one per tick.
    M(
        "kofi_builds",
        "@DriftwoodStatus runners picked up again, but jobs now fail with 'no space "
        "left on device'",
        "downtime",
        thread=True,
    ),
    M(
        "mila_ux",
        "@Driftwood in the web IDE's dark theme the diff highlights are almost "
        "invisible. Screenshot:",
        "bug",
        ("https://pics.example.net/mila/ide-dark-diff.png",),
    ),
    M(
        "chris_admin",
        "@Driftwood self-managed question: can Driftwood Runner run on ARM64 nodes "
        "in our own Kubernetes cluster?",
        "question",
    ),
    M(
        "yuki_t",
        "@Driftwood @DriftwoodStatus SSH clones are timing out from Tokyo, HTTPS works "
        "fine. Anyone else in APAC?",
        "downtime",
    ),
    M(
        "ines_pm",
        "@Driftwood thanks for the quick fix on the notification emails yesterday, the "
        "team is happy again 🙌",
        "praise",
    ),
    M(
        "bea_sec",
        "@Driftwood and another batch just landed, same pattern, all opened within 5 minutes:",
        "spam",
        ("https://driftwood.dev/openleaf/leaf/-/issues?label=airdrop",),
        thread=True,
    ),
    M(
        "omar_cloud",
        "@Driftwood is SAML SSO available on the hosted Premium plan, or only on self-managed?",
        "question",
    ),
    M(
        "jpark",
        "@Driftwood also: would stacked MRs work with merge trains? That's the real "
        "blocker for us.",
        "feature",
        thread=True,
    ),
    M(
        "tess_writes",
        "@Driftwood your docs page on protected environments is a 404:",
        "bug",
        ("https://docs.driftwood.dev/ci/environments/protected",),
    ),
    M(
        "viktor_ci",
        "@Driftwood cache:key:files is ignored when the file is in a subdirectory. "
        "Known? Minimal repro project:",
        "bug",
        ("https://driftwood.dev/viktor/cache-repro",),
    ),
    M(
        "greta_devops",
        "@Driftwood Hallo! Seit dem Update auf 17.5 (self-managed) startet Sidekiq "
        "nicht mehr. Ist das ein bekanntes Problem?",
        "question",
    ),
    M(
        "priya_sre",
        "@Driftwood @DriftwoodStatus back up for me now, thanks! Was it the database?",
        "downtime",
        thread=True,
    ),
    M(
        "nico_rs",
        "@Driftwood small idea: a keyboard shortcut to jump to the next unresolved "
        "thread in a merge request ⌨️",
        "feature",
    ),
    M(
        "lena_ops",
        "@Driftwood also, do we need to run the background migrations by hand after that upgrade?",
        "question",
        thread=True,
    ),
    M(
        "alex_j",
        "@Driftwood I get 'Your account has been locked' since enabling 2FA and I have a "
        "release today. Please help!",
        "question",
    ),
    M(
        "noor_builds",
        "Just moved our monorepo over, CI went from 22 to 9 minutes 🤯 "
        "@MoveToDriftwood #MoveToDriftwood",
        "praise",
    ),
    M(
        "sam_oss",
        "@Driftwood oh look, another 'minor degradation'. Guess I'll write my code on "
        "paper today ✍️",
        "downtime",
    ),
    M(
        "dev_ravi",
        "@Driftwood someone is impersonating your support account and DMing people "
        "for their access tokens:",
        "spam",
        ("https://x.com/Driftwood_Helpdesk",),
    ),
    M(
        "marta_dev",
        "@Driftwood any update on this one? It's blocking our code reviews.",
        "bug",
        thread=True,
    ),
    M(
        "tomasz_w",
        "@Driftwood @DriftwoodStatus webhooks to our Jenkins stopped firing about an hour ago",
        "downtime",
    ),
    M(
        "kim_l",
        "@Driftwood how do I get an invoice with our VAT number on it for the hosted Premium plan?",
        "question",
    ),
    M(
        "olu_data",
        "@MoveToDriftwood and what about merge request approval rules?",
        "question",
        thread=True,
    ),
    M(
        "fatima_sec",
        "@Driftwood I reported a security issue through your bug bounty 3 days ago "
        "and haven't heard back. Who should I talk to?",
        "question",
    ),
    M(
        "jess_migrates",
        "@Driftwood @MoveToDriftwood one small thing: the importer skipped our "
        "LFS objects. Known issue?",
        "bug",
    ),
    M("hana_k", "@Driftwood 🔥🔥🔥 the new pipeline editor", "praise"),
]
del M
SEED_COUNT = 16

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


def handles_add(store: SandboxStore) -> dict[str, str]:
    """Create the three Driftwood handles (idempotent); returns username -> user id."""
    return {name: store.user_add(name, HANDLE_NAMES[name]) for name, _ in DEMO_HANDLES}


def script_seed(store: SandboxStore, *, now: datetime | None = None) -> list[str]:
    """Create the handles, every requester, and the first SEED_COUNT mentions with created_at
    spread over the past six hours (oldest first). Returns the new post ids. Call once per store:
    it does not check whether the mentions are already there."""
    handles_add(store)
    for username, name in REQUESTERS:
        store.user_add(username, name)
    now = now or store.now()
    step = timedelta(hours=6) / SEED_COUNT
    return [
        _play(store, entry, created_at=now - timedelta(hours=6) + step * index)
        for index, entry in enumerate(SCRIPT[:SEED_COUNT])
    ]


def _play(store: SandboxStore, entry: ScriptedMention, *, created_at: datetime | None) -> str:
    parent = None
    if entry.thread:
        own = store.posts(entry.author)
        parent = own[-1]["id"] if own else None
    return store.mention_add(
        entry.author,
        entry.text,
        in_reply_to=parent,
        created_at=created_at,
        expanded_urls=list(entry.urls),
    )


def _kind_of(text: str) -> str:
    for entry in SCRIPT:
        if text.startswith(entry.text):
            return entry.kind
    return "other"


class ScriptPlayer:
    """Plays the rest of SCRIPT, one mention every `interval` seconds, in a daemon thread.

    On each tick it first looks at new replies from our handles to a requester: with
    probability `follow_up_chance` the requester answers our reply (at most twice per
    conversation, the second time satisfied). When the script is over, only follow-ups go on.
    `step()` runs one tick synchronously (tests).
    """

    def __init__(
        self,
        store: SandboxStore,
        interval: float = 20.0,
        *,
        start_at: int = SEED_COUNT,
        follow_up_chance: float = 0.6,
        seed: int | None = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self.follow_up_chance = follow_up_chance
        self._next = start_at
        self._rng = random.Random(seed)  # noqa: S311 (demo texts, not security)
        self._seen_replies: set[str] = set()
        self._follow_ups: dict[str, int] = {}  # conversation id -> follow-ups posted
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ScriptPlayer:
        self._thread = threading.Thread(target=self._run, name="sandbox-script", daemon=True)
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
                logger.exception("sandbox script tick failed")

    def step(self) -> list[str]:
        """One tick: follow-ups to our new replies, then the next scripted mention. Returns
        the ids of the posts it added."""
        added = self._follow_up()
        if self._next < len(SCRIPT):
            added.append(_play(self.store, SCRIPT[self._next], created_at=None))
            self._next += 1
        return added

    def _follow_up(self) -> list[str]:
        our_ids = {
            user["id"]: user["username"]
            for name, _ in DEMO_HANDLES
            if (user := self.store.user_by_username(name)) is not None
        }
        added = []
        for reply in self.store.posts():
            if reply["author_id"] not in our_ids or reply["id"] in self._seen_replies:
                continue
            self._seen_replies.add(reply["id"])
            parent_id = next(
                (r["id"] for r in reply.get("referenced_tweets", []) if r["type"] == "replied_to"),
                None,
            )
            parent = self.store.post_get(parent_id) if parent_id else None
            if parent is None or parent["author_id"] in our_ids:
                continue
            conversation = reply["conversation_id"]
            done = self._follow_ups.get(conversation, 0)
            if done >= 2 or self._rng.random() >= self.follow_up_chance:
                continue
            root = self.store.post_get(conversation) or parent
            first, second = FOLLOW_UPS[_kind_of(root["text"])]
            text = self._rng.choice(first if done == 0 else second)
            requester = self.store.user_get(parent["author_id"])
            if requester is None:
                continue
            handle = our_ids[reply["author_id"]]
            added.append(
                self.store.mention_add(
                    requester["username"], f"@{handle} {text}", in_reply_to=reply["id"]
                )
            )
            self._follow_ups[conversation] = done + 1
        return added
