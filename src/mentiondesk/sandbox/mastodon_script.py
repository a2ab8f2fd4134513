"""The demo's Mastodon: Driftwood's accounts on the sandbox instance and a few of the X
script's people talking to them in Mastodon's shape: visibilities (one `direct` mention, one
followers-only, one unlisted) and a stranger's mention that Mastodon 4.3+ holds back as a
notification request, since our accounts filter mentions from accounts they do not follow.

`script_seed` sets the scene; sandbox/script.py's ScriptPlayer keeps it moving from SEED_COUNT.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mentiondesk.sandbox import script
from mentiondesk.sandbox.mastodon import MastodonStore, SandboxAccount
from mentiondesk.sandbox.script import REQUESTERS, OurReply, ScriptedMention

# (username, role, display name): our accounts on the instance.
HANDLES = [
    ("driftwood", "main", "Driftwood"),
    ("driftwoodstatus", "status", "Driftwood Status"),
]
# People our accounts do not follow: their mentions wait in notification requests.
STRANGERS = frozenset({"yuki_t"})

M = ScriptedMention
SCRIPT: list[ScriptedMention] = [
    M(
        "lena_ops",
        "@driftwood upgrading our self-managed instance from 17.4 to 17.5 tonight: anything "
        "to watch for with an external PostgreSQL 14?",
        "question",
    ),
    M(
        "priya_sre",
        "@driftwood @driftwoodstatus driftwood.dev answers 'Whoops, something went wrong' on "
        "every page from Berlin. Is it just me?",
        "downtime",
    ),
    M(
        "fatima_sec",
        "@driftwood writing privately: I reported a security issue through your bug bounty "
        "3 days ago and heard nothing back. Who should I talk to?",
        "question",
        visibility="direct",
    ),
    M(
        "nico_rs",
        "@driftwood the new code search is unbelievably fast, thank you 🚀",
        "praise",
    ),
    M(
        "viktor_ci",
        "@driftwood cache:key:files is ignored when the file is in a subdirectory. Known? "
        "Minimal repro:",
        "bug",
        ("https://driftwood.dev/viktor/cache-repro",),
    ),
    # Played after the seed, one per tick.
    M(
        "yuki_t",
        "@driftwood @driftwoodstatus SSH clones are timing out from Tokyo, HTTPS works fine. "
        "Anyone else in APAC?",
        "downtime",
    ),
    M(
        "priya_sre",
        "@driftwood @driftwoodstatus back up for me now, thanks! Was it the database?",
        "downtime",
        thread=True,
    ),
    M(
        "tess_writes",
        "@driftwood your docs page on protected environments is a 404:",
        "bug",
        ("https://docs.driftwood.dev/ci/environments/protected",),
        visibility="unlisted",
    ),
    M(
        "lena_ops",
        "@driftwood also, do the background migrations need running by hand after the upgrade?",
        "question",
        thread=True,
        visibility="private",
    ),
    M(
        "greta_devops",
        "@driftwood Hallo! Seit dem Update auf 17.5 (self-managed) startet Sidekiq nicht mehr. "
        "Ist das ein bekanntes Problem?",
        "question",
    ),
]
del M
SEED_COUNT = 5


def handles_add(store: MastodonStore) -> dict[str, SandboxAccount]:
    """Our accounts (idempotent), filtering mentions from accounts they do not follow;
    returns username -> account."""
    accounts = {}
    for username, _, name in HANDLES:
        account = store.account_by_username(username)
        if account is None:
            account = store.account_add(username, display_name=name, for_not_following="filter")
        accounts[username] = account
    return accounts


def script_seed(store: MastodonStore, *, now: datetime | None = None) -> list[str]:
    """Our accounts, every requester (followed by our accounts but for STRANGERS), and the
    first SEED_COUNT mentions spread over the past six hours. Returns the new status ids.
    Call once per store."""
    ours = handles_add(store)
    for username, name in REQUESTERS:
        account = store.account_add(username, display_name=name)
        if username not in STRANGERS:
            with store.lock:
                store.follows.update((our.id, account.id) for our in ours.values())
    return script.script_seed_play(MastodonStage(store), SCRIPT, count=SEED_COUNT, now=now)


class MastodonStage:
    """The sandbox instance as a script player drives it (sandbox/script.py, Stage)."""

    def __init__(self, store: MastodonStore) -> None:
        self.store = store

    def now(self) -> datetime:
        return datetime.now(UTC)

    def _account(self, username: str) -> SandboxAccount:
        account = self.store.account_by_username(username)
        if account is None:
            raise LookupError(username)
        return account

    def mention_post(self, entry: ScriptedMention, *, created_at: datetime | None) -> str:
        author = self._account(entry.author)
        parent = None
        if entry.thread:
            own = self.store.statuses_by(author.id)
            parent = own[-1]["id"] if own else None
        status = self.store.status_post(
            author.id,
            " ".join((entry.text, *entry.urls)),
            in_reply_to_id=parent,
            visibility=entry.visibility,
            created_at=created_at,
        )
        return str(status["id"])

    def replies_ours(self) -> list[OurReply]:
        ours = {
            account.id: username
            for username, _, _ in HANDLES
            if (account := self.store.account_by_username(username)) is not None
        }
        replies = []
        with self.store.lock:
            statuses = dict(self.store.statuses)
            for status in statuses.values():
                parent = statuses.get(status["in_reply_to_id"] or "")
                if status["account_id"] not in ours or parent is None:
                    continue
                if parent["account_id"] in ours:
                    continue
                root = parent
                while root["in_reply_to_id"] in statuses:
                    root = statuses[root["in_reply_to_id"]]
                replies.append(
                    OurReply(
                        id=status["id"],
                        conversation=root["id"],
                        root_text=root["text"],
                        requester=self.store.accounts[parent["account_id"]].username,
                        handle=ours[status["account_id"]],
                    )
                )
        return replies

    def follow_up_post(self, reply: OurReply, *, text: str) -> str:
        # A conversation keeps the visibility of our answer (a direct one stays direct).
        ours = self.store.statuses[reply.id]
        status = self.store.status_post(
            self._account(reply.requester).id,
            text,
            in_reply_to_id=reply.id,
            visibility=ours["visibility"],
        )
        return str(status["id"])
