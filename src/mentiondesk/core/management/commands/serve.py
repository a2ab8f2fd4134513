from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from mentiondesk.core.server import serve


class Command(BaseCommand):
    help = "Run the web server (waitress)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.SECRET_KEY == settings.INSECURE_SECRET_KEY:
            self.stderr.write(
                "warning: MENTIONDESK_SECRET_KEY is not set; using an insecure development key"
            )

        def ready() -> None:
            self.stdout.write(f"mentiondesk on http://{options['host']}:{options['port']}/")
            self.stdout.flush()

        serve(host=options["host"], port=options["port"], threads=options["threads"], ready=ready)
