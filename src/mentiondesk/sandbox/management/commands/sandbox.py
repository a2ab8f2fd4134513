"""`mentiondesk sandbox`: run the local X API v2 network in the foreground."""

from __future__ import annotations

import threading
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from mentiondesk.sandbox.x.script import DEMO_HANDLES, handles_add
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.sandbox.x.store import SandboxStore


class Command(BaseCommand):
    help = (
        "Run the sandbox X API v2 network until Ctrl-C. Prints its URL and a bearer token per "
        "Driftwood handle. Binds to --host only (default loopback): its /_sandbox/ control API "
        "has no authentication."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--no-script", action="store_true", help="only create the handles; play no mentions"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        store = SandboxStore()
        handles_add(store)
        server = SandboxServer(
            store, host=options["host"], port=options["port"], script=not options["no_script"]
        ).start()
        self.stdout.write(f"Sandbox X API v2 listening on {server.url}")
        self.stdout.write(f"Use it with: MENTIONDESK_X_API_URL={server.url}")
        for username, role in DEMO_HANDLES:
            user = store.user_by_username(username) or {}
            self.stdout.write(
                f"  @{username:<18} {role:<9} id={user.get('id')} token={store.token_for(username)}"
            )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the sandbox.")
        finally:
            server.stop()
