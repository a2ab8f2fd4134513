"""What the fleet's health and metrics endpoints read. Everything comes from the database, so
any web process answers for the whole fleet (workers included) and nothing is kept in memory
that a restart would lose."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Model, Q, Sum
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from mentiondesk.channels.models import Handle, IngestProblem
from mentiondesk.core.selectors import task_results_lost
from mentiondesk.costs.models import XApiUsage
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sla.models import SlaBreach, TicketSla
from mentiondesk.tickets.constants import VIEWS
from mentiondesk.tickets.models import Ticket

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def readiness_checks() -> list[Check]:
    """Can this process serve requests: the database answers and its schema is current."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        # The driver's message names the host and port (and may quote more); /readyz answers
        # anyone, so the details go to the log only.
        logger.error("readiness: the database does not answer: %s: %s", type(exc).__name__, exc)
        return [Check("database", False, "the database does not answer (details in the log)")]
    checks = [Check("database", True, connection.vendor)]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    checks.append(
        Check(
            "migrations",
            not pending,
            "up to date"
            if not pending
            else f"{len(pending)} unapplied (first: {pending[0][0].app_label}."
            f"{pending[0][0].name}); run `mentiondesk migrate`",
        )
    )
    return checks


def _counts(model: type[Model], field: str, **filters: object) -> dict[str, int]:
    rows = model._default_manager.filter(**filters).values_list(field).annotate(n=Count("pk"))
    return {str(value): n for value, n in rows}


@dataclass(frozen=True)
class DeskGauges:
    tickets_by_status: dict[str, int]
    queue_depth: dict[str, int]  # unassigned tickets per playable view
    replies_by_status: dict[str, int]
    delivery_attempts_by_outcome: dict[str, int]
    tasks_by_status: dict[str, int]  # RUNNING rows whose worker is gone count as LOST
    slack_by_status: dict[str, int]
    ingest_problems: int
    last_polled: dict[str, datetime | None]  # handle username -> last poll
    x_today: dict[str, tuple[int, int]]  # kind -> (requests, 429s) since 00:00 UTC
    sla_overdue: dict[str, int]  # metric -> tickets whose counting clock is past its deadline
    sla_breaches: dict[str, int]  # metric -> breaches recorded, ever


def _tasks_by_status() -> dict[str, int]:
    """Task rows by status, where a RUNNING row whose worker is gone counts as LOST until a
    worker marks it failed: the running figure is the work really in flight."""
    counts = _counts(DBTaskResult, "status")
    lost = len(task_results_lost())
    if lost:
        counts["RUNNING"] = counts.get("RUNNING", 0) - lost
        counts["LOST"] = lost
    return counts


def desk_gauges() -> DeskGauges:
    queue = Ticket.objects.filter(assignee__isnull=True).aggregate(
        **{slug: Count("pk", filter=view.filter) for slug, view in VIEWS.items() if view.playable}
    )
    return DeskGauges(
        tickets_by_status=_counts(Ticket, "status"),
        queue_depth=queue,
        replies_by_status=_counts(Reply, "status"),
        delivery_attempts_by_outcome=_counts(DeliveryAttempt, "outcome"),
        tasks_by_status=_tasks_by_status(),
        slack_by_status=_counts(SlackMessage, "status"),
        ingest_problems=IngestProblem.objects.count(),
        x_today={
            row["kind"]: (row["requests"] or 0, row["limited"] or 0)
            for row in XApiUsage.objects.filter(day=timezone.now().astimezone(UTC).date())
            .values("kind")
            .annotate(requests=Sum("requests"), limited=Sum("rate_limited"))
        },
        sla_overdue=_counts(TicketSla, "due_metric", due_at__lte=timezone.now()),
        sla_breaches=_counts(SlaBreach, "metric"),
        last_polled=dict(
            Handle.objects.filter(Q(is_active=True), Q(auto_ticket=True)).values_list(
                "username", "last_polled_at"
            )
        ),
    )
