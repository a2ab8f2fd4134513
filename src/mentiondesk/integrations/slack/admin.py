from __future__ import annotations

from django.contrib import admin

from .models import SlackMessage


@admin.register(SlackMessage)
class SlackMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "purpose", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "purpose", "channel"]
    search_fields = ["text", "channel", "last_error"]
    raw_id_fields = ["ticket", "requested_by"]
    readonly_fields = [
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "slack_ts",
        "slack_channel_id",
        "permalink",
        "created_at",
        "sent_at",
    ]
    date_hierarchy = "created_at"
