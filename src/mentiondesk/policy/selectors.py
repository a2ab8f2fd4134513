from __future__ import annotations

from mentiondesk.core.logs import request_memo
from mentiondesk.policy.models import PolicyVersion
from mentiondesk.policy.schema import Policy, policy_parse

_cache: dict[str, Policy] = {}
_MEMO_KEY = "policy"


def policy_current() -> Policy:
    """The rules, channels and escalations in force: the newest applied file, or the seed's
    defaults when none was applied. Parsed once per version and process; looked up once per
    request (one request sees one policy), and then only the newest version's hash is read
    unless it is new."""
    memo = request_memo.get()
    if memo is not None and _MEMO_KEY in memo:
        memoized: Policy = memo[_MEMO_KEY]
        return memoized
    policy = _policy_latest()
    if memo is not None:
        memo[_MEMO_KEY] = policy
    return policy


def policy_forget_request() -> None:
    """After applying a file: the rest of this request reads the new policy."""
    if (memo := request_memo.get()) is not None:
        memo.pop(_MEMO_KEY, None)


def _policy_latest() -> Policy:
    sha256 = PolicyVersion.objects.values_list("sha256", flat=True).first()
    if sha256 is None:
        return Policy()
    if sha256 not in _cache:
        # The same file applied twice has two rows with one hash, and one text.
        latest = PolicyVersion.objects.only("content", "source").filter(sha256=sha256)[0]
        _cache.clear()
        _cache[sha256] = policy_parse(text=latest.content, source=latest.source)
    return _cache[sha256]
