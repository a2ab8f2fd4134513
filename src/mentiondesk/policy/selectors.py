from __future__ import annotations

from mentiondesk.policy.models import PolicyVersion
from mentiondesk.policy.schema import Policy, policy_parse

_cache: dict[str, Policy] = {}


def policy_current() -> Policy:
    """The rules, channels and escalations in force: the newest applied file, or the seed's
    defaults when none was applied. Parsed once per version and process."""
    latest = PolicyVersion.objects.only("sha256", "content", "source").first()
    if latest is None:
        return Policy()
    if latest.sha256 not in _cache:
        _cache.clear()
        _cache[latest.sha256] = policy_parse(text=latest.content, source=latest.source)
    return _cache[latest.sha256]
