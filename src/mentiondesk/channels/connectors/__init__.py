"""Network connectors: one package per network, vendor I/O only (see base.py), and the one
place that says what differs between networks (`NETWORKS`).

CONNECTED_NETWORKS says which networks have a connector: the policy refuses a handle on any
other network, and the desk never hands such a handle to another network's connector. A new
network is one connector package, its sandbox, and one `NetworkFacts` entry here.

Everything the desk does with a handle goes through the `Connector` protocol (base.py) and
these facts: ingest compares checkpoints with `checkpoint_newer` and reads DMs only where
`reads_dms`; the meter records only `billed` networks; the outbox counts text with
`text_length`, passes the send's key with `send_keys` and, where `sends_keyed`, may send again
with the same key after an unknown outcome; pages link posts with `post_url`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from mentiondesk.channels.length import X_MAX_WEIGHT, graphemes, mastodon_length, x_length

from .base import id_newer
from .bluesky.rules import TEXT_LIMIT_GRAPHEMES, rkey_for
from .bluesky.rules import post_url as bluesky_post_url

# Mastodon's default (mastodon.DEFAULT_TEXT_LIMIT); an instance may allow more (text_limit()).
MASTODON_TEXT_LIMIT = 500


@dataclass(frozen=True)
class SendKey:
    """What the desk knows of one reply when it sends it, from which each network takes the
    key that makes a repeated send harmless (or nothing, on X)."""

    key: str  # the reply's stable idempotency key
    created_at: datetime  # when the reply was written (stable across its sends)
    seed: int  # the reply's id
    parent_raw: dict[str, Any]  # the raw payload of the post it answers ({} without one)


@dataclass(frozen=True)
class NetworkFacts:
    """What one network is like, for the desk's services and pages."""

    network: str
    label: str  # "View on <label>"
    # The class that speaks to it (the Connector protocol), as "module:Class": imported on
    # first use (`network_connector_class`), so a process that never speaks to a network
    # (the web pages, `mentiondesk check`) does not load its vendor SDK.
    connector: str
    # The handle's secret is the value of a variable named <prefix><NAME> (policy
    # credentials_env): an access token (X, Mastodon) or an app password (Bluesky).
    credentials_prefix: str
    text_limit: int  # the default limit (a Mastodon instance may say another: text_limit())
    text_length: Callable[[str], int]  # how the network counts a post's length
    length_rule: str  # how it counts, for an error message
    length_counter: str  # the composer's counter (app.js): "x", "mastodon" or "graphemes"
    # The web page of a post: (remote id, author's username, raw payload) -> URL.
    post_url: Callable[[str, str, dict[str, Any]], str]
    # A person's profile: (username, the handle's base URL) -> URL.
    profile_url: Callable[[str, str], str]
    # Whether checkpoint `candidate` (a mention or own-timeline read's newest id) is newer
    # than `current` (any checkpoint is newer than none).
    checkpoint_newer: Callable[[str, str], bool]
    reads_dms: bool  # direct messages are read (X's dm_events); else never asked for
    # The reads' endpoints, as the meter and the ingest problems name them.
    mentions_endpoint: str
    # The mentions endpoint's documented budget per token (user context): `mentions_calls`
    # calls every `mentions_window_seconds`. The default poll interval is made from it
    # (channels.selectors.handle_poll_interval).
    mentions_calls: int
    mentions_window_seconds: int
    dms_endpoint: str
    timeline_endpoint: str  # our own posts: read back, and searched after an unknown outcome
    billed: bool  # calls cost money (the usage meter records them)
    # A send carries a key the network dedupes on, so sending again with the same key after
    # an unknown outcome cannot post twice (within `key_window_seconds`, None: forever).
    sends_keyed: bool
    key_window_seconds: int | None
    send_keys: Callable[[SendKey], dict[str, Any]]  # post_create's extra keyword arguments
    # A reply must name its addressee at the start of its text to reach them (Mastodon does
    # not add the mention a reply answers, as X and Bluesky threads need none).
    reply_mentions_author: bool
    # Each post names its conversation (X's conversation_id, Bluesky's reply root). Mastodon's
    # do not: the connector gives the nearest ancestor it saw, and the desk threads the post
    # on the conversation of its nearest stored ancestor (intake.threads).
    names_conversations: bool


def _x_post_url(remote_id: str, author: str, raw: dict[str, Any]) -> str:
    return f"{settings.X_WEB_URL}/{author}/status/{remote_id}"


def _x_profile_url(username: str, base_url: str) -> str:
    return f"{settings.X_WEB_URL}/{username}"


def _mastodon_post_url(remote_id: str, author: str, raw: dict[str, Any]) -> str:
    # The status's own page as its instance serves it (`url`), else its ActivityPub id.
    for key in ("url", "uri"):
        value = raw.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    return ""


def _bluesky_post_url(remote_id: str, author: str, raw: dict[str, Any]) -> str:
    return bluesky_post_url(remote_id, handle=author or None, web_url=settings.BLUESKY_WEB_URL)


def _bluesky_profile_url(username: str, base_url: str) -> str:
    return f"{settings.BLUESKY_WEB_URL}/profile/{username}"


def _bluesky_order(checkpoint: str) -> tuple[str, str]:
    """A Bluesky checkpoint as something ordered: a mentions key "<indexedAt>|<uri>" by time
    then URI; a post URI (our own timeline) by its record key, a TID that sorts by time."""
    moment, sep, uri = checkpoint.partition("|")
    if sep:
        return moment, uri
    return checkpoint.rsplit("/", 1)[-1], ""


def _bluesky_newer(candidate: str, current: str) -> bool:
    if not current:
        return True
    return _bluesky_order(candidate) > _bluesky_order(current)


def _no_keys(send: SendKey) -> dict[str, Any]:
    return {}


def _mastodon_keys(send: SendKey) -> dict[str, Any]:
    # A reply to a direct (or followers-only) status keeps its audience: never answered in
    # public. The Idempotency-Key makes the instance return the first status for an hour.
    visibility = send.parent_raw.get("visibility")
    return {
        "idempotency_key": send.key,
        "visibility": visibility if isinstance(visibility, str) and visibility else None,
    }


def _bluesky_keys(send: SendKey) -> dict[str, Any]:
    return {"rkey": rkey_for(created_at=send.created_at, seed=send.seed)}


NETWORKS: dict[str, NetworkFacts] = {
    "x": NetworkFacts(
        network="x",
        label="X",
        connector="mentiondesk.channels.connectors.x.client:XConnector",
        credentials_prefix="MENTIONDESK_X_TOKEN_",
        text_limit=X_MAX_WEIGHT,
        text_length=x_length,
        length_rule="links count 23",
        length_counter="x",
        post_url=_x_post_url,
        profile_url=_x_profile_url,
        checkpoint_newer=id_newer,
        reads_dms=True,
        mentions_endpoint="GET /2/users/:id/mentions",
        # 300 per 15 minutes per user (450 per app); API-FACTS.md, "Rate limits", from
        # https://docs.x.com/x-api/fundamentals/rate-limits
        mentions_calls=300,
        mentions_window_seconds=15 * 60,
        timeline_endpoint="GET /2/users/:id/tweets",
        dms_endpoint="GET /2/dm_events",
        billed=True,
        sends_keyed=False,
        key_window_seconds=None,
        send_keys=_no_keys,
        reply_mentions_author=False,
        names_conversations=True,
    ),
    "mastodon": NetworkFacts(
        network="mastodon",
        label="Mastodon",
        connector="mentiondesk.channels.connectors.mastodon.client:MastodonConnector",
        credentials_prefix="MENTIONDESK_MASTODON_TOKEN_",
        text_limit=MASTODON_TEXT_LIMIT,
        text_length=mastodon_length,
        length_rule="links count 23",
        length_counter="mastodon",
        post_url=_mastodon_post_url,
        profile_url=lambda username, base_url: f"{base_url.rstrip('/')}/@{username}",
        checkpoint_newer=id_newer,  # notification and status ids: digits, newer is larger
        reads_dms=False,  # a Mastodon DM is a direct mention: read with the mentions
        mentions_endpoint="GET /api/v1/notifications",
        # 300 calls per 5 minutes per account (x-ratelimit-limit: 300 in the recorded answers;
        # https://docs.joinmastodon.org/api/rate-limits/)
        mentions_calls=300,
        mentions_window_seconds=5 * 60,
        timeline_endpoint="GET /api/v1/accounts/:id/statuses",
        dms_endpoint="",
        billed=False,
        sends_keyed=True,
        key_window_seconds=3600,  # Mastodon keeps an Idempotency-Key for an hour
        send_keys=_mastodon_keys,
        reply_mentions_author=True,
        names_conversations=False,
    ),
    "bluesky": NetworkFacts(
        network="bluesky",
        label="Bluesky",
        connector="mentiondesk.channels.connectors.bluesky.client:BlueskyConnector",
        credentials_prefix="MENTIONDESK_BLUESKY_PASSWORD_",
        text_limit=TEXT_LIMIT_GRAPHEMES,
        text_length=graphemes,
        length_rule="characters as you see them",
        length_counter="graphemes",
        post_url=_bluesky_post_url,
        profile_url=_bluesky_profile_url,
        checkpoint_newer=_bluesky_newer,
        reads_dms=False,  # chat is a separate service (chat.bsky), not read yet
        mentions_endpoint="GET /xrpc/app.bsky.notification.listNotifications",
        # 3000 calls per 5 minutes (https://docs.bsky.app/docs/advanced-guides/rate-limits)
        mentions_calls=3000,
        mentions_window_seconds=5 * 60,
        timeline_endpoint="GET /xrpc/app.bsky.feed.getAuthorFeed",
        dms_endpoint="",
        billed=False,
        sends_keyed=True,
        key_window_seconds=None,  # a record key stays taken as long as the record exists
        send_keys=_bluesky_keys,
        reply_mentions_author=False,
        names_conversations=True,
    ),
}

CONNECTED_NETWORKS: tuple[str, ...] = tuple(NETWORKS)


def network_facts(network: str) -> NetworkFacts:
    """The facts of `network`; X's for a network without a connector (a row from before the
    policy refused them only shows, never reaches a connector: `network_unsupported_reason`)."""
    return NETWORKS.get(network, NETWORKS["x"])


def network_connector_class(network: str) -> type[Any]:
    """The connector class of `network` (imported now, once per process)."""
    module, _, name = NETWORKS[network].connector.partition(":")
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def network_unsupported_reason(network: str) -> str | None:
    """Why the desk cannot speak to `network` (no connector for it yet), or None when it can."""
    if network in CONNECTED_NETWORKS:
        return None
    return (
        f"network {network!r} is not supported yet (no connector for it); "
        f"supported networks: {', '.join(CONNECTED_NETWORKS)}"
    )
