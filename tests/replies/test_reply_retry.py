"""Replies parked by a fault: one proven never sent goes out again in one click by a lead, once;
one that may have reached X is never sent again before a search of X shows it missing.

The faults are real: a worker process killed, a PostgreSQL connection terminated, X answering
errors from the sandbox; nothing of ours is mocked."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from django.db import DatabaseError, InterfaceError, connection, connections
from django.test import Client
from django.utils import timezone

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.core.errors import Forbidden
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.processes import command_env

QUEUES = ["default", "outbox", "ingest"]
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": QUEUES}}
# X's answers wait longer than the test takes to kill the worker; the lease stays above the
# request timeout, as settings require, and short, so the test does not wait a minute.
SLOW = {"MENTIONDESK_X_TIMEOUT_SECONDS": "5", "MENTIONDESK_OUTBOX_LEASE_SECONDS": "6"}
IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": QUEUES}
}
# Enqueued and never run: the test runs the worker's sweep itself, at the moment it chooses.
HELD = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": QUEUES}}


def wait_for(predicate: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def bearer(user: User) -> dict[str, str]:
    _, raw = account_services.token_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def queued_reply(desk: SandboxServer, advocate: User) -> Reply:
    desk.store.mention_add("maya", "@Driftwood my pipeline is stuck")
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]
    ticket = Ticket.objects.get()
    return services.reply_create(ticket=ticket, author=advocate, text="Looking at it now, Maya!")


def outcomes(reply: Reply) -> list[str]:
    return list(reply.attempts_log.order_by("pk").values_list("outcome", flat=True))


def sent_once(desk: SandboxServer, reply: Reply) -> None:
    reply.refresh_from_db()
    assert reply.status == Reply.Status.SENT, reply.reason
    assert [p["text"] for p in desk.store.posts(author="Driftwood")] == [reply.text]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_before_its_request_left_parks_a_reply_a_lead_sends_again_once(
    desk: SandboxServer, advocate: User, lead: User, settings: Any
) -> None:
    settings.TASKS = DB_TASKS
    reply = queued_reply(desk, advocate)
    # The worker claims the reply, then waits on X for who it posts as (GET /2/users/me):
    # killed there, before its POST.
    desk.store.fault_add("GET", "/2/users/me", kind="timeout_after_accept", delay=60)
    worker = subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "worker", "--once"],
        env=command_env(desk, **SLOW),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: any(r.path == "/2/users/me" for r in desk.store.request_log()))
    finally:
        worker.kill()
        worker.wait()
    reply.refresh_from_db()
    assert reply.status == Reply.Status.SENDING and reply.lease_until is not None
    wait_for(lambda: timezone.now() > reply.lease_until)

    swept = subprocess.run(
        [sys.executable, "-m", "mentiondesk", "worker", "--once"],
        env=command_env(desk, **SLOW),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert swept.returncode == 0, swept.stderr
    reply.refresh_from_db()
    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert "nothing reached X" in reply.reason
    assert outcomes(reply) == [DeliveryAttempt.Outcome.PENDING, DeliveryAttempt.Outcome.NOT_SENT]
    assert not desk.store.posts(author="Driftwood")
    assert Ticket.objects.get().status == Ticket.Status.OPEN, "parked: back in the queue"

    # The ticket page offers the lead the button; its form posts with the page's CSRF token.
    settings.TASKS = IMMEDIATE
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(lead)
    page = browser.get(f"/tickets/{reply.ticket_id}/").content.decode()
    assert "Send again" in page
    action = f"/tickets/{reply.ticket_id}/replies/{reply.pk}/retry"
    assert browser.post(action).status_code == 403, "no CSRF token, no retry"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = browser.post(action, {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302, response.content.decode()[:2000]

    sent_once(desk, reply)
    event = TicketEvent.objects.get(kind=TicketEvent.Kind.REPLY_RETRIED)
    # The ticket takes back the status the reply set when it was queued (pending).
    assert event.actor == lead and event.data == {"reply": reply.pk, "status": "pending"}
    ticket = Ticket.objects.get()
    assert ticket.status == Ticket.Status.PENDING and ticket.first_response_at is not None
    # Clicked twice (two tabs): the reply is sent, not waiting; still one post.
    assert browser.post(action, {"csrfmiddlewaretoken": token.group(1)}).status_code == 409
    sent_once(desk, reply)


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_between_claim_and_send_sends_nothing_and_only_a_lead_retries(
    desk: SandboxServer, advocate: User, lead: User, settings: Any, client: Client
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    settings.TASKS = HELD
    settings.X_TIMEOUT_SECONDS = 5.0
    settings.OUTBOX_LEASE_SECONDS = 6.0
    reply = queued_reply(desk, advocate)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (sender,) = cursor.fetchone()
    # While the send waits on X for who it posts as, PostgreSQL drops its connection.
    desk.store.fault_add("GET", "/2/users/me", kind="timeout_after_accept", delay=2)

    def drop() -> None:
        wait_for(lambda: any(r.path == "/2/users/me" for r in desk.store.request_log()))
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [sender])
        connections["default"].close()

    dropper = threading.Thread(target=drop)
    dropper.start()
    with pytest.raises((DatabaseError, InterfaceError)):
        services.reply_deliver(reply_id=reply.pk)
    dropper.join()
    connection.close()  # what a worker does after a failed task: a new connection

    assert not desk.store.posts(author="Driftwood"), "nothing leaves without its record"
    reply.refresh_from_db()
    assert reply.status == Reply.Status.SENDING and reply.lease_until is not None
    wait_for(lambda: timezone.now() > reply.lease_until)
    services.outbox_drain()
    reply.refresh_from_db()
    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert outcomes(reply)[-1] == DeliveryAttempt.Outcome.NOT_SENT

    url = f"/api/v1/replies/{reply.pk}/retry"
    refused = client.post(url, **bearer(advocate))
    assert refused.status_code == 403
    assert "only leads and admins" in refused.json()["detail"]
    retried = client.post(url, **bearer(lead))
    assert retried.status_code == 200, retried.content
    assert retried.json()["status"] == Reply.Status.QUEUED
    services.outbox_drain()
    sent_once(desk, reply)
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.REPLY_RETRIED, actor=lead).count() == 1


def unknown_outcome(desk: SandboxServer, advocate: User, settings: Any, *, posted: bool) -> Reply:
    """A reply whose POST had an unknown outcome (X accepted it but answered too late, or
    answered 503) and whose search of X failed: parked, outcome unknown."""
    settings.TASKS = HELD
    reply = queued_reply(desk, advocate)
    if posted:
        desk.store.fault_add("POST", "/2/tweets", kind="timeout_after_accept", delay=5)
    else:
        desk.store.fault_add("POST", "/2/tweets", kind="status", status=503)
    timeline = f"/2/users/{reply.handle.remote_id}/tweets"
    desk.store.fault_add("GET", timeline, kind="status", status=500)
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert "the check on X failed" in reply.reason
    return reply


@pytest.mark.django_db(transaction=True)
def test_a_reply_that_may_be_on_x_is_sent_again_only_after_a_search_shows_it_missing(
    desk: SandboxServer, advocate: User, lead: User, settings: Any
) -> None:
    reply = unknown_outcome(desk, advocate, settings, posted=False)

    with pytest.raises(services.MayHaveBeenSent, match="may already be on X"):
        services.reply_retry(reply=reply, by=lead)
    with pytest.raises(Forbidden):
        services.reply_recheck(reply=reply, by=advocate)
    reply = services.reply_recheck(reply=reply, by=lead)
    assert reply.status == Reply.Status.SENDING
    services.outbox_drain()
    reply.refresh_from_db()
    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert outcomes(reply)[-1] == DeliveryAttempt.Outcome.RECONCILED_MISSING
    assert not desk.store.posts(author="Driftwood")

    services.reply_retry(reply=reply, by=lead)
    services.outbox_drain()
    sent_once(desk, reply)
    kinds = TicketEvent.objects.filter(actor=lead).values_list("kind", flat=True)
    assert list(kinds) == [TicketEvent.Kind.REPLY_RECHECKED, TicketEvent.Kind.REPLY_RETRIED]


@pytest.mark.django_db(transaction=True)
def test_a_reply_x_did_post_is_found_by_the_recheck_and_never_sent_twice(
    desk: SandboxServer, advocate: User, lead: User, settings: Any
) -> None:
    reply = unknown_outcome(desk, advocate, settings, posted=True)
    assert len(desk.store.posts(author="Driftwood")) == 1
    with pytest.raises(services.MayHaveBeenSent):
        services.reply_retry(reply=reply, by=lead)

    services.reply_recheck(reply=reply, by=lead)
    services.outbox_drain()
    sent_once(desk, reply)
    assert outcomes(reply)[-1] == DeliveryAttempt.Outcome.RECONCILED_FOUND


@pytest.mark.django_db(transaction=True)
def test_a_send_whose_search_was_rate_limited_is_searched_again_not_taken_for_never_sent(
    desk: SandboxServer, advocate: User, lead: User, settings: Any
) -> None:
    settings.TASKS = HELD
    reply = queued_reply(desk, advocate)
    desk.store.fault_add("POST", "/2/tweets", kind="status", status=503)
    timeline = f"/2/users/{reply.handle.remote_id}/tweets"
    desk.store.fault_add("GET", timeline, kind="status", status=429, reset_in=1)
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENDING and "rate limit" in reply.reason
    assert outcomes(reply) == [DeliveryAttempt.Outcome.UNKNOWN]
    wait_for(lambda: timezone.now() > reply.lease_until)

    reply = services.reply_deliver(reply_id=reply.pk)

    # The POST's outcome was unknown: the expired lease leads to a search, not to "not sent".
    assert outcomes(reply)[-1] == DeliveryAttempt.Outcome.RECONCILED_MISSING
    assert "not among @Driftwood's" in reply.reason
    services.reply_retry(reply=reply, by=lead)
    services.outbox_drain()
    sent_once(desk, reply)
