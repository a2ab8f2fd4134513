"""A WSGI app served from a daemon thread on a local port: the sandbox X network and the
contract servers that stand in for Slack, the status page, GitLab, Discourse and Zendesk."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (tests and benchmarks make thousands); errors still log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class AppDatedHandler(_QuietHandler):
    """Leaves the `Date` header to the app: http.server writes the machine's time in every
    answer, and a second Date would contradict an app that keeps a clock of its own."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())


class LocalServer:
    """A threaded werkzeug server (one thread per connection) bound to `host` only;
    `port=0` picks a free port and `url` tells which. `stop()` then `start()` brings it back
    on the same port. Subclasses give `name` and `wsgi_app()`."""

    name = "local"
    handler: type[WSGIRequestHandler] = _QuietHandler

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def wsgi_app(self) -> Any:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The server's root, without a trailing slash. Valid after `start()`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        """Bind, serve in a daemon thread, return self. Raises OSError if the port is taken."""
        self._server = ThreadedWSGIServer(
            self.host, self.port, self.wsgi_app(), handler=self.handler
        )
        self.port = self._server.server_port
        # A short poll interval makes stop() quick (tests start a server each).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (clients then get "connection refused"); keeps recorded state."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
