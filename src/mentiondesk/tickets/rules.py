"""The handbook's rules about handles, each decided in one place, from the policy in force.

`handle_correct` says which of our handles should answer a ticket; `reply_handle_choose`
says which one a given person's reply goes out from (the same, unless that person may not
post from it). Both return the handle with a reason written for the agent.

With tickets, not with the policy schema: they read a ticket and its triage label
(`tickets.gate`), and the policy sits below tickets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mentiondesk.accounts.models import User
from mentiondesk.channels.connectors.x import SELF_SERVE_REPLY_RULE
from mentiondesk.channels.models import Handle, Network
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.core.intents import Intent
from mentiondesk.policy.schema import Policy
from mentiondesk.policy.schema.rules import Rules
from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets.gate import ticket_intent_acts
from mentiondesk.tickets.models import Ticket

# Reply.handle_reason's length: a reason is stored with the reply it explains.
REASON_MAX = 300


@dataclass(frozen=True)
class HandleChoice:
    handle: Handle
    reason: str


def ticket_handle_for_mention(*, mentioned: Iterable[Handle], polled_by: Handle) -> Handle:
    """The handle a new ticket belongs to: the one the post mentioned; the main handle when
    it mentioned several of ours (seed: "always reply from the main handle")."""
    handles = list({h.pk: h for h in mentioned}.values())
    if len(handles) == 1:
        return handles[0]
    if len(handles) > 1:
        return next((h for h in handles if h.role == Handle.Role.MAIN), polled_by)
    return polled_by


def handle_correct(
    *, ticket: Ticket, mentioned: list[Handle], policy: Policy | None = None
) -> HandleChoice:
    """The handle the policy says answers `ticket`, whoever is writing.

    Seed: several handles mentioned → the main handle, unless it is about availability →
    the status handle; the status handle is only for availability. Triage's availability
    label switches the handle only when it acts (`tickets.gate`); a suggestion says so in the
    reason."""
    policy = policy or policy_current()
    act_above = policy.triage.act_above
    availability = ticket.intent == Intent.AVAILABILITY
    acts = ticket_intent_acts(ticket=ticket, act_above=act_above)
    choice = _handbook_handle(
        ticket=ticket, mentioned=mentioned, rules=policy.rules, availability=availability and acts
    )
    if not availability or acts:
        return choice
    why_not = (
        f" Triage only suggests availability ({ticket.intent_confidence or 0:.0%}, below the "
        f"{act_above:.0%} it acts on): mark it as availability to answer from the "
        f"{policy.rules.availability_reply_from or 'status'} handle."
    )
    return HandleChoice(choice.handle, (choice.reason + why_not)[:REASON_MAX])


def _handbook_handle(
    *, ticket: Ticket, mentioned: list[Handle], rules: Rules, availability: bool
) -> HandleChoice:
    candidates = {h.pk: h for h in [*mentioned, ticket.handle]}.values()
    if availability and rules.availability_reply_from:
        role = rules.availability_reply_from
        handle = _with_role(candidates, role) or _active_with_role(ticket.network, role)
        if handle is not None:
            return HandleChoice(handle, f"It is about availability: @{handle.username} answers.")
    if len(mentioned) > 1:
        role = rules.several_handles_reply_from
        handle = _with_role(candidates, role) or _active_with_role(ticket.network, role)
        if handle is not None:
            names = ", ".join(f"@{h.username}" for h in mentioned)
            return HandleChoice(
                handle, f"The post mentions {names}: several handles, so @{handle.username}."
            )
    if ticket.handle.role == Handle.Role.STATUS:
        main = _active_with_role(ticket.network, Handle.Role.MAIN)
        if main is not None:
            return HandleChoice(
                main,
                f"@{ticket.handle.username} only speaks about availability and this is not "
                f"marked as availability, so @{main.username} answers.",
            )
    return HandleChoice(ticket.handle, f"The post mentioned @{ticket.handle.username}.")


def reply_handle_choose(
    *,
    ticket: Ticket,
    mentioned: list[Handle],
    user: User,
    policy: Policy | None = None,
    summoned: list[Handle] | None = None,
) -> HandleChoice:
    """The handle `user`'s reply on `ticket` goes out from, and why.

    Only the roles in `rules.status_handle_posters` post from a status handle (seed: "Only
    the infrastructure team should be posting updates"); anyone else's reply switches to the
    main handle, or is refused (Forbidden) when there is none.

    `summoned` (None: the reply answers no post, or the rule does not apply) are the handles
    the author of the post being answered summoned. On X's self-serve plan (`x_plan`) X
    refuses a reply from any other account, so a handbook choice outside them switches to a
    summoned handle `user` may post from, the reason saying why; none summoned at all →
    DomainError; only a status handle `user` may not post from → Forbidden."""
    policy = policy or policy_current()
    choice = _handbook_choice(ticket=ticket, mentioned=mentioned, user=user, policy=policy)
    rules = policy.rules
    if summoned is None or not policy.x_replies_need_summons or ticket.network != Network.X:
        return choice
    if any(h.pk == choice.handle.pk for h in summoned):
        return choice
    if not summoned:
        raise DomainError(
            f"Not sent: {SELF_SERVE_REPLY_RULE}, and this post mentions none of our handles. "
            'Reply on X itself, or set x_plan = "enterprise" if the desk is on such a plan.'
        )
    allowed = [h for h in summoned if h.role != Handle.Role.STATUS or status_poster(user, rules)]
    names = ", ".join(f"@{h.username}" for h in summoned)
    if not allowed:
        who = " and ".join(rules.status_handle_posters) or "nobody"
        raise Forbidden(
            f"{choice.reason} But {SELF_SERVE_REPLY_RULE}, and it mentions only {names}: "
            f"only {who} users post from there."
        )
    handle = next((h for h in allowed if h.role == Handle.Role.MAIN), allowed[0])
    # Why the handbook's handle, then why not: the first part without the status-poster
    # switch, which the plan's rule overrides anyway.
    correct = handle_correct(ticket=ticket, mentioned=mentioned, policy=policy)
    why_not = f"{SELF_SERVE_REPLY_RULE}, so your reply goes out from @{handle.username}."
    reason = f"{correct.reason} But {why_not}"
    if len(reason) > REASON_MAX:  # the reason is stored with the reply
        reason = f"The policy picks @{correct.handle.username}, but {why_not}"
    return HandleChoice(handle, reason)


def _handbook_choice(
    *, ticket: Ticket, mentioned: list[Handle], user: User, policy: Policy
) -> HandleChoice:
    correct = handle_correct(ticket=ticket, mentioned=mentioned, policy=policy)
    if correct.handle.role != Handle.Role.STATUS or status_poster(user, policy.rules):
        return correct
    main = _active_with_role(ticket.network, Handle.Role.MAIN)
    who = " and ".join(policy.rules.status_handle_posters) or "nobody"
    if main is None:
        raise Forbidden(
            f"{correct.reason} Only {who} users post from @{correct.handle.username}, and "
            "there is no main handle to answer from instead."
        )
    return HandleChoice(
        main,
        f"{correct.reason} Only {who} users post from @{correct.handle.username}, so your "
        f"reply goes out from @{main.username}.",
    )


def handle_is_acceptable(
    *,
    ticket: Ticket,
    mentioned: list[Handle],
    handle: Handle,
    summoned: list[Handle] | None = None,
    policy: Policy | None = None,
) -> bool:
    """Whether an answer from `handle` follows the policy (`policy`, the one in force when not
    given): the correct handle, or the main handle standing in for a status handle its author
    may not post from, or (on X's self-serve plan, `summoned` being the handles the answered
    post summoned) a summoned handle standing in for a correct one X would not let answer."""
    policy = policy or policy_current()
    correct = handle_correct(ticket=ticket, mentioned=mentioned, policy=policy).handle
    if handle.pk == correct.pk or (
        correct.role == Handle.Role.STATUS and handle.role == Handle.Role.MAIN
    ):
        return True
    ids = {h.pk for h in summoned or []}
    return policy.x_replies_need_summons and handle.pk in ids and correct.pk not in ids


def status_poster(user: User, rules: Rules) -> bool:
    return user.role in rules.status_handle_posters


def _with_role(handles: Iterable[Handle], role: str) -> Handle | None:
    return next((h for h in handles if h.role == role and h.is_active), None)


def _active_with_role(network: str, role: str) -> Handle | None:
    return Handle.objects.filter(network=network, role=role, is_active=True).order_by("pk").first()
