"""Reads for outage surges: the incident cards the queue shows and the API lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import NotFound
from mentiondesk.policy.selectors import policy_current
from mentiondesk.replies.models import Reply

from .models import Surge, SurgeTicket

# Resolved cards stay on the queue this long, so the team sees the follow-ups go out.
RESOLVED_SHOWN_FOR = timedelta(hours=2)


@dataclass(frozen=True)
class SurgeCard:
    """One incident card: the surge, its grouped tickets (with their reply and follow-up),
    what the viewer may do and why not."""

    surge: Surge
    members: list[SurgeTicket]
    can_act: bool
    refusal: str

    @property
    def unanswered(self) -> int:
        """Grouped tickets the next click would answer."""
        return sum(1 for m in self.members if m.reply_id is None)

    @property
    def replies_sent(self) -> int:
        return sum(1 for m in self.members if m.reply and m.reply.status == Reply.Status.SENT)

    @property
    def follow_ups_sent(self) -> int:
        return sum(
            1 for m in self.members if m.follow_up and m.follow_up.status == Reply.Status.SENT
        )

    @property
    def skipped(self) -> list[SurgeTicket]:
        return [m for m in self.members if m.reply_skipped or m.follow_up_skipped]

    @property
    def in_flight(self) -> bool:
        """A reply or follow-up is still on its way: the card keeps refreshing."""
        waiting = (Reply.Status.QUEUED, Reply.Status.SENDING)
        return any(
            r is not None and r.status in waiting
            for m in self.members
            for r in (m.reply, m.follow_up)
        )


def _members() -> Prefetch[str, QuerySet[SurgeTicket], str]:
    return Prefetch(
        "members",
        queryset=SurgeTicket.objects.select_related("ticket", "reply", "follow_up").order_by(
            "ticket__created_at", "ticket_id"
        ),
    )


def surge_list(*, status: str | None = None) -> QuerySet[Surge]:
    """Surges, newest first, with their grouped tickets and who replied or resolved."""
    qs = Surge.objects.select_related("replied_by", "resolved_by").prefetch_related(_members())
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-opened_at", "-id")


def surge_get(*, surge_id: int) -> Surge:
    surge = surge_list().filter(pk=surge_id).first()
    if surge is None:
        raise NotFound(f"incident card {surge_id} does not exist")
    return surge


def surge_cards(*, viewer: User) -> list[SurgeCard]:
    """The cards the queue shows `viewer`: open surges, and those resolved in the last two
    hours. `can_act` mirrors the policy's [surge] reply_roles (the services still decide).
    Read-only; three queries."""
    rules = policy_current().surge
    can_act = viewer.role in rules.reply_roles
    who = " and ".join(rules.reply_roles) or "nobody"
    recent = timezone.now() - RESOLVED_SHOWN_FOR
    surges = surge_list().filter(Q(status=Surge.Status.OPEN) | Q(resolved_at__gte=recent))
    return [
        SurgeCard(
            surge=s,
            members=list(s.members.all()),
            can_act=can_act,
            refusal="" if can_act else f"Only {who} users answer an incident's reports.",
        )
        for s in surges[:5]
    ]
