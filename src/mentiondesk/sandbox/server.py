"""Run the sandbox network in a background thread: for tests, the demo and benchmarks."""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from mentiondesk.sandbox.app import SandboxApp
from mentiondesk.sandbox.script import ScriptPlayer, script_seed
from mentiondesk.sandbox.store import SandboxStore


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (tests and benchmarks make thousands); errors still log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxServer:
    """A threaded werkzeug server (one thread per connection, keep-alive, listen backlog 128)
    bound to `host` only. `port=0` picks a free port; `url` tells which.

    With `script=True`, `start()` also seeds the Driftwood demo (handles, requesters, a first
    batch of mentions) and starts a ScriptPlayer that adds a mention every `script_interval`
    seconds and answers our replies with follow-ups.
    """

    def __init__(
        self,
        store: SandboxStore | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        script: bool = False,
        script_interval: float = 20.0,
    ) -> None:
        self.store = store if store is not None else SandboxStore()
        self.host = host
        self.port = port
        self.script = script
        self.script_interval = script_interval
        self._server: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._player: ScriptPlayer | None = None

    @property
    def url(self) -> str:
        """Base URL to give XConnector (no trailing slash). Valid after `start()`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        """Bind, serve in a daemon thread, and return self. Raises OSError if the port is taken."""
        self._server = ThreadedWSGIServer(
            self.host, self.port, SandboxApp(self.store), handler=_QuietHandler
        )
        self.port = self._server.server_port
        # A short poll interval makes stop() quick (tests start a server each).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-x:{self.port}",
            daemon=True,
        )
        self._thread.start()
        if self.script:
            script_seed(self.store)
            self._player = ScriptPlayer(self.store, interval=self.script_interval).start()
        return self

    def stop(self) -> None:
        """Stop the player and the server; requests in flight finish on their daemon threads."""
        if self._player is not None:
            self._player.stop()
            self._player = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
