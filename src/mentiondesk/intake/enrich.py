"""After ingest, off the hot path: triage the new inbound posts, label their tickets, group
surges, and queue link previews and evidence. Its own task lives here, beside it, so ingest
enqueues it without importing the module that imports ingest."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from mentiondesk.channels.models import TIMELINE, Post
from mentiondesk.core import priorities
from mentiondesk.incidents import services as surge_services
from mentiondesk.integrations.previews import tasks as preview_tasks
from mentiondesk.replies import tasks as reply_tasks
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets.gate import ticket_intent_suggested
from mentiondesk.tickets.models import Ticket, TicketEvent
from mentiondesk.triage import services as triage_services


@task(queue_name="ingest", priority=priorities.INGEST)
def posts_enrich_task(*, network: str, remote_ids: list[str]) -> None:
    posts_enrich(network=network, remote_ids=remote_ids)


def posts_enrich(*, network: str, remote_ids: list[str]) -> int:
    """After ingest, off the hot path: triage the new inbound posts, label their tickets that
    have no intent yet from the first post's triage (the policy's triage rules win over the
    model; a label less sure than [triage] act_above is stored as a suggestion, see
    `tickets.gate`), group availability reports under an incident card when they spike, and queue
    their link previews and their tickets' evidence (warm before anyone opens them).
    Returns how many tickets got an intent."""
    posts = list(
        Post.objects.filter(
            network=network, remote_id__in=remote_ids, direction=Post.Direction.INBOUND
        )
    )
    results = {r.post_id: r for r in triage_services.posts_triage(posts=posts)}
    labelled = 0
    with transaction.atomic():
        unlabelled = Ticket.objects.select_for_update().filter(
            pk__in={p.ticket_id for p in posts if p.ticket_id}, intent=""
        )
        for ticket in unlabelled:
            first = (
                Post.objects.filter(ticket=ticket, direction=Post.Direction.INBOUND)
                .order_by(*TIMELINE)
                .first()
            )
            result = results.get(first.pk) if first else None
            if result is None or not result.intent:
                continue
            ticket.intent = result.intent
            ticket.intent_confidence = result.intent_confidence
            ticket.save(update_fields=["intent", "intent_confidence", "updated_at"])
            suggested = ticket_intent_suggested(ticket=ticket)
            TicketEvent.objects.create(
                ticket=ticket,
                kind=TicketEvent.Kind.INTENT_SET,
                message=f"Triage{' suggests' if suggested else ''}: "
                f"{ticket.get_intent_display()} ({result.intent_confidence:.0%}, {result.source})"
                + (" — a suggestion until a person confirms it" if suggested else ""),
                data={"from": "", "to": result.intent, "by": "triage", "suggested": suggested},
            )
            labelled += 1
        sla_services.tickets_sla_refresh(ticket_ids=[t.pk for t in unlabelled])
    if labelled:
        surge_services.surges_after_ingest(network=network)
    for post in posts:
        if post.urls:
            preview_tasks.post_links_expand.enqueue(post_id=post.pk)
    for ticket_id in sorted({p.ticket_id for p in posts if p.ticket_id}):
        reply_tasks.ticket_evidence_warm.enqueue(ticket_id=ticket_id)
    return labelled
