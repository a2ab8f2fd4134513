from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import BudgetAlert, XApiUsage


@admin.register(XApiUsage)
class XApiUsageAdmin(admin.ModelAdmin):
    """Read only: the ledger is written by the meter alone (one upsert per flush)."""

    list_display = ["day", "handle", "ticket", "kind", "requests", "failed", "units", "amount"]
    list_filter = ["kind", "handle", "day"]
    raw_id_fields = ["ticket"]
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(BudgetAlert)
class BudgetAlertAdmin(admin.ModelAdmin):
    list_display = ["month", "spend", "budget", "threshold", "currency", "created_at"]
    raw_id_fields = ["slack_message"]
