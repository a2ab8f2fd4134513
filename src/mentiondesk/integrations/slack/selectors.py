from __future__ import annotations

from django.db.models import QuerySet

from mentiondesk.tickets.models import Ticket

from .models import SlackMessage


def slack_messages_for_ticket(*, ticket: Ticket) -> QuerySet[SlackMessage]:
    """The Slack messages posted (or queued, or failed) about `ticket`, oldest first, with who
    asked for each: for the ticket's page, where status and permalink are shown."""
    return (
        SlackMessage.objects.filter(ticket=ticket)
        .select_related("requested_by")
        .order_by("created_at", "id")
    )
