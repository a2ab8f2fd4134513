"""Every periodic job, in one list. `mentiondesk worker` enqueues each when it is due."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_tasks.base import Task
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from mentiondesk.actions import tasks as action_tasks
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.desk import lost
from mentiondesk.incidents import tasks as incident_tasks
from mentiondesk.intake import tasks as intake_tasks
from mentiondesk.integrations.slack import tasks as slack_tasks
from mentiondesk.replies import tasks as reply_tasks
from mentiondesk.tickets import tasks as ticket_tasks


@dataclass(frozen=True)
class Schedule:
    name: str
    every_seconds: float
    task: Task[[], None]
    # A sweep of work already queued (not new work): `worker --once` runs it too.
    sweep: bool = True

    def enqueue(self) -> None:
        """Enqueue the job unless a copy of it is still waiting. Each worker enqueues every job
        when due, and a worker that starts enqueues them all: behind a backlog, the copies
        piled up (hundreds of each in chaos finding 8), then ran back to back."""
        waiting = DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path=self.task.module_path
        )
        if not waiting.exists():
            self.task.enqueue()


def schedules() -> list[Schedule]:
    return [
        # Mentions: every tick (15 s, or MENTIONDESK_POLL_INTERVAL_SECONDS) polls the handles
        # whose own interval ran out, each paced by its network's mentions budget and the
        # handles sharing its token (channels.selectors.handle_poll_interval).
        Schedule(
            "mentions_poll_all",
            channel_selectors.poll_tick_seconds(),
            intake_tasks.mentions_poll_all,
            sweep=False,
        ),
        # Outbox sweep: picks up replies whose retry time came or whose sender died. X's
        # windows last 15 minutes, so a retry waits at most a few percent past its reset.
        Schedule("outbox_drain", settings.OUTBOX_SWEEP_SECONDS, reply_tasks.outbox_drain),
        # Search documents of tickets changed since the last refresh: search lags by this much.
        Schedule("ticket_documents_refresh", 30, ticket_tasks.ticket_documents_refresh),
        # Likes and deletes waiting for a retry.
        Schedule("post_actions_drain", 30, reply_tasks.post_actions_drain),
        # Slack outbox sweep: messages whose retry time came or whose worker died. Backoff
        # starts at 30 s, so a shorter interval would only find nothing due.
        Schedule("slack_outbox_drain", 30, slack_tasks.slack_outbox_drain),
        # Outage surges: reports corrected to availability join, the status page's incident
        # is linked, and its resolution noticed within a minute (plus the page's cache time).
        Schedule("surges_check", 60, incident_tasks.surges_check, sweep=False),
        # SLA breach alerts: a deadline that passed is announced within a minute (once).
        Schedule("sla_breaches_notify", 60, action_tasks.sla_breaches_notify),
        # Task rows left RUNNING by a worker that was killed: marked failed once its heartbeat
        # is older than TASK_WORKER_GONE_SECONDS, so within that plus this interval.
        Schedule(
            "task_results_lost_fail",
            min(30.0, settings.TASK_WORKER_GONE_SECONDS / 2),
            lost.task_results_lost_fail_task,
        ),
    ]
