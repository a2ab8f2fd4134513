"""The policy file's shape: what each section and key means, its default (the seed's workflow)
and how it is checked. Parsing never touches the database.

This module holds the document: `Policy`, which sections exist (TABLES, SECTIONS, SCALARS),
`policy_parse`, which reads the file and assembles the sections in order, and the checks that
span sections (duplicates, channel references). Each section's model and parser has its own
module here, named for the app that owns it: `handles` (channels, accounts), `slack`
(integrations.slack), `macros` (replies), `rules` (tickets), `costs`, `triage`, `surge`
(incidents), `automation`, `sla`; `checks` holds the error and the helpers they share.

Why not beside each owning app (`sla/policy.py`, `costs/policy.py`, ...): `policy` sits below
tickets, triage, sla, integrations and costs in the `layers` contract, and `policy_current()`
(policy.selectors) returns the whole document to all of them: triage and tickets read it, so
`Policy` must be importable from the floor just above policy; `Policy` names every section's
type, so those types must be too. A section model in `sla/` is on the sla floor whatever it
imports, so neither policy nor triage could name it. Moving the assembly up instead would leave
triage, tickets and sla without a typed document. Only ignore_imports or a registry filled at
start-up (sections handing `Policy` parsers it cannot name) would get around that, so the
sections stay on the policy floor, one module each, importing only the floors below it
(channels, accounts, core)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from mentiondesk.core.errors import DomainError

from .automation import AutomationSettings, _automation

# PolicyError is the document's error too: callers import it from here.
from .checks import PolicyError as PolicyError
from .checks import _entries, _no_duplicates
from .costs import XBilling, _x_billing, _x_plan
from .handles import HANDLE_KEYS, USER_KEYS, _handle, _handle_network, _user
from .macros import DEFAULT_MACROS, MACRO_KEYS, Macro, _macro
from .rules import Rules, _rules
from .sla import SlaPolicy, _sla
from .slack import (
    CHANNEL_KEYS,
    DEFAULT_CHANNELS,
    DEFAULT_ESCALATIONS,
    ESCALATION_KEYS,
    Channel,
    Escalation,
    _channel,
    _escalation,
)
from .surge import SurgeSettings, _surge
from .triage import TriageSettings, _triage


@dataclass
class Policy:
    handles: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    rules: Rules = field(default_factory=Rules)
    channels: tuple[Channel, ...] = DEFAULT_CHANNELS
    escalations: tuple[Escalation, ...] = DEFAULT_ESCALATIONS
    macros: tuple[Macro, ...] = DEFAULT_MACROS
    triage: TriageSettings = field(default_factory=lambda: TriageSettings())
    surge: SurgeSettings = field(default_factory=lambda: SurgeSettings())
    automation: AutomationSettings = field(default_factory=lambda: AutomationSettings())
    # No [x_billing] section: calls are counted, not priced (prices live only in the file).
    x_billing: XBilling | None = None
    sla: SlaPolicy = field(default_factory=lambda: SlaPolicy())
    # X's current default plan is pay-per-use self-serve, with its reply restriction.
    x_plan: str = "self_serve"

    @property
    def x_replies_need_summons(self) -> bool:
        """Whether X accepts an API reply only from an account the post's author summoned."""
        return self.x_plan == "self_serve"

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def channel_for(self, name: str) -> Channel:
        """The channel a rule names. The schema checks every reference, so a miss means no
        channel is configured for that rule (an empty name)."""
        channel = self.channel(name)
        if channel is None:
            raise DomainError("the policy names no Slack channel for this action")
        return channel

    def escalation(self, category: str) -> Escalation | None:
        return next((e for e in self.escalations if e.category == category), None)


TABLES = {"handle", "user", "channel", "escalation", "macro", "triage_rule"}


# Single tables ([name]), each with its own parser.
SECTIONS = {"rules", "sla", "x_billing", "triage", "surge", "automation"}
# Top-level keys (before any table), each a plain value.
SCALARS = {"x_plan"}


def policy_parse(*, text: str, source: str) -> Policy:
    """Parse and check a policy file. Raises PolicyError naming `source` and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: {exc}") from None
    except RecursionError:
        # tomllib reads nested arrays and tables recursively: no policy nests this deep.
        raise PolicyError(f"{source}: values nested too deeply to read") from None
    unknown = set(data) - TABLES - SECTIONS - SCALARS
    if unknown:
        raise PolicyError(
            f"{source}: unknown section {sorted(unknown)[0]!r}; expected x_plan, [rules], "
            "[sla], [x_billing], [triage], [surge], [automation], [[handle]], [[user]], "
            "[[channel]], "
            "[[escalation]], [[macro]] or [[triage_rule]]"
        )
    policy = Policy(
        handles=[
            _handle(e, w)
            for e, w in _entries(data, "handle", HANDLE_KEYS, source, first=_handle_network)
        ],
        users=[_user(e, w) for e, w in _entries(data, "user", USER_KEYS, source)],
    )
    if "channel" in data:
        policy.channels = tuple(
            _channel(e, w) for e, w in _entries(data, "channel", CHANNEL_KEYS, source)
        )
    if "escalation" in data:
        policy.escalations = tuple(
            _escalation(e, w) for e, w in _entries(data, "escalation", ESCALATION_KEYS, source)
        )
    if "macro" in data:
        policy.macros = tuple(_macro(e, w) for e, w in _entries(data, "macro", MACRO_KEYS, source))
    if "x_plan" in data:
        policy.x_plan = _x_plan(data["x_plan"], f"{source}: x_plan")
    policy.rules = _rules(data.get("rules", {}), f"{source}: rules")
    policy.triage = _triage(data, source)
    policy.surge = _surge(data.get("surge", {}), f"{source}: surge")
    policy.automation = _automation(data.get("automation", {}), f"{source}: automation")
    if "x_billing" in data:
        policy.x_billing = _x_billing(data["x_billing"], f"{source}: x_billing")
    if "sla" in data:
        policy.sla = _sla(data["sla"], f"{source}: sla", policy)
    _no_duplicates(
        source, "handle", [(h["network"], h["username"].lower()) for h in policy.handles]
    )
    _no_duplicates(source, "user", [u["username"].lower() for u in policy.users])
    _no_duplicates(source, "channel", [c.name for c in policy.channels])
    _no_duplicates(source, "escalation", [e.category for e in policy.escalations])
    _no_duplicates(source, "macro", [m.name for m in policy.macros])
    _no_duplicates(source, "triage_rule", [r.name for r in policy.triage.rules])
    _references(policy, source)
    return policy


def _references(policy: Policy, source: str) -> None:
    """Every rule that names a channel names one the file (or the defaults) defines."""
    names = {c.name for c in policy.channels}
    pointers = [
        (f"rules.{key}", getattr(policy.rules, key))
        for key in ("spam_report_channel", "retweet_suggestion_channel")
    ] + [(f"escalation[{i}].channel", e.channel) for i, e in enumerate(policy.escalations, 1)]
    if policy.x_billing is not None:
        pointers.append(("x_billing.alert_channel", policy.x_billing.alert_channel))
    for where, name in pointers:
        if name and name not in names:
            raise PolicyError(
                f"{source}: {where}: no [[channel]] named {name!r}; channels: "
                f"{', '.join(sorted(names)) or 'none'}"
            )
