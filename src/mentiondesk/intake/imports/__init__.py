"""History import: `mentiondesk import FILE` (services.history_import)."""
