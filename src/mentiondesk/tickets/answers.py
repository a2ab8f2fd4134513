"""Which post of ours answers which ticket, and the first-response times that follow.

One rule, whatever way a post reached the desk (a poll's mentions, a parent in `includes`, our
own timeline, a webhook, the history import, a reply the outbox sent) and when one goes:

- a post of ours answers the requester of the nearest post above it in its thread that is not
  ours (a reply to our own earlier reply answers whom that one answered);
- it answers that requester's ticket in the conversation when the ticket had started by then
  (a ticket starts at its requester's first post to one of our handles);
- a ticket's first response is the earliest answer that still exists (not deleted).

Threads are followed through the stored posts, so the rule is worked out again for whole
conversations whenever a post of theirs arrives or is deleted: a reply stored before the post
it answers (a backlog read newest first, a file that lists replies first) is attributed once
its parent arrives. Set-based SQL, so the import runs it over a million posts as cheaply as a
poll over one page."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, NamedTuple

from django.db import connection

# How far up a thread of our own posts the walk goes looking for the post they answer (a
# thread of ours this long is a thread of announcements, not an answer).
MAX_DEPTH = 50
# Conversations per statement: SQLite allows 32,766 parameters, PostgreSQL 65,535.
CHUNK = 5_000

# Each of our posts in the conversations, with the ticket it answers (NULL: none) and the
# ticket it is filed under now (`was`).
_ANSWERS = f"""
    INSERT INTO ticket_answer (post_id, was, created_at, deleted_at, ticket_id)
    WITH RECURSIVE up (post_id, was, conv, created_at, deleted_at, parent_rid, depth) AS (
        SELECT p.id, p.ticket_id, p.conversation_id, p.created_at, p.deleted_at,
               p.in_reply_to_remote_id, 0
        FROM channels_post p
        WHERE p.network = %s AND p.direction = 'out' AND p.conversation_id IN ({{conversations}})
        UNION ALL
        SELECT u.post_id, u.was, u.conv, u.created_at, u.deleted_at, q.in_reply_to_remote_id,
               u.depth + 1
        FROM up u JOIN channels_post q ON q.network = %s AND q.remote_id = u.parent_rid
        WHERE q.direction = 'out' AND u.depth < {MAX_DEPTH}
    )
    SELECT u.post_id, u.was, u.created_at, u.deleted_at, (
        SELECT t.id FROM tickets_ticket t
        WHERE t.network = %s AND t.conversation_id = u.conv
          AND t.requester_remote_id = a.author_remote_id AND t.created_at <= u.created_at
        ORDER BY t.created_at DESC, t.id DESC LIMIT 1)
    FROM up u
    JOIN channels_post a ON a.network = %s AND a.remote_id = u.parent_rid AND a.direction = 'in'
"""

_ATTRIBUTE = """
    UPDATE channels_post SET ticket_id = (
        SELECT a.ticket_id FROM ticket_answer a WHERE a.post_id = channels_post.id)
    WHERE id {ids}
"""
_ATTRIBUTED = "SELECT a.post_id FROM ticket_answer a WHERE a.ticket_id <> COALESCE(a.was, 0)"

# Only tickets some post of ours answers, deleted or not: one that none answers keeps the
# response it has (a direct message, not a post, may be its answer).
_FIRST = """
    INSERT INTO ticket_first (ticket_id, first_at)
    SELECT ticket_id, MIN(CASE WHEN deleted_at IS NULL THEN created_at END)
    FROM ticket_answer WHERE ticket_id IS NOT NULL GROUP BY ticket_id
"""
_FIRST_RESPONSE = """
    UPDATE tickets_ticket SET first_response_at = (
        SELECT f.first_at FROM ticket_first f WHERE f.ticket_id = tickets_ticket.id)
    WHERE id {ids}
"""


class Answer(NamedTuple):
    """A post of ours that answers a ticket (deleted or not)."""

    ticket_id: int
    remote_id: str


# How the two UPDATEs name their rows. PostgreSQL has no statistics for a TEMP table (nothing
# analyses one) and guesses it holds a couple of thousand rows, so `IN (SELECT …)` became a
# hash join over every ticket: 38 ms a page at 90,000 tickets, growing with the desk. An
# array of the ids is looked up through the primary key instead.
def _among(subquery: str) -> str:
    if connection.vendor == "postgresql":
        return f"= ANY(ARRAY({subquery}))"
    return f"IN ({subquery})"


def conversations_answers_refresh(
    *, network: str, conversations: Collection[str]
) -> dict[int, int]:
    """Attribute every post of ours in `conversations` to the ticket it answers and set those
    tickets' `first_response_at` from the answers that still exist (the module's rule).
    Returns {post id: ticket id} for the posts that answer a ticket.

    Runs in the caller's transaction; writes only what the rule changes (posts whose ticket
    differs, and the conversations' tickets). Touches no status: the callers decide what an
    answer from elsewhere or a deleted one means for the ticket."""
    found = conversations_answers_refresh_posts(network=network, conversations=conversations)
    return {post: answer.ticket_id for post, answer in found.items()}


def conversations_answers_refresh_posts(
    *, network: str, conversations: Collection[str]
) -> dict[int, Answer]:
    """`conversations_answers_refresh`, each answer with its post's remote id: what ingest
    needs to tell the posts it just stored (known by remote id) among them, without reading
    them again."""
    answered: dict[int, Answer] = {}
    ordered = sorted(set(conversations))
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        answered.update(_refresh(network, ", ".join(["%s"] * len(chunk)), chunk, answers=True))
    return answered


def conversations_answers_refresh_staged(
    *, network: str, conversations_sql: str, into: str | None = None
) -> None:
    """The same for the conversations a query names (`SELECT conv FROM import_conv`): the
    history import's millions, which never pass through Python. `into`: the name of a TEMP
    table (post_id, ticket_id) to keep the answers in, for the caller's next statements."""
    _refresh(network, conversations_sql, [], answers=False, into=into)


def _refresh(
    network: str,
    conversations_sql: str,
    conversations: list[str],
    *,
    answers: bool,
    into: str | None = None,
) -> dict[int, Answer]:
    ts = "timestamptz" if connection.vendor == "postgresql" else "TEXT"
    # Made once per connection and emptied before and after each use: creating and dropping
    # them for every page wrote PostgreSQL's catalogs each time, slower the more a batch's
    # transaction had written (35 ms a call at 100,000 posts). Typed tables: SQLite compares
    # an untyped column with an INTEGER key row by row.
    _execute(
        f"CREATE TEMP TABLE IF NOT EXISTS ticket_answer (post_id bigint PRIMARY KEY, "
        f"was bigint, created_at {ts}, deleted_at {ts}, ticket_id bigint)"
    )
    _execute(
        f"CREATE TEMP TABLE IF NOT EXISTS ticket_first (ticket_id bigint PRIMARY KEY, "
        f"first_at {ts})"
    )
    _tables_empty()
    _execute(
        _ANSWERS.format(conversations=conversations_sql),
        [network, *conversations, network, network, network],
    )
    _execute(_ATTRIBUTE.format(ids=_among(_ATTRIBUTED)))
    _execute(_FIRST)
    _execute(_FIRST_RESPONSE.format(ids=_among("SELECT ticket_id FROM ticket_first")))
    if into is not None:
        _execute(f"DROP TABLE IF EXISTS {into}")
        _execute(
            f"CREATE TEMP TABLE {into} AS "
            "SELECT post_id, ticket_id FROM ticket_answer WHERE ticket_id > 0"
        )
    found: dict[int, Answer] = {}
    if answers:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.post_id, a.ticket_id, p.remote_id FROM ticket_answer a "
                "JOIN channels_post p ON p.id = a.post_id WHERE a.ticket_id > 0"
            )
            found = {
                int(post): Answer(int(ticket), remote_id)
                for post, ticket, remote_id in cursor.fetchall()
            }
    if answers:
        _tables_empty()
    else:
        # The history import's millions: dropped, not deleted row by row (nothing vacuums a
        # TEMP table, and the connection may serve ingest next); made again at the next call.
        _execute("DROP TABLE ticket_answer")
        _execute("DROP TABLE ticket_first")
    return found


def _tables_empty() -> None:
    _execute("DELETE FROM ticket_answer")
    _execute("DELETE FROM ticket_first")


def _execute(sql: str, params: Iterable[Any] = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
