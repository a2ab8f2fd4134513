"""The policy file's shape: what each section and key means, its default (the seed's workflow)
and how it is checked. Parsing never touches the database."""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mentiondesk.accounts.models import User
from mentiondesk.channels.choices import UsageKind
from mentiondesk.channels.connectors import network_facts, network_unsupported_reason
from mentiondesk.channels.constants import CREDENTIALS_ENV
from mentiondesk.channels.models import Handle, Network
from mentiondesk.core.errors import DomainError
from mentiondesk.core.intents import INTENTS
from mentiondesk.core.patterns import PatternError, pattern_compile, pattern_search

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")
SLUG = re.compile(r"^[a-z0-9_-]{1,50}$")
# rules.out_of_order: taking a ticket Play would not give next needs a reason, or is refused.
OUT_OF_ORDER = ("with_reason", "never")
# x_plan: which X API plan the desk's handles post on. On pay-per-use self-serve plans X
# refuses an API reply unless the post's author summoned the replying account (API-FACTS §4);
# enterprise plans are exempt.
X_PLANS = ("self_serve", "enterprise")
SLACK_CHANNEL = re.compile(r"^(#[a-z0-9_.-]{1,80}|[CG][A-Z0-9]{6,20})$")


class PolicyError(DomainError):
    """The file is invalid. The message names the file, the line or key, and the problem."""


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


@dataclass(frozen=True)
class XBilling:
    """What X charges, for the cost meter: a price per unit of each UsageKind (reads per
    resource, writes per request), and an optional monthly budget whose warning threshold
    (a percentage of it) posts once a month to `alert_channel`."""

    prices: dict[str, Decimal]
    currency: str = "USD"
    monthly_budget: Decimal | None = None
    warn_at_percent: int = 80
    alert_channel: str = ""

    def price(self, kind: str) -> Decimal:
        return self.prices[kind]

    @property
    def warn_amount(self) -> Decimal | None:
        if self.monthly_budget is None:
            return None
        return self.monthly_budget * self.warn_at_percent / 100


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


HANDLE_KEYS: dict[str, type] = {
    "network": str,
    "username": str,
    "role": str,
    "respond_from": str,
    "auto_ticket": bool,
    "credentials_env": str,
    "user_id": str,
    "instance": str,
    "service": str,
}
# Where a handle's network answers, by network: a Mastodon account's instance, a Bluesky
# account's PDS or entryway. X has one API for all (MENTIONDESK_X_API_URL).
BASE_URL_KEYS: dict[str, str] = {Network.MASTODON: "instance", Network.BLUESKY: "service"}
# A Bluesky handle is a domain name (atproto handle syntax); a DID names the account.
BLUESKY_HANDLE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._-]$")
USER_KEYS: dict[str, type] = {"username": str, "role": str}
CHANNEL_KEYS: dict[str, type] = {"name": str, "slack": str, "description": str}
ESCALATION_KEYS: dict[str, type] = {"category": str, "label": str, "channel": str}
MACRO_KEYS: dict[str, type] = {"name": str, "text": str, "intents": list}
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
TABLES = {"handle", "user", "channel", "escalation", "macro", "triage_rule"}
X_BILLING_KEYS: dict[str, type] = {
    "currency": str,
    "monthly_budget": object,  # a number: checked by _x_billing
    "warn_at_percent": int,
    "alert_channel": str,
    "prices": dict,
}
CURRENCY = re.compile(r"^[A-Z]{3}$")
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


def _entries(
    data: dict[str, Any],
    kind: str,
    keys: dict[str, type],
    source: str,
    *,
    first: Callable[[dict[str, Any], str], None] | None = None,
) -> list[tuple[dict[str, Any], str]]:
    entries = data.get(kind, [])
    if not isinstance(entries, list):
        raise PolicyError(f"{source}: {kind} must be an array of tables ([[{kind}]])")
    checked = []
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: {kind}[{index}]"
        if not isinstance(entry, dict):
            raise PolicyError(f"{where}: must be a table ([[{kind}]]), not {entry!r}")
        if first is not None:
            first(entry, where)
        _keys(entry, keys, where)
        checked.append((entry, where))
    return checked


def _keys(entry: dict[str, Any], keys: dict[str, type], where: str) -> None:
    for key, value in entry.items():
        if key not in keys:
            raise PolicyError(f"{where}: unknown key {key!r}; known: {', '.join(keys)}")
        if not isinstance(value, keys[key]):
            raise PolicyError(f"{where}.{key}: expected {keys[key].__name__}, got {value!r}")


def _required(entry: dict[str, Any], key: str, where: str) -> str:
    if key not in entry:
        raise PolicyError(f"{where}: missing required key {key!r}")
    return str(entry[key])


def _username(entry: dict[str, Any], where: str) -> str:
    username = _required(entry, "username", where)
    if not USERNAME.match(username):
        raise PolicyError(f"{where}.username: {username!r} is not a valid username")
    return username


def _handle_network(entry: dict[str, Any], where: str) -> None:
    """Refuse a handle on a network the desk has no connector for, before its other keys are
    checked: a Mastodon handle's `instance` is not an unknown key, its network is unsupported."""
    network = entry.get("network", Network.X)
    if not isinstance(network, str):
        return  # _keys says it must be a string
    reason = network_unsupported_reason(network)
    if reason is not None:
        username = entry.get("username")
        who = f" @{username}" if isinstance(username, str) and username else ""
        raise PolicyError(f"{where}{who}: {reason}")


def _handle(entry: dict[str, Any], where: str) -> dict[str, Any]:
    network = entry.get("network", Network.X)
    clean = {
        "network": network,
        "username": _handle_username(entry, where, network),
        "role": entry.get("role", Handle.Role.MAIN),
        "respond_from": entry.get("respond_from", Handle.RespondFrom.DESK),
        "auto_ticket": entry.get("auto_ticket", True),
        "credentials_env": entry.get("credentials_env", ""),
        "user_id": entry.get("user_id", ""),
        "base_url": _handle_base_url(entry, where, network),
    }
    _one_of(where, "role", clean["role"], Handle.Role.values)
    _one_of(where, "respond_from", clean["respond_from"], Handle.RespondFrom.values)
    if clean["credentials_env"] and not ENV_NAME.match(clean["credentials_env"]):
        raise PolicyError(
            f"{where}.credentials_env: {clean['credentials_env']!r} is not an environment "
            "variable name (the file names the variable; the token itself never goes here)"
        )
    if clean["credentials_env"] and not CREDENTIALS_ENV.match(clean["credentials_env"]):
        raise PolicyError(
            f"{where}.credentials_env: {clean['credentials_env']!r} is not a handle's secret: "
            "name a variable MENTIONDESK_X_TOKEN_<NAME> (or MENTIONDESK_MASTODON_TOKEN_<NAME>, "
            "MENTIONDESK_BLUESKY_PASSWORD_<NAME>); the desk sends its value to the network"
        )
    prefix = network_facts(network).credentials_prefix
    if clean["credentials_env"] and not clean["credentials_env"].startswith(prefix):
        raise PolicyError(
            f"{where}.credentials_env: {clean['credentials_env']!r} is not a "
            f"{network_facts(network).label} handle's secret: name a variable {prefix}<NAME>"
        )
    user_id = clean["user_id"]
    if user_id and network == Network.BLUESKY and not DID.match(user_id):
        raise PolicyError(f"{where}.user_id: {user_id!r} is not a DID (did:plc:…, did:web:…)")
    if user_id and network != Network.BLUESKY and not user_id.isdigit():
        label = network_facts(network).label
        raise PolicyError(f"{where}.user_id: {user_id!r} is not a numeric {label} user id")
    return clean


def _handle_username(entry: dict[str, Any], where: str, network: str) -> str:
    """X and Mastodon usernames are letters, digits and _; a Bluesky handle is a domain name."""
    if network != Network.BLUESKY:
        return _username(entry, where)
    username = _required(entry, "username", where)
    if not BLUESKY_HANDLE.match(username):
        raise PolicyError(
            f"{where}.username: {username!r} is not a Bluesky handle (a domain name such as "
            "driftwood.bsky.social, without @)"
        )
    return username


def _handle_base_url(entry: dict[str, Any], where: str, network: str) -> str:
    """The handle's `instance` (Mastodon) or `service` (Bluesky): required there, refused
    elsewhere. An http(s) URL with a host and no credentials, query or fragment; kept
    without its trailing slash."""
    wanted = BASE_URL_KEYS.get(network)
    for key in BASE_URL_KEYS.values():
        if key in entry and key != wanted:
            label = network_facts(network).label
            raise PolicyError(
                f"{where}.{key}: not a key of a {label} handle"
                + (f" (a {label} handle names its {wanted})" if wanted else "")
            )
    if wanted is None:
        return ""
    if wanted not in entry:
        raise PolicyError(
            f"{where}: missing required key {wanted!r} (the {network_facts(network).label} "
            f"{'instance' if wanted == 'instance' else 'PDS or entryway'}'s URL, "
            "such as https://social.example)"
        )
    value = str(entry[wanted]).strip()
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("https", "http") or not host:
        raise PolicyError(f"{where}.{wanted}: {value!r} is not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise PolicyError(
            f"{where}.{wanted}: {value!r} carries credentials; the secret goes in the "
            "variable credentials_env names"
        )
    if parts.query or parts.fragment:
        raise PolicyError(f"{where}.{wanted}: {value!r} has a query or fragment; give the base URL")
    return value.rstrip("/")


def _user(entry: dict[str, Any], where: str) -> dict[str, Any]:
    role = entry.get("role", User.Role.ADVOCATE)
    _one_of(where, "role", role, User.Role.values)
    return {"username": _username(entry, where), "role": role}


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


def _template_check(text: str, variables: tuple[str, ...], where: str) -> set[str]:
    """Refuse anything in a reply template but plain {name} fields of `variables`: the text
    goes through str.format, where {requester.__class__} reads attributes, {requester[0]}
    indexes and {requester:>999999999} builds a gigabyte string on every draft. Returns the
    names used."""
    known = ", ".join(f"{{{v}}}" for v in variables)
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(text)
            if name is not None
        ]
    except ValueError as exc:
        raise PolicyError(
            f"{where}: {exc}; write {{{{ and }}}} for a literal brace, {known} for a variable"
        ) from None
    for name, spec, conversion in fields:
        shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        if name not in variables:
            if name.split(".")[0].split("[")[0] in variables:
                raise PolicyError(
                    f"{where}: {{{shown}}}: only a plain variable is allowed (no attribute or "
                    f"index); use {known}"
                )
            raise PolicyError(f"{where}: unknown variable {{{shown}}}; use {known}")
        if spec or conversion:
            raise PolicyError(
                f"{where}: {{{shown}}}: only a plain variable is allowed (no format spec or "
                f"conversion); write {{{name}}}"
            )
    return {name for name, _, _ in fields}


def _macro(entry: dict[str, Any], where: str) -> Macro:
    name, text = _required(entry, "name", where), _required(entry, "text", where)
    if not SLUG.match(name):
        raise PolicyError(f"{where}.name: {name!r}: use lowercase letters, digits, - and _")
    _template_check(text, MACRO_VARIABLES, f"{where}.text")
    intents = entry.get("intents", [])
    for intent in intents:
        _one_of(where, "intents", intent, list(INTENTS))
    return Macro(name, text, tuple(intents))


def _rules(entry: Any, where: str) -> Rules:
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: [rules] must be a table")
    _keys(entry, RULE_KEYS, where)
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


def _x_plan(value: Any, where: str) -> str:
    if value not in X_PLANS:
        raise PolicyError(f"{where}: expected one of {', '.join(X_PLANS)}, got {value!r}")
    return str(value)


def _x_billing(entry: Any, where: str) -> XBilling:
    """[x_billing]: every UsageKind priced (a missing price would silently count as free)."""
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: [x_billing] must be a table")
    _keys(entry, X_BILLING_KEYS, where)
    prices = entry.get("prices")
    if prices is None:
        raise PolicyError(f"{where}: missing required table [x_billing.prices]")
    kinds = UsageKind.values
    for kind in prices:
        if kind not in kinds:
            raise PolicyError(f"{where}.prices: unknown kind {kind!r}; known: {', '.join(kinds)}")
    missing = [kind for kind in kinds if kind not in prices]
    if missing:
        raise PolicyError(f"{where}.prices: missing a price for {', '.join(missing)}")
    currency = entry.get("currency", "USD")
    if not CURRENCY.match(currency):
        raise PolicyError(f"{where}.currency: {currency!r} is not a currency code like USD")
    warn = entry.get("warn_at_percent", 80)
    if isinstance(warn, bool) or not 1 <= warn <= 100:
        raise PolicyError(f"{where}.warn_at_percent: {warn!r} must be a whole number 1 to 100")
    budget = entry.get("monthly_budget")
    alert_channel = entry.get("alert_channel", "")
    if alert_channel and budget is None:
        raise PolicyError(f"{where}.alert_channel: set monthly_budget too, or remove it")
    return XBilling(
        prices={k: _money(prices[k], f"{where}.prices.{k}", places=6) for k in kinds},
        currency=currency,
        monthly_budget=None if budget is None else _money(budget, f"{where}.monthly_budget", 2),
        warn_at_percent=warn,
        alert_channel=alert_channel,
    )


def _money(value: Any, where: str, places: int) -> Decimal:
    """A non-negative amount with at most `places` decimals. TOML floats are read through
    their shortest repr, so 0.005 is exactly 0.005."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{where}: expected a number, got {value!r}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise PolicyError(f"{where}: {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise PolicyError(f"{where}: {value!r} must be zero or more")
    if -amount.as_tuple().exponent > places:  # type: ignore[operator]
        raise PolicyError(f"{where}: {value!r} has more than {places} decimals")
    return amount


def _one_of(where: str, key: str, value: Any, allowed: list[str]) -> None:
    if value not in allowed:
        raise PolicyError(f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}")


def _no_duplicates(source: str, kind: str, keys: list[Any]) -> None:
    seen: set[Any] = set()
    for index, key in enumerate(keys, start=1):
        if key in seen:
            raise PolicyError(f"{source}: {kind}[{index}] repeats {key!r}")
        seen.add(key)


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


# Triage and outage surges: [triage], [[triage_rule]] and [surge].


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


@dataclass(frozen=True)
class AutomationSettings:
    """[automation]: the manners of messages the desk sends for the team (incident replies,
    status update follow-ups, all-clears). One goes only to a requester whose latest post is
    an unanswered report of what it is about, labelled so by triage with at least
    `min_confidence` (0..1) or by a person."""

    min_confidence: float = 0.8


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
SURGE_KEYS: dict[str, type] = {
    "threshold": int,
    "window_minutes": int,
    "reply_roles": list,
    "reply_text": str,
    "resolved_text": str,
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
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: [triage] must be a table")
    _keys(entry, TRIAGE_KEYS, where)
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


def _fraction(entry: dict[str, Any], key: str, where: str, default: float) -> float:
    """`entry[key]` as a number from 0 to 1 (a confidence), `default` when absent."""
    value = entry.get(key, default)
    # bool is an int in Python: `act_above = true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PolicyError(f"{where}.{key}: expected a number from 0 to 1, got {value!r}")
    return float(value)


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


AUTOMATION_KEYS: dict[str, type] = {"min_confidence": object}  # a number: checked below


def _automation(entry: Any, where: str) -> AutomationSettings:
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: [automation] must be a table")
    _keys(entry, AUTOMATION_KEYS, where)
    return AutomationSettings(
        min_confidence=_fraction(entry, "min_confidence", where, AutomationSettings.min_confidence)
    )


def _surge(entry: Any, where: str) -> SurgeSettings:
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: [surge] must be a table")
    _keys(entry, SURGE_KEYS, where)
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


# [sla]: response-time targets. The seed answers from the desk "to track our response times
# vs. our internal SLA" but names no figures, so without this section nothing is measured;
# the demo policy has an example. Clocks themselves live in mentiondesk.sla.

SLA_KEYS: dict[str, type] = {
    "time_zone": str,
    "business_hours": dict,
    "holidays": list,
    "warn_before": str,
    "breach_channel": str,
    "target": list,
}
SLA_TARGET_KEYS: dict[str, type] = {
    "name": str,
    "handles": list,
    "intents": list,
    "priorities": list,
    "first_response": str,
    "next_response": str,
    "resolution": str,
    "business_hours": bool,
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A ticket's priority: "high" for availability reports and escalated tickets, else "normal"
# (mentiondesk.sla.rules.ticket_priority).
PRIORITIES = ("high", "normal")
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")
HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


@dataclass(frozen=True)
class SlaTarget:
    """Targets in seconds (None: not measured) for the tickets this entry matches: all of
    its non-empty filters must match (handle usernames compare case-insensitively)."""

    name: str
    handles: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None
    business_hours: bool = True


@dataclass(frozen=True)
class SlaPolicy:
    """`week`: per weekday (Monday first) the business windows in minutes after midnight;
    None means around the clock. `targets`: first match wins."""

    time_zone: str = "UTC"
    week: tuple[tuple[tuple[int, int], ...], ...] | None = None
    holidays: tuple[date, ...] = ()
    warn_before: int = 30 * 60
    breach_channel: str = ""
    targets: tuple[SlaTarget, ...] = ()


def _sla(entry: Any, where: str, policy: Policy) -> SlaPolicy:
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: [sla] must be a table")
    _keys(entry, SLA_KEYS, where)
    time_zone = entry.get("time_zone", "UTC")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(
            f"{where}.time_zone: {time_zone!r} is not an IANA time zone (like Europe/Amsterdam)"
        ) from None
    week = None
    if "business_hours" in entry:
        week = _sla_week(entry["business_hours"], f"{where}.business_hours")
    holidays = []
    for index, value in enumerate(entry.get("holidays", []), start=1):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise PolicyError(
                f"{where}.holidays[{index}]: {value!r} is not a date (write 2026-12-25, unquoted)"
            )
        holidays.append(value)
    if holidays and week is None:
        raise PolicyError(f"{where}.holidays: holidays need [sla.business_hours]")
    warn_before = _sla_duration(entry.get("warn_before", "30m"), f"{where}.warn_before")
    channel = entry.get("breach_channel", "")
    if channel and policy.channel(channel) is None:
        names = ", ".join(sorted(c.name for c in policy.channels)) or "none"
        raise PolicyError(
            f"{where}.breach_channel: no [[channel]] named {channel!r}; channels: {names}"
        )
    handles = {h["username"].lower() for h in policy.handles}
    targets = []
    for index, target in enumerate(entry.get("target", []), start=1):
        if not isinstance(target, dict):
            raise PolicyError(f"{where}.target: use [[sla.target]] tables")
        targets.append(_sla_target(target, f"{where}.target[{index}]", handles))
    _no_duplicates(where, "target", [t.name for t in targets])
    return SlaPolicy(
        time_zone=time_zone,
        week=week,
        holidays=tuple(sorted(holidays)),
        warn_before=warn_before,
        breach_channel=channel,
        targets=tuple(targets),
    )


def _sla_target(entry: dict[str, Any], where: str, handles: set[str]) -> SlaTarget:
    _keys(entry, SLA_TARGET_KEYS, where)
    name = _required(entry, "name", where)
    if not SLUG.match(name):
        raise PolicyError(f"{where}.name: {name!r}: use lowercase letters, digits, - and _")
    for handle in entry.get("handles", []):
        if handles and str(handle).lower() not in handles:
            raise PolicyError(f"{where}.handles: no [[handle]] named {handle!r}")
    for intent in entry.get("intents", []):
        _one_of(where, "intents", intent, list(INTENTS))
    for priority in entry.get("priorities", []):
        _one_of(where, "priorities", priority, list(PRIORITIES))
    durations = {
        key: _sla_duration(entry[key], f"{where}.{key}")
        for key in ("first_response", "next_response", "resolution")
        if key in entry
    }
    if not durations:
        raise PolicyError(
            f"{where}: give at least one of first_response, next_response, resolution"
        )
    return SlaTarget(
        name=name,
        handles=tuple(str(h) for h in entry.get("handles", [])),
        intents=tuple(entry.get("intents", [])),
        priorities=tuple(entry.get("priorities", [])),
        business_hours=entry.get("business_hours", True),
        **durations,
    )


def _sla_duration(value: Any, where: str) -> int:
    match = DURATION.match(value) if isinstance(value, str) else None
    if not value or match is None:
        raise PolicyError(f'{where}: {value!r} is not a duration like "30m", "4h" or "1h30m"')
    seconds = int(match[1] or 0) * 3600 + int(match[2] or 0) * 60
    if seconds <= 0:
        raise PolicyError(f"{where}: {value!r}: a duration must be longer than zero")
    return seconds


def _sla_week(entry: dict[str, Any], where: str) -> tuple[tuple[tuple[int, int], ...], ...]:
    unknown = set(entry) - set(WEEKDAYS)
    if unknown:
        raise PolicyError(f"{where}: unknown day {sorted(unknown)[0]!r}; use {', '.join(WEEKDAYS)}")
    week = []
    for day in WEEKDAYS:
        value = entry.get(day, [])
        ranges = [value] if isinstance(value, str) else value
        if not isinstance(ranges, list):
            raise PolicyError(f'{where}.{day}: expected "09:00-17:00" or a list of them')
        windows: list[tuple[int, int]] = []
        for text in ranges:
            match = HOURS.match(text) if isinstance(text, str) else None
            if match is None:
                raise PolicyError(f'{where}.{day}: {text!r} is not a range like "09:00-17:00"')
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            begin, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= begin:
                raise PolicyError(
                    f"{where}.{day}: {text!r}: use 00:00 to 24:00, the start before the end"
                )
            if windows and begin < windows[-1][1]:
                raise PolicyError(
                    f"{where}.{day}: {text!r} overlaps or precedes the previous range"
                )
            windows.append((begin, end))
        week.append(tuple(windows))
    if not any(week):
        raise PolicyError(f"{where}: no day has business hours; leave the table out for 24/7")
    return tuple(week)
