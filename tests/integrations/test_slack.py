"""The Slack outbox against a real Slack-compatible server on localhost: messages are stored
first, posted by the worker, retried with backoff while Slack struggles, failed with Slack's
reason when it refuses, and never posted again once sent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError
from mentiondesk.desk.schedules import schedules
from mentiondesk.integrations.slack import selectors, services
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.sandbox.slack import SlackServer
from mentiondesk.settings import slack_settings_check
from tests.factories import remote_post, tickets_from

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
SPAM = "Spam on the issue board: https://gitlab.com/gitlab-org/gitlab/-/issues/1 (reported 09:12)"


def enqueue(**kwargs: Any) -> SlackMessage:
    args: dict[str, Any] = {"channel": "#abuse", "text": SPAM, "purpose": "spam_report"}
    return services.slack_message_enqueue(**(args | kwargs))


def deliver(message: SlackMessage) -> SlackMessage:
    delivered = services.slack_message_deliver(message_id=message.pk)
    assert delivered is not None
    return delivered


def make_due(message: SlackMessage) -> None:
    """Move the clock forward for this message: its next attempt is now."""
    SlackMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def seconds_until_next_attempt(message: SlackMessage) -> float:
    assert message.next_attempt_at is not None
    return (message.next_attempt_at - timezone.now()).total_seconds()


# Posting


@pytest.mark.django_db
def test_enqueued_message_is_posted_on_commit_with_channel_text_and_token(
    slack: SlackServer, advocate: User, django_capture_on_commit_callbacks: OnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = enqueue(by=advocate)
        assert message.status == SlackMessage.Status.QUEUED
        assert slack.requests == []  # nothing leaves before the commit
    assert len(callbacks) == 1

    (posted,) = slack.messages
    assert posted.channel == slack.channel_id("abuse")
    assert posted.channel_requested == "abuse"
    assert posted.text == SPAM
    assert posted.unfurl_links is False
    post_request = next(r for r in slack.requests if r.method == "chat.postMessage")
    assert post_request.authorization == f"Bearer {slack.token}"
    assert post_request.content_type == "application/json"

    message.refresh_from_db()
    assert message.status == SlackMessage.Status.SENT
    assert message.attempts == 1
    assert message.slack_ts == posted.ts
    assert message.slack_channel_id == posted.channel
    assert message.permalink == slack.permalink(posted.channel, posted.ts)
    assert message.permalink.startswith("https://mentiondesk-test.slack.com/archives/C")
    assert message.sent_at is not None
    assert message.last_error == ""
    assert message.requested_by == advocate


@pytest.mark.django_db
def test_sent_message_is_never_posted_again(slack: SlackServer) -> None:
    message = deliver(enqueue())
    assert message.status == SlackMessage.Status.SENT
    SlackMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)

    assert deliver(message).status == SlackMessage.Status.SENT
    assert services.slack_outbox_drain() == 0
    assert len(slack.messages) == 1


@pytest.mark.django_db
def test_blocks_are_sent_with_the_text_as_fallback(slack: SlackServer) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Spam* on the board"}}]
    message = deliver(enqueue(channel="social_media", purpose="retweet_suggestion", blocks=blocks))
    assert message.status == SlackMessage.Status.SENT
    (posted,) = slack.messages
    assert posted.blocks == blocks
    assert posted.text == SPAM


@pytest.mark.django_db
def test_a_missing_permalink_does_not_resend_the_posted_message(slack: SlackServer) -> None:
    slack.fault("error", error="internal_error", method="chat.getPermalink")
    message = deliver(enqueue())
    assert message.status == SlackMessage.Status.SENT
    assert message.slack_ts == slack.messages[0].ts
    assert message.permalink == ""
    assert "internal_error" in message.last_error

    make_due(message)
    services.slack_outbox_drain()
    assert len(slack.messages) == 1


# Slack down or slow: queued, retried later, delivered after it recovers


@pytest.mark.django_db
def test_http_500_keeps_the_message_queued_until_slack_recovers(slack: SlackServer) -> None:
    slack.fault("status", status=500)
    message = deliver(enqueue())

    assert message.status == SlackMessage.Status.QUEUED
    assert message.attempts == 1
    assert "HTTP 500" in message.last_error
    assert 25 < seconds_until_next_attempt(message) <= 30
    assert slack.messages == []

    # Not due yet: neither a direct call nor the sweep tries it.
    requests_before = len(slack.requests)
    assert deliver(message).attempts == 1
    assert services.slack_outbox_drain() == 0
    assert len(slack.requests) == requests_before

    make_due(message)
    assert services.slack_outbox_drain() == 1
    message.refresh_from_db()
    assert message.status == SlackMessage.Status.SENT
    assert message.attempts == 2
    assert message.last_error == ""
    assert message.next_attempt_at is None
    assert len(slack.messages) == 1


@pytest.mark.django_db
def test_connection_refused_then_delivered_when_the_server_is_back(slack: SlackServer) -> None:
    slack.stop()
    message = deliver(enqueue())
    assert message.status == SlackMessage.Status.QUEUED
    assert "Slack unreachable" in message.last_error
    assert seconds_until_next_attempt(message) > 0

    slack.start()  # same port: Slack is back
    make_due(message)
    message = deliver(message)
    assert message.status == SlackMessage.Status.SENT
    assert len(slack.messages) == 1


@pytest.mark.django_db
def test_retries_back_off_exponentially_then_fail_with_the_reason(
    slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SLACK_MAX_ATTEMPTS", 3)
    slack.fault("drop", count=3)
    message = enqueue()

    message = deliver(message)
    assert 25 < seconds_until_next_attempt(message) <= 30
    make_due(message)
    message = deliver(message)
    assert 55 < seconds_until_next_attempt(message) <= 60
    assert message.status == SlackMessage.Status.QUEUED

    make_due(message)
    message = deliver(message)
    assert message.status == SlackMessage.Status.FAILED
    assert message.attempts == 3
    assert message.next_attempt_at is None
    assert message.last_error.startswith("Gave up after 3 attempts: Slack unreachable")
    assert slack.messages == []

    make_due(message)
    assert services.slack_outbox_drain() == 0


def test_retry_delay_doubles_up_to_an_hour(settings: Any) -> None:
    settings.SLACK_RETRY_BASE_SECONDS = 30
    settings.SLACK_RETRY_MAX_SECONDS = 3600
    delays = [services.slack_retry_delay(attempts=n).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.django_db
def test_short_base_delay_retries_on_the_next_sweep(
    slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SLACK_RETRY_BASE_SECONDS", 0.05)
    slack.fault("status", status=503)
    message = deliver(enqueue())
    assert message.status == SlackMessage.Status.QUEUED

    time.sleep(0.1)
    assert services.slack_outbox_drain() == 1
    message.refresh_from_db()
    assert message.status == SlackMessage.Status.SENT


@pytest.mark.django_db
def test_slow_slack_times_out_and_is_retried(
    slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SLACK_TIMEOUT_SECONDS", 0.3)
    slack.fault("slow", delay=1.0)
    started = time.monotonic()
    message = deliver(enqueue())
    assert time.monotonic() - started < 1.0  # the worker gave up at the timeout
    assert message.status == SlackMessage.Status.QUEUED
    assert "Slack unreachable" in message.last_error

    make_due(message)
    assert deliver(message).status == SlackMessage.Status.SENT
    # chat.postMessage is not idempotent: the slow request was still accepted, so Slack shows
    # the message twice. Accepted for internal notifications (see services' docstring).
    deadline = time.monotonic() + 5
    while len(slack.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(slack.messages) == 2


# Rate limits


@pytest.mark.django_db
def test_rate_limit_honours_retry_after(slack: SlackServer) -> None:
    slack.fault("ratelimited", retry_after=120)
    message = deliver(enqueue())

    assert message.status == SlackMessage.Status.QUEUED
    assert "rate limited" in message.last_error
    assert "120" in message.last_error
    assert 115 < seconds_until_next_attempt(message) <= 120

    make_due(message)
    assert deliver(message).status == SlackMessage.Status.SENT


# Refusals no retry can fix: failed at once


@pytest.mark.django_db
def test_wrong_token_fails_at_once_with_invalid_auth(
    slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SLACK_BOT_TOKEN", "xoxb-0000-0000-not-the-token")
    message = deliver(enqueue())

    assert message.status == SlackMessage.Status.FAILED
    assert message.attempts == 1
    assert "invalid_auth" in message.last_error
    assert "MENTIONDESK_SLACK_BOT_TOKEN" in message.last_error
    assert message.next_attempt_at is None
    assert slack.messages == []
    assert len(slack.requests) == 1
    assert services.slack_outbox_drain() == 0


@pytest.mark.django_db
def test_unknown_channel_fails_at_once_with_channel_not_found(slack: SlackServer) -> None:
    message = deliver(enqueue(channel="no-such-channel"))
    assert message.status == SlackMessage.Status.FAILED
    assert "channel_not_found" in message.last_error
    assert slack.messages == []


@pytest.mark.django_db
def test_transient_slack_error_is_retried(slack: SlackServer) -> None:
    slack.fault("error", error="fatal_error", method="chat.postMessage")
    message = deliver(enqueue())
    assert message.status == SlackMessage.Status.QUEUED
    assert "fatal_error" in message.last_error


# Not configured: visibly unavailable, not broken


@pytest.mark.django_db
def test_enqueue_raises_slack_unavailable_when_slack_is_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "SLACK_ENABLED", False)
    monkeypatch.setattr(settings, "SLACK_BOT_TOKEN", "")
    assert services.slack_is_configured() is False
    with pytest.raises(services.SlackUnavailable) as raised:
        enqueue()
    assert isinstance(raised.value, DomainError)
    assert raised.value.status_code == 503
    assert "Slack is not configured" in raised.value.message
    assert "MENTIONDESK_SLACK_ENABLED" in raised.value.message
    assert not SlackMessage.objects.exists()


@pytest.mark.django_db
def test_a_queued_message_waits_while_slack_is_unconfigured(
    slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = enqueue()
    monkeypatch.setattr(settings, "SLACK_ENABLED", False)
    message = deliver(message)
    assert message.status == SlackMessage.Status.QUEUED
    assert "not configured" in message.last_error
    assert slack.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "x" * 40_001}, "text"),
        ({"channel": "#"}, "channel"),
        ({"channel": "abuse channel"}, "channel"),
        ({"purpose": "gossip"}, "purpose"),
        ({"blocks": [{"type": "section"}] * 51}, "blocks"),
    ],
)
def test_enqueue_rejects_bad_input(slack: SlackServer, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        enqueue(**kwargs)
    assert raised.value.field == field
    assert not SlackMessage.objects.exists()


def test_enabled_without_token_is_improperly_configured() -> None:
    with pytest.raises(ImproperlyConfigured, match="MENTIONDESK_SLACK_BOT_TOKEN"):
        slack_settings_check(enabled=True, token="  ")
    slack_settings_check(enabled=True, token="xoxb-1")
    slack_settings_check(enabled=False, token="")


@pytest.mark.parametrize(("token", "fails"), [("", True), ("xoxb-1-2-abc", False)])
def test_startup_fails_when_slack_is_enabled_without_a_token(
    tmp_path: Path, token: str, fails: bool
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTIONDESK_SLACK_")}
    env |= {
        "MENTIONDESK_DATA_DIR": str(tmp_path),
        "MENTIONDESK_SLACK_ENABLED": "1",
        "MENTIONDESK_SLACK_BOT_TOKEN": token,
        "DJANGO_SETTINGS_MODULE": "mentiondesk.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if fails:
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        assert "MENTIONDESK_SLACK_BOT_TOKEN" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


# Tickets and schedules


@pytest.mark.django_db
def test_messages_for_ticket_lists_that_tickets_messages_oldest_first(
    slack: SlackServer, main_handle: Handle, advocate: User
) -> None:
    ticket, other = tickets_from(
        main_handle, remote_post(author="maya"), remote_post(author="omar", minutes=1)
    )
    first = enqueue(ticket=ticket, by=advocate, channel="support_gitlab-com", purpose="escalation")
    second = enqueue(ticket=ticket, by=advocate)
    enqueue(ticket=other)
    enqueue()

    listed = list(selectors.slack_messages_for_ticket(ticket=ticket))
    assert listed == [first, second]
    assert listed[0].requested_by == advocate


def test_slack_outbox_is_swept_every_30_seconds() -> None:
    (job,) = [s for s in schedules() if s.name == "slack_outbox_drain"]
    assert job.every_seconds == 30


# The test server itself speaks Slack: what slack_sdk sees


def test_server_answers_slack_errors_as_slack_does(slack_server: SlackServer) -> None:
    anonymous = WebClient(base_url=slack_server.api_url, timeout=2, retry_handlers=[])
    with pytest.raises(SlackApiError) as raised:
        anonymous.chat_postMessage(channel="abuse", text="hi")
    assert raised.value.response.status_code == 200
    assert raised.value.response.data == {"ok": False, "error": "not_authed"}

    client = WebClient(
        token=slack_server.token, base_url=slack_server.api_url, timeout=2, retry_handlers=[]
    )
    with pytest.raises(SlackApiError) as raised, pytest.warns(UserWarning, match="`text`"):
        client.chat_postMessage(channel="abuse", text="")
    assert raised.value.response["error"] == "no_text"

    slack_server.fault("ratelimited", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="abuse", text="hi")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_server_accepts_form_encoded_calls(slack_server: SlackServer) -> None:
    client = WebClient(
        token=slack_server.token, base_url=slack_server.api_url, timeout=2, retry_handlers=[]
    )
    # api_call with `data` sends application/x-www-form-urlencoded, as older clients do.
    response = client.api_call(
        "chat.postMessage", data={"channel": "social_media", "text": "retweet?", "unfurl_links": 0}
    )
    assert response["ok"] is True
    assert response["channel"] == slack_server.channel_id("social_media")
    assert response["message"]["text"] == "retweet?"
    assert response["message"]["ts"] == response["ts"]
    (posted,) = slack_server.messages
    assert posted.unfurl_links is False
    assert slack_server.requests[-1].content_type == "application/x-www-form-urlencoded"

    link = client.chat_getPermalink(channel=response["channel"], message_ts=response["ts"])
    assert link["permalink"] == slack_server.permalink(response["channel"], response["ts"])
    with pytest.raises(SlackApiError) as raised:
        client.chat_getPermalink(channel=response["channel"], message_ts="1.000001")
    assert raised.value.response["error"] == "message_not_found"
