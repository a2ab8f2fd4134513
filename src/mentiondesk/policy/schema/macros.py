"""[[macro]]: the canned replies (replies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mentiondesk.core.intents import INTENTS

from .checks import SLUG, PolicyError, _one_of, _required, _template_check


@dataclass(frozen=True)
class Macro:
    """A canned reply. `text` may use {requester}, {incident_url}, {issue_url},
    {new_issue_url}, {forum_url}, {forum_category_url}; a macro whose variables are not all
    known for a ticket is not offered for it."""

    name: str
    text: str
    intents: tuple[str, ...] = ()


MACRO_VARIABLES = (
    "requester",
    "incident_url",
    "issue_url",
    "new_issue_url",
    "forum_url",
    "forum_category_url",
)
DEFAULT_MACROS = (
    Macro(
        "still_affected",
        "@{requester} we're looking into it: {incident_url} Are you still experiencing issues?",
        ("availability",),
    ),
    Macro(
        "related_issue",
        "@{requester} thanks! This looks related: {issue_url} Add your details there and "
        "follow along.",
        ("bug_report", "feature_request"),
    ),
    Macro(
        "new_issue",
        "@{requester} thanks! We couldn't find an existing issue for this. Could you open one "
        "here so the team can look at it? {new_issue_url}",
        ("bug_report", "feature_request"),
    ),
    # The seed's three forum replies.
    Macro(
        "forum_community",
        "@{requester} Posting in the forum allows the team and the wider community to help find "
        "solutions for your needs: {forum_category_url}",
        ("support_question",),
    ),
    Macro(
        "forum_troubleshoot",
        "@{requester} In order to troubleshoot your issue, please post your question in our "
        "forum at {forum_category_url}! This way you'll have the whole power of the community "
        "to help.",
        ("support_question",),
    ),
    Macro(
        "forum_experts",
        "@{requester} It's likely these community experts will be able to help: {forum_url} "
        "since they have worked through something similar before. Post your question and we'll "
        "check in on it!",
        ("support_question",),
    ),
    Macro(
        "spam_thanks",
        "Thanks for letting us know, @{requester}! We've passed this on to our team to take "
        "care of it.",
        ("spam_report",),
    ),
    Macro("praise_thanks", "@{requester} thank you, that means a lot to the team! 🧡", ("praise",)),
)


MACRO_KEYS: dict[str, type] = {"name": str, "text": str, "intents": list}


def _macro(entry: dict[str, Any], where: str) -> Macro:
    name, text = _required(entry, "name", where), _required(entry, "text", where)
    if not SLUG.match(name):
        raise PolicyError(f"{where}.name: {name!r}: use lowercase letters, digits, - and _")
    _template_check(text, MACRO_VARIABLES, f"{where}.text")
    intents = entry.get("intents", [])
    for intent in intents:
        _one_of(where, "intents", intent, list(INTENTS))
    return Macro(name, text, tuple(intents))
