"""What an orchestrator and Prometheus rely on: liveness, readiness, metrics, and logs that a
log pipeline can parse."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.test import Client, override_settings

from mentiondesk.accounts.models import User
from mentiondesk.actions.tickets import ticket_status_set
from mentiondesk.channels.models import Handle
from mentiondesk.intake.ingest import handle_poll
from mentiondesk.replies.models import Reply
from mentiondesk.replies.services import reply_create
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from mentiondesk.tickets.services import ticket_assign
from tests.factories import remote_post, tickets_from
from tests.processes import command_env

TOKEN = "scrape-me"


def test_healthz_and_readyz_on_a_migrated_database(client: Client, db: None) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["checks"]["migrations"] == {"ok": True, "detail": "up to date"}


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(client: Client, db: None) -> None:
    off = client.get("/metrics")
    assert off.status_code == 404
    assert "MENTIONDESK_METRICS_TOKEN" in off.json()["detail"]
    with override_settings(METRICS_TOKEN=TOKEN):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_metrics_count_tickets_queue_outbox_and_polls(
    client: Client, main_handle: Handle, advocate: User
) -> None:
    first, _waiting, third = tickets_from(
        main_handle,
        remote_post(author="ann", text="@Driftwood down?"),
        remote_post(author="bob", text="@Driftwood down!", minutes=1),
        remote_post(author="cat", text="@Driftwood thanks", minutes=2),
    )
    ticket_status_set(ticket=third, by=advocate, status=Ticket.Status.SOLVED)
    ticket_assign(ticket=first, assignee=advocate, by=advocate)
    reply_create(ticket=first, author=advocate, text="Looking into it")

    with override_settings(METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = set(response.content.decode().splitlines())
    # first is pending after the reply, second waits unassigned, third is solved.
    assert 'mentiondesk_tickets{status="pending"} 1.0' in lines
    assert 'mentiondesk_tickets{status="solved"} 1.0' in lines
    assert 'mentiondesk_queue_depth{view="twitter"} 1.0' in lines
    assert 'mentiondesk_outbox_replies{status="queued"} 1.0' in lines
    assert Reply.objects.count() == 1
    # Driftwood was polled by the ingest above; the status handle never was.
    assert 'mentiondesk_ingest_last_poll_timestamp_seconds{handle="DriftwoodStatus"} 0.0' in lines
    main_handle.refresh_from_db()
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if not line.startswith("#")
    }
    polled = values['mentiondesk_ingest_last_poll_timestamp_seconds{handle="Driftwood"}']
    assert polled == pytest.approx(main_handle.last_polled_at.timestamp())
    assert 0 <= values['mentiondesk_ingest_lag_seconds{handle="Driftwood"}'] < 600
    assert 'mentiondesk_ingest_lag_seconds{handle="DriftwoodStatus"}' not in values


def test_request_ids_are_kept_when_plain_and_replaced_when_not(client: Client, db: None) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "lb-42.a_b"})["X-Request-ID"] == (
        "lb-42.a_b"
    )
    forged = client.get("/healthz", headers={"X-Request-ID": "x\nlevel=error"})["X-Request-ID"]
    assert forged != "x\nlevel=error"
    assert len(forged) == 32


def test_a_newline_in_the_path_cannot_forge_an_access_log_line(
    client: Client, db: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="mentiondesk.request"):
        client.get("/healthz%0A2026-01-01 INFO forged")
    (record,) = [r for r in caplog.records if r.name == "mentiondesk.request"]
    assert "\n" not in record.getMessage()
    assert record.getMessage().startswith("GET /healthz%0A2026-01-01%20INFO%20forged ")


def test_the_pages_polls_are_logged_at_debug_and_their_refusals_at_info(
    client: Client, advocate: User, caplog: pytest.LogCaptureFixture
) -> None:
    """An open queue page asks its pulse every second: 32 agents would write 32 INFO lines a
    second. Its answers go to DEBUG; a refusal still shows at INFO, as every other page does."""
    with caplog.at_level(logging.DEBUG, logger="mentiondesk.request"):
        client.get("/pulse?view=twitter")  # signed out: sent to sign in (302)
        client.force_login(advocate)
        client.get("/pulse?view=twitter")
        client.get("/")
        client.post("/pulse")  # refused: GET only
    logged = [
        (r.getMessage(), r.levelname) for r in caplog.records if r.name == "mentiondesk.request"
    ]
    assert logged == [
        ("GET /pulse 302", "DEBUG"),
        ("GET /pulse 200", "DEBUG"),
        ("GET / 200", "INFO"),
        ("POST /pulse 405", "INFO"),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_unmigrated_server_is_alive_not_ready_and_logs_json(tmp_path: Path) -> None:
    port = _free_port()
    env = command_env(
        MENTIONDESK_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}",
        MENTIONDESK_LOG_FORMAT="json",
    )
    env.pop("MENTIONDESK_ACCESS_LOG", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("mentiondesk on ")
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["ok"] is True
        migrations = ready.json()["checks"]["migrations"]
        assert migrations["ok"] is False
        assert "unapplied" in migrations["detail"]
        assert "mentiondesk migrate" in migrations["detail"]
        httpx.get(f"{base}/tickets/7/", headers={"X-Request-ID": "trace-7"})
        # A real crash: the token lookup meets the missing tables.
        crash = httpx.get(
            f"{base}/api/v1/tickets",
            headers={"Authorization": "Bearer any", "X-Request-ID": "crash-1"},
        )
        assert crash.status_code == 500
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    ticket_page = [r for r in records if r.get("request_id") == "trace-7"]
    assert ticket_page, stderr
    assert ticket_page[0]["ticket_id"] == 7
    assert ticket_page[0]["path"] == "/tickets/7/"
    assert ticket_page[0]["status"] == 302  # to the login page
    assert {"time", "level", "logger", "message", "duration_ms"} <= ticket_page[0].keys()
    # The 500 is logged with its traceback (DEBUG is off: Django alone would only mail it).
    crashed = [r for r in records if r.get("request_id") == "crash-1" and "exc_info" in r]
    assert crashed, stderr
    assert crashed[0]["logger"] == "django.request"
    assert crashed[0]["level"] == "ERROR"
    assert "Traceback" in crashed[0]["exc_info"]
    assert "OperationalError" in crashed[0]["exc_info"]


def test_readyz_does_not_tell_anyone_where_the_database_is() -> None:
    """Nothing listens on the database's port: /readyz says so without the host, the port
    or the password of the URL; the log has the driver's message for the operator."""
    port, db_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "serve", "--port", str(port)],
        env=command_env(
            MENTIONDESK_DATABASE_URL=f"postgres://desk:s3cret@127.0.0.1:{db_port}/mentiondesk"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("mentiondesk on ")
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert ready.status_code == 503
    database = ready.json()["checks"]["database"]
    assert database == {"ok": False, "detail": "the database does not answer (details in the log)"}
    for secret in ("127.0.0.1", str(db_port), "s3cret", "desk"):
        assert secret not in ready.text
    assert str(db_port) in stderr


@pytest.mark.django_db(transaction=True)
def test_behind_tls_the_server_redirects_to_https_and_sends_hsts() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "serve", "--port", str(port)],
        env=command_env(MENTIONDESK_HTTPS="1", MENTIONDESK_TRUSTED_PROXY="127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("mentiondesk on ")
        base = f"http://127.0.0.1:{port}"
        plain = httpx.get(f"{base}/accounts/login/")
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://127.0.0.1:{port}/accounts/login/"
        # The proxy terminated TLS and says so.
        page = httpx.get(f"{base}/accounts/login/", headers={"X-Forwarded-Proto": "https"})
        assert page.status_code == 200
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "Secure" in page.headers["Set-Cookie"]  # the CSRF cookie
        # Probes talk to the process directly, without TLS.
        assert httpx.get(f"{base}/healthz").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_metrics_count_todays_x_requests_and_429s(
    client: Client, desk: SandboxServer, main_handle: Handle
) -> None:
    handle_poll(handle=main_handle)  # resolves the user id and reads the (empty) timelines
    desk.store.mention_add("rosa", "@Driftwood anyone there?")
    desk.store.fault_add("GET", "/2/users/", kind="status", status=429)
    assert handle_poll(handle=main_handle).error, "the 429 ended that pass"
    with override_settings(METRICS_TOKEN=TOKEN):
        text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.decode().splitlines()
        if line.startswith("mentiondesk_x_")
    }
    assert values['mentiondesk_x_rate_limited_today{kind="post_read"}'] == 1.0
    reads = values['mentiondesk_x_requests_today{kind="post_read"}']
    timelines = [r for r in desk.store.request_log() if r.path.endswith(("/mentions", "/tweets"))]
    assert reads == len(timelines) == 3  # mentions + own posts, then the refused mentions
