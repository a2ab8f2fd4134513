"""`mentiondesk demo`: web server, worker and sandbox network in one process, on SQLite."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.desk.worker import worker_run
from mentiondesk.intake import ingest as channel_services
from mentiondesk.policy import services as policy_services
from mentiondesk.policy.schema import policy_parse
from mentiondesk.sandbox.x.server import SandboxServer

POLICY = Path(__file__).with_name("demo_policy.toml")
PASSWORD = "mentiondesk"  # noqa: S105 (the demo's published login, on a local sandbox)
# The demo plays mentions every few seconds, so poll far more often than production does.
POLL_SECONDS = 5.0


@dataclass
class Demo:
    sandbox_url: str
    logins: list[tuple[str, str]]
    stop: threading.Event


def demo_start(*, sandbox_port: int = 0) -> Demo:
    """Migrate, start the sandbox, apply the demo policy with the sandbox's tokens, give the
    demo users their password, take a first pass of mentions and start the worker thread."""
    call_command("migrate", verbosity=0, interactive=False)
    sandbox = SandboxServer(port=sandbox_port, script=True).start()
    settings.X_API_URL = sandbox.url
    settings.POLL_INTERVAL_SECONDS = POLL_SECONDS

    policy = policy_parse(text=POLICY.read_text(), source=str(POLICY))
    for entry in policy.handles:
        os.environ[entry["credentials_env"]] = sandbox.store.token_for(entry["username"])
    # A fresh sandbox knows nothing of an earlier run: look the ids up again, from the start.
    Handle.objects.update(remote_id="", since_id="")
    policy_services.policy_apply(path=POLICY)

    usernames = [entry["username"] for entry in policy.users]
    for user in User.objects.filter(username__in=usernames):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    channel_services.mentions_poll_all()

    stop = threading.Event()
    threading.Thread(
        target=worker_run, kwargs={"interval": 1.0, "stop": stop}, name="worker", daemon=True
    ).start()
    logins = [(entry["username"], entry["role"]) for entry in policy.users]
    return Demo(sandbox_url=sandbox.url, logins=logins, stop=stop)
