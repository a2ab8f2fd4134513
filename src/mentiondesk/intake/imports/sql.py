"""The SQL the import runs: the few places SQLite and PostgreSQL differ, and cursor helpers.

Values always go in as parameters; what is formatted into statements is constants only (table
and column names, placeholders, per-engine types)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone


class Dialect:
    """The few places SQLite and PostgreSQL differ."""

    def __init__(self, network: str = "x") -> None:
        self.pg = connection.vendor == "postgresql"
        self.ts = "timestamptz" if self.pg else "TEXT"
        self.json = "jsonb" if self.pg else "TEXT"
        # SQLite: INTEGER PRIMARY KEY is the rowid itself, the cheapest lookup there is.
        self.bigint = "bigint" if self.pg else "INTEGER"
        # A staged post's id: X's are integers; a Bluesky post is named by its at:// URI, and
        # a Mastodon reply's parent on another server by its URI until it is resolved.
        self.rid = self.bigint if network == "x" else "TEXT"
        self.json_param = "%s::jsonb" if self.pg else "%s"
        # A CSV row's raw JSON, from the staged columns and the fields kept as written.
        pairs = ", ".join(
            f"'{name}', {column}"
            for name, column in (
                ("tweet_id", "CAST(r.rid AS TEXT)"),
                ("author_id", "r.author_id"),
                ("inbound", "r.csv_inbound"),
                ("created_at", "r.csv_created_at"),
                ("text", "r.text"),
                ("response_tweet_id", "r.csv_responses"),
                ("in_response_to_tweet_id", "COALESCE(CAST(r.parent AS TEXT), '')"),
            )
        )
        self.csv_raw = f"jsonb_build_object({pairs})" if self.pg else f"json_object({pairs})"

    def time(self, value: str) -> str:
        # Staged times are UTC without an offset; PostgreSQL must not read them as local.
        return f"{value}+00" if self.pg else value

    def now(self) -> str:
        """The current time as `time` writes it (timezone.now() is UTC)."""
        return self.time(str(timezone.now().replace(tzinfo=None)))


def execute(sql: str, params: Iterable[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return int(cursor.rowcount or 0)


def scalar(sql: str, params: Iterable[Any] = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        row = cursor.fetchone()
        return row[0] if row else None


def rows(sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


def placeholders(values: Sequence[Any]) -> str:
    """`%s, %s, ...`, one per value, for an IN (...) list."""
    return ", ".join(["%s"] * len(values))
