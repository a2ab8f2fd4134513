"""The demo's open networks (issue 17): Driftwood's accounts on a sandbox Mastodon instance and a
sandbox Bluesky, each in this process on a free local port, each with a script player on the
X script's clock (sandbox/script.py).

demo_policy.toml names MASTODON_URL and BLUESKY_URL where the handles' `instance` and
`service` go: the sandboxes' ports are known only once they listen, so `policy_text` puts
their URLs in before the policy is applied. The handles' secrets (a Mastodon access token, a
Bluesky app password) are issued here and handed over in their `credentials_env` variables,
as the X sandbox's tokens are. "View on Bluesky" leads to the Bluesky sandbox's own pages
(BLUESKY_WEB_URL), as "View on X" to the X sandbox's; a Mastodon status links its own `url`,
which the Mastodon sandbox serves.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from mentiondesk.channels.models import Network
from mentiondesk.core.localserver import LocalServer
from mentiondesk.policy.schema import Policy
from mentiondesk.sandbox import mastodon_script
from mentiondesk.sandbox.mastodon import MastodonSandbox
from mentiondesk.sandbox.script import ScriptPlayer

if TYPE_CHECKING:
    from mentiondesk.sandbox.bluesky import BlueskyStore

logger = logging.getLogger(__name__)

# Stand-ins for the sandboxes' URLs in demo_policy.toml (`.invalid` never resolves).
MASTODON_URL = "http://mastodon.sandbox.invalid"
BLUESKY_URL = "http://bluesky.sandbox.invalid"
# How long a request to the Bluesky sandbox waits for it to finish loading.
BLUESKY_LOAD_SECONDS = 30.0
# The Bluesky sandbox starts loading this long after the demo: its imports would take the
# interpreter's lock from the demo's own start and first page.
BLUESKY_LOAD_AFTER_SECONDS = 2.0


class _LateApp:
    """A WSGI app whose real app arrives later: a request that comes before waits for it."""

    def __init__(self) -> None:
        self.loaded = threading.Event()
        self.app: Callable[..., Iterable[bytes]] | None = None

    def load(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.loaded.set()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not self.loaded.wait(BLUESKY_LOAD_SECONDS) or self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"the sandbox is still loading"]
        return self.app(environ, start_response)


class _BlueskyServer(LocalServer):
    """The sandbox Bluesky's port, listening at once; its app (which loads the atproto SDK's
    models, half a second) arrives from a thread, so the demo's first page does not wait."""

    name = "sandbox-bluesky"

    def __init__(self) -> None:
        super().__init__()
        self.late = _LateApp()
        self.store: BlueskyStore | None = None

    def wsgi_app(self) -> Any:
        return self.late


@dataclass
class DemoNetworks:
    """The running sandboxes and their players; `stop()` ends them (tests)."""

    mastodon: MastodonSandbox
    bluesky: _BlueskyServer
    players: list[ScriptPlayer] = field(default_factory=list)

    def policy_text(self, text: str) -> str:
        """`text` (demo_policy.toml) with the sandboxes' URLs in place of their stand-ins."""
        return text.replace(MASTODON_URL, self.mastodon.url).replace(BLUESKY_URL, self.bluesky.url)

    def bluesky_ready(self, timeout: float | None = None) -> bool:
        """Wait until the Bluesky sandbox answers with its seed in place."""
        return self.bluesky.late.loaded.wait(timeout)

    def stop(self) -> None:
        for player in self.players:
            player.stop()
        self.mastodon.stop()
        self.bluesky.stop()


def demo_networks_start(*, policy: Policy) -> DemoNetworks:
    """Start the Mastodon and Bluesky sandboxes with Driftwood's accounts, seed their scripts,
    start their players, set the `credentials_env` variable of every Mastodon and Bluesky
    handle in `policy`, and point BLUESKY_WEB_URL at the Bluesky sandbox. The Bluesky sandbox
    finishes loading in a thread (`bluesky_ready`)."""
    mastodon = MastodonSandbox().start()
    mastodon_script.script_seed(mastodon.store)
    networks = DemoNetworks(mastodon=mastodon, bluesky=_BlueskyServer().start())
    settings.BLUESKY_WEB_URL = networks.bluesky.url
    player = ScriptPlayer(
        mastodon_script.MastodonStage(mastodon.store),
        mastodon_script.SCRIPT,
        start_at=mastodon_script.SEED_COUNT,
        name="sandbox-mastodon-script",
    )
    networks.players.append(player.start())

    passwords: dict[str, str] = {}
    for entry in policy.handles:
        if entry["network"] == Network.MASTODON:
            account = mastodon.store.account_by_username(entry["username"])
            if account is None:
                raise LookupError(f"no account @{entry['username']} in the Mastodon sandbox")
            os.environ[entry["credentials_env"]] = account.token
        elif entry["network"] == Network.BLUESKY:
            passwords[entry["username"]] = secrets.token_urlsafe(16)
            os.environ[entry["credentials_env"]] = passwords[entry["username"]]
    loader = threading.Timer(BLUESKY_LOAD_AFTER_SECONDS, _bluesky_load, (networks, passwords))
    loader.name = "sandbox-bluesky-load"
    loader.daemon = True
    loader.start()
    return networks


def _bluesky_load(networks: DemoNetworks, passwords: dict[str, str]) -> None:
    # Imported here, in the loading thread: the atproto SDK's models take half a second to
    # import, which the demo's first page should not wait for.
    from mentiondesk.sandbox import bluesky_script
    from mentiondesk.sandbox.bluesky import BlueskyApp, BlueskyStore

    try:
        store = BlueskyStore()
        bluesky_script.script_seed(store, passwords=passwords)
        networks.bluesky.store = store
        player = ScriptPlayer(
            bluesky_script.BlueskyStage(store),
            bluesky_script.SCRIPT,
            start_at=bluesky_script.SEED_COUNT,
            name="sandbox-bluesky-script",
        )
        # Among the players before the sandbox says it is ready (`bluesky_ready`), so whoever
        # waited for it finds its player too (a test stops them all to play by hand).
        networks.players.append(player.start())
        networks.bluesky.late.load(BlueskyApp(store))
    except Exception:
        logger.exception("the Bluesky sandbox did not start")
