"""The demo's Bluesky: Driftwood's accounts on the sandbox PDS and a few of the X script's
people talking to them in Bluesky's shape: posts whose @handles and links are facets (UTF-8
byte ranges), threads held together by reply refs (root and parent, uri and cid), and
follow-ups that reach us as `reply` notifications.

Bluesky handles are domain names: ours are on Driftwood's own domain, the people's on the
sandbox's (`ana_codes` is `ana-codes.bsky.example`). `script_seed` sets the scene;
sandbox/script.py's ScriptPlayer keeps it moving from SEED_COUNT.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mentiondesk.sandbox import script
from mentiondesk.sandbox.bluesky import BlueskyStore
from mentiondesk.sandbox.script import REQUESTERS, OurReply, ScriptedMention

# (handle, role, display name): our accounts.
HANDLES = [
    ("driftwood.dev", "main", "Driftwood"),
    ("status.driftwood.dev", "status", "Driftwood Status"),
]
PEOPLE_DOMAIN = "bsky.example"

M = ScriptedMention
SCRIPT: list[ScriptedMention] = [
    M(
        "kofi_builds",
        "@status.driftwood.dev pipelines have been pending for 40 minutes on the shared "
        "runners. Is there an incident?",
        "downtime",
        ("https://driftwood.dev/kofi/infra-live/-/pipelines/88213",),
    ),
    M(
        "marta_dev",
        "@driftwood.dev the merge request diff view crashes on files over 5000 lines. Repro:",
        "bug",
        ("https://driftwood.dev/driftwood/driftwood/-/issues/48211",),
    ),
    M(
        "jpark",
        "@driftwood.dev any plans for stacked merge requests? It's the one thing keeping our "
        "team on our old host.",
        "feature",
    ),
    M(
        "mila_ux",
        "@driftwood.dev in the web IDE's dark theme the diff highlights are almost invisible 🙈",
        "bug",
    ),
    # Played after the seed, one per tick.
    M(
        "kofi_builds",
        "@status.driftwood.dev runners picked up again, but jobs now fail with 'no space left "
        "on device'",
        "downtime",
        thread=True,
    ),
    M(
        "omar_cloud",
        "@driftwood.dev is SAML SSO on the hosted Premium plan, or only self-managed? This page "
        "doesn't say:",
        "question",
        ("https://docs.driftwood.dev/user/group/saml_sso",),
    ),
    M(
        "jpark",
        "@driftwood.dev also: would stacked MRs work with merge trains? That's the real blocker "
        "for us.",
        "feature",
        thread=True,
    ),
    M(
        "noor_builds",
        "Just moved our monorepo to @driftwood.dev, CI went from 22 to 9 minutes 🤯",
        "praise",
    ),
]
del M
SEED_COUNT = 4


def person_handle(username: str) -> str:
    """A requester's Bluesky handle: `ana_codes` -> `ana-codes.bsky.example`."""
    return f"{username.replace('_', '-')}.{PEOPLE_DOMAIN}"


def handles_add(store: BlueskyStore, *, passwords: dict[str, str]) -> dict[str, str]:
    """Our accounts (idempotent), with the app password `passwords` gives each handle (one is
    made up for the others); returns handle -> DID."""
    return {
        handle: store.account_add(handle, password=passwords.get(handle, ""), display_name=name)
        for handle, _, name in HANDLES
    }


def script_seed(
    store: BlueskyStore, *, passwords: dict[str, str], now: datetime | None = None
) -> list[str]:
    """Our accounts, every requester, and the first SEED_COUNT posts spread over the past six
    hours. Returns their at:// URIs. Call once per store."""
    handles_add(store, passwords=passwords)
    for username, name in REQUESTERS:
        store.account_add(person_handle(username), display_name=name)
    return script.script_seed_play(BlueskyStage(store), SCRIPT, count=SEED_COUNT, now=now)


class BlueskyStage:
    """The sandbox PDS as a script player drives it (sandbox/script.py, Stage)."""

    def __init__(self, store: BlueskyStore) -> None:
        self.store = store

    def now(self) -> datetime:
        return datetime.now(UTC)

    def mention_post(self, entry: ScriptedMention, *, created_at: datetime | None) -> str:
        author = person_handle(entry.author)
        parent = None
        if entry.thread:
            own = self.store.posts_by(author)
            parent = own[-1]["uri"] if own else None
        return self.store.post_add(
            author, " ".join((entry.text, *entry.urls)), reply_to=parent, created_at=created_at
        )

    def replies_ours(self) -> list[OurReply]:
        ours = [handle for handle, _, _ in HANDLES]
        replies = []
        for handle in ours:
            for post in self.store.posts_by(handle):
                refs = post["value"].get("reply")
                parent = self.store.post_get(refs["parent"]["uri"]) if refs else None
                if refs is None or parent is None or parent["author"] in ours:
                    continue
                root = self.store.post_get(refs["root"]["uri"]) or parent
                replies.append(
                    OurReply(
                        id=post["uri"],
                        conversation=root["uri"],
                        root_text=root["value"]["text"],
                        requester=parent["author"],
                        handle=handle,
                    )
                )
        return replies

    def follow_up_post(self, reply: OurReply, *, text: str) -> str:
        return self.store.post_add(reply.requester, text, reply_to=reply.id)
