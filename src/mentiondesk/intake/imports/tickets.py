"""Ticket decisions: which staged posts the import stores, and which tickets they open, join or
reopen, by the one ticket rule (`intake.rule`: the SQL below is generated from its table)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from mentiondesk.tickets.models import ACTIVE_STATUSES

from .. import rule
from . import sql
from .staging import Totals


def tickets_decide(
    *,
    network: str,
    handle_id: int,
    totals: Totals,
    source: str,
    stamp: str,
    open_since_at: str,
    auto_ticket: bool,
) -> None:
    """Fill import_conv (the conversations that concern the handle), import_new (the posts to
    store) and import_group (one row per requester and conversation, with its ticket); create
    the new tickets, every CREATED, FOLLOW_UP and REOPENED event, and the status changes of
    the tickets the desk had. In the caller's transaction; `stamp` and `open_since_at` are
    times as `sql.Dialect.time` writes them."""
    d = sql.Dialect(network)
    active = list(ACTIVE_STATUSES)
    active_in = sql.placeholders(active)
    # Conversations that concern the imported handle: it wrote in them, was mentioned or
    # replied to, or the desk already has a ticket there. The rest of the file is left out.
    sql.execute(
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
    sql.execute("CREATE UNIQUE INDEX import_conv_conv ON import_conv (conv)")
    # Posts to store: new ones, in those conversations, not another brand's. Keyed by post
    # id, so that the posts are written in its order (`writing.history_write`).
    sql.execute(
        f"""
        CREATE TEMP TABLE import_new (
            rid {d.rid} PRIMARY KEY, conv TEXT NOT NULL, req TEXT, direction TEXT NOT NULL,
            created_at {d.ts} NOT NULL, involves INTEGER NOT NULL)
        """
    )
    sql.execute(
        """
        INSERT INTO import_new (rid, conv, req, direction, created_at, involves)
        SELECT l.rid, l.conv, l.req, l.direction, l.created_at, l.involves
        FROM import_link l JOIN import_conv c ON c.conv = l.conv
        WHERE l.known = 0 AND l.direction <> 'x'
        ORDER BY l.rid
        """
    )
    sql.execute("CREATE INDEX import_new_group ON import_new (conv, req, direction, created_at)")
    counts = dict(sql.rows("SELECT direction, COUNT(*) FROM import_new GROUP BY direction"))
    totals.stored_in, totals.stored_out = counts.get("in", 0), counts.get("out", 0)
    totals.already_stored = sql.scalar("SELECT COUNT(*) FROM import_link WHERE known = 1")
    totals.other_brands = sql.scalar(
        "SELECT COUNT(*) FROM import_link WHERE known = 0 AND direction = 'x'"
    )
    totals.unrelated = sql.scalar(
        "SELECT COUNT(*) FROM import_link l WHERE l.known = 0 AND l.direction <> 'x' "
        "AND NOT EXISTS (SELECT 1 FROM import_conv c WHERE c.conv = l.conv)"
    )

    # One ticket per requester and conversation, for requesters who wrote to the handle
    # (mentioned it or replied to it; the rule of ingest). Times come from the posts:
    # created at the requester's first post to the handle, answered at our first post
    # after it (tickets.answers, below), pending when the conversation ends with us.
    sql.execute(
        f"""
        CREATE TEMP TABLE import_group (
            conv TEXT NOT NULL, req TEXT NOT NULL, first_in {d.ts}, last_in {d.ts},
            last_out {d.ts}, first_out {d.ts}, first_rid {d.rid},
            ticket_id {d.bigint}, existing INTEGER NOT NULL DEFAULT 0,
            joins INTEGER NOT NULL DEFAULT 0, last_to_us {d.ts},
            PRIMARY KEY (conv, req)
        )
        """
    )
    sql.execute(
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
    sql.execute(link_tickets, [network, *active])
    sql.execute("UPDATE import_group SET existing = 1 WHERE ticket_id IS NOT NULL")
    # A requester's post that writes to us joins their ticket (follows up, reopens: the
    # rule's rows); one older than the history line changes no status.
    sql.execute(
        """
        UPDATE import_group SET joins = 1 WHERE EXISTS (
            SELECT 1 FROM import_new n
            WHERE n.conv = import_group.conv AND n.req = import_group.req
              AND n.direction = 'in' AND n.involves = 1 AND n.created_at >= %s)
        """,
        [open_since_at],
    )
    # A follow-up joining a ticket the desk already has counts from that ticket's start.
    sql.execute(
        """
        UPDATE import_group SET first_in = (
            SELECT t.created_at FROM tickets_ticket t WHERE t.id = import_group.ticket_id)
        WHERE existing = 1 AND (first_in IS NULL OR first_in > (
            SELECT t.created_at FROM tickets_ticket t WHERE t.id = import_group.ticket_id))
        """
    )
    sql.execute(
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
    sql.execute(
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
    sql.execute(link_tickets + " WHERE existing = 0", [network, *active])
    totals.tickets_created = dict(
        sql.rows(
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
    sql.execute(
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
    sql.execute(
        f"""
        UPDATE tickets_ticket SET
          status = {rule.status_after_sql(outcome=joined_here, status="status")},
          solved_at = CASE WHEN {joined_here} = 'reopens' THEN NULL ELSE solved_at END
        WHERE id IN (SELECT ticket_id FROM import_group WHERE existing = 1 AND joins = 1)
        """
    )


def tickets_touched_batches(*, size: int) -> Iterator[list[int]]:
    """The tickets that got posts (new and existing), `size` at a time (keyset pages:
    PostgreSQL's client-side cursors would otherwise fetch them all at once)."""
    last = 0
    while batch := [
        int(pk)
        for (pk,) in sql.rows(
            "SELECT ticket_id FROM import_group WHERE ticket_id > %s ORDER BY ticket_id LIMIT %s",
            [last, size],
        )
    ]:
        yield batch
        last = batch[-1]
