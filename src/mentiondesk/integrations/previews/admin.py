from __future__ import annotations

from django.contrib import admin

from .models import LinkPreview


@admin.register(LinkPreview)
class LinkPreviewAdmin(admin.ModelAdmin):
    list_display = ["url", "domain", "title", "status", "fetched_at"]
    list_filter = ["status"]
    search_fields = ["url", "final_url", "domain", "title", "error"]
    # Written only by the fetch: an edited preview would show agents a title no page has.
    readonly_fields = [
        "url",
        "final_url",
        "domain",
        "title",
        "description",
        "status",
        "error",
        "fetched_at",
    ]
