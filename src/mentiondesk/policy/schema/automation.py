"""[automation]: the manners of messages the desk sends for the team (replies, incidents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .checks import _fraction, _table


@dataclass(frozen=True)
class AutomationSettings:
    """[automation]: the manners of messages the desk sends for the team (incident replies,
    status update follow-ups, all-clears). One goes only to a requester whose latest post is
    an unanswered report of what it is about, labelled so by triage with at least
    `min_confidence` (0..1) or by a person."""

    min_confidence: float = 0.8


AUTOMATION_KEYS: dict[str, type] = {"min_confidence": object}  # a number: checked below


def _automation(entry: Any, where: str) -> AutomationSettings:
    entry = _table(entry, "automation", AUTOMATION_KEYS, where)
    return AutomationSettings(
        min_confidence=_fraction(entry, "min_confidence", where, AutomationSettings.min_confidence)
    )
