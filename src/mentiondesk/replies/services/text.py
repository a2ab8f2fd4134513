"""The text of what we write on a network: checked against the network's limit, as that
network counts it. Shared by every kind of message (replies, direct messages, status
updates) and by the drafts that fill the composer."""

from __future__ import annotations

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.length import X_MAX_WEIGHT
from mentiondesk.core.errors import DomainError

X_MAX_CHARS = X_MAX_WEIGHT


def reply_text_check(*, text: str, limit: int, network: str = "x", weighted: bool = True) -> str:
    """The stripped text, if it fits: as `network` counts a post's length (X's weighted
    length, Mastodon's and Bluesky's graphemes) against `limit`, plain length for DMs. A
    post's limit is its handle's, `channels.selectors.handle_text_limit` (the one rule: what
    the handle's server said, else the network's default). Raises DomainError (field "text")
    when it is empty or too long."""
    facts = network_facts(network)
    text = text.strip()
    if not text:
        raise DomainError("the text is empty", field="text")
    length = facts.text_length(text) if weighted else len(text)
    if length > limit:
        raise DomainError(
            f"the text counts {length} characters on {facts.label} ({facts.length_rule}); "
            f"{facts.label} allows {limit}",
            field="text",
        )
    return text
