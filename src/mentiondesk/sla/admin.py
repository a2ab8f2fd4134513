"""Read-only: SLA state is derived from tickets' timelines (`mentiondesk sla refresh`)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import SlaBreach, SlaClock, TicketSla


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TicketSla)
class TicketSlaAdmin(ReadOnly):
    list_display = ["ticket", "target", "priority", "due_metric", "due_at", "breached_at"]
    list_filter = ["target", "priority", "due_metric"]
    raw_id_fields = ["ticket"]


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnly):
    list_display = ["ticket", "metric", "started_at", "stopped_at", "due_at", "is_breached"]
    list_filter = ["metric", "is_breached", "is_paused"]
    raw_id_fields = ["ticket"]
    date_hierarchy = "started_at"


@admin.register(SlaBreach)
class SlaBreachAdmin(ReadOnly):
    list_display = ["ticket", "metric", "due_at", "created_at", "slack_message"]
    list_filter = ["metric"]
    raw_id_fields = ["ticket", "slack_message"]
