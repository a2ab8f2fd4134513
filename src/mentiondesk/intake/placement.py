"""Which ticket a stored post is filed under, worked out again for whole conversations.

The rule's placement (intake.rule): a requester's post sits on their own ticket of the
conversation; any other post (a third party's context, a post of ours) on the conversation's
first ticket, until `tickets.answers` files a post of ours under the ticket it answers. A poll
that reads a backlog newest first opens a conversation's tickets latest first, so a post filed
"on the conversation's first ticket" when it was stored may sit on a later one: ingest runs
this over the conversations where it opened or restarted a ticket, before `tickets.answers`.
The history import files its new posts this way as it inserts them (imports/writing.py), and
runs this over the conversations where it opened a ticket beside posts stored before."""

from __future__ import annotations

from collections.abc import Collection

from django.db import connection

from mentiondesk.tickets.models import ACTIVE_STATUSES

# Posts the desk sent (a Reply's post) stay where the desk filed them; posts on a ticket that
# is not active (closed) stay too: only posts on a conversation's active tickets move.
_PLACE = """
    UPDATE channels_post SET ticket_id = COALESCE(
        CASE WHEN channels_post.direction = 'in' THEN (
            SELECT t.id FROM tickets_ticket t
            WHERE t.network = channels_post.network
              AND t.conversation_id = channels_post.conversation_id
              AND t.requester_remote_id = channels_post.author_remote_id
              AND t.status IN ({active})) END,
        (SELECT t.id FROM tickets_ticket t
         WHERE t.network = channels_post.network
           AND t.conversation_id = channels_post.conversation_id AND t.status IN ({active})
         ORDER BY t.created_at, t.id LIMIT 1))
    WHERE network = %s AND conversation_id IN ({conversations})
      AND EXISTS (SELECT 1 FROM tickets_ticket c
                  WHERE c.id = channels_post.ticket_id AND c.status IN ({active})
                    AND c.requester_remote_id <> channels_post.author_remote_id)
      AND NOT EXISTS (SELECT 1 FROM replies_reply r WHERE r.post_id = channels_post.id)
"""


def conversations_posts_place(*, network: str, conversations: Collection[str]) -> None:
    """File the posts of `conversations` that are not their ticket's requester's by the
    rule's placement (see the module). Runs in the caller's transaction."""
    if conversations:
        ordered = sorted(set(conversations))
        _place(network, ", ".join(["%s"] * len(ordered)), ordered)


def conversations_posts_place_staged(*, network: str, conversations_sql: str) -> None:
    """The same for the conversations a query names (the history import's staged ones)."""
    _place(network, conversations_sql, [])


def _place(network: str, conversations_sql: str, conversations: list[str]) -> None:
    active = list(ACTIVE_STATUSES)
    sql = _PLACE.format(active=", ".join(["%s"] * len(active)), conversations=conversations_sql)
    params = [*active, *active, network, *conversations, *active]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
