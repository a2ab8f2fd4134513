"""Where a post's and a person's links lead: the network's web (x.com, bsky.app) unless
MENTIONDESK_X_WEB_URL / MENTIONDESK_BLUESKY_WEB_URL name another, as the demo does with its
sandbox network."""

from __future__ import annotations

from typing import Any

from mentiondesk.channels.connectors import network_facts


def test_post_and_profile_links_lead_to_the_networks_web_by_default() -> None:
    x, bluesky = network_facts("x"), network_facts("bluesky")
    assert x.post_url("19", "ana", {}) == "https://x.com/ana/status/19"
    assert x.profile_url("ana", "") == "https://x.com/ana"
    uri = "at://did:plc:abc/app.bsky.feed.post/3kabc2xyz2222"
    assert bluesky.post_url(uri, "ana.test", {}) == (
        "https://bsky.app/profile/ana.test/post/3kabc2xyz2222"
    )
    assert bluesky.profile_url("ana.test", "") == "https://bsky.app/profile/ana.test"


def test_post_and_profile_links_follow_the_web_url_settings(settings: Any) -> None:
    settings.X_WEB_URL = "http://127.0.0.1:4010"
    settings.BLUESKY_WEB_URL = "http://127.0.0.1:4020"
    x, bluesky = network_facts("x"), network_facts("bluesky")
    assert x.post_url("19", "ana", {}) == "http://127.0.0.1:4010/ana/status/19"
    assert x.profile_url("ana", "") == "http://127.0.0.1:4010/ana"
    uri = "at://did:plc:abc/app.bsky.feed.post/3kabc2xyz2222"
    assert bluesky.post_url(uri, "", {}) == (
        "http://127.0.0.1:4020/profile/did:plc:abc/post/3kabc2xyz2222"
    )
    assert bluesky.profile_url("ana.test", "") == "http://127.0.0.1:4020/profile/ana.test"
