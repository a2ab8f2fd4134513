"""X rate-limit windows shared through the database: whatever process learns that a window is
spent (a 429, or `remaining` 0), every other process waits for the same reset.

Processes also take turns per token and endpoint (`turn`): a call starts only once the previous
one has been answered and its spent window, if any, written. Without turns, a second worker's
call could leave while the first worker's 429 was still on its way back (bench/RESULTS.md,
"Chaos", finding 1)."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

from .models import RateLimitWindow

logger = logging.getLogger(__name__)

# First key of PostgreSQL's two-key advisory locks: keeps our turns apart from any other use.
_PG_LOCK_SPACE = 0x58545552  # "XTUR"
# How often a process waiting for its turn asks again. Polling (rather than a blocking lock
# with lock_timeout) never raises inside the caller's transaction; a turn usually lasts one
# HTTP round trip, so 5 ms adds little.
_POLL_SECONDS = 0.005


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

    @contextmanager
    def turn(self, key: tuple[str, str, str], wait: float) -> Iterator[None]:
        """Hold this process's turn on `key` (base URL, token digest, endpoint) for the block;
        raises TimeoutError, before the block runs, after `wait` seconds of someone else's turn.

        PostgreSQL: an advisory lock keyed by the digest, held by this thread's connection, so a
        killed process's turn ends with its connection. Inside a transaction it is held until
        the transaction ends, when the window written in the turn becomes visible to others.
        SQLite (one machine): an flock on a file beside the database, released by the kernel
        when a process dies.
        """
        digest = _digest(key)
        turn = _pg_turn if connection.vendor == "postgresql" else _file_turn
        with turn(digest, wait):
            yield


def _poll(take: Callable[[], bool], wait: float, digest: str) -> None:
    deadline = time.monotonic() + wait
    while not take():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"rate-limit turn {digest[:12]} busy for {wait:g} s")
        time.sleep(_POLL_SECONDS)


@contextmanager
def _pg_turn(digest: str, wait: float) -> Iterator[None]:
    lock = (_PG_LOCK_SPACE, int.from_bytes(bytes.fromhex(digest[:8]), "big", signed=True))
    # A transaction-level lock inside the caller's transaction: no unlock to fail if that
    # transaction is aborted, and the turn lasts until the window is committed.
    in_transaction = connection.in_atomic_block
    kind = "xact_" if in_transaction else ""

    def take() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_try_advisory_{kind}lock(%s, %s)", lock)
            return bool(cursor.fetchone()[0])

    _poll(take, wait, digest)
    try:
        yield
    finally:
        if not in_transaction:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", lock)
            except DatabaseError:  # the connection is gone, and its locks with it
                logger.warning("could not end rate-limit turn %s", digest[:12], exc_info=True)


def _lock_dir() -> Path:
    name = str(connection.settings_dict["NAME"])
    if name.startswith("file:") or name == ":memory:":
        return Path(settings.DATA_DIR) / "x-turns"
    return Path(name).with_name(Path(name).name + ".x-turns")


@contextmanager
def _file_turn(digest: str, wait: float) -> Iterator[None]:
    folder = _lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    # One file per key; an flock belongs to the open file, so threads take turns too.
    fd = os.open(folder / digest[:32], os.O_RDWR | os.O_CREAT, 0o600)
    try:

        def take() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _poll(take, wait, digest)
        yield
    finally:
        os.close(fd)  # releases the flock
