"""Outage surges: when availability reports spike, group them under one incident card,
answer them all in one click and follow up once the incident is resolved.

Every reply goes through the outbox (`reply_create`): one reply per grouped ticket, threaded
to its requester's latest post, from the handle the policy chooses for the person clicking
(the status handle for infrastructure, the main handle for a lead), with an idempotency key
per surge and ticket, so a second click, a retried request or two leads at once never send
anything twice. The outbox worker honours X's rate limits: a surge of a hundred replies
drains as fast as X allows, never faster."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Network
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.core.intents import Intent
from mentiondesk.integrations.evidence import services as evidence
from mentiondesk.policy.schema.surge import SurgeSettings
from mentiondesk.policy.selectors import policy_current
from mentiondesk.replies.models import Reply
from mentiondesk.replies.services import reply_create
from mentiondesk.replies.services.automation import PHASE_INCIDENT, PHASE_RESOLVED
from mentiondesk.tickets.gate import tickets_intent_acting
from mentiondesk.tickets.models import Ticket, TicketEvent

from .models import Surge, SurgeTicket

logger = logging.getLogger(__name__)

# Tickets a surge reply can still help: not solved or closed.
REPORT_STATUSES = (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING)


def surge_detect(*, network: str = Network.X, now: datetime | None = None) -> Surge | None:
    """Open a surge when at least `threshold` availability tickets of `network` were created
    in the `window_minutes` before `now` (the policy's [surge]), and group every ungrouped
    availability report since the window's start under the open surge. Only labels that act
    count (`tickets.gate`): triage's suggestions wait for a person. Returns the open
    surge, or None (no spike, or surges turned off with threshold 0).

    Each grouped ticket gets a `surge_grouped` event. Safe side by side: one open surge per
    network (a unique constraint), a ticket grouped once (one-to-one)."""
    policy = policy_current()
    rules = policy.surge
    if rules.threshold <= 0:
        return None
    now = now or timezone.now()
    window = timedelta(minutes=rules.window_minutes)
    reports = Ticket.objects.filter(
        # Triage's suggestions (below [triage] act_above) neither count nor join.
        tickets_intent_acting(act_above=policy.triage.act_above),
        network=network,
        intent=Intent.AVAILABILITY,
        status__in=REPORT_STATUSES,
        surge_member__isnull=True,
        created_at__lte=now,
    )
    try:
        with transaction.atomic():
            surge = (
                Surge.objects.select_for_update()
                .filter(network=network, status=Surge.Status.OPEN)
                .first()
            )
            if surge is None:
                recent = reports.filter(created_at__gte=now - window)
                if recent.count() < rules.threshold:
                    return None
                surge = Surge.objects.create(
                    network=network,
                    opened_at=now,
                    threshold=rules.threshold,
                    window_minutes=rules.window_minutes,
                )
            _group(surge, reports.filter(created_at__gte=surge.opened_at - window), now)
    except IntegrityError:
        # Another worker opened the surge (or grouped these tickets) first: use theirs.
        return Surge.objects.filter(network=network, status=Surge.Status.OPEN).first()
    return surge


def _group(surge: Surge, tickets: QuerySet[Ticket], now: datetime) -> None:
    members = [
        SurgeTicket(surge=surge, ticket=ticket, grouped_at=now)
        for ticket in tickets.order_by("created_at", "id")
    ]
    SurgeTicket.objects.bulk_create(members)
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=m.ticket,
            kind=TicketEvent.Kind.SURGE_GROUPED,
            message=f"Grouped under incident card #{surge.pk} with the other availability reports",
            data={"surge": surge.pk},
        )
        for m in members
    )


def surges_after_ingest(*, network: str) -> Surge | None:
    """After new reports were labelled: detect a surge and link its incident at once, so the
    card carries the link before anyone looks. Calls the status page: not in a transaction."""
    surge = surge_detect(network=network)
    return surge_incident_link(surge=surge) if surge is not None else None


def surge_incident_link(*, surge: Surge) -> Surge:
    """Link an open surge without an incident to the status page's worst open incident.
    Calls the status page (cached, time-boxed, never raises): not in a transaction."""
    if surge.status != Surge.Status.OPEN or surge.incident_remote_id:
        return surge
    found = evidence.statuspage_open_incidents()
    if not found.ok or not found.items:
        return surge
    incident = found.items[0]
    surge.incident_remote_id = str(incident.get("id") or "")
    surge.incident_url = str(incident.get("url") or "")
    surge.incident_title = str(incident.get("title") or "")[:300]
    surge.incident_status = str(incident.get("status") or "")[:30]
    surge.save(
        update_fields=["incident_remote_id", "incident_url", "incident_title", "incident_status"]
    )
    return surge


def surge_resolution_check(*, surge: Surge) -> Surge:
    """Resolve an open surge whose status page incident is no longer unresolved (the page
    answered, and the incident is not among its open ones), then follow up. Refreshes the
    incident's status otherwise. Not in a transaction (calls the status page)."""
    if surge.status != Surge.Status.OPEN or not surge.incident_remote_id:
        return surge
    found = evidence.statuspage_open_incidents()
    if not found.ok:
        return surge  # the page failing says nothing about the incident
    incident = next((i for i in found.items if i.get("id") == surge.incident_remote_id), None)
    if incident is None:
        return surge_resolve(surge=surge, by=None)
    if incident.get("status") and incident["status"] != surge.incident_status:
        surge.incident_status = str(incident["status"])[:30]
        surge.save(update_fields=["incident_status"])
    return surge


def surges_check(*, now: datetime | None = None) -> list[Surge]:
    """The periodic pass: detect surges on every network, link incidents, resolve those the
    status page resolved. Returns the surges that are open or were resolved in this pass."""
    for network in Network.values:
        surge_detect(network=network, now=now)
    checked = []
    for surge in Surge.objects.filter(status=Surge.Status.OPEN).order_by("pk"):
        surge = surge_incident_link(surge=surge)
        checked.append(surge_resolution_check(surge=surge))
    return checked


@dataclass
class SurgeReplies:
    """What one click did: replies queued now, tickets already answered by an earlier click,
    and tickets skipped with the reason (the outbox refused: someone answered meanwhile, the
    ticket is closed...)."""

    queued: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def surge_reply_all(*, surge: Surge, by: User, incident_url: str = "") -> SurgeReplies:
    """Answer every grouped ticket with the incident link (`incident_url`, else the linked
    incident's): the policy's [surge] reply_text addressed to each requester, through the
    outbox, keyed "surge-<surge>-<ticket>" so each ticket gets it at most once however often
    this is called. Tickets grouped after an earlier click are answered by the next one.

    Raises Forbidden (role not in [surge] reply_roles), Conflict (surge resolved),
    DomainError (no link, or not http(s))."""
    rules = policy_current().surge
    _role_check(by, rules, "answer an incident's reports")
    if surge.status != Surge.Status.OPEN:
        raise Conflict(f"incident card #{surge.pk} is resolved: nothing more to announce")
    link = _link(incident_url or surge.link)
    done = _members_answer(
        surge,
        author=by,
        text=rules.reply_text,
        link=link,
        field="reply",
        key=f"surge-{surge.pk}-{{ticket}}",
        status_after=Ticket.Status.PENDING,
        phase=PHASE_INCIDENT,
    )
    if done.queued and surge.replied_at is None:
        Surge.objects.filter(pk=surge.pk, replied_at__isnull=True).update(
            replied_at=timezone.now(), replied_by=by, reply_url=link
        )
        surge.refresh_from_db()
    return done


def surge_resolve(*, surge: Surge, by: User | None) -> Surge:
    """Mark the incident resolved (`by` a person, or None: the status page said so), record
    `surge_resolved` on every grouped ticket, then follow up once (`surge_follow_up`).
    Resolving a resolved surge changes nothing. Raises Forbidden (role not in [surge]
    reply_roles)."""
    rules = policy_current().surge
    if by is not None:
        _role_check(by, rules, "resolve an incident card")
    with transaction.atomic():
        locked = Surge.objects.select_for_update().get(pk=surge.pk)
        if locked.status == Surge.Status.RESOLVED:
            return locked
        locked.status = Surge.Status.RESOLVED
        locked.resolved_at = timezone.now()
        locked.resolved_by = by
        locked.resolved_source = (
            Surge.ResolvedBy.PERSON if by is not None else Surge.ResolvedBy.STATUSPAGE
        )
        locked.save(update_fields=["status", "resolved_at", "resolved_by", "resolved_source"])
        who = by.username if by is not None else "the status page"
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket_id=ticket_id,
                kind=TicketEvent.Kind.SURGE_RESOLVED,
                actor=by,
                message=f"Incident card #{locked.pk} resolved by {who}",
                data={"surge": locked.pk, "source": locked.resolved_source},
            )
            for ticket_id in locked.members.values_list("ticket_id", flat=True)
        )
    surge_follow_up(surge=locked)
    return locked


def surge_follow_up(*, surge: Surge) -> SurgeReplies:
    """After a surge is resolved: the policy's [surge] resolved_text to every grouped ticket,
    once (keyed "surge-<surge>-resolved-<ticket>"), threaded to the requester's latest post.
    Sent as whoever sent the incident reply (so it comes from the same handle), else whoever
    resolved it; when nobody did either (the page resolved an incident nobody answered),
    nothing is sent. A follow-up is a deliberate second answer to the same post, so our own
    first reply is not a collision."""
    rules = policy_current().surge
    author = surge.replied_by or surge.resolved_by
    link = surge.link
    if surge.status != Surge.Status.RESOLVED or author is None or not link:
        return SurgeReplies()
    done = _members_answer(
        surge,
        author=author,
        text=rules.resolved_text,
        link=link,
        field="follow_up",
        key=f"surge-{surge.pk}-resolved-{{ticket}}",
        status_after=Ticket.Status.SOLVED,
        another_reply=True,
        phase=PHASE_RESOLVED,
    )
    Surge.objects.filter(pk=surge.pk, followed_up_at__isnull=True).update(
        followed_up_at=timezone.now()
    )
    return done


def _members_answer(
    surge: Surge,
    *,
    author: User,
    text: str,
    link: str,
    field: str,
    key: str,
    status_after: str,
    phase: str,
    another_reply: bool = False,
) -> SurgeReplies:
    """Queue `text` (a policy template) to every grouped ticket whose `field` ("reply" or
    "follow_up") is not set yet, keyed `key` (with "{ticket}") so each goes out at most once.
    Records each reply, or why the outbox refused it, on the member."""
    done = SurgeReplies()
    for member in surge.members.select_related("ticket", "ticket__handle"):
        ticket = member.ticket
        if getattr(member, f"{field}_id") is not None:
            done.already.append(ticket.pk)
            continue
        ticket_key = key.format(ticket=ticket.pk)
        try:
            reply = reply_create(
                ticket=ticket,
                author=author,
                text=text.format(requester=ticket.requester_username, incident_url=link),
                idempotency_key=ticket_key,
                status_after=status_after,
                another_reply=another_reply,
                automated=True,
                phase=phase,
            )
        except DomainError as exc:
            if _member_answered(member, ticket_key, field):
                done.already.append(ticket.pk)  # a simultaneous click queued it first
                continue
            setattr(member, f"{field}_skipped", exc.message)
            member.save(update_fields=[f"{field}_skipped"])
            done.skipped[ticket.pk] = exc.message
            continue
        setattr(member, field, reply)
        setattr(member, f"{field}_skipped", "")
        member.save(update_fields=[field, f"{field}_skipped"])
        done.queued.append(ticket.pk)
    return done


def _member_answered(member: SurgeTicket, key: str, field: str) -> bool:
    """Whether the reply keyed `key` exists after all: a simultaneous click (another worker,
    another lead) queued it while this one waited for the ticket's lock, and the outbox then
    saw it as the answer already on its way. Links it to `member` when so."""
    existing = Reply.objects.filter(idempotency_key=key).first()
    if existing is None:
        return False
    setattr(member, field, existing)
    member.save(update_fields=[field])
    return True


def _role_check(user: User, rules: SurgeSettings, what: str) -> None:
    if user.role not in rules.reply_roles:
        who = " and ".join(rules.reply_roles) or "nobody"
        raise Forbidden(f"only {who} users {what}")


def _link(url: str) -> str:
    url = url.strip()
    if not url:
        raise DomainError(
            "no incident link yet: the status page has no open incident; give the link to send",
            field="incident_url",
        )
    if not url.startswith(("https://", "http://")):
        raise DomainError("the incident link must be an http(s) URL", field="incident_url")
    return url
