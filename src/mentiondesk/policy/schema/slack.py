"""[[channel]] and [[escalation]]: the Slack channels the desk posts to and the escalation
categories that point at them (integrations.slack)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .checks import SLUG, PolicyError, _required

SLACK_CHANNEL = re.compile(r"^(#[a-z0-9_.-]{1,80}|[CG][A-Z0-9]{6,20})$")


@dataclass(frozen=True)
class Channel:
    name: str
    slack: str
    description: str = ""


@dataclass(frozen=True)
class Escalation:
    category: str
    label: str
    channel: str


DEFAULT_CHANNELS = (
    Channel("abuse", "#abuse", "spam and abuse reports"),
    Channel("social_media", "#social_media", "retweet suggestions for the social team"),
    Channel("support_hosted", "#support_gitlab-com", "experts on the hosted service"),
    Channel("support_self_managed", "#support_self-managed", "experts on self-managed installs"),
    Channel("support_managers", "#support_managers", "support managers"),
)
DEFAULT_ESCALATIONS = (
    Escalation("hosted", "Hosted service", "support_hosted"),
    Escalation("self_managed", "Self-managed", "support_self_managed"),
    Escalation("managers", "Support managers", "support_managers"),
)


CHANNEL_KEYS: dict[str, type] = {"name": str, "slack": str, "description": str}
ESCALATION_KEYS: dict[str, type] = {"category": str, "label": str, "channel": str}


def _channel(entry: dict[str, Any], where: str) -> Channel:
    name, slack = _required(entry, "name", where), _required(entry, "slack", where)
    if not SLUG.match(name):
        raise PolicyError(f"{where}.name: {name!r}: use lowercase letters, digits, - and _")
    if not SLACK_CHANNEL.match(slack):
        raise PolicyError(f"{where}.slack: {slack!r} is not a Slack channel (#name or an id)")
    return Channel(name, slack, entry.get("description", ""))


def _escalation(entry: dict[str, Any], where: str) -> Escalation:
    category = _required(entry, "category", where)
    if not SLUG.match(category):
        raise PolicyError(f"{where}.category: {category!r}: use lowercase letters, digits, - _")
    return Escalation(category, entry.get("label", category), _required(entry, "channel", where))
