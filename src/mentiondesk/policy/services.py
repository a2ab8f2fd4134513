"""The policy file shown as TOML that `policy apply` accepts back (applying it, which moves
SLA clocks too, is `mentiondesk.actions.policy`)."""

from __future__ import annotations

import json

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle

from .models import PolicyVersion
from .schema import Policy
from .schema.costs import XBilling
from .schema.handles import BASE_URL_KEYS
from .schema.sla import WEEKDAYS, SlaPolicy
from .selectors import policy_current


def policy_show() -> str:
    """The policy in force, as a TOML document that `policy apply` accepts back."""
    policy = policy_current()
    latest = PolicyVersion.objects.first()
    lines: list[str] = []
    if latest:
        lines += [
            f"# applied from {latest.source} at {latest.applied_at:%Y-%m-%d %H:%M:%S} UTC",
            f"# sha256 {latest.sha256}",
            "",
        ]
    else:
        lines += ["# no policy file applied yet: these are the defaults", ""]
    lines.append("[rules]")
    for key, value in vars(policy.rules).items():
        lines.append(f"{key} = {_toml(value)}")
    lines.append("")
    lines += _triage_and_surge_lines(policy)
    for handle in Handle.objects.filter(is_active=True).order_by("network", "username"):
        lines += [
            "[[handle]]",
            f"network = {_toml(handle.network)}",
            f"username = {_toml(handle.username)}",
            f"role = {_toml(handle.role)}",
            f"respond_from = {_toml(handle.respond_from)}",
            f"auto_ticket = {_toml(handle.auto_ticket)}",
            f"credentials_env = {_toml(handle.credentials_env)}",
        ]
        base_url_key = BASE_URL_KEYS.get(handle.network)
        if base_url_key and handle.base_url:
            lines.append(f"{base_url_key} = {_toml(handle.base_url)}")
        if handle.remote_id:
            lines.append(f"user_id = {_toml(handle.remote_id)}")
        lines.append("")
    for channel in policy.channels:
        lines += ["[[channel]]", f"name = {_toml(channel.name)}", f"slack = {_toml(channel.slack)}"]
        if channel.description:
            lines.append(f"description = {_toml(channel.description)}")
        lines.append("")
    for escalation in policy.escalations:
        lines += [
            "[[escalation]]",
            f"category = {_toml(escalation.category)}",
            f"label = {_toml(escalation.label)}",
            f"channel = {_toml(escalation.channel)}",
            "",
        ]
    for macro in policy.macros:
        lines += ["[[macro]]", f"name = {_toml(macro.name)}", f"text = {_toml(macro.text)}"]
        lines += [f"intents = {_toml(macro.intents)}", ""]
    if policy.x_billing is not None:
        lines += _x_billing_lines(policy.x_billing)
    lines += _sla_lines(policy.sla)
    for user in User.objects.filter(is_active=True).order_by("username"):
        lines += [
            "[[user]]",
            f"username = {_toml(user.username)}",
            f"role = {_toml(user.role)}",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _triage_and_surge_lines(policy: Policy) -> list[str]:
    """[triage], [surge], [automation] and the [[triage_rule]] entries (tables before arrays
    of tables)."""
    triage, surge = policy.triage, policy.surge
    lines = [
        "[triage]",
        f"hosted_keywords = {_toml(triage.hosted_keywords)}",
        f"self_managed_keywords = {_toml(triage.self_managed_keywords)}",
        f"act_above = {_toml(triage.act_above)}",
        "",
        "[surge]",
    ]
    lines += [f"{key} = {_toml(value)}" for key, value in vars(surge).items()]
    lines += ["", "[automation]", f"min_confidence = {_toml(policy.automation.min_confidence)}", ""]
    for rule in triage.rules:
        lines += [
            "[[triage_rule]]",
            f"name = {_toml(rule.name)}",
            f"intent = {_toml(rule.intent)}",
        ]
        lines.append(
            f"keywords = {_toml(rule.keywords)}"
            if rule.keywords
            else f"pattern = {_toml(rule.pattern)}"
        )
        lines.append("")
    return lines


def _x_billing_lines(billing: XBilling) -> list[str]:
    lines = ["[x_billing]", f"currency = {_toml(billing.currency)}"]
    if billing.monthly_budget is not None:
        lines.append(f"monthly_budget = {billing.monthly_budget}")
    lines.append(f"warn_at_percent = {billing.warn_at_percent}")
    if billing.alert_channel:
        lines.append(f"alert_channel = {_toml(billing.alert_channel)}")
    lines += ["", "[x_billing.prices]"]
    lines += [f"{kind} = {price}" for kind, price in billing.prices.items()]
    return [*lines, ""]


def _sla_lines(sla: SlaPolicy) -> list[str]:
    """The [sla] section as TOML, or nothing when no target is set."""
    if not sla.targets:
        return []
    lines = [
        "[sla]",
        f"time_zone = {_toml(sla.time_zone)}",
        f"warn_before = {_toml(_duration(sla.warn_before))}",
        f"breach_channel = {_toml(sla.breach_channel)}",
    ]
    if sla.holidays:
        lines.append(f"holidays = [{', '.join(d.isoformat() for d in sla.holidays)}]")
    lines.append("")
    if sla.week is not None:
        lines.append("[sla.business_hours]")
        for day, windows in zip(WEEKDAYS, sla.week, strict=True):
            if windows:
                ranges = [
                    f"{b // 60:02d}:{b % 60:02d}-{e // 60:02d}:{e % 60:02d}" for b, e in windows
                ]
                lines.append(f"{day} = {_toml(ranges)}")
        lines.append("")
    for target in sla.targets:
        lines += ["[[sla.target]]", f"name = {_toml(target.name)}"]
        for key in ("handles", "intents", "priorities"):
            if getattr(target, key):
                lines.append(f"{key} = {_toml(getattr(target, key))}")
        for key in ("first_response", "next_response", "resolution"):
            if getattr(target, key) is not None:
                lines.append(f"{key} = {_toml(_duration(getattr(target, key)))}")
        lines += [f"business_hours = {_toml(target.business_hours)}", ""]
    return lines


def _duration(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def _toml(value: object) -> str:
    """A TOML literal for the simple values a policy holds (JSON's syntax is TOML's here)."""
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, ensure_ascii=False)
