"""Running the real `mentiondesk` command in a child process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from django.db import connection

if TYPE_CHECKING:
    from mentiondesk.sandbox.x.server import SandboxServer

HANDLES = ("Driftwood", "DriftwoodStatus", "MoveToDriftwood")


def database_url() -> str:
    """The URL of the database the tests are using, for a child process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def command_env(desk: SandboxServer | None = None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MENTIONDESK_DATABASE_URL": database_url(),
        "MENTIONDESK_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        **extra,
    }
    if desk is not None:
        env["MENTIONDESK_X_API_URL"] = desk.url
        for name in HANDLES:
            env[f"MENTIONDESK_X_TOKEN_{name.upper()}"] = desk.store.token_for(name)
    return env


def mentiondesk(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = 120,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `mentiondesk ARGS` (as `python -m mentiondesk`), with `stdin` as its standard input
    when given, and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "mentiondesk", *args],
        env=env if env is not None else command_env(),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
