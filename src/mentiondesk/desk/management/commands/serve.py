from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mentiondesk.core.checks import host_is_loopback
from mentiondesk.desk.server import serve


class Command(BaseCommand):
    help = "Run the web server (waitress)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: Any, **options: Any) -> None:
        unsafe = [
            message
            for unsafe, message in (
                (
                    settings.SECRET_KEY == settings.INSECURE_SECRET_KEY,
                    "MENTIONDESK_SECRET_KEY is not set (the built-in development key is public)",
                ),
                (settings.DEBUG, "MENTIONDESK_DEBUG=1 (error pages show code and settings)"),
            )
            if unsafe
        ]
        if unsafe and not host_is_loopback(options["host"]):
            # Anyone who reaches the port could forge sessions or read the debug pages.
            raise CommandError(
                f"refusing to serve on {options['host']}, reachable from other machines: "
                + "; ".join(unsafe)
                + ". Fix it, or serve on 127.0.0.1 behind your proxy."
            )
        for message in unsafe:
            self.stderr.write(f"warning: {message}; fine on this machine only")

        def ready() -> None:
            self.stdout.write(f"mentiondesk on http://{options['host']}:{options['port']}/")
            self.stdout.flush()

        serve(host=options["host"], port=options["port"], threads=options["threads"], ready=ready)
