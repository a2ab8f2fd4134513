from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waitress.server import create_server


def serve(
    *, host: str, port: int, threads: int = 8, ready: Callable[[], None] | None = None
) -> None:
    """Serve the desk with waitress until interrupted. `ready` runs once the port is bound, so
    whatever it prints is only seen when the server really accepts connections."""
    from django.conf import settings

    from mentiondesk.wsgi import application

    proxy: dict[str, Any] = {}
    if settings.TRUSTED_PROXY:
        # Only the named proxy may say which scheme and client address a request had; waitress
        # then sets wsgi.url_scheme and REMOTE_ADDR, and strips those headers from anyone else.
        proxy = {
            "trusted_proxy": settings.TRUSTED_PROXY,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"},
            "clear_untrusted_proxy_headers": True,
        }
    server = create_server(
        application, host=host, port=port, threads=threads, ident="mentiondesk", **proxy
    )
    if ready is not None:
        ready()
    try:
        server.run()
    finally:
        server.close()
