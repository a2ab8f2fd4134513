"""What every benchmark worker shares: Django on the database its parent chose, and statistics."""

from __future__ import annotations

import math
import os
import sys


def django_start(*, migrate: bool = True) -> None:
    """Set Django up on MENTIONDESK_DATABASE_URL (set by run.py before this process started,
    since settings are fixed per process) and migrate a fresh database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentiondesk.settings")
    os.environ.setdefault("MENTIONDESK_LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)


def say(message: str) -> None:
    """Progress on stderr: stdout is the table's."""
    print(f"  {message}", file=sys.stderr, flush=True)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def database_recreate(url: str, *, must_end_with: str) -> None:
    """Drop and create the PostgreSQL database of `url`, a benchmark's own: its name must end
    with `must_end_with`, so a wrong setting can never drop anything else."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    name = config["NAME"]
    assert name.endswith(must_end_with), (
        f"refusing to drop {name!r}: not a *{must_end_with} database"
    )
    with psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
