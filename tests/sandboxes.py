"""What only tests ask of the sandbox stand-ins: reading their request logs, setting up a
follow, and the vendor URLs a test expects. The stand-ins (src/mentiondesk/sandbox/) keep
what the demo, the `mentiondesk sandbox` command and the clients under test use."""

from __future__ import annotations

from mentiondesk.sandbox.forum import CATEGORIES, DiscourseServer
from mentiondesk.sandbox.helpdesk import ZendeskServer
from mentiondesk.sandbox.mastodon import MastodonStore, RecordedRequest


def mastodon_requests_to(
    store: MastodonStore, method: str, path_prefix: str = "/api/"
) -> list[RecordedRequest]:
    """The requests the Mastodon stand-in received with `method` under `path_prefix`."""
    with store.lock:
        return [r for r in store.requests if r.method == method and r.path.startswith(path_prefix)]


def mastodon_follow(store: MastodonStore, *, follower_id: str, followed_id: str) -> None:
    """`follower_id` follows `followed_id` (the notification policy lets their mentions in)."""
    with store.lock:
        store.follows.add((follower_id, followed_id))


def discourse_category_url(server: DiscourseServer, category_id: int) -> str:
    """A category's page on the Discourse stand-in, as Discourse links it."""
    slug, _ = CATEGORIES[category_id]
    return f"{server.url}/c/{slug}/{category_id}"


def zendesk_agent_url(server: ZendeskServer, ticket_id: int) -> str:
    """A ticket's page in the Zendesk agent interface of the stand-in."""
    return f"{server.url}/agent/tickets/{ticket_id}"
