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
