"""What a handle's settings may hold, checked by the policy file and again before use."""

from __future__ import annotations

import re

# The desk sends the value of a handle's `credentials_env` to the network as the handle's
# secret: only variables named for that, never another of the machine's (PATH) or the
# desk's own (MENTIONDESK_SECRET_KEY).
CREDENTIALS_ENV = re.compile(r"^MENTIONDESK_(X|MASTODON|BLUESKY)_(TOKEN|PASSWORD)_[A-Z0-9_]+$")
