"""Task priorities, in one place. A worker takes the highest first (then the oldest), so a
backlog of background work, such as the evidence of thousands of new tickets after an outage,
never holds up reading mentions (each one's SLA clock is already running) or sending a reply
an advocate has written."""

from __future__ import annotations

INGEST = 20  # mentions polled or pushed, and the posts they answer
# The outbox's sweep, ahead of a backlog of sends: a reply whose sender died is reconciled
# (and one put off is retried) within a sweep's interval, not once thousands of sends are done.
OUTBOX_SWEEP = 15
OUTBOX = 10  # replies, likes and deletes
# Everything else (sweeps, alerts, search documents): django-tasks' default, 0.
WARM = -10  # caches filled ahead of the first look: evidence, link previews
