"""[triage] and [[triage_rule]]: product-context keywords, labelling rules and the
confidence a label needs before it acts (triage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mentiondesk.core.intents import INTENTS
from mentiondesk.core.patterns import PatternError, pattern_compile, pattern_search

from .checks import SLUG, PolicyError, _entries, _fraction, _one_of, _required, _table


@dataclass(frozen=True)
class TriageRule:
    """A rule that labels a post's intent before the model is asked: any of `keywords`
    (whole words, any case) or the regular expression `pattern` (case-insensitive). The first
    rule that matches wins; the ticket shows "rule: <name>" as the evidence."""

    name: str
    intent: str
    keywords: tuple[str, ...] = ()
    pattern: str = ""


@dataclass(frozen=True)
class TriageSettings:
    """[triage]: the company's product-context keywords (empty: the built-in Driftwood and
    GitLab lists), the [[triage_rule]] entries, in file order, and `act_above` (0..1): a
    model label less sure than that is a suggestion, which switches no handle, unlocks no
    like, joins no surge and sends nothing automated (`tickets.gate`)."""

    hosted_keywords: tuple[str, ...] = ()
    self_managed_keywords: tuple[str, ...] = ()
    rules: tuple[TriageRule, ...] = ()
    act_above: float = 0.7


TRIAGE_KEYS: dict[str, type] = {
    "hosted_keywords": list,
    "self_managed_keywords": list,
    "act_above": object,  # a number: checked by _fraction
}
TRIAGE_RULE_KEYS: dict[str, type] = {
    "name": str,
    "intent": str,
    "keywords": list,
    "pattern": str,
}


def _words(values: list[Any], where: str) -> tuple[str, ...]:
    words = []
    for n, value in enumerate(values, start=1):
        if not isinstance(value, str) or not value.strip():
            raise PolicyError(f"{where}[{n}]: expected a non-empty string, got {value!r}")
        words.append(value.strip())
    return tuple(words)


def _triage(data: dict[str, Any], source: str) -> TriageSettings:
    where = f"{source}: triage"
    entry = data.get("triage", {})
    entry = _table(entry, "triage", TRIAGE_KEYS, where)
    return TriageSettings(
        hosted_keywords=_words(entry.get("hosted_keywords", []), f"{where}.hosted_keywords"),
        self_managed_keywords=_words(
            entry.get("self_managed_keywords", []), f"{where}.self_managed_keywords"
        ),
        rules=tuple(
            _triage_rule(e, w) for e, w in _entries(data, "triage_rule", TRIAGE_RULE_KEYS, source)
        ),
        act_above=_fraction(entry, "act_above", where, TriageSettings.act_above),
    )


def _triage_rule(entry: dict[str, Any], where: str) -> TriageRule:
    name, intent = _required(entry, "name", where), _required(entry, "intent", where)
    if not SLUG.match(name):
        raise PolicyError(f"{where}.name: {name!r}: use lowercase letters, digits, - and _")
    _one_of(where, "intent", intent, list(INTENTS))
    keywords = _words(entry.get("keywords", []), f"{where}.keywords")
    pattern = entry.get("pattern", "")
    if bool(keywords) == bool(pattern):
        raise PolicyError(
            f"{where} ({name}): give either keywords (a non-empty list) or pattern, not "
            + ("both" if keywords else "neither")
        )
    if pattern:
        # Matched on RE2 (linear time): what it cannot run is refused here, not in the worker.
        try:
            compiled = pattern_compile(source=pattern)
        except PatternError as exc:
            raise PolicyError(f"{where}.pattern ({name}): {exc.message}") from None
        if pattern_search(pattern=compiled, text="") is not None:
            raise PolicyError(
                f"{where}.pattern ({name}): /{pattern}/ matches an empty text, so it would "
                "label every post"
            )
    return TriageRule(name=name, intent=intent, keywords=keywords, pattern=pattern)
