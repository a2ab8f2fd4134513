"""What `make chaos` (bench/chaos.py) found in ingest and rate limiting, kept as regression
tests: spent rate-limit windows are shared between processes, and an interrupted pass resumes
from its next page."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mentiondesk.channels.connectors.base import Unreachable
from mentiondesk.channels.connectors.x import XConnector
from mentiondesk.channels.models import Handle
from mentiondesk.core.localserver import LocalServer
from mentiondesk.intake import ingest as channel_services
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.processes import command_env, mentiondesk

TOKEN = "one-token-two-workers"
USER = {"data": {"id": "42", "username": "maya", "name": "Maya"}}


class SlowLimitServer(LocalServer):
    """X's GET /2/users/by/username for one token: the first call is answered after `delay`
    seconds with a 429 announcing a reset a minute away (or 200 when `first_429` is False);
    every other call at once with a user. Records when each call arrived and was answered."""

    name = "slow-429"

    def __init__(self, *, delay: float, first_429: bool = True) -> None:
        super().__init__()
        self.delay = delay
        self.first_429 = first_429
        self.reset = int(time.time()) + 60
        self.calls: list[tuple[float, float, int]] = []  # arrived, answered, status
        self._arrived = 0
        self._lock = threading.Lock()

    def wsgi_app(self) -> Any:
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            arrived = time.time()
            with self._lock:
                first, self._arrived = self._arrived == 0, self._arrived + 1
            if first:
                time.sleep(self.delay)
            spent = first and self.first_429
            status, body = (429, {"title": "Too Many Requests"}) if spent else (200, USER)
            headers = [
                ("content-type", "application/json"),
                ("x-rate-limit-limit", "6"),
                ("x-rate-limit-remaining", "0" if spent else "5"),
                ("x-rate-limit-reset", str(self.reset)),
            ]
            with self._lock:
                self.calls.append((arrived, time.time(), status))
            start_response(f"{status} {'Too Many Requests' if spent else 'OK'}", headers)
            return [json.dumps(body).encode()]

        return app

    def arrived(self) -> int:
        with self._lock:
            return self._arrived


@pytest.fixture
def slow_x() -> Iterator[Callable[..., SlowLimitServer]]:
    servers: list[SlowLimitServer] = []

    def start(**options: Any) -> SlowLimitServer:
        servers.append(SlowLimitServer(**options).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _desk_process(code: str) -> subprocess.Popen[str]:
    """A separate desk process (own interpreter, own database connection) running `code`."""
    return subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "shell", "--no-imports", "-c", code],
        env=command_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


_CALL_ONCE = """
import time
from pathlib import Path
from mentiondesk.channels.connectors.base import ConnectorError
from mentiondesk.channels.connectors.x import XConnector
Path({ready!r}).touch()
while not Path({go!r}).exists():
    time.sleep(0.005)
time.sleep({offset})
try:
    with XConnector(base_url={url!r}, token={token!r}, timeout=5) as x:
        x.user_by_username("maya")
    print("sent", flush=True)
except ConnectorError as exc:
    print(type(exc).__name__, exc, flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_a_second_process_waits_for_the_reset_x_announced_to_the_first(
    desk: SandboxServer,
) -> None:
    desk.store.mention_add("maya", "@Driftwood my pipeline is stuck")
    env = command_env(desk)
    assert mentiondesk("poll", env=env).returncode == 0
    handle = Handle.objects.get(username="Driftwood")
    mentions_path = f"/2/users/{handle.remote_id}/mentions"
    # X spends @Driftwood's mentions window: 429, next reset a minute away.
    desk.store.fault_add("GET", mentions_path, kind="status", status=429, reset_in=60)
    first = mentiondesk("poll", env=env)
    assert "Too Many Requests" in first.stdout, first.stdout + first.stderr
    told_at = time.time()

    mentiondesk("poll", env=env)  # another worker, or the same one restarted

    calls = [r for r in desk.store.request_log() if r.path == mentions_path and r.at > told_at]
    assert calls == [], "GET mentions called again before the announced reset"


@pytest.mark.django_db
def test_a_backlog_longer_than_a_rate_limit_window_drains(desk: SandboxServer) -> None:
    for n in range(250):  # three pages of 100
        desk.store.mention_add(f"user{n}", f"@Driftwood is the API down? #{n}")
    # Two mentions calls per one-second window: a pass needs three.
    desk.store.rate_limits["GET /2/users/:id/mentions"] = 2
    desk.store.window = 1.0
    for _ in range(5):
        channel_services.mentions_poll_all()
        time.sleep(1.1)  # past the reset X announced
    stored = Ticket.objects.filter(handle__username="Driftwood").count()
    assert stored == 250, f"{250 - stored} mentions never stored"


@pytest.mark.django_db(transaction=True)
def test_no_call_leaves_while_another_process_429_is_on_its_way_back(
    slow_x: Callable[..., SlowLimitServer], tmp_path: Path
) -> None:
    """Chaos finding 1's last gap: worker B read "window open" while worker A's call was in
    flight, then called just after A's 429 had left. Processes take turns per token and
    endpoint, so B's call starts after A's answer is in and the spent window recorded."""
    x = slow_x(delay=1.0)
    go = tmp_path / "go"
    workers = []
    for name, offset in (("a", 0), ("b", 0.3)):  # B calls while A's 429 takes a second
        ready = tmp_path / f"ready-{name}"
        code = _CALL_ONCE.format(
            ready=str(ready), go=str(go), offset=offset, url=x.url, token=TOKEN
        )
        workers.append((_desk_process(code), ready))
    deadline = time.monotonic() + 60
    while not all(ready.exists() for _, ready in workers):
        assert time.monotonic() < deadline, "the desk processes did not start"
        assert all(p.poll() is None for p, _ in workers), [p.communicate() for p, _ in workers]
        time.sleep(0.05)
    go.touch()
    outputs = [process.communicate(timeout=60) for process, _ in workers]

    assert [out.split(" ", 1)[0] for out, _ in outputs] == ["RateLimited", "RateLimited"], outputs
    assert "(not sent)" in outputs[1][0], outputs  # B was refused before any request left
    assert len(x.calls) == 1, f"{len(x.calls)} calls for one window: {x.calls}"
    (_, told, _), *_ = x.calls
    early = [arrived for arrived, _, _ in x.calls if told < arrived < x.reset]
    assert early == [], "a call arrived before the reset X had announced"


@pytest.mark.django_db(transaction=True)
def test_a_killed_process_ends_its_turn_and_a_stuck_one_costs_a_timeout_not_a_call(
    slow_x: Callable[..., SlowLimitServer], tmp_path: Path
) -> None:
    x = slow_x(delay=0, first_429=False)
    holding = tmp_path / "holding"
    holder = _desk_process(
        "import time\n"
        "from pathlib import Path\n"
        "from mentiondesk.channels.connectors.ratelimits import BOOK\n"
        "from mentiondesk.channels.connectors.x import XConnector\n"
        f"x = XConnector(base_url={x.url!r}, token={TOKEN!r})\n"
        "key = (x.base_url, x._token_key, 'GET /2/users/by/username/:username')\n"
        "with BOOK.turn(key, 5):\n"
        f"    Path({str(holding)!r}).touch()\n"
        "    time.sleep(120)\n"
    )
    try:
        deadline = time.monotonic() + 60
        while not holding.exists():
            assert holder.poll() is None and time.monotonic() < deadline, holder.communicate()
            time.sleep(0.05)
        with XConnector(base_url=x.url, token=TOKEN, timeout=0.5) as connector:
            started = time.monotonic()
            with pytest.raises(Unreachable, match="still in flight"):
                connector.user_by_username("maya")
            assert 1.4 < time.monotonic() - started < 3  # the HTTP timeout plus 1 s
            assert x.arrived() == 0  # nothing was sent while the other process had the turn

            holder.kill()  # SIGKILL: no finally runs; the turn ends with the process
            holder.wait()
            assert connector.user_by_username("maya").username == "maya"
            assert x.arrived() == 1
    finally:
        holder.kill()
        holder.communicate()
