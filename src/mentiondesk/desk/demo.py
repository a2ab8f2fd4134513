"""`mentiondesk demo`: web server, worker and sandbox network in one process, on SQLite."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.models import Handle, Network
from mentiondesk.desk.demo_database import demo_database_ready
from mentiondesk.desk.demo_networks import DemoNetworks, demo_networks_start
from mentiondesk.desk.demo_world import demo_world_start
from mentiondesk.desk.worker import worker_run
from mentiondesk.intake import ingest as channel_services
from mentiondesk.policy.schema import policy_parse
from mentiondesk.sandbox.x.server import SandboxServer

POLICY = Path(__file__).with_name("demo_policy.toml")
PASSWORD = "mentiondesk"  # noqa: S105 (the demo's published login, on a local sandbox)
# PASSWORD hashed once, ahead of time, with Django's default hasher (make_password): hashing
# it for six users at every start took over a second of PBKDF2. This is no secret: the demo's
# password is public, printed at start and in the README, and guards only a local sandbox.
# tests/test_demo_start.py checks it still verifies and is not due for an upgrade; after a
# Django upgrade raises the iterations, put `make_password("mentiondesk")`'s output here.
PASSWORD_HASH = (
    "pbkdf2_sha256$1000000$QLSteXrbj7afXMvmTA8iH5$AOsZt8W+qp+HebMaPOOnH41YgPhRLK2G/c4J8dAnw3M="  # noqa: S105
)
# The demo plays mentions every few seconds, so poll far more often than production does.
POLL_SECONDS = 5.0


@dataclass
class Demo:
    sandbox_url: str
    logins: list[tuple[str, str]]
    stop: threading.Event  # ends the worker thread
    networks: DemoNetworks  # Mastodon and Bluesky
    x: SandboxServer


def demo_start(*, sandbox_port: int = 0) -> Demo:
    """Prepare the database (a copy of the pre-migrated template), start the sandboxes (X,
    Mastodon, Bluesky), apply the demo policy with their URLs and tokens, give the demo users
    their password, take a first pass of mentions and start the worker thread."""
    demo_database_ready()
    sandbox = SandboxServer(port=sandbox_port, script=True).start()
    settings.X_API_URL = sandbox.url
    settings.POLL_INTERVAL_SECONDS = POLL_SECONDS
    demo_world_start(x=sandbox)  # Slack, evidence sources, offline web (issue 20)

    policy = policy_parse(text=POLICY.read_text(), source=str(POLICY))
    networks = demo_networks_start(policy=policy)
    for entry in (e for e in policy.handles if e["network"] == Network.X):
        os.environ[entry["credentials_env"]] = sandbox.store.token_for(entry["username"])
    # A fresh sandbox knows nothing of an earlier run: look the ids up again, from the start.
    Handle.objects.update(remote_id="", since_id="")
    policy_actions.policy_apply_text(
        text=networks.policy_text(POLICY.read_text()), source=str(POLICY)
    )

    usernames = [entry["username"] for entry in policy.users]
    User.objects.filter(username__in=usernames).update(password=PASSWORD_HASH)
    # Mastodon's and Bluesky's first pass is the worker's: their SDKs take a second to load,
    # which the first page should not wait for.
    channel_services.mentions_poll_all(networks=[Network.X])

    stop = threading.Event()
    threading.Thread(
        target=worker_run, kwargs={"interval": 1.0, "stop": stop}, name="worker", daemon=True
    ).start()
    logins = [(entry["username"], entry["role"]) for entry in policy.users]
    return Demo(sandbox_url=sandbox.url, logins=logins, stop=stop, networks=networks, x=sandbox)
