from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mentiondesk.desk.worker import worker_run


class Command(BaseCommand):
    help = "Run background work (ingest polling, outbox delivery). --once drains and exits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain what is queued and exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes")

    def handle(self, *args: Any, **options: Any) -> None:
        worker_run(once=options["once"], interval=options["interval"])
