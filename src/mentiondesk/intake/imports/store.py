"""The importer's insert path: staging tables and set-based SQL, on SQLite and PostgreSQL.

Why not the ORM: a million rows through model instances cost more in Python than the whole
import may take (bench/RESULTS.md, "History import"). Rows go to TEMP tables in batches (one
`executemany` per batch on SQLite, COPY on PostgreSQL); conversations, tickets and posts are
then built by a handful of INSERT ... SELECT statements inside one transaction.

Why a database table for the parent lookup: the reply links of a file point anywhere in it
(the public CSV lists replies before the posts they answer), so every post must stay
findable until the end. A dict of a million ids would grow with the file; the TEMP table
lives on disk, keeps Python's memory flat, and lets one recursive query walk every
conversation from its first post.

This module is self-contained on purpose: the lead may later move its executemany/COPY
helpers next to the generic fast-insert helper of `core/`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from mentiondesk.channels.connectors.x import json_without_nul
from mentiondesk.tickets import answers
from mentiondesk.tickets.models import ACTIVE_STATUSES, QUEUE_STATUSES

from .. import placement, rule
from .readers import Problem, Row

# Rows per staging batch. An X item keeps its whole JSON (kilobytes, and parsed objects for
# the unusable ones), a CSV row a tweet: the batches in flight stay a few tens of MB either way.
BATCH = {"csv": 20_000, "json": 1_000, "jsonl": 1_000}
# Staging table names: TEMP tables are private to this connection and vanish with it.
TABLES = (
    "import_raw",
    "import_row",
    "import_problem",
    "import_link",
    "import_conv",
    "import_new",
    "import_group",
    "import_answer",
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


class Dialect:
    """The few places SQLite and PostgreSQL differ."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.ts = "timestamptz" if self.pg else "TEXT"
        self.json = "jsonb" if self.pg else "TEXT"
        # SQLite: INTEGER PRIMARY KEY is the rowid itself, the cheapest lookup there is.
        self.bigint = "bigint" if self.pg else "INTEGER"
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


def _execute(sql: str, params: Iterable[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return int(cursor.rowcount or 0)


def _scalar(sql: str, params: Iterable[Any] = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        row = cursor.fetchone()
        return row[0] if row else None


@contextmanager
def staging() -> Iterator[Stage]:
    """TEMP tables for one import, dropped afterwards whatever happens."""
    stage = Stage()
    stage.create()
    try:
        yield stage
    finally:
        stage.drop()


class Stage:
    def __init__(self) -> None:
        self.d = Dialect()

    # --- loading ---------------------------------------------------------------------------

    def create(self) -> None:
        d = self.d
        self.drop()
        row_columns = (
            f"rid {d.bigint} NOT NULL, line INTEGER NOT NULL, parent {d.bigint}, conv TEXT, "
            "author_id TEXT NOT NULL, author_username TEXT NOT NULL, direction TEXT NOT NULL, "
            f"handle_id {d.bigint}, involves INTEGER NOT NULL, created_at {d.ts} NOT NULL, "
            f"text TEXT NOT NULL, mentions {d.json} NOT NULL, urls {d.json} NOT NULL, "
            f"raw {d.json}, csv_inbound TEXT, csv_created_at TEXT, csv_responses TEXT"
        )
        if d.pg:
            # COPY cannot skip duplicates: load as is, de-duplicate once at the end.
            _execute(f"CREATE TEMP TABLE import_raw ({row_columns})")
        _execute(f"CREATE TEMP TABLE import_row ({row_columns}, PRIMARY KEY (rid))")
        _execute(
            f"CREATE TEMP TABLE import_problem (line INTEGER NOT NULL, reason TEXT NOT NULL, "
            f"raw {d.json})"
        )

    def drop(self) -> None:
        for table in TABLES:
            _execute(f"DROP TABLE IF EXISTS {table}")

    def add(self, items: list[Row | Problem]) -> None:
        """Stage one batch of rows and problems (its own short transaction)."""
        rows = [i for i in items if isinstance(i, Row)]
        problems = [
            (p.line, p.reason, json.dumps(p.raw, ensure_ascii=False))
            for p in items
            if isinstance(p, Problem)
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            if self.d.pg:
                raw = cursor.cursor  # psycopg's own cursor, for COPY
                with raw.copy(f"COPY import_raw ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(_pg_row(row))
            elif rows:
                cursor.executemany(
                    f"INSERT OR IGNORE INTO import_row ({', '.join(ROW_COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))})",
                    rows,
                )
            if problems:
                cursor.executemany(
                    "INSERT INTO import_problem (line, reason, raw) "
                    f"VALUES (%s, %s, {self.d.json_param})",
                    problems,
                )

    # --- building --------------------------------------------------------------------------

    def resolve(self, *, network: str) -> Totals:
        """Rebuild conversations from the reply links (no writes outside the TEMP tables).

        Every post gets its conversation (X's when the file gives it, else its first post's
        id) and its requester: its own author for a requester's post, else the requester of
        the nearest post above it in the thread (so our reply belongs to whom it answers)."""
        d = self.d
        totals = Totals()
        if d.pg:
            _execute(
                f"INSERT INTO import_row SELECT DISTINCT ON (rid) {', '.join(ROW_COLUMNS)} "
                "FROM import_raw ORDER BY rid, line"
            )
            _execute("DROP TABLE import_raw")
        _execute("CREATE INDEX import_row_parent ON import_row (parent)")
        totals.staged = _scalar("SELECT COUNT(*) FROM import_row")
        # The walk starts at posts whose parent is not in the file: the first post of a
        # conversation, a reply to a post already stored, or a reply to a post nobody has.
        # It follows each reply link down once; posts in a loop of links are never reached.
        _execute(
            """
            CREATE TEMP TABLE import_link AS
            WITH RECURSIVE walk (rid, conv, req) AS (
                SELECT r.rid,
                       COALESCE(r.conv, CASE WHEN r.parent IS NULL THEN CAST(r.rid AS TEXT)
                                             ELSE COALESCE(p.conversation_id,
                                                           CAST(r.parent AS TEXT)) END),
                       CASE WHEN r.direction = 'in' THEN r.author_id
                            WHEN p.direction = 'in' THEN p.author_remote_id
                            ELSE t.requester_remote_id END
                FROM import_row r
                LEFT JOIN channels_post p
                       ON p.network = %s AND p.remote_id = CAST(r.parent AS TEXT)
                LEFT JOIN tickets_ticket t ON t.id = p.ticket_id
                WHERE r.parent IS NULL
                   OR NOT EXISTS (SELECT 1 FROM import_row q WHERE q.rid = r.parent)
                UNION ALL
                SELECT c.rid, COALESCE(c.conv, w.conv),
                       CASE WHEN c.direction = 'in' THEN c.author_id ELSE w.req END
                FROM import_row c JOIN walk w ON c.parent = w.rid
            )
            SELECT w.rid, w.conv, w.req, r.direction, r.created_at, r.involves, r.line,
                   CASE WHEN EXISTS (SELECT 1 FROM channels_post k
                                     WHERE k.network = %s
                                       AND k.remote_id = CAST(w.rid AS TEXT))
                        THEN 1 ELSE 0 END AS known
            FROM walk w JOIN import_row r ON r.rid = w.rid
            """,
            [network, network],
        )
        _execute("CREATE UNIQUE INDEX import_link_rid ON import_link (rid)")

        loops = (
            "FROM import_row r WHERE NOT EXISTS (SELECT 1 FROM import_link l WHERE l.rid = r.rid)"
        )
        totals.loop_count = _scalar(f"SELECT COUNT(*) {loops}")
        if totals.loop_count:
            _execute(
                "INSERT INTO import_problem (line, reason, raw) "
                "SELECT r.line, 'post ' || r.rid || ' is in a loop of reply links "
                f"(it answers, through its parents, itself)', COALESCE(r.raw, {d.csv_raw}) " + loops
            )
        # Replies whose parent is in neither the file nor the database (only where the file
        # has no conversation ids): imported, their conversation named after the missing post.
        with connection.cursor() as cursor:
            orphans = (
                "FROM import_row r WHERE r.parent IS NOT NULL AND r.conv IS NULL "
                "AND r.direction <> 'x' "
                "AND NOT EXISTS (SELECT 1 FROM import_row q WHERE q.rid = r.parent) "
                "AND NOT EXISTS (SELECT 1 FROM channels_post p "
                "                WHERE p.network = %s AND p.remote_id = CAST(r.parent AS TEXT))"
            )
            cursor.execute(f"SELECT COUNT(*) {orphans}", [network])
            totals.orphan_count = int(cursor.fetchone()[0])
            cursor.execute(
                f"SELECT r.line, r.rid, r.parent {orphans} ORDER BY r.line LIMIT 100", [network]
            )
            totals.orphans = [(int(a), str(b), str(c)) for a, b, c in cursor.fetchall()]
        return totals

    def write(
        self,
        *,
        network: str,
        handle_id: int,
        totals: Totals,
        source: str,
        open_since: datetime,
        auto_ticket: bool = True,
    ) -> None:
        """Posts, tickets and their CREATED (FOLLOW_UP, REOPENED) events, in the caller's
        transaction, by the one ticket rule (`intake.rule`, whose table says what each post
        does). Conversations quiet since before `open_since` become solved history.
        `auto_ticket`: the handle opens tickets (a stream handle's history opens none)."""
        d = self.d
        now = timezone.now()
        stamp = d.time(str(now.replace(tzinfo=None)))  # now() is UTC
        open_since_at = d.time(str(open_since.astimezone(UTC).replace(tzinfo=None)))
        active = list(ACTIVE_STATUSES)
        active_in = ", ".join(["%s"] * len(active))

        # Conversations that concern the imported handle: it wrote in them, was mentioned or
        # replied to, or the desk already has a ticket there. The rest of the file is left out.
        _execute(
            """
            CREATE TEMP TABLE import_conv AS
            SELECT DISTINCT conv FROM import_link WHERE involves = 1
            UNION
            SELECT v.conv FROM (SELECT DISTINCT conv FROM import_link) v
            WHERE EXISTS (SELECT 1 FROM tickets_ticket t
                          WHERE t.network = %s AND t.conversation_id = v.conv)
            """,
            [network],
        )
        _execute("CREATE UNIQUE INDEX import_conv_conv ON import_conv (conv)")
        # Posts to store: new ones, in those conversations, not another brand's.
        _execute(
            """
            CREATE TEMP TABLE import_new AS
            SELECT l.rid, l.conv, l.req, l.direction, l.created_at, l.involves
            FROM import_link l JOIN import_conv c ON c.conv = l.conv
            WHERE l.known = 0 AND l.direction <> 'x'
            """
        )
        _execute("CREATE INDEX import_new_group ON import_new (conv, req, direction, created_at)")
        counts = dict(_rows("SELECT direction, COUNT(*) FROM import_new GROUP BY direction"))
        totals.stored_in, totals.stored_out = counts.get("in", 0), counts.get("out", 0)
        totals.already_stored = _scalar("SELECT COUNT(*) FROM import_link WHERE known = 1")
        totals.other_brands = _scalar(
            "SELECT COUNT(*) FROM import_link WHERE known = 0 AND direction = 'x'"
        )
        totals.unrelated = _scalar(
            "SELECT COUNT(*) FROM import_link l WHERE l.known = 0 AND l.direction <> 'x' "
            "AND NOT EXISTS (SELECT 1 FROM import_conv c WHERE c.conv = l.conv)"
        )

        # One ticket per requester and conversation, for requesters who wrote to the handle
        # (mentioned it or replied to it; the rule of ingest). Times come from the posts:
        # created at the requester's first post to the handle, answered at our first post
        # after it (tickets.answers, below), pending when the conversation ends with us.
        _execute(
            f"""
            CREATE TEMP TABLE import_group (
                conv TEXT NOT NULL, req TEXT NOT NULL, first_in {d.ts}, last_in {d.ts},
                last_out {d.ts}, first_out {d.ts}, first_rid {d.bigint},
                ticket_id {d.bigint}, existing INTEGER NOT NULL DEFAULT 0,
                joins INTEGER NOT NULL DEFAULT 0, last_to_us {d.ts},
                PRIMARY KEY (conv, req)
            )
            """
        )
        _execute(
            """
            INSERT INTO import_group (conv, req, first_in, last_in, last_out, last_to_us)
            SELECT conv, req,
                   MIN(CASE WHEN direction = 'in' AND involves = 1 THEN created_at END),
                   MAX(CASE WHEN direction = 'in' THEN created_at END),
                   MAX(CASE WHEN direction = 'out' THEN created_at END),
                   MAX(CASE WHEN direction = 'in' AND involves = 1 THEN created_at END)
            FROM import_new WHERE req IS NOT NULL GROUP BY conv, req
            """
        )
        link_tickets = f"""
            UPDATE import_group SET ticket_id = (
                SELECT t.id FROM tickets_ticket t
                WHERE t.network = %s AND t.conversation_id = import_group.conv
                  AND t.requester_remote_id = import_group.req AND t.status IN ({active_in}))
            """
        _execute(link_tickets, [network, *active])
        _execute("UPDATE import_group SET existing = 1 WHERE ticket_id IS NOT NULL")
        # A requester's post that writes to us joins their ticket (follows up, reopens: the
        # rule's rows); one older than the history line changes no status.
        _execute(
            """
            UPDATE import_group SET joins = 1 WHERE EXISTS (
                SELECT 1 FROM import_new n
                WHERE n.conv = import_group.conv AND n.req = import_group.req
                  AND n.direction = 'in' AND n.involves = 1 AND n.created_at >= %s)
            """,
            [open_since_at],
        )
        # A follow-up joining a ticket the desk already has counts from that ticket's start.
        _execute(
            """
            UPDATE import_group SET first_in = (
                SELECT t.created_at FROM tickets_ticket t WHERE t.id = import_group.ticket_id)
            WHERE existing = 1 AND (first_in IS NULL OR first_in > (
                SELECT t.created_at FROM tickets_ticket t WHERE t.id = import_group.ticket_id))
            """
        )
        _execute(
            """
            UPDATE import_group SET
              first_out = (SELECT MIN(n.created_at) FROM import_new n
                           WHERE n.conv = import_group.conv AND n.req = import_group.req
                             AND n.direction = 'out' AND n.created_at >= import_group.first_in),
              first_rid = (SELECT n.rid FROM import_new n
                           WHERE n.conv = import_group.conv AND n.req = import_group.req
                             AND n.direction = 'in' AND n.involves = 1
                           ORDER BY n.created_at, n.rid LIMIT 1)
            """
        )
        # History: a conversation quiet since before `open_since` is solved, at its last post.
        # A group's first post to us, with no ticket of its author yet: opens (or, on a stream
        # handle, stream: no ticket).
        opens = rule.outcome_sql(ours="0", to_us="1", ticket_status="NULL", auto_ticket="%s")
        last = "CASE WHEN g.last_out > g.last_in THEN g.last_out ELSE g.last_in END"
        history = f"{last} < %s"
        answered_last = "g.last_out IS NOT NULL AND g.last_out > g.last_in"
        # updated_at is the last post's time, so `sort:updated` orders history as it happened.
        _execute(
            f"""
            INSERT INTO tickets_ticket (
                network, handle_id, conversation_id, requester_remote_id, requester_username,
                subject, status, assignee_id, created_at, updated_at, last_inbound_at,
                first_response_at, solved_at, intent, escalated_at)
            SELECT %s, %s, g.conv, g.req, r.author_username, substr(r.text, 1, 140),
                   CASE WHEN {history} THEN 'solved' WHEN {answered_last} THEN 'pending'
                        WHEN g.first_out IS NOT NULL THEN 'open' ELSE 'new' END,
                   NULL, g.first_in, {last}, g.last_to_us, g.first_out,
                   CASE WHEN {history} THEN {last} END, '', NULL
            FROM import_group g JOIN import_row r ON r.rid = g.first_rid
            WHERE g.existing = 0 AND {opens} = 'opens'
            ORDER BY g.first_in, g.conv
            """,
            [network, handle_id, open_since_at, open_since_at, int(auto_ticket)],
        )
        _execute(link_tickets + " WHERE existing = 0", [network, *active])
        totals.tickets_created = dict(
            _rows(
                "SELECT t.status, COUNT(*) FROM import_group g "
                "JOIN tickets_ticket t ON t.id = g.ticket_id WHERE g.existing = 0 "
                "GROUP BY t.status"
            )
        )
        created = json.dumps({"import": source})
        # What a requester's post does to the ticket it joins (a ticket exists: the rule's
        # reopens or follows_up rows).
        joined, joined_here = (
            rule.outcome_sql(ours="0", to_us="1", ticket_status=status, auto_ticket="1")
            for status in ("t.status", "tickets_ticket.status")
        )
        _execute(
            f"""
            INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, message, data, created_at)
            SELECT g.ticket_id,
                   CASE WHEN g.existing = 0 THEN 'created'
                        WHEN g.joins = 1 AND {joined} = 'reopens' THEN 'reopened'
                        ELSE 'follow_up' END,
                   NULL, %s, {d.json_param}, %s
            FROM import_group g JOIN tickets_ticket t ON t.id = g.ticket_id
            ORDER BY g.first_in, g.conv
            """,
            [f"Imported from {source}", created, stamp],
        )
        # The tickets the desk had that a requester's post joined: reopened, pending -> open.
        _execute(
            f"""
            UPDATE tickets_ticket SET
              status = {rule.status_after_sql(outcome=joined_here, status="status")},
              solved_at = CASE WHEN {joined_here} = 'reopens' THEN NULL ELSE solved_at END
            WHERE id IN (SELECT ticket_id FROM import_group WHERE existing = 1 AND joins = 1)
            """
        )
        # Every post, on the ticket of the requester it belongs to. ON CONFLICT: a poll that
        # stored one of them meanwhile (PostgreSQL; SQLite holds the write lock throughout).
        _execute(
            f"""
            INSERT INTO channels_post (
                network, remote_id, handle_id, ticket_id, direction, author_remote_id,
                author_username, text, created_at, conversation_id, in_reply_to_remote_id,
                mentions, urls, raw, deleted_at, stored_at)
            SELECT %s, CAST(r.rid AS TEXT), COALESCE(r.handle_id, %s),
                   COALESCE(CASE WHEN r.direction = 'in' THEN g.ticket_id END, (
                       SELECT t.id FROM tickets_ticket t
                       WHERE t.network = %s AND t.conversation_id = n.conv
                         AND t.status IN ({active_in})
                       ORDER BY t.created_at, t.id LIMIT 1)),
                   r.direction, r.author_id, r.author_username, r.text, r.created_at, n.conv,
                   COALESCE(CAST(r.parent AS TEXT), ''), r.mentions, r.urls,
                   COALESCE(r.raw, {d.csv_raw}), NULL, %s
            FROM import_row r
            JOIN import_new n ON n.rid = r.rid
            LEFT JOIN import_group g ON g.conv = n.conv AND g.req = n.req
            WHERE 1 = 1
            ON CONFLICT DO NOTHING
            """,
            [network, handle_id, network, *active, stamp],
        )
        # Follow-ups on tickets the desk already had: their times take in the new posts.
        totals.tickets_updated = _execute(
            """
            UPDATE tickets_ticket SET
              created_at = g.first_in,
              last_inbound_at = CASE WHEN g.last_to_us IS NOT NULL
                                      AND g.last_to_us > tickets_ticket.last_inbound_at
                                     THEN g.last_to_us ELSE tickets_ticket.last_inbound_at END,
              first_response_at = COALESCE(tickets_ticket.first_response_at, g.first_out),
              updated_at = %s
            FROM import_group g
            WHERE g.existing = 1 AND tickets_ticket.id = g.ticket_id
            """,
            [stamp],
        )
        # Posts stored before in a conversation where a ticket opened or started earlier now:
        # filed by the same placement as ingest's (its first ticket may be another now).
        placement.conversations_posts_place_staged(
            network=network,
            conversations_sql=(
                # One pass over the links (import_link has no index on conv).
                "SELECT DISTINCT l.conv FROM import_link l JOIN import_group g "
                "ON g.conv = l.conv WHERE l.known = 1 AND g.ticket_id IS NOT NULL"
            ),
        )
        # Which post of ours answers which ticket, and the first responses: the rule ingest
        # follows too, over every conversation the file touched.
        answers.conversations_answers_refresh_staged(
            network=network, conversations_sql="SELECT conv FROM import_conv", into="import_answer"
        )
        self._answered_elsewhere(network=network)
        _execute("CREATE INDEX import_group_ticket ON import_group (ticket_id)")

    def _answered_elsewhere(self, *, network: str) -> None:
        """A ticket the desk had, in the queue, that a new post of ours answers (import_answer,
        kept by `tickets.answers`): pending when
        its requester's latest post is answered, else open (the rule of ingest's
        `_tickets_answered_elsewhere` and `replies.selectors.ticket_answer_get`, for posts)."""
        queue = list(QUEUE_STATUSES)
        latest = (
            "SELECT MAX(i.created_at) FROM channels_post i WHERE i.ticket_id = tickets_ticket.id "
            "AND i.direction = 'in' AND i.deleted_at IS NULL "
            "AND i.author_remote_id = tickets_ticket.requester_remote_id"
        )
        _execute(
            f"""
            UPDATE tickets_ticket SET status = CASE WHEN EXISTS (
                SELECT 1 FROM channels_post o
                WHERE o.ticket_id = tickets_ticket.id AND o.direction = 'out'
                  AND o.deleted_at IS NULL AND o.created_at >= ({latest}))
                THEN 'pending' ELSE 'open' END
            WHERE status IN ({", ".join(["%s"] * len(queue))}) AND id IN (
                SELECT g.ticket_id FROM import_group g
                JOIN import_new n ON n.conv = g.conv AND n.direction = 'out'
                JOIN channels_post o ON o.network = %s AND o.remote_id = CAST(n.rid AS TEXT)
                JOIN import_answer a ON a.post_id = o.id AND a.ticket_id = g.ticket_id
                WHERE g.existing = 1)
            """,
            [*queue, network],
        )

    def ticket_batches(self, *, size: int) -> Iterator[list[int]]:
        """The tickets that got posts (new and existing), `size` at a time (keyset pages:
        PostgreSQL's client-side cursors would otherwise fetch them all at once)."""
        last = 0
        while batch := [
            int(pk)
            for (pk,) in _rows(
                "SELECT ticket_id FROM import_group WHERE ticket_id > %s "
                "ORDER BY ticket_id LIMIT %s",
                [last, size],
            )
        ]:
            yield batch
            last = batch[-1]

    def problems(self, *, limit: int) -> tuple[int, list[tuple[int, str]]]:
        """How many rows could not be used, and the first `limit` (line, reason)."""
        count = _scalar("SELECT COUNT(*) FROM import_problem")
        head = _rows("SELECT line, reason FROM import_problem ORDER BY line LIMIT %s", [limit])
        return int(count), [(int(line), str(reason)) for line, reason in head]

    def keep_problems(self, *, handle_id: int, endpoint: str, source: str) -> int:
        """Every staged problem as an IngestProblem row, with its line in `raw`; none when
        the same file (same `endpoint`, which carries its digest) was imported before."""
        if _scalar("SELECT COUNT(*) FROM channels_ingestproblem WHERE endpoint = %s", [endpoint]):
            return 0
        raw = (
            "jsonb_build_object('file', %s::text, 'line', line, 'raw', raw)"
            if self.d.pg
            else "json_object('file', %s, 'line', line, 'raw', json(raw))"
        )
        return _execute(
            "INSERT INTO channels_ingestproblem (handle_id, endpoint, reason, raw, created_at) "
            f"SELECT %s, %s, 'line ' || line || ': ' || reason, {raw}, %s "
            "FROM import_problem ORDER BY line",
            [handle_id, endpoint, source, self.d.time(str(timezone.now().replace(tzinfo=None)))],
        )

    def write_documents(self) -> int:
        """The full-text documents of every ticket the import touched, in one statement.

        The body is the one `tickets.search.ticket_documents_refresh` builds (requester, subject,
        then every post oldest first); a test compares the two. Python would spend longer on a
        million posts than the rest of the import."""
        if connection.vendor == "postgresql":
            posts = "string_agg(p.text, E'\\n' ORDER BY p.created_at, p.remote_id)"
            ordered = "channels_post p"
            newline = "E'\\n'"
        else:
            # SQLite before 3.44 has no ORDER BY inside group_concat: it concatenates in the
            # order its input comes, so the input is ordered.
            posts = "group_concat(p.text, char(10))"
            ordered = (
                "(SELECT ticket_id, text, created_at, remote_id, deleted_at FROM channels_post "
                " WHERE ticket_id IN (SELECT ticket_id FROM import_group) "
                " ORDER BY ticket_id, created_at, remote_id) p"
            )
            newline = "char(10)"
        return _execute(
            f"""
            INSERT INTO tickets_ticketdocument (ticket_id, body, refreshed_at)
            SELECT t.id, '@' || t.requester_username || {newline} || t.subject
                         || COALESCE({newline} || d.body, ''), %s
            FROM tickets_ticket t
            JOIN (SELECT p.ticket_id, {posts} AS body FROM {ordered}
                  WHERE p.ticket_id IN (SELECT ticket_id FROM import_group) AND p.deleted_at IS NULL
                  GROUP BY p.ticket_id) d ON d.ticket_id = t.id
            WHERE 1 = 1
            ON CONFLICT (ticket_id) DO UPDATE SET body = excluded.body,
                                                  refreshed_at = excluded.refreshed_at
            """,
            [self.d.time(str(timezone.now().replace(tzinfo=None)))],
        )


def _pg_row(row: Row) -> Row:
    row = row._replace(created_at=f"{row.created_at}+00")  # UTC, not the session's zone
    # PostgreSQL refuses NUL in text and jsonb: it reads as U+FFFD, as in ingest.
    if "\x00" in row.text:
        row = row._replace(text=row.text.replace("\x00", "\ufffd"))
    if row.raw is not None:
        row = row._replace(raw=json_without_nul(row.raw))
    return row


def _rows(sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())
