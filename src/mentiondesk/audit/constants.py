"""What the audit log shows, to whom, and in which shapes."""

from __future__ import annotations

from typing import Final, Literal

from mentiondesk.accounts.models import User

# The log holds every ticket's internal notes and who did what: leads and admins only.
AUDIT_ROLES: Final = frozenset({User.Role.LEAD, User.Role.ADMIN})

ExportFormat = Literal["csv", "json"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("csv", "json")
EXPORT_CONTENT_TYPES: Final[dict[str, str]] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
# One export row per event, in this order (CSV header, JSON object keys).
EXPORT_COLUMNS: Final = ("id", "created_at", "ticket", "kind", "actor", "message", "data")

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection); the
# export prefixes such cells with a single quote. Tab and carriage return as well, per
# https://owasp.org/www-community/attacks/CSV_Injection
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
