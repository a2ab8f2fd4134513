from __future__ import annotations

from collections.abc import Callable

from waitress import create_server


def serve(
    *, host: str, port: int, threads: int = 8, ready: Callable[[], None] | None = None
) -> None:
    """Serve the desk with waitress until interrupted. `ready` runs once the port is bound, so
    whatever it prints is only seen when the server really accepts connections."""
    from mentiondesk.wsgi import application

    server = create_server(application, host=host, port=port, threads=threads, ident="mentiondesk")
    if ready is not None:
        ready()
    try:
        server.run()
    finally:
        server.close()
