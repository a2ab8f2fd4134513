"""The import's staging: TEMP tables filled from the file in batches, and the rows it could not
use. The other modules build on these tables (conversations, then tickets, then writing).

Why not the ORM: a million rows through model instances cost more in Python than the whole
import may take (bench/RESULTS.md, "History import"). Each row is staged once, straight into
import_row, in batches of `settings.IMPORT_BATCH_ROWS` (one `executemany` per batch on SQLite,
COPY on PostgreSQL): nothing of a row stays in Python after its batch. Conversations, tickets
and posts are then built by a handful of INSERT ... SELECT statements inside one transaction.

This module is self-contained on purpose: the lead may later move its executemany/COPY
helpers next to the generic fast-insert helper of `core/`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from mentiondesk.channels.connectors.x import json_without_nul

from . import sql
from .records import Item, Problem, Row, Skip

# An X item keeps its whole JSON (kilobytes, and parsed objects for the unusable ones), a CSV
# row a tweet: a batch of X items is this many times smaller, so both weigh about the same.
X_ITEM_WEIGHT = 20
# Staging table names: TEMP tables are private to this connection and vanish with it.
TABLES = (
    "import_row",
    "import_problem",
    "import_link",
    "import_conv",
    "import_new",
    "import_conv_ticket",
    "import_group",
    "import_answer",
    "import_uri",
)
ROW_COLUMNS = (
    "rid",
    "line",
    "parent",
    "conv",
    "author_id",
    "author_username",
    "direction",
    "handle_id",
    "involves",
    "created_at",
    "text",
    "mentions",
    "urls",
    "raw",
    "csv_inbound",
    "csv_created_at",
    "csv_responses",
)


@dataclass
class Totals:
    """What the set-based part found and wrote."""

    staged: int = 0
    already_stored: int = 0
    stored_in: int = 0
    stored_out: int = 0
    other_brands: int = 0
    unrelated: int = 0
    tickets_created: dict[str, int] = field(default_factory=dict)
    tickets_updated: int = 0
    documents: int = 0
    loop_count: int = 0
    orphans: list[tuple[int, str, str]] = field(default_factory=list)  # line, id, parent
    orphan_count: int = 0


def batch_rows(fmt: str) -> int:
    """Rows per staging batch for a file of format `fmt` (settings.IMPORT_BATCH_ROWS); items
    of every JSON format (and a CAR's records) weigh as X's."""
    rows: int = settings.IMPORT_BATCH_ROWS
    return rows if fmt == "csv" else max(1, rows // X_ITEM_WEIGHT)


@contextmanager
def staging(*, network: str = "x") -> Iterator[Stage]:
    """TEMP tables for one import of `network`'s history, dropped afterwards whatever
    happens."""
    stage = Stage(network=network)
    stage.create()
    try:
        yield stage
    finally:
        stage.drop()


class Stage:
    """The TEMP tables of one import (TABLES): created, filled batch by batch, dropped."""

    def __init__(self, *, network: str = "x") -> None:
        self.d = sql.Dialect(network)
        self.skipped: Counter[str] = Counter()  # records that are no post, by kind

    # --- loading ---------------------------------------------------------------------------

    def create(self) -> None:
        d = self.d
        self.drop()
        row_columns = (
            f"rid {d.rid} NOT NULL, line INTEGER NOT NULL, parent {d.rid}, conv TEXT, "
            "author_id TEXT NOT NULL, author_username TEXT NOT NULL, direction TEXT NOT NULL, "
            f"handle_id {d.bigint}, involves INTEGER NOT NULL, created_at {d.ts} NOT NULL, "
            f"text TEXT NOT NULL, mentions {d.json} NOT NULL, urls {d.json} NOT NULL, "
            f"raw {d.json}, csv_inbound TEXT, csv_created_at TEXT, csv_responses TEXT"
        )
        # PostgreSQL: COPY cannot skip duplicates, so the key comes after loading (`loaded`);
        # SQLite's INSERT OR IGNORE skips them on the way in.
        key = "" if d.pg else ", PRIMARY KEY (rid)"
        sql.execute(f"CREATE TEMP TABLE import_row ({row_columns}{key})")
        sql.execute(
            f"CREATE TEMP TABLE import_problem (line INTEGER NOT NULL, reason TEXT NOT NULL, "
            f"raw {d.json})"
        )

    def drop(self) -> None:
        for table in TABLES:
            sql.execute(f"DROP TABLE IF EXISTS {table}")

    def add(self, items: list[Item]) -> None:
        """Stage one batch of rows and problems, and count the skips (its own short
        transaction)."""
        self.skipped.update(i.what for i in items if isinstance(i, Skip))
        rows = [i for i in items if isinstance(i, Row)]
        problems = [
            (p.line, p.reason, json.dumps(p.raw, ensure_ascii=False))
            for p in items
            if isinstance(p, Problem)
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            if self.d.pg:
                raw = cursor.cursor  # psycopg's own cursor, for COPY
                with raw.copy(f"COPY import_row ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(_pg_row(row))
            elif rows:
                cursor.executemany(
                    f"INSERT OR IGNORE INTO import_row ({', '.join(ROW_COLUMNS)}) "
                    f"VALUES ({sql.placeholders(ROW_COLUMNS)})",
                    rows,
                )
            if problems:
                cursor.executemany(
                    "INSERT INTO import_problem (line, reason, raw) "
                    f"VALUES (%s, %s, {self.d.json_param})",
                    problems,
                )

    def loaded(self) -> None:
        """After the last batch: on PostgreSQL, keep the first row of each post id (as
        SQLite's INSERT OR IGNORE does: the earliest line, then the order read) and key the
        table, in place rather than through a second copy of every row."""
        if not self.d.pg:
            return
        sql.execute(
            "DELETE FROM import_row WHERE ctid IN ("
            " SELECT ctid FROM (SELECT ctid, row_number() OVER ("
            "   PARTITION BY rid ORDER BY line, ctid) AS n FROM import_row) d WHERE n > 1)"
        )
        sql.execute("ALTER TABLE import_row ADD PRIMARY KEY (rid)")
        # TEMP tables are never analysed by autovacuum; the walk's plan needs the counts.
        sql.execute("ANALYZE import_row")

    # --- what could not be used -------------------------------------------------------------

    def problems(self, *, limit: int) -> tuple[int, list[tuple[int, str]]]:
        """How many rows could not be used, and the first `limit` (line, reason)."""
        count = sql.scalar("SELECT COUNT(*) FROM import_problem")
        head = sql.rows("SELECT line, reason FROM import_problem ORDER BY line LIMIT %s", [limit])
        return int(count), [(int(line), str(reason)) for line, reason in head]

    def keep_problems(self, *, handle_id: int, endpoint: str, source: str) -> int:
        """Every staged problem as an IngestProblem row, with its line in `raw`; none when
        the same file (same `endpoint`, which carries its digest) was imported before."""
        if sql.scalar(
            "SELECT COUNT(*) FROM channels_ingestproblem WHERE endpoint = %s", [endpoint]
        ):
            return 0
        raw = (
            "jsonb_build_object('file', %s::text, 'line', line, 'raw', raw)"
            if self.d.pg
            else "json_object('file', %s, 'line', line, 'raw', json(raw))"
        )
        return sql.execute(
            "INSERT INTO channels_ingestproblem (handle_id, endpoint, reason, raw, created_at) "
            f"SELECT %s, %s, 'line ' || line || ': ' || reason, {raw}, %s "
            "FROM import_problem ORDER BY line",
            [handle_id, endpoint, source, self.d.now()],
        )


def _pg_row(row: Row) -> Row:
    row = row._replace(created_at=f"{row.created_at}+00")  # UTC, not the session's zone
    # PostgreSQL refuses NUL in text and jsonb: it reads as U+FFFD, as in ingest.
    if "\x00" in row.text:
        row = row._replace(text=row.text.replace("\x00", "\ufffd"))
    if row.raw is not None:
        row = row._replace(raw=json_without_nul(row.raw))
    return row
