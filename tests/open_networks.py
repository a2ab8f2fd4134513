"""A desk with handles on Mastodon and Bluesky, each against its local sandbox (issue 17): only
the network is local; the real connectors (Mastodon.py, the atproto SDK) speak to it.

`Network` hides how each sandbox is driven (a customer's post, ours, a fault after the write)
so one test reads the same on both networks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from django.conf import settings

from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.connectors.bluesky import bluesky_state_clear
from mentiondesk.channels.connectors.mastodon import text_limits_clear
from mentiondesk.channels.credentials.crypto import key_generate
from mentiondesk.intake import ingest
from mentiondesk.sandbox.bluesky import BlueskySandbox
from mentiondesk.sandbox.mastodon import MastodonSandbox

POLICY = """
[[handle]]
network = "mastodon"
username = "driftwood"
instance = "{mastodon}"
role = "main"
credentials_env = "MENTIONDESK_MASTODON_TOKEN_DRIFTWOOD"

[[handle]]
network = "mastodon"
username = "driftwoodstatus"
instance = "{mastodon}"
role = "status"
credentials_env = "MENTIONDESK_MASTODON_TOKEN_DRIFTWOODSTATUS"

[[handle]]
network = "bluesky"
username = "driftwood.test"
service = "{bluesky}"
role = "main"
credentials_env = "MENTIONDESK_BLUESKY_PASSWORD_DRIFTWOOD"

[[handle]]
network = "bluesky"
username = "status.driftwood.test"
service = "{bluesky}"
role = "status"
credentials_env = "MENTIONDESK_BLUESKY_PASSWORD_DRIFTWOODSTATUS"
"""


class Network(Protocol):
    name: str
    main: str  # our main handle's username
    status: str  # our status handle's username

    def mention(self, text: str, *, reply_to: str | None = None, who: str = "ana") -> str:
        """A customer's post (its remote id); `text` names handles as `@main`, `@status`."""

    def ours(self, username: str | None = None) -> list[dict[str, Any]]:
        """Our posts on the network: {"id", "text", "parent", "root", "visibility"}."""

    def fail_next_send(self, *, after_write: bool) -> None:
        """The next send is answered 500: after the post was made, or before."""


@dataclass
class MastodonNet:
    server: MastodonSandbox
    name: str = "mastodon"
    main: str = "driftwood"
    status: str = "driftwoodstatus"

    def _text(self, text: str) -> str:
        return text.replace("@main", f"@{self.main}").replace("@status", f"@{self.status}")

    def mention(
        self,
        text: str,
        *,
        reply_to: str | None = None,
        who: str = "ana",
        visibility: str = "public",
    ) -> str:
        account = self.server.store.account_by_username(who)
        assert account is not None
        status = self.server.store.status_post(
            account.id, self._text(text), in_reply_to_id=reply_to, visibility=visibility
        )
        return str(status["id"])

    def ours(self, username: str | None = None) -> list[dict[str, Any]]:
        account = self.server.store.account_by_username(username or self.main)
        assert account is not None
        return [
            {
                "id": s["id"],
                "text": s["text"],
                "parent": s["in_reply_to_id"],
                "visibility": s["visibility"],
            }
            for s in self.server.store.statuses_by(account.id)
        ]

    def fail_next_send(self, *, after_write: bool) -> None:
        self.server.store.fault_add(
            "status", method="POST", path="/api/v1/statuses", after=after_write
        )


@dataclass
class BlueskyNet:
    server: BlueskySandbox
    name: str = "bluesky"
    main: str = "driftwood.test"
    status: str = "status.driftwood.test"

    def _text(self, text: str) -> str:
        return text.replace("@main", f"@{self.main}").replace("@status", f"@{self.status}")

    def mention(self, text: str, *, reply_to: str | None = None, who: str = "ana") -> str:
        return self.server.store.post_add(f"{who}.test", self._text(text), reply_to=reply_to)

    def ours(self, username: str | None = None) -> list[dict[str, Any]]:
        return [
            {
                "id": p["uri"],
                "rkey": p["rkey"],
                "text": p["value"]["text"],
                "parent": p["value"].get("reply", {}).get("parent", {}).get("uri"),
                "root": p["value"].get("reply", {}).get("root", {}).get("uri"),
            }
            for p in self.server.store.posts_by(username or self.main)
        ]

    def fail_next_send(self, *, after_write: bool) -> None:
        self.server.store.fault(
            "status", path="/xrpc/com.atproto.repo.createRecord", after_write=after_write
        )


@pytest.fixture
def open_desk(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MastodonNet, BlueskyNet]]:
    """Our Mastodon and Bluesky handles (main and status on each), applied from a policy file
    that names each sandbox's URL; customers ana and kofi on both."""
    bluesky_state_clear()
    text_limits_clear()
    monkeypatch.setattr(settings, "X_TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", key_generate())
    mastodon = MastodonSandbox().start()
    bluesky = BlueskySandbox().start()
    try:
        for username in ("driftwood", "driftwoodstatus"):
            account = mastodon.store.account_add(username)
            monkeypatch.setenv(f"MENTIONDESK_MASTODON_TOKEN_{username.upper()}", account.token)
        for username in ("ana", "kofi"):
            mastodon.store.account_add(username)
        for handle, name in (
            ("driftwood.test", "DRIFTWOOD"),
            ("status.driftwood.test", "DRIFTWOODSTATUS"),
        ):
            bluesky.store.account_add(handle, password=f"pass-{name.lower()}")
            monkeypatch.setenv(f"MENTIONDESK_BLUESKY_PASSWORD_{name}", f"pass-{name.lower()}")
        for handle in ("ana.test", "kofi.test"):
            bluesky.store.account_add(handle)
        policy_actions.policy_apply_text(
            text=POLICY.format(mastodon=mastodon.url, bluesky=bluesky.url), source="open.toml"
        )
        yield MastodonNet(mastodon), BlueskyNet(bluesky)
    finally:
        mastodon.stop()
        bluesky.stop()
        bluesky_state_clear()
        text_limits_clear()


@pytest.fixture(params=["mastodon", "bluesky"])
def net(request: pytest.FixtureRequest, open_desk: tuple[MastodonNet, BlueskyNet]) -> Network:
    """Each open network in turn."""
    mastodon, bluesky = open_desk
    return mastodon if request.param == "mastodon" else bluesky


def poll() -> None:
    results = ingest.mentions_poll_all()
    assert not [r.error for r in results if r.error], [r.error for r in results]
