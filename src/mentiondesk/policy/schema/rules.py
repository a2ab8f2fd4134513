"""[rules]: the handbook's rules (tickets: who replies from where, who may assign, delete or
take tickets out of order)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.core.intents import INTENTS

from .checks import _one_of, _table

# rules.out_of_order: taking a ticket Play would not give next needs a reason, or is refused.
OUT_OF_ORDER = ("with_reason", "never")


@dataclass(frozen=True)
class Rules:
    """The handbook's rules. Every default is the seed's workflow."""

    # "When a tweet mentions more than one handle, always reply from the main handle..."
    several_handles_reply_from: str = "main"
    # "...unless it's about GitLab availability status."
    availability_reply_from: str = "status"
    # "Only the infrastructure team should be posting updates on @GitLabStatus."
    status_handle_posters: tuple[str, ...] = ("infrastructure",)
    # "Use Likes for promoting positive feedback ... Avoid using it for anything else."
    like_intents: tuple[str, ...] = ("praise",)
    # "[DMs] should only be used when the user needs to communicate with us privately."
    dm_reason_required: bool = True
    # "Tweetdeck can also be used to delete tweets if something is sent accidentally": the
    # post's author may delete it; so may these roles.
    delete_roles: tuple[str, ...] = ("lead", "admin")
    # "Not cross assign tickets": only these roles assign a ticket to someone else.
    reassign_roles: tuple[str, ...] = ("lead", "admin")
    # "Use Play mode ... Not skip any tickets": outside Play, an agent takes a ticket that is
    # not the one Play would give them next "with_reason" (audited) or "never". The
    # `reassign_roles` are not bound by it.
    out_of_order: str = "with_reason"
    # "Post in the #abuse slack channel with a link ... and the timing of the spam report."
    spam_report_channel: str = "abuse"
    # "Paste the tweet in #social_media for the social team to review."
    retweet_suggestion_channel: str = "social_media"


RULE_KEYS: dict[str, type] = {
    "several_handles_reply_from": str,
    "availability_reply_from": str,
    "status_handle_posters": list,
    "like_intents": list,
    "dm_reason_required": bool,
    "delete_roles": list,
    "reassign_roles": list,
    "out_of_order": str,
    "spam_report_channel": str,
    "retweet_suggestion_channel": str,
}


def _rules(entry: Any, where: str) -> Rules:
    entry = _table(entry, "rules", RULE_KEYS, where)
    values = dict(entry)
    for key in ("several_handles_reply_from", "availability_reply_from"):
        if key in values and values[key] != "":
            _one_of(where, key, values[key], Handle.Role.values)
    if "out_of_order" in values:
        _one_of(where, "out_of_order", values["out_of_order"], list(OUT_OF_ORDER))
    for key, allowed in (
        ("status_handle_posters", User.Role.values),
        ("delete_roles", User.Role.values),
        ("reassign_roles", User.Role.values),
        ("like_intents", list(INTENTS)),
    ):
        if key in values:
            for item in values[key]:
                _one_of(where, key, item, allowed)
            values[key] = tuple(values[key])
    return Rules(**values)
