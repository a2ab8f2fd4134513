"""[surge]: outage surges grouped under one incident card (incidents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mentiondesk.accounts.models import User

from .checks import PolicyError, _one_of, _table, _template_check

SURGE_VARIABLES = ("requester", "incident_url")


@dataclass(frozen=True)
class SurgeSettings:
    """[surge]: when availability reports spike, group them under one incident card.
    `threshold` availability tickets created within `window_minutes` open a surge (0 turns
    surges off); `reply_roles` may answer every grouped ticket in one click and mark the
    incident resolved. Texts use {requester} (required: X refuses the same text twice) and
    {incident_url}."""

    threshold: int = 5
    window_minutes: int = 10
    reply_roles: tuple[str, ...] = ("lead", "infrastructure")
    reply_text: str = (
        "@{requester} we're aware of the problem and working on it: {incident_url} "
        "Are you still experiencing issues?"
    )
    resolved_text: str = (
        "@{requester} the incident is resolved: {incident_url} Thanks for your patience! "
        "Let us know if you still see problems."
    )


SURGE_KEYS: dict[str, type] = {
    "threshold": int,
    "window_minutes": int,
    "reply_roles": list,
    "reply_text": str,
    "resolved_text": str,
}


def _surge(entry: Any, where: str) -> SurgeSettings:
    entry = _table(entry, "surge", SURGE_KEYS, where)
    values = dict(entry)
    for key, low in (("threshold", 0), ("window_minutes", 1)):
        # bool is an int in Python: `threshold = true` is a mistake, not 1.
        if key in values and (isinstance(values[key], bool) or values[key] < low):
            raise PolicyError(
                f"{where}.{key}: expected a whole number >= {low}, got {values[key]!r}"
            )
    if "reply_roles" in values:
        for role in values["reply_roles"]:
            _one_of(where, "reply_roles", role, User.Role.values)
        values["reply_roles"] = tuple(values["reply_roles"])
    for key in ("reply_text", "resolved_text"):
        if key not in values:
            continue
        text = values[key]
        if "requester" not in _template_check(text, SURGE_VARIABLES, f"{where}.{key}"):
            raise PolicyError(
                f"{where}.{key}: must name {{requester}}: X refuses the same text twice, so "
                "each reply has to be addressed to its requester"
            )
    return SurgeSettings(**values)
