"""`{% queue_rows tickets can_bulk %}`: the queue table's rows (desk/tickets/rows.py)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString

from mentiondesk.desk.tickets.rows import queue_rows_html
from mentiondesk.tickets.selectors import QueueRow

register = template.Library()


@register.simple_tag
def queue_rows(rows: Iterable[QueueRow], can_bulk: bool) -> SafeString:
    return queue_rows_html(rows, can_bulk=bool(can_bulk))
