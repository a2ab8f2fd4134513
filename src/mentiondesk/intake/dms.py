"""Direct messages answering ours. Seed: DMs are closed to the public; the desk writes first
when a requester must tell us something privately (replies.services.direct.dm_create). This
module reads the requester's answers back (GET /2/dm_events) onto the ticket the DM was sent
from, as a follow-up.

Only conversations we opened count: an incoming message is kept when its sender is the
requester of a ticket on which this handle sent a DM (the ticket's REPLY_SENT event of kind
"dm", written by the outbox), and it came after that DM. Everything else in the inbox is none
of the desk's business and is not stored at all.

DM text is private: it is kept in DirectMessage, never in Post, so search, reports, triage,
link previews, the API's conversation and a reply's threading never see it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from mentiondesk.channels import paging
from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import DmPage, DmReader, PayloadProblem, RemoteDm
from mentiondesk.channels.models import DirectMessage, Handle, IngestProblem
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

# When the outbox did not keep X's event id of our DM (sent before it did), "after our DM" is
# judged by time: X's clock against the desk's record of the send, which comes later.
OPENING_CLOCK_MARGIN = timedelta(minutes=1)


@dataclass
class DmRead:
    """What one read of a handle's direct messages did."""

    stored: int = 0
    duplicates: int = 0
    follow_ups: int = 0
    ignored: int = 0  # messages of conversations we did not open (not stored)
    problems: int = 0
    pages: int = 0

    def merge(self, other: DmRead) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.follow_ups += other.follow_ups
        self.ignored += other.ignored
        self.problems += other.problems
        self.pages += other.pages


@dataclass(frozen=True)
class DmOpening:
    """A DM the desk sent from a handle to a ticket's requester."""

    ticket_id: int
    requester_id: str
    sent_at: datetime
    event_id: str  # X's DM event id; "" when not recorded

    def precedes(self, event: RemoteDm) -> bool:
        if self.event_id:
            return paging.id_newer(event.remote_id, self.event_id)
        return event.created_at >= self.sent_at - OPENING_CLOCK_MARGIN


def dm_openings_for_handle(*, handle: Handle) -> dict[str, list[DmOpening]]:
    """The DMs `handle` sent to requesters, by requester id, oldest first. Read-only."""
    sent = (
        TicketEvent.objects.filter(
            kind=TicketEvent.Kind.REPLY_SENT,
            data__kind="dm",
            ticket__network=handle.network,
        )
        .select_related("ticket")
        .order_by("created_at", "id")
    )
    openings: dict[str, list[DmOpening]] = {}
    for event in sent:
        # Events written before the outbox named the handle: the ticket's handle sent it.
        if (event.data.get("handle") or event.ticket.handle_id) != handle.pk:
            continue
        requester = event.ticket.requester_remote_id
        openings.setdefault(requester, []).append(
            DmOpening(
                ticket_id=event.ticket_id,
                requester_id=requester,
                sent_at=event.created_at,
                event_id=str(event.data.get("dm_event_id") or ""),
            )
        )
    return openings


def handle_dms_read(*, handle: Handle, connector: DmReader) -> DmRead:
    """Read `handle`'s direct messages newest first (GET /2/dm_events) down to its checkpoint
    (`dm_since_id`) or to its first DM sent, storing the requesters' answers to our DMs with
    dms_store, page by page.

    Like the mention read (intake.ingest.handle_poll): each page is stored in its own
    transaction with where the read is (`dm_resume_*`), so a read cut short by a rate limit
    or a crash goes on from the next page; the checkpoint moves to the read's newest id with
    its last page. Makes no call at all while the handle has opened no conversation. Raises
    the connector's errors (RateLimited, ...); what was stored before stays."""
    result = DmRead()
    openings = dm_openings_for_handle(handle=handle)
    if not openings and not handle.dm_resume_token:
        return result
    first_sent = min((o.sent_at for group in openings.values() for o in group), default=None)
    floor = first_sent - OPENING_CLOCK_MARGIN if first_sent else None

    def keep(page: DmPage, newest: str, token: str | None) -> None:
        stored = dms_store(
            handle=handle,
            events=page.events,
            problems=page.problems,
            openings=openings,
            checkpoint=None if token else newest,
            resume=(newest, token) if token else ("", ""),
        )
        result.merge(stored)

    paging.pages_read(
        fetch=lambda token: connector.dm_events(pagination_token=token),
        keep=keep,
        resume=(handle.dm_resume_newest_id, handle.dm_resume_token),
        # No since_id on this endpoint: the read ends at the first page that reaches the
        # checkpoint or the first DM we sent (older messages answer nothing of ours).
        last=lambda page: _page_reaches(page, handle=handle, floor=floor),
    )
    return result


def _page_reaches(page: DmPage, *, handle: Handle, floor: datetime | None) -> bool:
    if handle.dm_since_id and any(
        not paging.id_newer(e.remote_id, handle.dm_since_id) for e in page.events
    ):
        return True
    return floor is not None and any(e.created_at < floor for e in page.events)


@transaction.atomic
def dms_store(
    *,
    handle: Handle,
    events: Iterable[RemoteDm],
    openings: dict[str, list[DmOpening]],
    problems: Iterable[PayloadProblem] = (),
    checkpoint: str | None = None,
    resume: tuple[str, str] | None = None,
) -> DmRead:
    """Store one page of `handle`'s DM events: each message from a requester we DMed first
    (`openings`, see dm_openings_for_handle), sent after our latest DM before it, goes on that
    DM's ticket as a DirectMessage and counts as the requester's follow-up (a pending or
    solved ticket opens again, `last_inbound_at` moves). Our own messages and those of
    conversations we did not open are not stored. Idempotent by event id. Writes `checkpoint`
    (`dm_since_id`) and `resume` (`dm_resume_*`) to the handle in the same transaction.
    Unusable items are kept as IngestProblem rows without their text (it is private)."""
    result = DmRead(pages=1)
    problem_rows = [
        IngestProblem(
            handle=handle,
            endpoint=network_facts(handle.network).dms_endpoint,
            reason=p.reason,
            raw={k: v for k, v in p.raw.items() if k != "text"}
            if isinstance(p.raw, dict)
            else None,
        )
        for p in problems
    ]
    IngestProblem.objects.bulk_create(problem_rows)
    result.problems = len(problem_rows)

    unique = {e.remote_id: e for e in sorted(events, key=lambda e: (e.created_at, e.remote_id))}
    seen = set(
        DirectMessage.objects.filter(
            network=handle.network, remote_id__in=list(unique)
        ).values_list("remote_id", flat=True)
    )
    result.duplicates = len(seen)
    wanted: list[tuple[RemoteDm, DmOpening]] = []
    for event in unique.values():
        if event.remote_id in seen or event.sender_id == handle.remote_id:
            continue
        opening = _opening_for(event, handle=handle, openings=openings)
        if opening is None:
            result.ignored += 1
            continue
        wanted.append((event, opening))

    tickets = Ticket.objects.select_for_update().in_bulk({o.ticket_id for _, o in wanted})
    rows: list[DirectMessage] = []
    ticket_events: list[TicketEvent] = []
    touched: dict[int, Ticket] = {}
    for event, opening in wanted:
        ticket = tickets[opening.ticket_id]
        rows.append(
            DirectMessage(
                network=handle.network,
                remote_id=event.remote_id,
                handle=handle,
                ticket=ticket,
                conversation_id=event.conversation_id,
                sender_remote_id=event.sender_id,
                sender_username=ticket.requester_username,
                text=event.text,
                created_at=event.created_at,
                raw=event.raw,
            )
        )
        # A follow-up as a public one is (intake.store.mentions_store_pages); a closed ticket
        # stays closed: the message is on it all the same.
        kind = TicketEvent.Kind.FOLLOW_UP
        if ticket.status == Ticket.Status.SOLVED:
            ticket.status, ticket.solved_at = Ticket.Status.OPEN, None
            kind = TicketEvent.Kind.REOPENED
        elif ticket.status == Ticket.Status.PENDING:
            ticket.status = Ticket.Status.OPEN
        ticket.last_inbound_at = max(ticket.last_inbound_at, event.created_at)
        touched[ticket.pk] = ticket
        # The event says a DM came, never what it says: the text stays on the ticket screen.
        ticket_events.append(
            TicketEvent(
                ticket=ticket,
                kind=kind,
                message=f"Direct message from @{ticket.requester_username}",
                data={"dm": event.remote_id},
            )
        )
    DirectMessage.objects.bulk_create(rows, ignore_conflicts=True)
    for ticket in touched.values():
        ticket.save(update_fields=["status", "solved_at", "last_inbound_at", "updated_at"])
    TicketEvent.objects.bulk_create(ticket_events)
    result.stored = len(rows)
    result.follow_ups = len(rows)
    sla_services.tickets_sla_refresh_later(ticket_ids=touched)

    fields = ["last_polled_at"]
    if checkpoint and paging.id_newer(checkpoint, handle.dm_since_id):
        handle.dm_since_id = checkpoint
        fields.append("dm_since_id")
    if resume is not None:
        handle.dm_resume_newest_id, handle.dm_resume_token = resume
        fields += ["dm_resume_newest_id", "dm_resume_token"]
    handle.last_polled_at = timezone.now()
    handle.save(update_fields=fields)
    return result


def _opening_for(
    event: RemoteDm, *, handle: Handle, openings: dict[str, list[DmOpening]]
) -> DmOpening | None:
    """Our latest DM to the event's sender before it, in their one-to-one conversation with
    `handle`; None for anyone we did not write to first."""
    if not handle.remote_id:
        return None
    low, high = sorted((handle.remote_id, event.sender_id), key=int)
    if event.conversation_id != f"{low}-{high}":
        return None  # a group conversation, or another handle's
    before = [o for o in openings.get(event.sender_id, []) if o.precedes(event)]
    return before[-1] if before else None
