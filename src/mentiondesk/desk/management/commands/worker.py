from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mentiondesk.desk.worker import IDLE_SECONDS, worker_run


class Command(BaseCommand):
    help = "Run background work (ingest polling, outbox delivery). --once drains and exits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain what is queued and exit")
        parser.add_argument(
            "--interval",
            type=float,
            default=IDLE_SECONDS,
            help="seconds an idle worker waits before it looks at the queue again",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker_run(once=options["once"], interval=options["interval"])
