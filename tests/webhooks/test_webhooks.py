"""X webhooks as X drives them: the CRC challenge, signed event POSTs over the raw body, and
events that bring mentions in through the same idempotent path as polling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, override_settings

from mentiondesk.channels.models import Handle, Post
from mentiondesk.sandbox.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from mentiondesk.webhooks.models import WebhookEvent
from mentiondesk.webhooks.services import webhook_events_process

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
    from mentiondesk.channels.services import handle_poll

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
    from mentiondesk.channels.services import handle_poll

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
    from mentiondesk.channels.services import handle_poll

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


def test_signed_events_with_an_unpaired_surrogate_are_kept_never_a_500(
    deliver: Deliver, main_handle: Handle
) -> None:
    # json.dumps writes each surrogate as its escape ("\udc00"), as X would.
    status, answer = deliver(mention_event(main_handle) | {"note": "\udc00"})
    assert (status, answer["status"]) == (200, WebhookEvent.Status.RECEIVED)
    status, answer = deliver({"for_user_id": "\udc00", "tweet_create_events": [{}]})
    assert status == 200
    odd = WebhookEvent.objects.get(pk=answer["id"])
    assert odd.status == WebhookEvent.Status.IGNORED
    assert "\\udc00" in odd.reason
    status, answer = deliver({"for_user_id": main_handle.remote_id, "x\udc00_events": [{}]})
    assert status == 200
    kept = WebhookEvent.objects.get(pk=answer["id"])
    assert kept.kinds == ["x\\udc00_events"]
    assert json.loads(bytes(kept.raw))["x\udc00_events"] == [{}]
