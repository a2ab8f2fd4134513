"""Reading a Mastodon account archive's `outbox.json` (Settings > Import and export > Request
your archive): an ActivityStreams OrderedCollection whose `orderedItems` are every status of
the account as the activity it federated. Read as a stream, one activity at a time
(`jsonstream.json_member_values`).

An outbox holds only our own posts: a `Create` of a Note is one; an `Announce` (a boost of
someone's status) is skipped and counted. A reply's parent is its status id when the parent
is on the handle's instance; a parent elsewhere is known only by its URI, which
`conversations` turns into the id the desk stored it under, when it has."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.connectors.mastodon.parse import actor_is, parse_note

from .jsonstream import json_member_values
from .posts import post_row
from .records import Item, Ours, Problem, Skip

BOOSTS = "boosts (Announce)"
WHAT = "a Mastodon outbox (an OrderedCollection with orderedItems)"


def outbox_rows(text: IO[str], *, ours: Ours) -> Iterator[Item]:
    """Every post of the outbox, in file order; boosts as Skips, the rest as Problems."""
    for item in json_member_values(text, member="orderedItems", what=WHAT):
        if isinstance(item, Problem):
            yield item
            continue
        line, activity = item
        kind = activity.get("type") if isinstance(activity, dict) else None
        if kind == "Announce":
            yield Skip(BOOSTS)
            continue
        if kind != "Create" or not isinstance(activity, dict):
            yield Problem(line, f"not a Create or Announce activity ({kind!r})", activity)
            continue
        actor = str(activity.get("actor") or "")
        if not actor_is(
            actor, instance=ours.base_url, username=ours.username, account_id=ours.remote_id
        ):
            yield Problem(line, f"a post of {actor or 'nobody'}, not of @{ours.username}", activity)
            continue
        post = parse_note(
            activity.get("object"),
            instance=ours.base_url,
            # An archive names our account by its URI; its id is the handle's, or the URI's.
            account_id=ours.remote_id or actor.rstrip("/").rsplit("/", 1)[-1],
            username=ours.username,
        )
        if not isinstance(post, RemotePost):
            yield Problem(line, post.reason, activity)
            continue
        # The parent's status id on our instance, else its URI (a status of another server).
        parent_uri = post.raw.get("inReplyTo")
        parent = post.in_reply_to_id or (parent_uri if isinstance(parent_uri, str) else None)
        yield post_row(post, line=line, ours=ours, parent=parent, conversation=None)
