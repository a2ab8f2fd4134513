from __future__ import annotations

from django.db.models import QuerySet

from mentiondesk.core.errors import NotFound
from mentiondesk.tickets.models import Ticket

from .models import Reply


def reply_get(*, reply_id: int) -> Reply:
    """One reply with its handle and sent post. Raises NotFound."""
    reply = Reply.objects.select_related("handle", "post", "author").filter(pk=reply_id).first()
    if reply is None:
        raise NotFound(f"reply {reply_id} does not exist")
    return reply


def reply_list(*, ticket: Ticket) -> QuerySet[Reply]:
    return Reply.objects.filter(ticket=ticket).select_related("handle", "post", "author")
