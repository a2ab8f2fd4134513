"""Threading Mastodon posts, which name only their parent, on the conversations the desk has
stored (intake.threads): a page read newest first, or a reply to a post read polls ago,
lands in the conversation of its thread, never in one of its own."""

from __future__ import annotations

import pytest

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.connectors.mastodon import parse_status
from mentiondesk.channels.models import Post
from mentiondesk.intake.threads import posts_rethread
from tests.channels.connectors.replay import cassette, recorded_body
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


def test_a_parent_read_but_not_stored_yet_passes_its_conversation_on() -> None:
    """A backlog's pages are stored in batches: a reply to a post of an earlier page still in
    the batch (rooted at 39 there) joins that conversation, as if it were stored."""
    reply = remote_post(remote_id="41", in_reply_to_id="40", conversation_id="40")
    (post,), _ = posts_rethread(network="mastodon", posts=[reply], context=[], held={"40": "39"})
    assert post.conversation_id == "39"


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


def test_a_recorded_mastodon_reply_joins_its_stored_parents_conversation() -> None:
    """The real shape (shared/fixtures/mastodon/test_status_reply.yaml, Mastodon.py's
    recording): a status answering another names only `in_reply_to_id`. The parent, stored
    earlier on a conversation the desk had (its thread's root, older than it), passes that
    conversation on to the reply read later."""
    posts = [i for i in cassette("test_status_reply.yaml") if i["request"]["method"] == "POST"]
    parent_body, reply_body = recorded_body(posts[0]), recorded_body(posts[1])
    parent = parse_status(parent_body)
    reply = parse_status(reply_body)
    assert isinstance(parent, RemotePost) and isinstance(reply, RemotePost)
    assert reply.conversation_id == parent.remote_id  # all the connector can tell alone
    stored("mastodon", parent.remote_id, "thread-root")

    (post,), _ = posts_rethread(network="mastodon", posts=[reply], context=[])
    assert post.conversation_id == "thread-root"
    assert post.in_reply_to_id == reply_body["in_reply_to_id"]
