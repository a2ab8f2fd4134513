from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mentiondesk.desk.demo import PASSWORD, demo_start
from mentiondesk.desk.server import serve


class Command(BaseCommand):
    help = "Run the whole desk on SQLite with a built-in sandbox network; no credentials needed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=0, help="default: any free port")

    def handle(self, *args: Any, **options: Any) -> None:
        demo = demo_start(sandbox_port=options["sandbox_port"])

        def ready() -> None:
            self.stdout.write(f"mentiondesk demo: http://{options['host']}:{options['port']}/")
            self.stdout.write(f"sandbox X network: {demo.sandbox_url}")
            self.stdout.write(f"sandbox Mastodon instance: {demo.networks.mastodon.url}")
            self.stdout.write(f"sandbox Bluesky: {demo.networks.bluesky.url}")
            self.stdout.write(f"logins (password {PASSWORD!r}):")
            for username, role in demo.logins:
                self.stdout.write(f"  {username:<8} {role}")
            self.stdout.write("press Ctrl+C to stop")
            self.stdout.flush()

        try:
            serve(host=options["host"], port=options["port"], ready=ready)
        finally:
            demo.stop.set()
