"""Run the sandbox network in a background thread: for tests, the demo and benchmarks."""

from __future__ import annotations

from typing import Any, Self

from mentiondesk.core.localserver import AppDatedHandler, LocalServer
from mentiondesk.sandbox.script import SCRIPT_INTERVAL
from mentiondesk.sandbox.x.app import SandboxApp
from mentiondesk.sandbox.x.script import ScriptPlayer, script_seed
from mentiondesk.sandbox.x.store import SandboxStore


class SandboxServer(LocalServer):
    """The sandbox X network on a local port (see LocalServer).

    With `script=True`, `start()` also seeds the Driftwood demo (handles, requesters, a first
    batch of mentions) and starts a ScriptPlayer that adds a mention every `script_interval`
    seconds and answers our replies with follow-ups.
    """

    name = "sandbox-x"
    # Its answers carry the network's Date, which a test may set apart from the machine's.
    handler = AppDatedHandler

    def __init__(
        self,
        store: SandboxStore | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        script: bool = False,
        script_interval: float = SCRIPT_INTERVAL,
    ) -> None:
        super().__init__(host=host, port=port)
        self.store = store if store is not None else SandboxStore()
        self.script = script
        self.script_interval = script_interval
        self._player: ScriptPlayer | None = None

    def wsgi_app(self) -> Any:
        return SandboxApp(self.store)

    def start(self) -> Self:
        super().start()
        if self.script:
            script_seed(self.store)
            self._player = ScriptPlayer(self.store, interval=self.script_interval).start()
        return self

    def script_stop(self) -> None:
        """Stop the player (the network stays up, as it is): a test then plays by hand."""
        if self._player is not None:
            self._player.stop()
            self._player = None

    def stop(self) -> None:
        """Stop the player, then the server; requests in flight finish on their threads."""
        self.script_stop()
        super().stop()
