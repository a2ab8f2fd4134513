"""X rate-limit windows shared through the database: whatever process learns that a window is
spent (a 429, or `remaining` 0), every other process waits for the same reset."""

from __future__ import annotations

import hashlib
from datetime import datetime

from .models import RateLimitWindow


def _digest(key: tuple[str, str, str]) -> str:
    return hashlib.sha256("\n".join(key).encode()).hexdigest()


class DatabaseWindows:
    def spent_until(self, key: tuple[str, str, str], now: datetime) -> datetime | None:
        return (
            RateLimitWindow.objects.filter(key=_digest(key), reset_at__gt=now)
            .values_list("reset_at", flat=True)
            .first()
        )

    def spend(self, key: tuple[str, str, str], reset_at: datetime) -> None:
        RateLimitWindow.objects.update_or_create(
            key=_digest(key), defaults={"endpoint": key[2], "reset_at": reset_at}
        )
