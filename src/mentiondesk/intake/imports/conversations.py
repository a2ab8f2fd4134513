"""Threading: every staged post's conversation and requester, rebuilt from the reply links, and
the posts that cannot be placed (loops of links, replies to posts nobody has).

Why a database table for the parent lookup: the reply links of a file point anywhere in it
(the public CSV lists replies before the posts they answer), so every post must stay
findable until the end. A dict of a million ids would grow with the file; the TEMP table
lives on disk, keeps Python's memory flat, and lets one recursive query walk every
conversation from its first post."""

from __future__ import annotations

from django.db import connection

from . import sql
from .staging import Totals


def conversations_resolve(*, network: str) -> Totals:
    """Rebuild conversations from the reply links (no writes outside the TEMP tables).

    Every post gets its conversation (X's when the file gives it, else its first post's
    id) and its requester: its own author for a requester's post, else the requester of
    the nearest post above it in the thread (so our reply belongs to whom it answers)."""
    d = sql.Dialect(network)
    totals = Totals()
    if network == "mastodon":
        _parents_by_uri(network=network, d=d)
    sql.execute("CREATE INDEX import_row_parent ON import_row (parent)")
    totals.staged = sql.scalar("SELECT COUNT(*) FROM import_row")
    # The walk starts at posts whose parent is not in the file: the first post of a
    # conversation, a reply to a post already stored, or a reply to a post nobody has.
    # It follows each reply link down once; posts in a loop of links are never reached.
    sql.execute(
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
    sql.execute("CREATE UNIQUE INDEX import_link_rid ON import_link (rid)")

    loops = "FROM import_row r WHERE NOT EXISTS (SELECT 1 FROM import_link l WHERE l.rid = r.rid)"
    totals.loop_count = sql.scalar(f"SELECT COUNT(*) {loops}")
    if totals.loop_count:
        sql.execute(
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


def _parents_by_uri(*, network: str, d: sql.Dialect) -> None:
    """Replies to statuses of other servers name their parent by its URI (an outbox's
    `inReplyTo`); the desk stores such a status under the id our instance gave it, with its
    URI in `raw["uri"]` (the Status entity's). Where the desk has it, the parent becomes that
    id, as a live poll would have stored the reply; else the URI stays (an unknown parent)."""
    uri = "p.raw->>'uri'" if d.pg else "json_extract(p.raw, '$.uri')"
    sql.execute(
        f"""
        CREATE TEMP TABLE import_uri AS
        SELECT {uri} AS uri, MIN(p.remote_id) AS remote_id FROM channels_post p
        WHERE p.network = %s
          AND {uri} IN (SELECT parent FROM import_row WHERE parent LIKE 'http%%')
        GROUP BY {uri}
        """,
        [network],
    )
    sql.execute(
        "UPDATE import_row SET parent = (SELECT u.remote_id FROM import_uri u "
        "WHERE u.uri = import_row.parent) WHERE parent IN (SELECT uri FROM import_uri)"
    )
