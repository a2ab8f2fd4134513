"""Everything we write on the network: replies, direct messages and status updates through
the at-most-once outbox, and likes and deletes."""

from .actions import post_action_run, post_actions_due, post_delete, post_like
from .direct import dm_create
from .drafts import Draft, ticket_drafts
from .outbox import (
    X_MAX_CHARS,
    Collision,
    MayHaveBeenSent,
    outbox_drain,
    outbox_due,
    reply_create,
    reply_deliver,
    reply_find_on_network,
    reply_handle_choice,
    reply_recheck,
    reply_retry,
)
from .status import status_update_create, status_update_follow_up
from .stream import stream_reply

__all__ = [
    "X_MAX_CHARS",
    "Collision",
    "Draft",
    "MayHaveBeenSent",
    "dm_create",
    "outbox_drain",
    "outbox_due",
    "post_action_run",
    "post_actions_due",
    "post_delete",
    "post_like",
    "reply_create",
    "reply_deliver",
    "reply_find_on_network",
    "reply_handle_choice",
    "reply_recheck",
    "reply_retry",
    "status_update_create",
    "status_update_follow_up",
    "stream_reply",
    "ticket_drafts",
]
