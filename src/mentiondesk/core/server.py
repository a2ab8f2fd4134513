from __future__ import annotations

from waitress import serve as waitress_serve


def serve(*, host: str, port: int, threads: int = 8) -> None:
    """Serve the desk with waitress until interrupted."""
    from mentiondesk.wsgi import application

    waitress_serve(application, host=host, port=port, threads=threads, ident="mentiondesk")
