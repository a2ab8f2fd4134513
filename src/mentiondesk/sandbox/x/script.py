"""The demo's network: people mentioning Driftwood, a fictional hosted code-collaboration service
(driftwood.dev, with a self-managed edition), and following up when Driftwood answers.

`script_seed` sets the scene; `ScriptPlayer` keeps it moving (one thread, one mention per tick):
the player every network shares (sandbox/script.py), on X through `XStage`.
Everything here is fiction: the people, the incidents and the links.
"""

from __future__ import annotations

from datetime import datetime

from mentiondesk.sandbox import script
from mentiondesk.sandbox.script import REQUESTERS, OurReply, ScriptedMention
from mentiondesk.sandbox.x.store import SandboxStore

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
    return script.script_seed_play(XStage(store), SCRIPT, count=SEED_COUNT, now=now)


class XStage:
    """The X sandbox as a script player drives it (sandbox/script.py, Stage)."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    def now(self) -> datetime:
        return self.store.now()

    def mention_post(self, entry: ScriptedMention, *, created_at: datetime | None) -> str:
        parent = None
        if entry.thread:
            own = self.store.posts(entry.author)
            parent = own[-1]["id"] if own else None
        return self.store.mention_add(
            entry.author,
            entry.text,
            in_reply_to=parent,
            created_at=created_at,
            expanded_urls=list(entry.urls),
        )

    def replies_ours(self) -> list[OurReply]:
        our_ids = {
            user["id"]: user["username"]
            for name, _ in DEMO_HANDLES
            if (user := self.store.user_by_username(name)) is not None
        }
        replies = []
        for reply in self.store.posts():
            if reply["author_id"] not in our_ids:
                continue
            parent_id = next(
                (r["id"] for r in reply.get("referenced_tweets", []) if r["type"] == "replied_to"),
                None,
            )
            parent = self.store.post_get(parent_id) if parent_id else None
            if parent is None or parent["author_id"] in our_ids:
                continue
            requester = self.store.user_get(parent["author_id"])
            if requester is None:
                continue
            root = self.store.post_get(reply["conversation_id"]) or parent
            replies.append(
                OurReply(
                    id=reply["id"],
                    conversation=reply["conversation_id"],
                    root_text=root["text"],
                    requester=requester["username"],
                    handle=our_ids[reply["author_id"]],
                )
            )
        return replies

    def follow_up_post(self, reply: OurReply, *, text: str) -> str:
        return self.store.mention_add(reply.requester, text, in_reply_to=reply.id)


class ScriptPlayer(script.ScriptPlayer):
    """SCRIPT on the X sandbox, from the first mention after the seed (sandbox/script.py)."""

    def __init__(
        self,
        store: SandboxStore,
        interval: float = script.SCRIPT_INTERVAL,
        *,
        start_at: int = SEED_COUNT,
        follow_up_chance: float = 0.6,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            XStage(store),
            SCRIPT,
            interval,
            start_at=start_at,
            follow_up_chance=follow_up_chance,
            seed=seed,
        )
