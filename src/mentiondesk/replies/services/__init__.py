"""Everything we write on the network: replies, direct messages and status updates through
the at-most-once outbox, and likes and deletes.

The outbox, one job a module: create.py stores a reply, outbox.py queues its delivery and
sweeps what is due, deliver.py sends it at most once, reconcile.py looks for a send whose
outcome is unknown, outcome.py records what happened, retry.py is a lead's send-again and
check-again; text.py checks what every message says. status.py, direct.py and stream.py
build on create.py."""

from .actions import post_action_run, post_actions_due, post_delete, post_like
from .create import Collision, reply_create, reply_handle_choice
from .deliver import reply_deliver
from .direct import dm_create
from .drafts import Draft, ticket_drafts, ticket_macros
from .outbox import outbox_drain, outbox_due
from .reconcile import reply_find_on_network
from .retry import MayHaveBeenSent, reply_recheck, reply_retry
from .status import status_update_create, status_update_follow_up
from .stream import stream_reply
from .text import X_MAX_CHARS

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
    "ticket_macros",
]
