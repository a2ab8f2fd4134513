"""Arrival to screen (issue 21, item 5), measured end to end: from a mention posted on X to
its row on agents' open queue pages.

A desk of real processes (`mentiondesk serve`, waitress with its 8 threads, and `mentiondesk
worker`, on a SQLite file) against the X sandbox in a process of its own (bench/chaos.py's
`Sandbox` and `Desk`). The bench posts mentions on the sandbox at random moments (uniform over
the run, so the gaps are those of a Poisson stream) and, in the webhook run, delivers X's
signed Account Activity event for each at once (X's own delivery delay is not modelled).
`pages` clients, each signed in with its own session, behave like open queue pages: the
requests app.js and htmx make (the pulse each second; the rows every 5 s and at once when the
pulse moved), and record when each mention's row first shows. The polling run has no
webhooks: the worker reads the handle at its default interval.

Times are wall clock on one machine (the sandbox's clock is ours). Besides the figure it
reports when each ticket was stored (its CREATED event), to tell the intake's part from the
page's, the pulse's and the rows' latency, and the CPU of the web and worker processes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from chaos import Desk, Sandbox
from harness import percentile, say

# The bench's own throwaway desk: neither is a real secret.
SECRET = "arrival-bench-consumer-secret"  # noqa: S105
PASSWORD = "arrival-bench-password-1"  # noqa: S105
# What the queue page does (core/static/mentiondesk/app.js, tickets/queue.html).
PULSE_S = 1.0
REFRESH_S = 5.0
# The targets, p95 of posted -> on an agent's queue page.
WEBHOOK_TARGET_S = 2.0
POLLING_TARGET_S = 20.0
ROW = re.compile(r"<bdi>@(arr\d+)</bdi>")


@dataclass
class Page:
    """One agent's open queue page: what it saw and how long its requests took."""

    seen: dict[str, float] = field(default_factory=dict)
    pulses: list[float] = field(default_factory=list)
    rows: list[float] = field(default_factory=list)
    errors: int = 0


def _attribute(html: str, name: str) -> str:
    match = re.search(rf'id="ticket-rows"[^>]*\s{name}="([^"]*)"', html)
    assert match, f"the queue page has no {name} on its rows"
    return match.group(1).replace("&amp;", "&")


def page_run(base: str, page: Page, stop: threading.Event) -> None:
    """Sign in, draw the queue, then poll as the page's scripts do until `stop`."""
    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        assert token, "the sign-in form carries a CSRF token"
        signed_in = client.post(
            "/accounts/login/",
            data={"username": "agent", "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
            follow_redirects=True,
        )
        assert "data-pulse=" in signed_in.text, "signed in, on a playable queue"
        drawn = client.get("/?view=twitter")
        pulse_url = _attribute(drawn.text, "data-pulse")
        version = _attribute(drawn.text, "data-pulse-version")
        rows_url = _attribute(drawn.text, "hx-get")
        _record(page, drawn.text)
        htmx = {"HX-Request": "true", "HX-Trigger": "ticket-rows", "HX-Current-URL": base}

        def rows() -> None:
            started = time.monotonic()
            answer = client.get(rows_url, headers=htmx)
            page.rows.append(time.monotonic() - started)
            if answer.status_code != 200:
                page.errors += 1
            _record(page, answer.text)

        # Each page was opened at its own moment.
        start = time.monotonic() + random.uniform(0, REFRESH_S)
        next_pulse, next_refresh = start, start + REFRESH_S
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_refresh:
                next_refresh += REFRESH_S
                rows()
            if now >= next_pulse:
                next_pulse += PULSE_S
                started = time.monotonic()
                answer = client.get(pulse_url, headers={"Accept": "application/json"})
                page.pulses.append(time.monotonic() - started)
                if answer.status_code != 200:
                    page.errors += 1
                    continue
                moved = str(answer.json()["version"])
                if moved != version:
                    version = moved
                    rows()
            stop.wait(max(0.0, min(next_pulse, next_refresh) - time.monotonic()))


def _record(page: Page, html: str) -> None:
    now = time.time()
    for name in ROW.findall(html):
        page.seen.setdefault(name, now)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, sqlite3.Error):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gave up waiting for {what}")


def _event(user_id: str, post_id: str, text: str) -> tuple[bytes, str]:
    """X's Account Activity POST for a mention, signed as X signs it (API-FACTS.md, 1)."""
    body = json.dumps(
        {"for_user_id": user_id, "tweet_create_events": [{"id_str": post_id, "text": text}]}
    ).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return body, "sha256=" + base64.b64encode(digest).decode()


def _stored_at(database: Path) -> dict[str, float]:
    """When each mention's ticket was stored: its CREATED event."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT t.requester_username, e.created_at FROM tickets_ticketevent e "
            "JOIN tickets_ticket t ON t.id = e.ticket_id WHERE e.kind = 'created'"
        ).fetchall()
    return {name: datetime.fromisoformat(at).timestamp() for name, at in rows}


@dataclass(frozen=True)
class Phase:
    """Mentions posted at random moments, announced by webhook events or left to the poll."""

    name: str
    webhooks: bool
    mentions: int
    mean_gap: float
    target: float


def measure(*, workdir: Path, phases: list[Phase], pages: int) -> dict[str, dict[str, Any]]:
    """One desk, the same open pages, the phases one after the other; latencies in seconds."""
    workdir.mkdir(parents=True)
    sandbox = Sandbox("x")
    database = workdir / "desk.db"
    env = {
        "MENTIONDESK_X_CONSUMER_SECRET": SECRET,
        "MENTIONDESK_BENCH_AGENT_PASSWORD": PASSWORD,
    }
    processes: list[Any] = []
    desk: Desk | None = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    results: dict[str, dict[str, Any]] = {}
    try:
        desk = Desk(workdir, f"sqlite:///{database}", sandbox, **env)
        desk.run(
            "user",
            "add",
            "agent",
            "--role",
            "advocate",
            "--password-env",
            "MENTIONDESK_BENCH_AGENT_PASSWORD",
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        processes = [desk.start("serve", "--port", str(port)), desk.start("worker")]
        _wait(lambda: httpx.get(f"{base}/accounts/login/").status_code == 200, 60, "the web")
        # The worker's first poll resolves the handle's X user id, which events name.
        user_id = next(u["id"] for u in sandbox.call("users") if u["username"] == "Driftwood")
        _wait(
            lambda: (
                sqlite3.connect(database)
                .execute("SELECT 1 FROM channels_handle WHERE remote_id = ?", (user_id,))
                .fetchone()
            ),
            60,
            "the worker's first poll",
        )
        seen = [Page() for _ in range(pages)]
        for page in seen:
            thread = threading.Thread(target=page_run, args=(base, page, stop), daemon=True)
            thread.start()
            threads.append(thread)
        _wait(lambda: all(p.pulses for p in seen), 120, "every page's first pulse")
        first = 0
        for phase in phases:
            say(
                f"arrival: {phase.name}, {phase.mentions} mentions (one every "
                f"{phase.mean_gap:g} s on average), {pages} open queue pages"
            )
            results[phase.name] = _phase(
                phase,
                first=first,
                base=base,
                sandbox=sandbox,
                user_id=user_id,
                pages=seen,
                processes=processes,
            )
            first += phase.mentions
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        for process in processes:
            if desk is not None:
                desk.kill(process)
        sandbox.stop()

    stored = _stored_at(database)
    for r in results.values():
        posted = r.pop("posted")
        r["stored"] = sorted(stored[name] - at for name, at in posted.items())
        r["page_lag"] = sorted(p.seen[name] - stored[name] for p in seen for name in posted)
    return results


def _phase(
    phase: Phase,
    *,
    first: int,
    base: str,
    sandbox: Sandbox,
    user_id: str,
    pages: list[Page],
    processes: list[Any],
) -> dict[str, Any]:
    """Post the phase's mentions (arr<first>, arr<first + 1>, ...), wait until every page
    shows every one of them."""
    load = os.getloadavg()[0]
    cpu_before = [_cpu_seconds(p.pid) for p in processes]
    requests_before = [(len(p.pulses), len(p.rows)) for p in pages]
    errors_before = sum(p.errors for p in pages)
    began = time.monotonic()
    moments = sorted(
        random.uniform(0, phase.mentions * phase.mean_gap) for _ in range(phase.mentions)
    )
    posted: dict[str, float] = {}
    with httpx.Client(base_url=base, timeout=30) as x:
        for n, moment in enumerate(moments, start=first):
            time.sleep(max(0.0, began + moment - time.monotonic()))
            name, text = f"arr{n}", f"@Driftwood my build #{n} is stuck"
            post_id = sandbox.call("mention_add", name, text)
            posted[name] = time.time()
            if phase.webhooks:
                body, signature = _event(user_id, post_id, text)
                answer = x.post(
                    "/webhooks/x",
                    content=body,
                    headers={
                        "content-type": "application/json",
                        "x-twitter-webhooks-signature": signature,
                    },
                )
                assert answer.status_code == 200, answer.text
    _wait(lambda: all(name in p.seen for p in pages for name in posted), 90, "every row on a page")
    elapsed = time.monotonic() - began
    web, worker = (_cpu_seconds(p.pid) - b for p, b in zip(processes, cpu_before, strict=True))
    pulses = [x for p, (b, _) in zip(pages, requests_before, strict=True) for x in p.pulses[b:]]
    rows = [x for p, (_, b) in zip(pages, requests_before, strict=True) for x in p.rows[b:]]
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    return {
        "posted": posted,
        "on_screen": sorted(p.seen[name] - at for p in pages for name, at in posted.items()),
        "within_5s": sum(1 for g in gaps if g < 5.0),
        "pulse": sorted(pulses),
        "rows": sorted(rows),
        "requests_per_s": (len(pulses) + len(rows)) / elapsed,
        "errors": sum(p.errors for p in pages) - errors_before,
        "web_cpu": web / elapsed,
        "worker_cpu": worker / elapsed,
        "load": (load, os.getloadavg()[0]),
    }


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):.2f} / p95 {percentile(values, 95):.2f} / "
        f"max {values[-1]:.2f} s"
    )


def run(*, workdir: Path, quick: bool) -> list[tuple[str, str, str]]:
    """Polling, then webhooks, on one desk; rows of (figure, measurement, target)."""
    phases = [
        Phase("polling at the default interval", False, 4 if quick else 16, 5.0, POLLING_TARGET_S),
        Phase("webhooks", True, 6 if quick else 30, 6.0 if quick else 10.0, WEBHOOK_TARGET_S),
    ]
    pages = 4 if quick else 32
    results = measure(workdir=workdir, phases=phases, pages=pages)
    table = []
    for phase in phases:
        r = results[phase.name]
        ok = percentile(r["on_screen"], 95) <= phase.target
        table.append(
            (
                f"arrival to screen, {phase.name}: {phase.mentions} mentions at random moments "
                f"(mean gap {phase.mean_gap:g} s; {r['within_5s']} within 5 s of the one "
                f"before), {pages} open queue pages",
                f"posted -> on screen {summary(r['on_screen'])}; posted -> stored "
                f"{summary(r['stored'])}; stored -> on screen {summary(r['page_lag'])}; "
                f"pulse {percentile(r['pulse'], 50) * 1000:.0f} / "
                f"{percentile(r['pulse'], 95) * 1000:.0f} ms, rows "
                f"{percentile(r['rows'], 50) * 1000:.0f} / "
                f"{percentile(r['rows'], 95) * 1000:.0f} ms (p50 / p95), "
                f"{r['requests_per_s']:.1f} requests/s; CPU web {r['web_cpu']:.0%}, worker "
                f"{r['worker_cpu']:.0%} of a core; {r['errors']} errors; load "
                f"{r['load'][0]:.1f} -> {r['load'][1]:.1f}",
                f"p95 ≤ {phase.target:g} s: {'met' if ok else 'MISSED'}",
            )
        )
    return table
