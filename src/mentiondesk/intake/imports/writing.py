"""Writing: the posts of one import on their tickets, the follow-ups' times, which post of ours
answers which ticket, and the search documents. `history_write` runs the whole write in the
caller's transaction: the ticket decisions (`tickets`), then the posts that join them."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection

from mentiondesk.tickets import answers
from mentiondesk.tickets.models import ACTIVE_STATUSES, QUEUE_STATUSES

from .. import placement
from . import sql, tickets
from .staging import Totals


def history_write(
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
    d = sql.Dialect()
    stamp = d.now()
    open_since_at = d.time(str(open_since.astimezone(UTC).replace(tzinfo=None)))
    tickets.tickets_decide(
        network=network,
        handle_id=handle_id,
        totals=totals,
        source=source,
        stamp=stamp,
        open_since_at=open_since_at,
        auto_ticket=auto_ticket,
    )
    active = list(ACTIVE_STATUSES)
    # A post of ours (or a requester's without a ticket of theirs) goes on the first active
    # ticket of its conversation: looked up once per conversation, not per post.
    sql.execute(
        f"""
        CREATE TEMP TABLE import_conv_ticket AS
        SELECT c.conv, (
            SELECT t.id FROM tickets_ticket t
            WHERE t.network = %s AND t.conversation_id = c.conv
              AND t.status IN ({sql.placeholders(active)})
            ORDER BY t.created_at, t.id LIMIT 1) AS ticket_id
        FROM (SELECT DISTINCT conv FROM import_new) c
        """,
        [network, *active],
    )
    sql.execute("CREATE UNIQUE INDEX import_conv_ticket_conv ON import_conv_ticket (conv)")
    # Every post, on the ticket of the requester it belongs to, in post id order: X ids grow
    # with time, and so do the conversations, tickets and times the posts' indexes are keyed
    # by, so each index is written from one end to the other once, not once per depth of
    # thread as in the conversation walk's order (at millions of posts, where the cache no
    # longer holds the indexes, that was a quarter of the import: bench/RESULTS.md).
    # ON CONFLICT: a poll that stored one of them meanwhile (PostgreSQL; SQLite holds the
    # write lock throughout).
    sql.execute(
        f"""
        INSERT INTO channels_post (
            network, remote_id, handle_id, ticket_id, direction, author_remote_id,
            author_username, text, created_at, conversation_id, in_reply_to_remote_id,
            mentions, urls, raw, deleted_at, stored_at)
        SELECT %s, CAST(r.rid AS TEXT), COALESCE(r.handle_id, %s),
               COALESCE(CASE WHEN r.direction = 'in' THEN g.ticket_id END, f.ticket_id),
               r.direction, r.author_id, r.author_username, r.text, r.created_at, n.conv,
               COALESCE(CAST(r.parent AS TEXT), ''), r.mentions, r.urls,
               COALESCE(r.raw, {d.csv_raw}), NULL, %s
        FROM import_new n
        JOIN import_row r ON r.rid = n.rid
        LEFT JOIN import_group g ON g.conv = n.conv AND g.req = n.req
        LEFT JOIN import_conv_ticket f ON f.conv = n.conv
        WHERE 1 = 1
        ORDER BY n.rid
        ON CONFLICT DO NOTHING
        """,
        [network, handle_id, stamp],
    )
    # Follow-ups on tickets the desk already had: their times take in the new posts.
    totals.tickets_updated = sql.execute(
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
    # follows too, over every conversation the import wrote posts in. One it wrote nothing in
    # keeps the answers it had (the rule is worked out whenever a conversation changes): a
    # file imported again walks no thread.
    answers.conversations_answers_refresh_staged(
        network=network,
        conversations_sql="SELECT DISTINCT conv FROM import_new",
        into="import_answer",
    )
    _answered_elsewhere(network=network)
    sql.execute("CREATE INDEX import_group_ticket ON import_group (ticket_id)")


def _answered_elsewhere(*, network: str) -> None:
    """A ticket the desk had, in the queue, that a new post of ours answers (import_answer,
    kept by `tickets.answers`): pending when
    its requester's latest post is answered, else open (the rule of ingest's
    `store._tickets_answered_elsewhere` and `replies.selectors.ticket_answer_get`, for posts)."""
    queue = list(QUEUE_STATUSES)
    latest = (
        "SELECT MAX(i.created_at) FROM channels_post i WHERE i.ticket_id = tickets_ticket.id "
        "AND i.direction = 'in' AND i.deleted_at IS NULL "
        "AND i.author_remote_id = tickets_ticket.requester_remote_id"
    )
    sql.execute(
        f"""
        UPDATE tickets_ticket SET status = CASE WHEN EXISTS (
            SELECT 1 FROM channels_post o
            WHERE o.ticket_id = tickets_ticket.id AND o.direction = 'out'
              AND o.deleted_at IS NULL AND o.created_at >= ({latest}))
            THEN 'pending' ELSE 'open' END
        WHERE status IN ({sql.placeholders(queue)}) AND id IN (
            SELECT g.ticket_id FROM import_group g
            JOIN import_new n ON n.conv = g.conv AND n.direction = 'out'
            JOIN channels_post o ON o.network = %s AND o.remote_id = CAST(n.rid AS TEXT)
            JOIN import_answer a ON a.post_id = o.id AND a.ticket_id = g.ticket_id
            WHERE g.existing = 1)
        """,
        [*queue, network],
    )


def documents_write() -> int:
    """The full-text documents of every ticket the import touched, in one statement.

    The body is the one `tickets.search.ticket_documents_refresh` builds (requester, subject,
    then every post oldest first); a test compares the two. Python would spend longer on a
    million posts than the rest of the import."""
    if connection.vendor == "postgresql":
        body = """
            SELECT p.ticket_id, string_agg(p.text, E'\\n' ORDER BY p.created_at, p.remote_id)
                   AS body
            FROM channels_post p
            WHERE p.ticket_id IN (SELECT ticket_id FROM import_group) AND p.deleted_at IS NULL
            GROUP BY p.ticket_id"""
        newline = "E'\\n'"
    else:
        # SQLite before 3.44 has no ORDER BY inside group_concat: it concatenates in the
        # order its input comes, so the input is ordered, one ticket at a time (its posts
        # through the (ticket_id, created_at) index): one sort of every post's text would
        # spill to disk at millions of posts, and hold as much memory as the page cache.
        body = """
            SELECT t.id AS ticket_id, (
                SELECT group_concat(o.text, char(10)) FROM (
                    SELECT p.text FROM channels_post p
                    WHERE p.ticket_id = t.id AND p.deleted_at IS NULL
                    ORDER BY p.created_at, p.remote_id) o) AS body
            FROM tickets_ticket t
            WHERE t.id IN (SELECT ticket_id FROM import_group) AND EXISTS (
                SELECT 1 FROM channels_post p WHERE p.ticket_id = t.id AND p.deleted_at IS NULL)"""
        newline = "char(10)"
    return sql.execute(
        f"""
        INSERT INTO tickets_ticketdocument (ticket_id, body, refreshed_at)
        SELECT t.id, '@' || t.requester_username || {newline} || t.subject
                     || COALESCE({newline} || d.body, ''), %s
        FROM tickets_ticket t JOIN ({body}) d ON d.ticket_id = t.id
        WHERE 1 = 1
        ON CONFLICT (ticket_id) DO UPDATE SET body = excluded.body,
                                              refreshed_at = excluded.refreshed_at
        """,
        [sql.Dialect().now()],
    )
