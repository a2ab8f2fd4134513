"""Conversations on a network whose posts do not name theirs (Mastodon).

A Mastodon status carries only `in_reply_to_id`; the connector threads a page on the nearest
ancestor it saw (`thread_roots`). Across polls that is not enough: the requester's answer to
our reply names our reply, which the page does not hold, and would otherwise start a
conversation (and a ticket) of its own. So before a page is stored, each post takes the
conversation of its nearest ancestor the desk already stored, climbing through the posts at
hand; in a thread the desk never saw, the furthest ancestor named. Reading the true root from
the instance (`GET /api/v1/statuses/:id/context`) would cost a call per post."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.models import Post


def posts_rethread(
    *,
    network: str,
    posts: Sequence[RemotePost],
    context: Sequence[RemotePost],
    held: Mapping[str, str] | None = None,
) -> tuple[list[RemotePost], list[RemotePost]]:
    """`posts` and `context` (their parents), each in the conversation of its nearest stored
    ancestor (itself, when stored), else of the furthest ancestor the posts at hand name.
    `held`: posts read but not stored yet (a batch of pages, `store.PageBatches`) -> their
    conversation, taken as stored. Unchanged on networks whose posts name their
    conversation."""
    if network_facts(network).names_conversations:
        return list(posts), list(context)
    held = held or {}
    at_hand = {p.remote_id: p for p in [*context, *posts]}
    named = set(at_hand) | {p.in_reply_to_id for p in at_hand.values() if p.in_reply_to_id}
    stored = {k: v for k, v in held.items() if k in named}
    stored.update(
        Post.objects.filter(network=network, remote_id__in=named - set(stored)).values_list(
            "remote_id", "conversation_id"
        )
    )

    def conversation(post: RemotePost) -> str:
        remote_id: str | None = post.remote_id
        furthest = post.remote_id
        seen: set[str] = set()
        while remote_id is not None and remote_id not in seen:
            if remote_id in stored:
                return stored[remote_id]
            seen.add(remote_id)
            furthest = remote_id
            parent = at_hand.get(remote_id)
            remote_id = parent.in_reply_to_id if parent is not None else None
        return furthest

    def rethread(post: RemotePost) -> RemotePost:
        conversation_id = conversation(post)
        if conversation_id == post.conversation_id:
            return post
        return dataclasses.replace(post, conversation_id=conversation_id)

    return [rethread(p) for p in posts], [rethread(p) for p in context]
