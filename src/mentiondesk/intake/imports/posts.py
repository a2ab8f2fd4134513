"""A post of an open network (Mastodon, Bluesky) as a staged `Row`: its ids are text (a status
id, an at:// URI), staged as they are stored (`Post.remote_id`)."""

from __future__ import annotations

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.models import REMOTE_ID_LENGTH, USERNAME_LENGTH

from .records import Ours, Problem, Row


def post_row(
    post: RemotePost, *, line: int, ours: Ours, parent: str | None, conversation: str | None
) -> Row | Problem:
    """`post` as a Row: ours (outbound) when its author is one of our handles, involving the
    imported handle when it wrote it, mentions it or replies to it. `conversation` None lets
    the reply links decide (`conversations`)."""
    too_long = [
        name
        for name, value, limit in (
            ("id", post.remote_id, REMOTE_ID_LENGTH),
            ("parent", parent or "", REMOTE_ID_LENGTH),
            ("conversation", conversation or "", REMOTE_ID_LENGTH),
            ("author", post.author_id, REMOTE_ID_LENGTH),
            ("author name", post.author_username, USERNAME_LENGTH),
        )
        if len(value) > limit
    ]
    if too_long:
        reason = f"post {post.remote_id[:80]}: {', '.join(too_long)} too long"
        return Problem(line, reason, post.raw)
    return ours.row(
        post,
        line=line,
        remote_id=post.remote_id,
        parent=parent,
        conversation=conversation,
        author_username=post.author_username,
    )
