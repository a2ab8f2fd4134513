"""X webhooks as X drives them: the CRC challenge, signed event POSTs over the raw body, and
events that bring mentions in through the same idempotent path as polling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError
from django.test import Client, override_settings
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from mentiondesk.channels.models import Handle, Post
from mentiondesk.desk.worker import tasks_drain
from mentiondesk.intake.webhooks.services import webhook_events_process, webhook_handle_poll_task
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from mentiondesk.webhooks.models import WebhookEvent

# The published example values from API-FACTS.md section 1 (not a real secret).
SECRET = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"
URL = "/webhooks/x"
pytestmark = pytest.mark.usefixtures("_webhooks_on")


@pytest.fixture
def _webhooks_on() -> object:
    with override_settings(X_CONSUMER_SECRET=SECRET):
        yield


def signed(body: bytes) -> str:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


Deliver = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture
def deliver(client: Client, django_capture_on_commit_callbacks: Any) -> Deliver:
    """POST an event as X does; the work it queues runs as the worker would run it."""

    def send(payload: object, *, signature: str | None = None) -> tuple[int, dict[str, Any]]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"x-twitter-webhooks-signature": signature or signed(body)}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, body, content_type="application/json", headers=headers)
        return response.status_code, response.json()

    return send


def mention_event(handle: Handle, tweet_id: str = "1") -> dict[str, object]:
    # The Account Activity shape: v1.1 tweet objects under tweet_create_events.
    return {
        "for_user_id": handle.remote_id,
        "tweet_create_events": [{"id_str": tweet_id, "text": f"@{handle.username} hi"}],
    }


def test_crc_answers_the_published_test_vector(client: Client) -> None:
    response = client.get(URL, {"crc_token": "9b4507b3-9040-4669-9ca3-6b94edb50553"})
    assert response.status_code == 200
    assert response.json() == {
        "response_token": "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="
    }
    assert client.get(URL).status_code == 400


def test_webhooks_are_off_without_a_consumer_secret(client: Client) -> None:
    with override_settings(X_CONSUMER_SECRET=""):
        response = client.get(URL, {"crc_token": "abc"})
    assert response.status_code == 404
    assert "MENTIONDESK_X_CONSUMER_SECRET" in response.json()["detail"]


@pytest.mark.django_db
def test_unsigned_or_wrongly_signed_posts_are_refused_and_not_kept(
    client: Client, deliver: Deliver, main_handle: Handle
) -> None:
    body = json.dumps(mention_event(main_handle)).encode()
    assert deliver(body, signature="sha256=AAAA")[0] == 403
    # The signature covers the raw bytes: the same JSON spaced differently does not pass.
    respaced = json.dumps(mention_event(main_handle), indent=2).encode()
    assert deliver(respaced, signature=signed(body))[0] == 403
    no_header = client.post(URL, body, content_type="application/json")
    assert no_header.status_code == 403
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_an_event_brings_the_mention_in_at_once_and_polling_adds_nothing_twice(
    deliver: Deliver, desk: SandboxServer, main_handle: Handle
) -> None:
    from mentiondesk.intake.ingest import handle_poll

    handle_poll(handle=main_handle)  # resolves the handle's user id, as the worker would
    main_handle.refresh_from_db()
    post_id = desk.store.mention_add("rosa", "@Driftwood the runner is stuck again")

    status, answer = deliver(mention_event(main_handle, post_id))
    assert status == 200
    assert answer["status"] == "received"
    assert Post.objects.filter(remote_id=post_id).count() == 1
    assert Ticket.objects.filter(requester_username="rosa").count() == 1
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED

    # X redelivers the same event, and the periodic poll runs too: still one post.
    assert deliver(mention_event(main_handle, post_id))[0] == 200
    handle_poll(handle=main_handle)
    assert Post.objects.filter(remote_id=post_id).count() == 1
    assert Ticket.objects.filter(requester_username="rosa").count() == 1


@pytest.mark.django_db
def test_after_downtime_one_event_backfills_everything_missed(
    deliver: Deliver, desk: SandboxServer, main_handle: Handle
) -> None:
    from mentiondesk.intake.ingest import handle_poll

    handle_poll(handle=main_handle)
    main_handle.refresh_from_db()
    # The desk was down: three mentions arrived and their events were lost.
    missed = [desk.store.mention_add(f"user{i}", f"@Driftwood question {i}") for i in range(3)]
    latest = desk.store.mention_add("zoe", "@Driftwood and one more")
    deliver(mention_event(main_handle, latest))
    stored = set(Post.objects.values_list("remote_id", flat=True))
    assert {*missed, latest} <= stored


@pytest.mark.django_db
def test_a_burst_of_events_costs_one_poll_per_handle(
    desk: SandboxServer, main_handle: Handle
) -> None:
    from mentiondesk.intake.ingest import handle_poll

    handle_poll(handle=main_handle)
    main_handle.refresh_from_db()
    for i in range(20):
        desk.store.mention_add(f"burst{i}", f"@Driftwood is it down? {i}")
        WebhookEvent.objects.create(
            raw=b"{}", for_user_id=main_handle.remote_id, kinds=["tweet_create_events"]
        )
    before = len(desk.store.request_log())
    assert webhook_events_process() == 20
    mention_reads = [r for r in desk.store.request_log()[before:] if r.path.endswith("/mentions")]
    assert len(mention_reads) == 1
    assert Post.objects.filter(author_username__startswith="burst").count() == 20
    assert webhook_events_process() == 0


@pytest.mark.django_db
def test_signed_but_unusable_events_are_kept_with_the_reason(
    deliver: Deliver, main_handle: Handle
) -> None:
    status, answer = deliver(b"{not json")
    assert status == 200
    broken = WebhookEvent.objects.get(pk=answer["id"])
    assert broken.status == WebhookEvent.Status.FAILED
    assert bytes(broken.raw) == b"{not json"
    assert "unreadable body" in broken.reason

    stranger = {"for_user_id": "999", "tweet_create_events": [{"id_str": "5"}]}
    status, answer = deliver(stranger)
    assert WebhookEvent.objects.get(pk=answer["id"]).reason == (
        "no active handle has user id '999'"
    )
    status, answer = deliver({"for_user_id": main_handle.remote_id, "favorite_events": [{}]})
    assert WebhookEvent.objects.get(pk=answer["id"]).status == WebhookEvent.Status.IGNORED


def mention_reads(desk: SandboxServer, since: int) -> int:
    return sum(1 for r in desk.store.request_log()[since:] if r.path.endswith("/mentions"))


@pytest.fixture
def polled_handle(desk: SandboxServer, main_handle: Handle) -> Handle:
    from mentiondesk.intake.ingest import handle_poll

    handle_poll(handle=main_handle)  # resolves the handle's user id, as the worker would
    main_handle.refresh_from_db()
    return main_handle


@pytest.mark.django_db
def test_a_replayed_body_is_stored_once_and_polls_once(
    client: Client,
    django_capture_on_commit_callbacks: Any,
    desk: SandboxServer,
    polled_handle: Handle,
) -> None:
    post_id = desk.store.mention_add("rosa", "@Driftwood is the runner down?")
    body = json.dumps(mention_event(polled_handle, post_id)).encode()
    before = len(desk.store.request_log())
    answers = []
    for _ in range(15):
        with django_capture_on_commit_callbacks(execute=True) as queued:
            response = client.post(
                URL,
                body,
                content_type="application/json",
                headers={"x-twitter-webhooks-signature": signed(body)},
            )
        assert response.status_code == 200  # X retries anything else
        answers.append((response.json(), len(queued)))
    (first, first_queued), *replays = answers
    assert first == {"id": first["id"], "status": "received", "replay": False}
    assert first_queued >= 1  # the poll, and the work the poll itself queues
    # A replay names the event already kept, stores nothing and queues nothing.
    assert replays == [({"id": first["id"], "status": "processed", "replay": True}, 0)] * 14
    assert WebhookEvent.objects.count() == 1
    assert mention_reads(desk, before) == 1
    assert Post.objects.filter(remote_id=post_id).count() == 1


@pytest.mark.django_db
def test_a_quiet_handle_is_polled_for_each_event_then_paced(
    deliver: Deliver, desk: SandboxServer, polled_handle: Handle
) -> None:
    """After a quiet spell a few events in a row each poll at once (a mention reaches the queue
    in about a second); past that burst, one poll per window."""
    before = len(desk.store.request_log())
    with override_settings(WEBHOOK_POLL_BURST=3):
        posts = [desk.store.mention_add(f"user{n}", f"@Driftwood hi {n}") for n in range(4)]
        answers = [deliver(mention_event(polled_handle, post))[1] for post in posts]
    assert mention_reads(desk, before) == 3
    assert Post.objects.filter(remote_id__in=posts[:3]).count() == 3
    held = WebhookEvent.objects.get(pk=answers[3]["id"])
    assert held.reason.startswith("not polled: the pace of event polls is spent (one per 5 s, 3")
    # A window later the pace allows one poll again, which reads the held event's mention.
    with (
        override_settings(WEBHOOK_POLL_BURST=3),
        time_machine.travel(timezone.now() + timedelta(seconds=6)),
    ):
        later = desk.store.mention_add("ana", "@Driftwood later")
        deliver(mention_event(polled_handle, later))
    assert mention_reads(desk, before) == 4
    assert Post.objects.filter(remote_id__in=[*posts, later]).count() == 5


@pytest.mark.django_db
@override_settings(WEBHOOK_POLL_BURST=1)
def test_events_poll_a_handle_at_most_once_per_window(
    deliver: Deliver, desk: SandboxServer, polled_handle: Handle
) -> None:
    before = len(desk.store.request_log())
    first = desk.store.mention_add("rosa", "@Driftwood first")
    assert deliver(mention_event(polled_handle, first))[0] == 200
    second = desk.store.mention_add("zoe", "@Driftwood second")
    status, answer = deliver(mention_event(polled_handle, second))
    assert status == 200
    # Two different events within the window: both kept, one poll.
    assert WebhookEvent.objects.count() == 2
    assert mention_reads(desk, before) == 1
    skipped = WebhookEvent.objects.get(pk=answer["id"])
    assert skipped.status == WebhookEvent.Status.PROCESSED
    assert skipped.reason.startswith("not polled: the pace of event polls is spent (one per 5 s")
    assert Post.objects.filter(remote_id=second).count() == 0

    # After the window the next event polls again, and reads what the skipped one announced.
    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        third = desk.store.mention_add("ana", "@Driftwood third")
        assert deliver(mention_event(polled_handle, third))[0] == 200
    assert mention_reads(desk, before) == 2
    assert Post.objects.filter(remote_id__in=[first, second, third]).count() == 3


@pytest.mark.django_db(transaction=True)  # the worker closes its connection after a pass
@override_settings(WEBHOOK_POLL_BURST=1)
def test_the_worker_polls_events_of_the_window_when_it_ends(
    deliver: Deliver, desk: SandboxServer, polled_handle: Handle, settings: Any
) -> None:
    """Arrival to screen (issue 21): a mention announced within the window of the last event
    poll is stored when the window ends, not at the next periodic poll."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", "outbox", "ingest"],
        }
    }
    before = len(desk.store.request_log())
    first = desk.store.mention_add("rosa", "@Driftwood first")
    deliver(mention_event(polled_handle, first))
    tasks_drain()
    second = desk.store.mention_add("zoe", "@Driftwood second")
    answer = deliver(mention_event(polled_handle, second))[1]
    third = desk.store.mention_add("ana", "@Driftwood third")
    deliver(mention_event(polled_handle, third))
    tasks_drain()
    assert mention_reads(desk, before) == 1
    assert not Post.objects.filter(remote_id__in=[second, third]).exists()
    assert WebhookEvent.objects.get(pk=answer["id"]).reason.startswith("polled later: ")

    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        tasks_drain()
    # One poll for both events of the window, and it read both mentions.
    assert mention_reads(desk, before) == 2
    assert Post.objects.filter(remote_id__in=[first, second, third]).count() == 3


@pytest.mark.django_db(transaction=True)  # the worker closes its connection after a pass
@override_settings(WEBHOOK_POLL_BURST=1)
def test_a_flood_of_events_queues_one_deferred_poll_per_handle(
    deliver: Deliver, desk: SandboxServer, polled_handle: Handle, settings: Any
) -> None:
    """Under a flood each pass of the worker takes about one event; every pass that finds the
    pace spent used to queue its own deferred poll (90,000 tasks for 15 minutes of 100 events/s).
    One is pending per handle, and once it has run the next spent-pace event queues one again."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", "outbox", "ingest"],
        }
    }
    deferred = DBTaskResult.objects.filter(task_path=webhook_handle_poll_task.module_path)
    before = len(desk.store.request_log())
    first = desk.store.mention_add("rosa", "@Driftwood first")
    deliver(mention_event(polled_handle, first))
    tasks_drain()
    flood = [desk.store.mention_add(f"user{n}", f"@Driftwood hi {n}") for n in range(8)]
    for post in flood:
        answer = deliver(mention_event(polled_handle, post))[1]
        tasks_drain()  # one pass per event, as under a flood
        assert WebhookEvent.objects.get(pk=answer["id"]).reason.startswith("polled later: ")
    assert mention_reads(desk, before) == 1
    assert deferred.count() == 1
    assert deferred.ready().count() == 0  # it waits for the pace

    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        tasks_drain()
        assert mention_reads(desk, before) == 2
        assert Post.objects.filter(remote_id__in=[first, *flood]).count() == 9
        assert deferred.successful().count() == 1
        # The deferred poll spent the pace again: the next event queues the next poll.
        later = desk.store.mention_add("ana", "@Driftwood later")
        deliver(mention_event(polled_handle, later))
        tasks_drain()
        assert deferred.count() == 2
        assert deferred.exclude(status=TaskResultStatus.SUCCESSFUL).count() == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=12)):
        tasks_drain()
    assert Post.objects.filter(remote_id=later).count() == 1


@pytest.mark.django_db(transaction=True)
@override_settings(WEBHOOK_POLL_BURST=1)
def test_a_lost_deferred_poll_does_not_hold_back_the_next(
    deliver: Deliver, desk: SandboxServer, polled_handle: Handle, settings: Any
) -> None:
    """A deferred poll whose task was lost (a crashed worker) leaves its mark behind; once its
    due time has passed the mark counts as nothing pending."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", "outbox", "ingest"],
        }
    }
    deferred = DBTaskResult.objects.filter(task_path=webhook_handle_poll_task.module_path)
    deliver(mention_event(polled_handle, desk.store.mention_add("rosa", "@Driftwood one")))
    tasks_drain()
    deliver(mention_event(polled_handle, desk.store.mention_add("zoe", "@Driftwood two")))
    tasks_drain()
    assert deferred.count() == 1
    deferred.delete()  # the task is lost; its mark stays

    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        # The pace allows a poll again: this event's own poll takes the turn and spends it.
        deliver(mention_event(polled_handle, desk.store.mention_add("ana", "@Driftwood 3")))
        tasks_drain()
        assert deferred.count() == 0
        lost = desk.store.mention_add("ivo", "@Driftwood four")
        answer = deliver(mention_event(polled_handle, lost))[1]
        tasks_drain()
        assert WebhookEvent.objects.get(pk=answer["id"]).reason.startswith("polled later: ")
        assert deferred.count() == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=12)):
        tasks_drain()
    assert Post.objects.filter(remote_id=lost).count() == 1


@pytest.mark.django_db
@override_settings(WEBHOOK_POLL_BURST=1)
def test_the_periodic_poll_is_not_capped_and_reads_skipped_events_posts(
    deliver: Deliver, desk: SandboxServer, polled_handle: Handle
) -> None:
    from mentiondesk.intake.ingest import handle_poll

    deliver(mention_event(polled_handle, desk.store.mention_add("rosa", "@Driftwood one")))
    later = desk.store.mention_add("zoe", "@Driftwood two")
    deliver(mention_event(polled_handle, later))
    assert not Post.objects.filter(remote_id=later).exists()
    before = len(desk.store.request_log())
    handle_poll(handle=polled_handle)
    assert mention_reads(desk, before) == 1
    assert Post.objects.filter(remote_id=later).count() == 1


@pytest.mark.django_db
def test_a_signed_deeply_nested_body_is_kept_as_failed_not_a_500(
    deliver: Deliver, polled_handle: Handle
) -> None:
    nested = b'{"for_user_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, answer = deliver(nested)
    assert status == 200
    event = WebhookEvent.objects.get(pk=answer["id"])
    assert event.status == WebhookEvent.Status.FAILED
    assert event.reason.startswith("unreadable body: maximum recursion depth exceeded")
    assert bytes(event.raw) == nested


@pytest.mark.django_db
def test_signed_ids_and_kinds_the_database_cannot_store_are_kept_as_failed(
    deliver: Deliver, polled_handle: Handle
) -> None:
    for for_user_id in ("12\x0034", "\udc00", [[1]], {"id": 1}):
        payload = {"for_user_id": for_user_id, "tweet_create_events": [{}]}
        status, answer = deliver(json.dumps(payload).encode())
        assert status == 200
        event = WebhookEvent.objects.get(pk=answer["id"])
        assert (event.status, event.reason) == (
            WebhookEvent.Status.FAILED,
            "for_user_id is not a user id",
        )
    odd_kind = {"for_user_id": polled_handle.remote_id, "x\x00_events": [], "\udc00_events": []}
    status, answer = deliver(json.dumps(odd_kind).encode())
    assert status == 200
    assert WebhookEvent.objects.get(pk=answer["id"]).kinds == []


@pytest.mark.django_db(transaction=True)
def test_the_database_keeps_one_event_per_body_digest() -> None:
    # What makes two processes receiving the same body at once keep it once.
    WebhookEvent.objects.create(raw=b"{}", digest="d" * 64)
    with pytest.raises(IntegrityError):
        WebhookEvent.objects.create(raw=b"{}", digest="d" * 64)
    assert WebhookEvent.objects.count() == 1


def test_signed_events_with_an_unpaired_surrogate_are_kept_never_a_500(
    deliver: Deliver, main_handle: Handle
) -> None:
    # json.dumps writes each surrogate as its escape ("\udc00"), as X would.
    status, answer = deliver(mention_event(main_handle) | {"note": "\udc00"})
    assert (status, answer["status"]) == (200, WebhookEvent.Status.RECEIVED)
    status, answer = deliver({"for_user_id": "\udc00", "tweet_create_events": [{}]})
    assert status == 200
    odd = WebhookEvent.objects.get(pk=answer["id"])
    assert (odd.status, odd.reason) == (WebhookEvent.Status.FAILED, "for_user_id is not a user id")
    status, answer = deliver({"for_user_id": main_handle.remote_id, "x\udc00_events": [{}]})
    assert status == 200
    kept = WebhookEvent.objects.get(pk=answer["id"])
    assert kept.kinds == []  # a kind no database can store is left out; the body is kept
    assert json.loads(bytes(kept.raw))["x\udc00_events"] == [{}]
