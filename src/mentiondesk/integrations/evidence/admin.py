from __future__ import annotations

from django.contrib import admin

from .models import EvidenceCache


@admin.register(EvidenceCache)
class EvidenceCacheAdmin(admin.ModelAdmin):
    """Read-only: rows are written by the evidence services; deleting one forces a refresh."""

    list_display = ["source", "query", "error", "fetched_at", "expires_at"]
    list_filter = ["source"]
    search_fields = ["query", "error"]
    readonly_fields = ["source", "key", "query", "payload", "error", "fetched_at", "expires_at"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
