"""Threading Mastodon posts, which name only their parent, on the conversations the desk has
stored (intake.threads): a page read newest first, or a reply to a post read polls ago,
lands in the conversation of its thread, never in one of its own."""

from __future__ import annotations

import pytest

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.models import Post
from mentiondesk.intake.threads import posts_rethread
from tests.factories import remote_post

pytestmark = pytest.mark.django_db


def stored(network: str, remote_id: str, conversation_id: str) -> None:
    Post.objects.create(
        network=network,
        remote_id=remote_id,
        direction=Post.Direction.INBOUND,
        author_remote_id="1",
        author_username="ana",
        text="first",
        created_at=remote_post().created_at,
        conversation_id=conversation_id,
    )


def conversations(posts: list[RemotePost]) -> list[str]:
    return [p.conversation_id for p in posts]


def test_a_reply_takes_the_conversation_of_its_nearest_stored_ancestor() -> None:
    stored("mastodon", "10", "1")  # our reply, stored on the conversation started by 1
    answer = remote_post(remote_id="11", in_reply_to_id="10", conversation_id="10")
    again = remote_post(remote_id="12", in_reply_to_id="11", conversation_id="10")
    posts, context = posts_rethread(network="mastodon", posts=[again, answer], context=[])
    assert conversations(posts) == ["1", "1"]
    assert context == []


def test_a_thread_never_seen_is_rooted_at_the_furthest_ancestor_named() -> None:
    # Read newest first: 3 replies to 2 (its parent, in context), which replies to 1, unread.
    newest = remote_post(remote_id="3", in_reply_to_id="2", conversation_id="2")
    parent = remote_post(remote_id="2", in_reply_to_id="1", conversation_id="1")
    posts, context = posts_rethread(network="mastodon", posts=[newest], context=[parent])
    assert conversations(posts) == ["1"] and conversations(context) == ["1"]

    # The next page brings 1 itself: the same conversation.
    (root,), _ = posts_rethread(network="mastodon", posts=[remote_post(remote_id="1")], context=[])
    assert root.conversation_id == "1"


def test_a_post_already_stored_keeps_its_conversation() -> None:
    stored("mastodon", "20", "7")
    again = remote_post(remote_id="20", in_reply_to_id="19", conversation_id="19")
    (post,), _ = posts_rethread(network="mastodon", posts=[again], context=[])
    assert post.conversation_id == "7"


def test_networks_that_name_conversations_are_left_alone() -> None:
    stored("x", "30", "5")
    reply = remote_post(remote_id="31", in_reply_to_id="30", conversation_id="30")
    (post,), _ = posts_rethread(network="x", posts=[reply], context=[])
    assert post is reply
