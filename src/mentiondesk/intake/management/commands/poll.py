from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mentiondesk.intake import ingest


class Command(BaseCommand):
    help = "One ingestion pass over every handle that creates tickets; prints what it stored."

    def handle(self, *args: Any, **options: Any) -> None:
        results = ingest.mentions_poll_all()
        if not results:
            self.stdout.write("no handle creates tickets: apply a policy file first")
            return
        for r in results:
            line = (
                f"@{r.handle}: stored {r.stored} posts, {r.tickets_created} new tickets, "
                f"{r.follow_ups} follow-ups, {r.outbound} of ours, {r.duplicates} already "
                f"stored, {r.problems} unusable items"
            )
            self.stdout.write(line + (f"; stopped: {r.error}" if r.error else ""))
        if all(r.error for r in results):
            raise CommandError("no handle could be polled")
