"""What a handle's settings may hold, checked by the policy file and again before use."""

from __future__ import annotations

import re

# The desk sends the value of a handle's `credentials_env` to the network as the handle's
# secret: only variables named for that, never another of the machine's (PATH) or the
# desk's own (MENTIONDESK_SECRET_KEY).
CREDENTIALS_ENV = re.compile(r"^MENTIONDESK_(X|MASTODON|BLUESKY)_(TOKEN|PASSWORD)_[A-Z0-9_]+$")

# The networks on which the desk sends no direct message, and what the ticket page and
# `dm_create` say instead. Bluesky's chat is a separate service (chat.bsky.*, reached
# through the api.bsky.chat proxy), not the PDS the desk posts to; the connector refuses a DM
# too, so none is ever queued to fail in the outbox.
# TODO(#17): a `sends_dms` fact in connectors.NETWORKS once the connectors' split has landed.
DMS_UNAVAILABLE: dict[str, str] = {
    "bluesky": (
        "Bluesky direct messages are not part of the desk: Bluesky's chat is a separate "
        "service that mentiondesk does not speak. Answer in public, or ask the person to "
        "reach the team another way for anything private."
    ),
}

# The shortest default poll interval (seconds): a mention waits half of it on average before it
# is read, and the queue page's pulse shows it within about a second, so ~15 s keeps arrival to
# an agent's screen under 20 s (issue 21; measured p95 14.9 s, bench/arrival.py) at one call per
# 15 s, a twentieth of X's mentions budget.
POLL_FLOOR_SECONDS = 15.0
# The share of the mentions budget the periodic poll may spend: the rest is for a backlog's
# further pages and the polls webhook events ask for (WEBHOOK_POLL_MIN_SECONDS).
POLL_BUDGET_SHARE = 0.5
