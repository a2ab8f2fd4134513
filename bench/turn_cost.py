"""What a rate-limit turn (one call at a time per token and endpoint, across processes) adds to
an uncontended X call: the same GET against the in-process sandbox, with and without the turn,
on the database MENTIONDESK_DATABASE_URL names (SQLite under MENTIONDESK_DATA_DIR by default).

    MENTIONDESK_DATA_DIR=$(mktemp -d) .venv/bin/python bench/turn_cost.py
    MENTIONDESK_DATABASE_URL=postgres://…/md_x_bench MENTIONDESK_DATA_DIR=… .venv/bin/python \\
        bench/turn_cost.py
"""

from __future__ import annotations

import contextlib
import statistics
import time
from typing import Any

from harness import django_start, percentile

ROUNDS, CALLS = 3, 400
ENDPOINT = "GET /2/users/by/username/:username"


def main() -> None:
    django_start()
    from django.db import connection

    from mentiondesk.channels.connectors.ratelimits import rate_limits_clear, rate_limits_share
    from mentiondesk.channels.connectors.x import XConnector
    from mentiondesk.channels.ratelimits import DatabaseWindows
    from mentiondesk.sandbox.x.server import SandboxServer

    class WithoutTurn(DatabaseWindows):
        def turn(self, key: Any, wait: float) -> Any:
            return contextlib.nullcontext()

    server = SandboxServer().start()
    server.store.user_add("maya", name="maya")
    server.store.rate_limits[ENDPOINT] = 10**9
    times: dict[str, list[float]] = {"without": [], "with": []}
    alone: list[float] = []
    with XConnector(base_url=server.url, token=server.store.token_for("maya")) as x:
        for _ in range(ROUNDS):  # alternate, so drifting load hits both alike
            for name, shared in (("without", WithoutTurn()), ("with", DatabaseWindows())):
                rate_limits_clear()
                rate_limits_share(shared)
                x.user_by_username("maya")
                for _ in range(CALLS):
                    started = time.perf_counter()
                    x.user_by_username("maya")
                    times[name].append(time.perf_counter() - started)
        key = (x.base_url, x._token_key, ENDPOINT)
        for _ in range(CALLS):
            started = time.perf_counter()
            with DatabaseWindows().turn(key, 5):
                pass
            alone.append(time.perf_counter() - started)
    server.stop()
    without, with_ = (statistics.median(times[k]) * 1000 for k in ("without", "with"))
    alone.sort()
    print(
        f"{connection.vendor}: median per call {without:.2f} ms without the turn, {with_:.2f} ms "
        f"with (+{with_ - without:.2f} ms); the turn alone {statistics.median(alone) * 1000:.3f} "
        f"ms median, {percentile(alone, 95) * 1000:.3f} ms p95; {ROUNDS * CALLS} calls each"
    )


if __name__ == "__main__":
    main()
