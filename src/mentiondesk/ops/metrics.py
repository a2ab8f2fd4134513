"""Prometheus metrics for the fleet, read from the database at scrape time (see selectors):
every web process reports the same figures, whichever one the scraper reaches."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import selectors


def _labelled(name: str, doc: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value, count in sorted(values.items()):
        family.add_metric([value], count)
    return family


class DeskCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        g = selectors.desk_gauges()
        yield _labelled("mentiondesk_tickets", "Tickets by status.", "status", g.tickets_by_status)
        yield _labelled(
            "mentiondesk_queue_depth",
            "Unassigned tickets waiting in each playable view.",
            "view",
            g.queue_depth,
        )
        yield _labelled(
            "mentiondesk_outbox_replies",
            "Replies in the outbox by state.",
            "status",
            g.replies_by_status,
        )
        yield _labelled(
            "mentiondesk_x_send_attempts",
            "Delivery attempts to the network by outcome (rate_limited counts the 429s).",
            "outcome",
            g.delivery_attempts_by_outcome,
        )
        yield _labelled(
            "mentiondesk_tasks",
            "Background tasks by status (LOST: left RUNNING by a stopped worker, not yet FAILED).",
            "status",
            g.tasks_by_status,
        )
        yield _labelled(
            "mentiondesk_slack_messages", "Slack outbox by status.", "status", g.slack_by_status
        )
        problems = GaugeMetricFamily(
            "mentiondesk_ingest_problems", "Payload items kept aside as unusable."
        )
        problems.add_metric([], g.ingest_problems)
        yield problems
        yield _labelled(
            "mentiondesk_sla_overdue",
            "Tickets whose running SLA clock is past its deadline, by metric.",
            "metric",
            g.sla_overdue,
        )
        breaches = CounterMetricFamily(
            "mentiondesk_sla_breaches", "SLA breaches recorded, by metric.", labels=["metric"]
        )
        for metric, count in sorted(g.sla_breaches.items()):
            breaches.add_metric([metric], count)
        yield breaches
        requests = GaugeMetricFamily(
            "mentiondesk_x_requests_today",
            "Requests the desk made to X since 00:00 UTC, by kind (the X cost meter's ledger).",
            labels=["kind"],
        )
        limited = GaugeMetricFamily(
            "mentiondesk_x_rate_limited_today",
            "Of those, answered 429 by X, by kind.",
            labels=["kind"],
        )
        for kind, (made, refused) in sorted(g.x_today.items()):
            requests.add_metric([kind], made)
            limited.add_metric([kind], refused)
        yield requests
        yield limited
        now = timezone.now()
        polled = GaugeMetricFamily(
            "mentiondesk_ingest_last_poll_timestamp_seconds",
            "When each ticket-creating handle was last polled (0: never).",
            labels=["handle"],
        )
        lag = GaugeMetricFamily(
            "mentiondesk_ingest_lag_seconds",
            "Seconds since each ticket-creating handle was last polled (only polled handles).",
            labels=["handle"],
        )
        for username, at in sorted(g.last_polled.items()):
            polled.add_metric([username], at.timestamp() if at else 0)
            if at is not None:
                lag.add_metric([username], max(0.0, (now - at).total_seconds()))
        yield polled
        yield lag


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(DeskCollector())


def metrics_render() -> bytes:
    return generate_latest(REGISTRY)
