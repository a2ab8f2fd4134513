"""mentiondesk chaos scenarios (`make chaos`): real `mentiondesk poll` and `mentiondesk worker`
processes, SIGKILLed at random and restarted, against a sandbox network (its own process) that
injects timeouts after accepting, 5xx and 429s. Each scenario stops by itself, checks its
invariant on what the sandbox received and what the database holds, and prints a table row.

    .venv/bin/python bench/chaos.py [--only ingest-kill|outbox-kill|pg-kill|rate-limits|
                                            mastodon-kill|bluesky-kill] [--scale N]
    .venv/bin/python bench/chaos.py --full     # the issue's sizes: 100,000 mentions, 10,000 replies

Scale 1 (the default) is 3,000 mentions, 300 replies and a 300-mention backlog; `--scale N`
multiplies them. outbox-kill, pg-kill (every connection of the desk dropped with
pg_terminate_backend, again and again, under API traffic), and rate-limits' last row, run on
PostgreSQL
(MENTIONDESK_CHAOS_PG_URL, default the database mentiondesk_chaos on the local server, dropped
and created again); the others on SQLite files in a temporary directory. mastodon-kill and
bluesky-kill (half the backlog as mentions, an eighth of the replies) run the poll and the
outbox against the Mastodon and Bluesky sandboxes. Progress goes to stderr, the table to
stdout; bench/RESULTS.md is written by hand from it."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from harness import database_recreate, django_start, say

PG_URL = os.environ.get(
    "MENTIONDESK_CHAOS_PG_URL", "postgres://postgres@127.0.0.1:5432/mentiondesk_chaos"
)
HANDLES = ("Driftwood", "DriftwoodStatus")


def policy_text(network: str, handles: dict[str, str], **keys: str) -> str:
    """A policy file with `handles` ({username: credentials variable}; the first one "main",
    the second "status") on `network`, reading mentions into tickets; `keys` are the network's
    own (`instance`, `service`)."""
    extra = "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    return "".join(
        f"""
[[handle]]
network = "{network}"
username = "{name}"
role = "{role}"
respond_from = "desk"
auto_ticket = true
credentials_env = "{variable}"
{extra}"""
        for (name, variable), role in zip(handles.items(), ("main", "status"), strict=True)
    )


UNLIMITED = 10**9
# Sizes at scale 1 (a few minutes on two shared cores), and the (`--full`).
SIZES = {"mentions": 3_000, "replies": 300, "backlog": 300}
FULL = {"mentions": 100_000, "replies": 10_000, "backlog": 3_000}
SEED = int(os.environ.get("MENTIONDESK_CHAOS_SEED", "11"))


# --- The sandbox, in a process of its own -------------------------------------------------------


def _recording_store_class(base: type) -> type:
    """`base` (a SandboxStore) that also counts every POST /2/tweets it is asked to do, by text,
    accepted or refused: the same text asked twice is a re-send, even if X's duplicate-content
    rule refused the second one."""

    class Recording(base):  # type: ignore[misc, valid-type]
        def reset(self) -> None:
            super().reset()
            self.creates: Counter[str] = Counter()
            self.answers: list[dict[str, Any]] = []  # filled by _Recorder

        def post_create(self, user_id: str, text: str, **kwargs: Any) -> dict[str, Any]:
            with self._lock:
                self.creates[text] += 1
            return super().post_create(user_id, text, **kwargs)

    return Recording


class _Recorder:
    """WSGI middleware: every API request's arrival and answer times, endpoint, account
    (bucket), status and announced rate-limit window, for `early_calls`. What an endpoint, a
    bucket and a window are is each network's (`network.describe`, `network.window`)."""

    def __init__(self, app: Any, store: Any, network: Any) -> None:
        self.app, self.store, self.network = app, store, network

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith("/_sandbox/"):
            return self.app(environ, start_response)
        arrived = time.time()
        seen: dict[str, Any] = {}

        def recording_start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            seen["status"] = int(status.split()[0])
            seen["headers"] = {k.lower(): v for k, v in headers}
            return start_response(status, headers, *args)

        endpoint, bucket = self.network.describe(self.app, environ)
        body = self.app(environ, recording_start)
        remaining, reset = self.network.window(seen.get("headers", {}))
        with self.store._lock:
            self.store.answers.append(
                {
                    "endpoint": endpoint,
                    "bucket": bucket,
                    "arrived": arrived,
                    "answered": time.time(),
                    "status": seen.get("status"),
                    "remaining": remaining,
                    "reset": reset,
                }
            )
        return body


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class _XNetwork:
    """X: windows per token and endpoint (X's route template), reset in epoch seconds."""

    @staticmethod
    def describe(app: Any, environ: dict[str, Any]) -> tuple[str, str]:
        from mentiondesk.sandbox.x.app import _template

        try:
            endpoint, _ = app._url_map.bind_to_environ(environ).match()
            method, rule = str(endpoint).split(" ", 1)
            endpoint = f"{method} {_template(rule)}"
        except Exception:
            endpoint = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        return endpoint, _digest(environ.get("HTTP_AUTHORIZATION", ""))

    @staticmethod
    def window(headers: dict[str, str]) -> tuple[str | None, str | None]:
        return headers.get("x-rate-limit-remaining"), headers.get("x-rate-limit-reset")


class _OpenNetwork:
    """An open network's sandbox in the chaos run: our two handles and `CUSTOMERS` customers
    with `mentions` mentions of our main handle, calls the scenarios make of it whatever the
    network (`mention_add`, `mentions`, `ours`, `resends`, `fault_send`, `fault_429`,
    `faults_clear`), and
    what `_Recorder` reads of its requests. Subclasses speak to their store."""

    name: str
    server_class: type
    poll_path: str
    send_path: str
    CUSTOMERS = 40

    def __init__(self, *, mentions: int) -> None:
        import threading

        self._lock = threading.Lock()
        self.answers: list[dict[str, Any]] = []
        for n in range(mentions):
            self.mention_add(n)

    def faults_clear(self) -> None:
        """Withdraw the faults no request met yet: the chaos is over."""
        self.store.faults.clear()

    def resends(self) -> int:
        """Send requests beyond one per reply (the same key or rkey asked again)."""
        return sum(n - 1 for n in self._send_keys().values() if n > 1)

    def _send_keys(self) -> Counter[str]:
        raise NotImplementedError


class _MastodonNetwork(_OpenNetwork):
    """Mastodon: windows per account and bucket ("general", or "delete"), as the instance counts
    them (a 429 on one route spends them all), reset in ISO 8601; a reply's re-send carries
    its Idempotency-Key."""

    name = "mastodon"
    poll_path, send_path = "/api/v1/notifications", "/api/v1/statuses"

    def __init__(self, *, mentions: int) -> None:
        from mentiondesk.sandbox.mastodon import MastodonSandbox, MastodonStore

        self.server_class = MastodonSandbox
        self.store = MastodonStore()
        self.main = self.store.account_add("driftwood")
        self.status = self.store.account_add("driftwoodstatus")
        self.customers = [self.store.account_add(f"cust{n}") for n in range(self.CUSTOMERS)]
        super().__init__(mentions=mentions)

    def facts(self, url: str) -> dict[str, Any]:
        variables = {
            a.username: f"MENTIONDESK_MASTODON_TOKEN_{a.username.upper()}"
            for a in (self.main, self.status)
        }
        return {
            "env": {variables[a.username]: a.token for a in (self.main, self.status)},
            "policy": policy_text("mastodon", variables, instance=url),
        }

    def describe(self, app: Any, environ: dict[str, Any]) -> tuple[str, str]:
        token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        account = self.store.account_for_token(token) if token else None
        bucket = "delete" if environ.get("REQUEST_METHOD") == "DELETE" else "general"
        return bucket, account.id if account else "-"

    @staticmethod
    def window(headers: dict[str, str]) -> tuple[str | None, str | None]:
        from datetime import datetime

        reset = headers.get("x-ratelimit-reset")
        epoch = datetime.fromisoformat(reset).timestamp() if reset else None
        return headers.get("x-ratelimit-remaining"), None if epoch is None else str(epoch)

    def mention_add(self, n: int) -> str:
        customer = self.customers[n % len(self.customers)]
        text = f"@driftwood my build #{n} is stuck, can you look?"
        return str(self.store.status_post(customer.id, text)["id"])

    def mentions(self) -> list[str]:
        ids = {c.id for c in self.customers}
        with self.store.lock:
            return [s["id"] for s in self.store.statuses.values() if s["account_id"] in ids]

    def ours(self) -> list[dict[str, Any]]:
        return [
            {"id": s["id"], "text": s["text"], "parent": s["in_reply_to_id"]}
            for s in self.store.statuses_by(self.main.id)
        ]

    def _send_keys(self) -> Counter[str]:
        with self.store.lock:
            return Counter(
                r.idempotency_key or f"no key {n}"
                for n, r in enumerate(self.store.requests)
                if r.method == "POST" and r.path == self.send_path
            )

    def fault_send(self, kind: str) -> None:
        """ "lost": the post is made, the connection closed unanswered; "500 after": made, then
        answered 500; "500": refused before."""
        self.store.fault_add(
            "drop" if kind == "lost" else "status",
            method="POST",
            path=self.send_path,
            after=kind != "500",
        )

    def fault_429(self, what: str, *, reset_in: float) -> None:
        method, path = ("GET", self.poll_path) if what == "poll" else ("POST", self.send_path)
        self.store.fault_add("status", method=method, path=path, status=429, reset_in=reset_in)


class _BlueskyNetwork(_OpenNetwork):
    """Bluesky: windows per account (DID) and endpoint (XRPC method), reset in epoch seconds; a
    reply's re-send reuses its rkey, and getRecord tells whether the first one was written."""

    name = "bluesky"
    poll_path = "/xrpc/app.bsky.notification.listNotifications"
    send_path = "/xrpc/com.atproto.repo.createRecord"
    HANDLES = {"driftwood.test": "DRIFTWOOD", "status.driftwood.test": "DRIFTWOODSTATUS"}

    def __init__(self, *, mentions: int) -> None:
        from mentiondesk.sandbox.bluesky import BlueskySandbox, BlueskyStore

        self.server_class = BlueskySandbox
        self.store = BlueskyStore()
        for handle, name in self.HANDLES.items():
            self.store.account_add(handle, password=f"pass-{name.lower()}")
        self.customers = [f"cust{n}.test" for n in range(self.CUSTOMERS)]
        for handle in self.customers:
            self.store.account_add(handle)
        super().__init__(mentions=mentions)

    def facts(self, url: str) -> dict[str, Any]:
        from mentiondesk.channels.credentials.crypto import KEY_VARIABLE, key_generate

        variables = {h: f"MENTIONDESK_BLUESKY_PASSWORD_{n}" for h, n in self.HANDLES.items()}
        return {
            "env": {
                KEY_VARIABLE: key_generate(),  # the desk keeps its sessions encrypted
                **{variables[h]: f"pass-{n.lower()}" for h, n in self.HANDLES.items()},
            },
            "policy": policy_text("bluesky", variables, service=url),
        }

    def describe(self, app: Any, environ: dict[str, Any]) -> tuple[str, str]:
        token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        with self.store.lock:
            found = self.store._tokens.get(token)
        return environ.get("PATH_INFO", ""), found.did if found else "-"

    @staticmethod
    def window(headers: dict[str, str]) -> tuple[str | None, str | None]:
        return headers.get("ratelimit-remaining"), headers.get("ratelimit-reset")

    def mention_add(self, n: int) -> str:
        customer = self.customers[n % len(self.customers)]
        return self.store.post_add(customer, f"@driftwood.test my build #{n} is stuck, help?")

    def mentions(self) -> list[str]:
        return [p["uri"] for c in self.customers for p in self.store.posts_by(c)]

    def ours(self) -> list[dict[str, Any]]:
        return [
            {
                "id": p["uri"],
                "text": p["value"]["text"],
                "parent": p["value"].get("reply", {}).get("parent", {}).get("uri"),
            }
            for p in self.store.posts_by("driftwood.test")
        ]

    def _send_keys(self) -> Counter[str]:
        return Counter(
            str((r.body or {}).get("rkey") or f"no rkey {n}")
            for n, r in enumerate(self.store.request_log())
            if r.path == self.send_path
        )

    def fault_send(self, kind: str) -> None:
        """As _MastodonNetwork.fault_send."""
        self.store.fault(
            "drop" if kind == "lost" else "status", path=self.send_path, after_write=kind != "500"
        )

    def fault_429(self, what: str, *, reset_in: float) -> None:
        path = self.poll_path if what == "poll" else self.send_path
        self.store.fault("ratelimited", path=path, reset_in=int(reset_in))


OPEN_NETWORKS: dict[str, type[_OpenNetwork]] = {
    "mastodon": _MastodonNetwork,
    "bluesky": _BlueskyNetwork,
}


def _store_build(kind: str, params: dict[str, Any]) -> Any:
    from corpus import corpus_build

    from mentiondesk.sandbox.x.store import SandboxStore

    if kind in OPEN_NETWORKS:
        return OPEN_NETWORKS[kind](mentions=params.get("mentions", 0))
    if kind == "corpus":  # the ingest benchmark's realistic mix, served by bisection
        store, _ = corpus_build(mentions=params["mentions"], requesters=params["requesters"])
        store.__class__ = _recording_store_class(type(store))
        store.answers, store.creates = [], Counter()
        return store
    store = _recording_store_class(SandboxStore)(
        rate_limits=params.get("rate_limits") or {}, window=params.get("window", 900)
    )
    for name in HANDLES:
        store.user_add(name)
    for n in range(params.get("mentions", 0)):
        store.mention_add(f"req{n}", f"@Driftwood my build #{n} is stuck, can you look?")
    return store


def _sandbox_serve(conn: Connection, kind: str, params: dict[str, Any]) -> None:
    """Build the store, serve it, then answer (method, args, kwargs) calls on the store (on an
    open network, on its `_OpenNetwork`) over `conn` until "stop"."""
    from mentiondesk.sandbox.x.server import SandboxServer

    target = _store_build(kind, params)
    network = target if kind in OPEN_NETWORKS else _XNetwork()
    base: type = target.server_class if kind in OPEN_NETWORKS else SandboxServer
    store = target.store if kind in OPEN_NETWORKS else target

    class Server(base):  # type: ignore[misc, valid-type]
        def wsgi_app(self) -> Any:
            return _Recorder(super().wsgi_app(), target, network)

    with Server(store) as server:
        if kind in OPEN_NETWORKS:
            facts = target.facts(server.url)
        else:
            facts = {
                "env": {
                    "MENTIONDESK_X_API_URL": server.url,
                    **{f"MENTIONDESK_X_TOKEN_{n.upper()}": target.token_for(n) for n in HANDLES},
                },
                "policy": policy_text(
                    "x", {n: f"MENTIONDESK_X_TOKEN_{n.upper()}" for n in HANDLES}
                ),
            }
        conn.send({"url": server.url, **facts})
        while (message := conn.recv()) != "stop":
            name, args, kwargs = message
            try:
                attribute = getattr(target, name)
                result = attribute(*args, **kwargs) if callable(attribute) else attribute
                conn.send(("ok", result))
            except Exception as exc:  # the parent raises it
                conn.send(("error", repr(exc)))


class Sandbox:
    """The parent's side: `sandbox.call("fault_add", "POST", "/2/tweets", kind=...)`; `env` and
    `policy` point a desk at it."""

    def __init__(self, kind: str, **params: Any) -> None:
        context = mp.get_context("fork")
        self.kind = kind
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=_sandbox_serve, args=(theirs, kind, params))
        self._process.start()
        facts = self._conn.recv()
        self.url: str = facts["url"]
        self.env: dict[str, str] = facts["env"]
        self.policy: str = facts["policy"]

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self._conn.send((name, args, kwargs))
        outcome, result = self._conn.recv()
        if outcome == "error":
            raise RuntimeError(f"sandbox {name}: {result}")
        return result

    def ours(self) -> list[dict[str, Any]]:
        """Our main handle's posts on the network: {"id", "text", "parent"}."""
        if self.kind in OPEN_NETWORKS:
            return list(self.call("ours"))
        return [
            {
                "id": p["id"],
                "text": p["text"],
                "parent": next(
                    (r["id"] for r in p.get("referenced_tweets", []) if r["type"]), None
                ),
            }
            for p in self.call("posts", "Driftwood")
        ]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


# --- The desk: real `mentiondesk` processes -----------------------------------------------------


class Desk:
    """One desk on `database_url`, pointed at `sandbox`: runs and kills `mentiondesk` commands."""

    def __init__(self, workdir: Path, database_url: str, sandbox: Sandbox, **env: str) -> None:
        self.workdir = workdir
        self.env = {
            **os.environ,
            "MENTIONDESK_DATABASE_URL": database_url,
            "MENTIONDESK_DATA_DIR": str(workdir),
            "MENTIONDESK_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "MENTIONDESK_LOG_LEVEL": "WARNING",
            **sandbox.env,
            **env,
        }
        self.started = 0
        self.kills = 0
        policy = workdir / "policy.toml"
        policy.write_text(sandbox.policy)
        self.run("migrate", "--verbosity", "0")
        self.run("policy", "apply", str(policy))

    def run(self, *args: str, check: bool = True) -> str:
        """What `mentiondesk ARGS` printed; a failure raises, or with `check=False` is
        returned with its errors (a poll that no handle could finish exits 1)."""
        done = subprocess.run(
            [sys.executable, "-m", "mentiondesk", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            if not check:
                return done.stdout + done.stderr
            raise RuntimeError(f"mentiondesk {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        self.started += 1
        log = open(self.workdir / f"{self.started:04d}-{args[0]}.log", "wb")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", "mentiondesk", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            self.kills += 1
        process.wait()

    def python(self, worker: str, **params: Any) -> Any:
        """`worker(**params)` below, in a Django process of its own on this desk's database."""
        out = self.workdir / "result.json"
        command = [sys.executable, __file__, "--worker", worker, "--params", json.dumps(params)]
        subprocess.run([*command, "--out", str(out)], env=self.env, check=True)
        return json.loads(out.read_text())


def pg_recreate() -> None:
    database_recreate(PG_URL, must_end_with="_chaos")


def unsettled(database_url: str) -> int:
    """Replies still queued or sending, read straight from the database (no Django start-up)."""
    query = "SELECT count(*) FROM replies_reply WHERE status IN ('queued', 'sending')"
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            return int(db.execute(query).fetchone()[0])
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as db:
        row = db.execute(query).fetchone()
        return int(row[0]) if row else 0


def wait_until(check: Callable[[], bool], seconds: float, every: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


# --- Django-side workers (run through Desk.python) ---------------------------------------------


def _replies_create(*, count: int) -> dict[str, Any]:
    """Queue one reply on each of the `count` oldest open tickets without one, as an advocate
    would: through reply_create, which enqueues delivery for the workers."""
    django_start(migrate=False)
    from mentiondesk.accounts import services as accounts
    from mentiondesk.accounts.models import User
    from mentiondesk.replies import services
    from mentiondesk.tickets.models import Ticket

    author = User.objects.filter(username="chaos").first() or accounts.user_create(
        username="chaos", role=User.Role.ADVOCATE
    )
    tickets = Ticket.objects.filter(replies__isnull=True).order_by("pk")[:count]
    created = 0
    for ticket in tickets:
        services.reply_create(
            ticket=ticket,
            author=author,
            text=f"Thanks @{ticket.requester_username}, on it.",
            # Not in Play's order (by id, and any open ticket): an out-of-order take, audited.
            reason="chaos run: replies in bulk",
        )
        created += 1
    return {"created": created}


def _desk_state() -> dict[str, Any]:
    """What the database holds: posts (remote ids, duplicates), replies by status, and the
    replies' targets and posts, for the parent to compare with the sandbox."""
    django_start(migrate=False)
    from django.db.models import Count

    from mentiondesk.channels.models import Post
    from mentiondesk.replies.models import Reply

    posts = Post.objects.count()
    twice = (
        Post.objects.values("network", "remote_id").annotate(n=Count("pk")).filter(n__gt=1).count()
    )
    replies = list(
        Reply.objects.values_list("pk", "status", "reason", "in_reply_to_remote_id", "text")
    )
    sent_posts = dict(Reply.objects.filter(post__isnull=False).values_list("pk", "post__remote_id"))
    from django_tasks_db.models import DBTaskResult

    from mentiondesk.core.selectors import task_results_lost
    from mentiondesk.desk.lost import WORKER_LOST

    return {
        # Task rows: by status, those RUNNING whose worker is gone, those marked failed as lost.
        "tasks": dict(DBTaskResult.objects.values_list("status").annotate(n=Count("pk"))),
        "tasks_lost": len(task_results_lost()),
        "tasks_lost_failed": DBTaskResult.objects.filter(exception_class_path=WORKER_LOST).count(),
        "posts": posts,
        "posts_twice": twice,
        "remote_ids": list(Post.objects.values_list("remote_id", flat=True)),
        "replies": [
            {
                "id": pk,
                "status": status,
                "reason": reason,
                "target": target,
                "text": text,
                "post": sent_posts.get(pk),
            }
            for pk, status, reason, target, text in replies
        ],
    }


def _parked() -> list[dict[str, Any]]:
    """Replies waiting for a person: id, text, and whether a send of each may have reached X
    (then no one-click retry; `reply_retry` refuses it)."""
    django_start(migrate=False)
    from mentiondesk.replies.models import Reply
    from mentiondesk.replies.selectors import reply_may_have_left

    return [
        {"id": r.pk, "text": r.text, "may_have_left": reply_may_have_left(reply=r)}
        for r in Reply.objects.filter(status=Reply.Status.NEEDS_ATTENTION)
    ]


WORKERS: dict[str, Callable[..., Any]] = {
    "replies": _replies_create,
    "state": _desk_state,
    "parked": _parked,
}


# --- Checks shared by the scenarios -------------------------------------------------------------


def replies_check(state: dict[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    """Outbox invariants: per reply target at most one post of ours on the network, no text
    asked of X twice (`resends`; on Mastodon and Bluesky a re-send carrying the first one's
    Idempotency-Key or rkey is how a send stays at-most-once, so there they are counted, not
    failed), every reply `sent` (with its post on the network) or `needs_attention` with a
    reason, none left queued or sending."""
    ours = sandbox.ours()
    network_ids = {p["id"] for p in ours}
    per_target = Counter(p["parent"] for p in ours if p["parent"])
    replies = state["replies"]
    status = Counter(r["status"] for r in replies)
    sent_missing = [r for r in replies if r["status"] == "sent" and r["post"] not in network_ids]
    attention = [r for r in replies if r["status"] == "needs_attention"]
    # By target and text: on Mastodon and Bluesky a customer's tickets get the same text.
    on_network = {(p["parent"], p["text"]) for p in ours}
    return {
        "replies": len(replies),
        "status": dict(status),
        "duplicate_posts": sum(n - 1 for n in per_target.values() if n > 1),
        "resends": (
            sandbox.call("resends")
            if sandbox.kind in OPEN_NETWORKS
            else sum(n - 1 for n in sandbox.call("creates").values() if n > 1)
        ),
        "left": status["queued"] + status["sending"],
        "sent_not_on_network": len(sent_missing),
        "attention_without_reason": sum(1 for r in attention if not r["reason"].strip()),
        # Flagged for a person although the post went out: safe, but worth knowing.
        "attention_but_posted": sum(1 for r in attention if (r["target"], r["text"]) in on_network),
        "reasons": Counter(r["reason"].split(" (")[0][:60] for r in attention).most_common(4),
    }


def replies_ok(r: dict[str, Any], *, resends_allowed: bool = False) -> bool:
    return not (
        r["duplicate_posts"]
        or (r["resends"] and not resends_allowed)
        or r["left"]
        or r["sent_not_on_network"]
        or r["attention_without_reason"]
    )


def early_calls(answers: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Requests that arrived after an answer announcing a spent window (a 429, or
    `x-rate-limit-remaining: 0`) was sent for the same token and endpoint, and before the reset
    it announced. Requests already in flight when that answer left are not counted."""
    blocks: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for a in answers:
        spent = a["status"] == 429 or a["remaining"] == "0"
        if spent and a["reset"]:
            blocks.setdefault((a["bucket"], a["endpoint"]), []).append(
                (a["answered"], float(a["reset"]))
            )
    early = []
    for a in answers:
        for answered, reset in blocks.get((a["bucket"], a["endpoint"]), []):
            if answered < a["arrived"] < reset:
                early.append(
                    f"{a['endpoint']} at {a['arrived']:.2f}, {reset - a['arrived']:.2f} s before "
                    f"the reset announced at {answered:.2f} (answered {a['status']})"
                )
                break
    return len(early), early[:5]


# --- Scenarios ----------------------------------------------------------------------------------


def ingest_kill(workdir: Path, sizes: dict[str, int]) -> tuple[str, bool]:
    mentions = sizes["mentions"]
    kills_wanted = max(6, int(8 * (mentions / SIZES["mentions"]) ** 0.5))
    rng = random.Random(SEED)
    say(f"ingest-kill: building {mentions:,} mentions")
    sandbox = Sandbox("corpus", mentions=mentions, requesters=max(1, mentions // 5))
    try:
        desk = Desk(
            workdir,
            f"sqlite:///{workdir / 'ingest.db'}",
            sandbox,
            MENTIONDESK_POLL_INTERVAL_SECONDS="1",
        )
        # A pass at ~1,300 mentions/s plus a second of start-up: kill within one pass.
        pass_s = 1.5 + mentions / 1_300
        started = time.monotonic()
        finished_passes = 0
        while desk.kills < kills_wanted:
            command = ("poll",) if desk.started % 2 else ("worker", "--interval", "0.2")
            process = desk.start(*command)
            try:
                process.wait(rng.uniform(0.3, pass_s))
                finished_passes += 1  # a poll that finished before its kill
            except subprocess.TimeoutExpired:
                desk.kill(process)
            say(f"  {desk.kills} kills, {finished_passes} passes finished")
        last = desk.run("poll")  # the last pass, left to finish
        again = desk.run("poll")  # caught up: stores nothing more
        seconds = time.monotonic() - started
        network = {p["id"] for p in sandbox.call("posts")}
        state = desk.python("state")
    finally:
        sandbox.stop()
    stored = set(state["remote_ids"])
    missing = len(network - stored)
    extra = len(stored - network)
    stored_last = sum(int(n) for n in re.findall(r"stored (\d+) posts", last))
    stored_again = sum(int(n) for n in re.findall(r"stored (\d+) posts", again))
    ok = not missing and not extra and not state["posts_twice"] and state["posts"] == len(network)
    figure = (
        f"{mentions:,} mentions ({len(network):,} posts on the network): {state['posts']:,} "
        f"stored, {state['posts_twice']} twice, {missing} missing, {extra} extra; "
        f"{desk.kills} SIGKILLs of poll/worker, {finished_passes} passes finished unkilled; "
        f"{state['posts'] - stored_last:,} stored before the last (unkilled) pass; a pass "
        f"after it stores {stored_again}; {seconds:.0f} s"
    )
    return figure, ok and stored_again == 0


def outbox_kill(workdir: Path, sizes: dict[str, int]) -> tuple[str, bool]:
    replies = sizes["replies"]
    rng = random.Random(SEED)
    pg_recreate()
    say(f"outbox-kill: {replies:,} replies, 4 workers, PostgreSQL")
    sandbox = Sandbox(
        "plain",
        mentions=replies,
        rate_limits={
            "POST /2/tweets": UNLIMITED,
            "GET /2/users/:id/tweets": UNLIMITED,
            "GET /2/users/:id/mentions": UNLIMITED,
            "GET /2/users/me": UNLIMITED,
        },
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        desk = Desk(
            workdir,
            PG_URL,
            sandbox,
            # Short, so killed sends are reconciled within the run; the sandbox's slow answers
            # (4 s) outlast the client's timeout (2 s), and the lease outlasts both.
            MENTIONDESK_X_TIMEOUT_SECONDS="2",
            MENTIONDESK_OUTBOX_LEASE_SECONDS="5",
            MENTIONDESK_POLL_INTERVAL_SECONDS="3600",
            # Task rows of killed workers are marked failed within the run.
            MENTIONDESK_TASK_WORKER_GONE_SECONDS="6",
        )
        desk.run("poll")
        created = desk.python("replies", count=replies)["created"]
        say(f"  {created} replies queued; starting 4 workers")
        started = time.monotonic()
        # Limits that grow with the size: the workers settle a few replies a second here.
        chaos_limit, drain_limit = max(900, 0.6 * created), max(300, 0.1 * created)
        workers = [desk.start("worker", "--interval", "0.5") for _ in range(4)]
        faults = Counter[str]()
        # Chaos until 90 % of the replies are settled: every 1-4 s a worker is SIGKILLed and
        # restarted, and one time in three a fault waits for the next POST.
        while unsettled(PG_URL) > 0.1 * created and time.monotonic() - started < chaos_limit:
            time.sleep(rng.uniform(1, 4))
            n = rng.randrange(len(workers))
            desk.kill(workers[n])
            workers[n] = desk.start("worker", "--interval", "0.5")
            roll = rng.random()
            if roll < 0.2:
                sandbox.call("fault_add", "POST", "/2/tweets", kind="timeout_after_accept", delay=4)
                faults["timeout after accept"] += 1
            elif roll < 0.33:
                status = rng.choice((500, 502, 503))
                sandbox.call("fault_add", "POST", "/2/tweets", kind="status", status=status)
                faults["5xx"] += 1
        chaos_s = time.monotonic() - started
        say(f"  chaos over after {chaos_s:.0f} s, {desk.kills} kills; draining")

        def drained() -> bool:
            left = unsettled(PG_URL)
            say(f"  {left} replies queued or sending")
            return left == 0

        wait_until(drained, drain_limit, every=3)
        drain_s = time.monotonic() - started - chaos_s
        state = desk.python("state")
        # The live workers mark the task rows killed workers left RUNNING (heartbeat 6 s old).
        for _ in range(10):
            if not state["tasks_lost"]:
                break
            time.sleep(3)
            state = desk.python("state")
        result = replies_check(state, sandbox)
    finally:
        for w in workers:
            desk.kill(w)
        sandbox.stop()
    say(f"  task rows: {state['tasks']}")
    figure = (
        f"{result['replies']:,} replies, 4 workers: {result['status']}; "
        f"task rows {state['tasks']} ({state['tasks_lost_failed']} marked failed as lost, "
        f"{state['tasks_lost']} RUNNING with their worker gone); "
        f"{result['duplicate_posts']} duplicate posts, {result['resends']} re-sends, "
        f"{result['left']} left queued/sending, {result['sent_not_on_network']} sent but not on "
        f"the network, {result['attention_without_reason']} needing attention without a reason "
        f"({result['attention_but_posted']} of them were posted); {desk.kills} SIGKILLs, "
        f"faults {dict(faults)}; chaos {chaos_s:.0f} s + drain {drain_s:.0f} s"
    )
    say(f"  reasons: {result['reasons']}")
    return figure, replies_ok(result) and not state["tasks_lost"]


WAVES = 4  # open_kill queues its replies in this many waves
CHAOS_AFTER_WAVES_S = 60  # open_kill: kills and faults go on this long after the last wave


def open_kill(workdir: Path, sizes: dict[str, int], network: str) -> tuple[str, bool]:
    """On Mastodon or Bluesky: `mentiondesk poll` and workers SIGKILLed at random while mentions
    arrive and 429s (with a reset) answer polls (every mention stored once); then replies,
    workers SIGKILLed during sends, sends whose answer is lost, 5xx and 429s (no duplicate
    post, no call before an announced reset)."""
    mentions, reply_count = sizes["backlog"] // 2, sizes["replies"] // 8
    rng = random.Random(SEED)
    say(f"{network}-kill: {mentions} mentions, {reply_count} replies, 2 workers, SQLite")
    sandbox = Sandbox(network, mentions=mentions)
    database = f"sqlite:///{workdir / 'open.db'}"
    workers: list[subprocess.Popen[bytes]] = []
    faults = Counter[str]()
    try:
        desk = Desk(
            workdir,
            database,
            sandbox,
            # Short, so killed sends are reconciled within the run; the lease outlasts the
            # client's timeout.
            MENTIONDESK_X_TIMEOUT_SECONDS="2",
            MENTIONDESK_OUTBOX_LEASE_SECONDS="5",
            MENTIONDESK_OUTBOX_SWEEP_SECONDS="2",
            MENTIONDESK_POLL_INTERVAL_SECONDS="1",
            MENTIONDESK_TASK_WORKER_GONE_SECONDS="6",
        )
        started = time.monotonic()
        # Intake: poll and worker processes killed within a pass, new mentions in between,
        # and one round in three a 429 with a 3 s reset on the next poll.
        added = 0
        while desk.kills < 8:
            command = ("poll",) if desk.started % 2 else ("worker", "--interval", "0.2")
            process = desk.start(*command)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(rng.uniform(0.5, 4))
            desk.kill(process)
            for _ in range(rng.randint(0, 5)):
                sandbox.call("mention_add", mentions + added)
                added += 1
            if desk.kills % 3 == 0:
                sandbox.call("fault_429", "poll", reset_in=3)
                faults["429 on poll"] += 1
        # Passes left to finish until one finds nothing new: a pass that resumes a killed one
        # reads its older pages and moves the checkpoint to that pass's newest id, so what
        # came later is the next pass's; a 429 left unserved until now stops one (on a
        # loaded machine a reset may pass a few seconds late on the desk's clock).
        caught_up_after = 0
        for passes in range(1, 9):
            time.sleep(4)  # past the last announced reset
            out = desk.run("poll", check=False)
            if "stopped:" not in out and not sum(map(int, re.findall(r"stored (\d+) posts", out))):
                caught_up_after = passes
                break
        intake_s = time.monotonic() - started
        on_network = set(sandbox.call("mentions"))
        state = desk.python("state")
        stored = set(state["remote_ids"])
        missing = len(on_network - stored)
        say(f"  intake: {len(on_network)} mentions, {missing} not stored, {desk.kills} kills")
        intake_kills = desk.kills

        say(f"  {reply_count} replies in {WAVES} waves; starting 2 workers")
        started = time.monotonic()
        workers = [desk.start("worker", "--interval", "0.3") for _ in range(2)]
        created, rounds, last_wave = 0, 0, time.monotonic()
        # Chaos until every wave is queued and 90 % of the replies are settled, for at most
        # CHAOS_AFTER_WAVES_S after the last wave: every 1-3 s a worker is SIGKILLed and
        # restarted, and often a fault waits for the next send. The replies come in waves (two
        # workers send a wave in seconds), so kills land mid-send. Without the bound, the
        # faults of minutes of chaos fall on the last few replies in flight, whose backoff then
        # grows past any drain (2^tries s, up to 300 s): that measures the harness.
        while (
            created < reply_count
            or (
                unsettled(database) > 0.1 * created
                and time.monotonic() - last_wave < CHAOS_AFTER_WAVES_S
            )
        ) and (time.monotonic() - started < 240):
            if rounds % 3 == 0 and created < reply_count:
                wave = min(-(-reply_count // WAVES), reply_count - created)
                created += desk.python("replies", count=wave)["created"]
                last_wave = time.monotonic()
            rounds += 1
            time.sleep(rng.uniform(1, 3))
            n = rng.randrange(len(workers))
            desk.kill(workers[n])
            workers[n] = desk.start("worker", "--interval", "0.3")
            roll = rng.random()
            if roll < 0.2:
                sandbox.call("fault_send", "lost")
                faults["answer lost after the post"] += 1
            elif roll < 0.35:
                sandbox.call("fault_send", "500 after")
                faults["500 after the post"] += 1
            elif roll < 0.45:
                sandbox.call("fault_send", "500")
                faults["500"] += 1
            elif roll < 0.6:
                sandbox.call("fault_429", "send", reset_in=3)
                faults["429 on send"] += 1
        chaos_s = time.monotonic() - started
        # The chaos is over: faults still waiting for a send (sends were held back by a spent
        # window, say) would otherwise all meet the first sends of the recovery.
        sandbox.call("faults_clear")

        def drained() -> bool:
            left = unsettled(database)
            say(f"  {left} replies queued or sending")
            return left == 0

        # Up to the outbox's longest backoff (300 s, after eight tries: a send killed mid-way
        # counts as one) and a margin: a reply waiting out its backoff is not lost.
        wait_until(drained, 330, every=3)
        drain_s = time.monotonic() - started - chaos_s
        state = desk.python("state")
        result = replies_check(state, sandbox)
        answers = sandbox.call("answers")
    finally:
        for w in workers:
            desk.kill(w)
        sandbox.stop()
    early, examples = early_calls(answers)
    for example in examples:
        say(f"  early call: {example}")
    say(f"  reasons: {result['reasons']}")
    statuses = Counter(a["status"] for a in answers)
    figure = (
        f"{len(on_network)} mentions: {missing} not stored, {state['posts_twice']} stored twice, "
        f"caught up after {caught_up_after or 'no'} of 8 passes; "
        f"{intake_kills} SIGKILLs of poll/worker; "
        f"{result['replies']} replies: {result['status']}, {result['duplicate_posts']} "
        f"duplicate posts, {result['resends']} same-key re-sends, {result['left']} left, "
        f"{result['sent_not_on_network']} sent but not on the network, "
        f"{result['attention_without_reason']} needing attention without a reason "
        f"({result['attention_but_posted']} of them were posted); "
        f"{desk.kills - intake_kills} SIGKILLs of workers; {len(answers):,} requests "
        f"({statuses[429]} answered 429), {early} calls before an announced reset; faults "
        f"{dict(faults)}; intake {intake_s:.0f} s + sends {chaos_s:.0f} s + drain {drain_s:.0f} s"
    )
    ok = (
        not missing
        and not state["posts_twice"]
        and caught_up_after
        and not early
        and replies_ok(result, resends_allowed=True)
    )
    return figure, ok


def pg_terminate(database_url: str) -> int:
    """Drop every connection the desk holds to its database (web threads and workers alike),
    as a PostgreSQL restart or failover would: pg_terminate_backend on all but our own."""
    import psycopg

    url = database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0]) if row else 0


class Traffic:
    """Client threads on the desk's API: list and read tickets, and queue one reply per ticket
    (a lead, with an Idempotency-Key, so a retried POST queues once). A 5xx or no answer is
    retried up to RETRIES times with backoff, as a client would; what still fails then is
    counted. Every failed try's span is kept (`failures`): one that no dropped connection
    overlaps is the desk's fault, not the fault's (health checks: a request that starts after
    the drop reconnects)."""

    RETRIES = (0.5, 1.0, 2.0)

    def __init__(self, base: str, token: str, ticket_ids: list[int], threads: int = 4) -> None:
        import threading

        self.base, self.token = base, token
        self.todo = list(ticket_ids)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counts: Counter[str] = Counter()
        self.failures: list[tuple[float, float]] = []
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> int:
        import httpx

        try:
            response = httpx.request(
                method,
                self.base + path,
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
        except httpx.HTTPError:
            return 0  # no answer at all
        return response.status_code

    def _run(self, n: int) -> None:
        rng = random.Random(SEED + n)
        while not self.stop.is_set():
            roll = rng.random()
            body = None
            if roll < 0.3:
                with self.lock:
                    ticket = self.todo.pop() if self.todo else None
                if ticket is None:
                    method, path = "GET", "/api/v1/tickets?limit=20"
                else:
                    method, path = "POST", f"/api/v1/tickets/{ticket}/replies"
                    body = {
                        "text": f"Thanks for waiting, ticket {ticket}: on it.",
                        "idempotency_key": f"chaos-{ticket}",
                        "reason": "chaos run: replies in bulk",
                    }
            elif roll < 0.6:
                method, path = "GET", f"/api/v1/tickets/{rng.randint(1, 50)}"
            else:
                method, path = "GET", "/api/v1/tickets?limit=20"
            tries = 0
            while True:
                began = time.monotonic()
                status = self._request(method, path, body)
                if (status < 500 and status != 0) or tries == len(self.RETRIES):
                    break
                with self.lock:
                    self.failures.append((began, time.monotonic()))
                time.sleep(self.RETRIES[tries])
                tries += 1
            with self.lock:
                self.counts["requests"] += 1
                self.counts["5xx first"] += tries > 0
                self.counts["5xx after retry"] += status >= 500
                self.counts["no answer after retry"] += status == 0
                self.counts["replies queued"] += method == "POST" and status == 201


def pg_kill(workdir: Path, sizes: dict[str, int]) -> tuple[str, bool]:
    """PostgreSQL drops every connection of the desk, again and again, while the API is busy
    and workers send replies: no 5xx once retried, no duplicate, and every reply parked that
    never left can be sent again in one click (then it goes out once)."""
    tickets = max(60, sizes["replies"] // 2)
    rng = random.Random(SEED)
    pg_recreate()
    say(f"pg-kill: {tickets} tickets, web server (8 threads) + 2 workers, PostgreSQL")
    sandbox = Sandbox(
        "plain",
        mentions=tickets,
        rate_limits=dict.fromkeys(
            ("POST /2/tweets", "GET /2/users/:id/tweets", "GET /2/users/:id/mentions"), UNLIMITED
        )
        | {"GET /2/users/me": UNLIMITED},
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        desk = Desk(
            workdir,
            PG_URL,
            sandbox,
            MENTIONDESK_X_TIMEOUT_SECONDS="2",
            MENTIONDESK_OUTBOX_LEASE_SECONDS="5",
            MENTIONDESK_POLL_INTERVAL_SECONDS="3600",
            MENTIONDESK_TASK_WORKER_GONE_SECONDS="6",
        )
        desk.run("poll")
        desk.run("user", "add", "lee", "--role", "lead")
        token = desk.run("token", "create", "lee").strip().splitlines()[-1]
        port = 18000 + rng.randrange(1000)
        base = f"http://127.0.0.1:{port}"
        server = desk.start("serve", "--port", str(port), "--threads", "8")
        workers = [desk.start("worker", "--interval", "0.5") for _ in range(2)]
        processes = [server, *workers]
        if not wait_until(lambda: _answers(base + "/healthz"), 60, every=0.5):
            raise RuntimeError("the web server did not start")
        kills, dropped = 0, 0
        started = time.monotonic()
        with Traffic(base, token, list(range(1, tickets + 1))) as traffic:
            drops: list[tuple[float, float]] = []
            for _ in range(12):
                time.sleep(rng.uniform(1, 3))
                began = time.monotonic()
                dropped += pg_terminate(PG_URL)
                drops.append((began, time.monotonic()))
                kills += 1
            # Let the last replies be queued.
            wait_until(lambda: not traffic.todo, 60, every=1)
        chaos_s = time.monotonic() - started
        say(f"  {kills} rounds, {dropped} connections dropped; {dict(traffic.counts)}")
        unexplained = [
            (a, b) for a, b in traffic.failures if not any(k0 <= b and k1 >= a for k0, k1 in drops)
        ]
        wait_until(lambda: unsettled(PG_URL) == 0, 300, every=3)
        network = {p["text"] for p in sandbox.call("posts", "Driftwood")}
        parked = desk.python("parked")
        never_left = [r for r in parked if r["text"] not in network]
        stuck = [r for r in never_left if r["may_have_left"]]
        # The lead's one click on each reply proven never sent.
        retried = sum(
            traffic._request("POST", f"/api/v1/replies/{r['id']}/retry") == 200
            for r in parked
            if not r["may_have_left"]
        )
        wait_until(lambda: unsettled(PG_URL) == 0, 120, every=2)
        state = desk.python("state")
        result = replies_check(state, sandbox)
    finally:
        for process in processes:
            desk.kill(process)
        sandbox.stop()
    counts = traffic.counts
    figure = (
        f"{counts['requests']:,} API requests over {kills} rounds of pg_terminate_backend "
        f"({dropped} connections dropped, {chaos_s:.0f} s): {counts['5xx first']} answered 5xx "
        f"or nothing at first; of {len(traffic.failures)} failed tries, {len(unexplained)} "
        f"while no connection was being dropped; {counts['5xx after retry']} 5xx and "
        f"{counts['no answer after retry']} unanswered after the client's retries; "
        f"{counts['replies queued']} replies queued: {len(parked)} parked, {len(never_left)} of "
        f"them never left ({len(stuck)} without a one-click retry), {retried} sent again by "
        f"the lead; then {result['status']}, {result['duplicate_posts']} duplicate posts, "
        f"{result['resends']} re-sends, {result['left']} left"
    )
    ok = (
        not unexplained
        and not counts["5xx after retry"]
        and not counts["no answer after retry"]
        and not stuck
        and replies_ok(result)
    )
    return figure, ok


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def rate_limits(
    workdir: Path, sizes: dict[str, int], worker_count: int, postgres: bool = False
) -> tuple[str, bool]:
    backlog = sizes["backlog"]
    trickle = backlog // 3
    reply_count = backlog // 5
    rng = random.Random(SEED)
    window, reads_per_window, posts_per_window = 5.0, 6, 8
    database = "PostgreSQL" if postgres else "SQLite"
    say(
        f"rate-limits: {backlog:,} mentions, {window:g} s windows, {worker_count} worker(s), "
        f"{database}"
    )
    if postgres:
        pg_recreate()
    sandbox = Sandbox(
        "plain",
        mentions=backlog,
        window=window,
        rate_limits={
            **dict.fromkeys(
                (
                    "GET /2/users/:id/mentions",
                    "GET /2/users/:id/tweets",
                    "GET /2/tweets",
                    "GET /2/users/me",
                    "GET /2/users/by/username/:username",
                ),
                reads_per_window,
            ),
            "POST /2/tweets": posts_per_window,
        },
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        desk = Desk(
            workdir,
            PG_URL if postgres else f"sqlite:///{workdir / 'rate.db'}",
            sandbox,
            MENTIONDESK_X_TIMEOUT_SECONDS="3",
            MENTIONDESK_OUTBOX_LEASE_SECONDS="6",
            MENTIONDESK_POLL_INTERVAL_SECONDS="1",
            # Retries come back soon after the (short) windows reset, as they do after X's.
            MENTIONDESK_OUTBOX_SWEEP_SECONDS="2",
        )
        started = time.monotonic()
        workers = [desk.start("worker", "--interval", "0.3") for _ in range(worker_count)]
        faults = Counter[str]()
        replies_queued = 0
        for step in range(30):
            time.sleep(1)
            for _ in range(trickle // 30):
                n = rng.randrange(10**6)
                sandbox.call("mention_add", f"late{n}", f"@Driftwood still broken for me #{n}")
            prefix = rng.choice(("/2/users/", "/2/tweets"))
            method = "GET" if prefix == "/2/users/" else "POST"
            if step % 3 == 0:
                sandbox.call("fault_add", method, prefix, kind="status", status=429, reset_in=3)
                faults["429"] += 1
            elif step % 3 == 1:
                status = rng.choice((500, 503))
                count = rng.randint(2, 4)
                sandbox.call("fault_add", method, prefix, kind="status", status=status, count=count)
                faults["5xx burst"] += 1
            if step == 10:
                replies_queued = desk.python("replies", count=reply_count)["created"]
        chaos_s = time.monotonic() - started
        say(f"  faults over after {chaos_s:.0f} s; draining")
        network = {p["id"] for p in sandbox.call("posts")}

        def drained() -> bool:
            state = desk.python("state")
            stored = set(state["remote_ids"])
            left = sum(r["status"] in ("queued", "sending") for r in state["replies"])
            say(f"  {len(network - stored)} mentions not stored, {left} replies left")
            return not (network - stored) and left == 0

        # The sandbox's limits set the pace (a page holds 100 mentions): the drain may take
        # twice as long as they allow, and never less than 3 minutes.
        pages = (backlog + trickle) / 100
        floor_s = (reply_count / posts_per_window + pages / reads_per_window) * window
        wait_until(drained, max(180, 2 * floor_s), every=4)
        drain_s = time.monotonic() - started - chaos_s
        state = desk.python("state")
        answers = sandbox.call("answers")
        result = replies_check(state, sandbox)
    finally:
        for w in workers:
            desk.kill(w)
        sandbox.stop()
    missing = len(network - set(state["remote_ids"]))
    early, examples = early_calls(answers)
    for example in examples:
        say(f"  early call: {example}")
    statuses = Counter(a["status"] for a in answers)
    figure = (
        f"{len(network):,} mentions, {replies_queued} replies; {len(answers):,} requests "
        f"({statuses[429]} answered 429, {sum(v for k, v in statuses.items() if k >= 500)} 5xx); "
        f"{early} calls before an announced reset; {missing} mentions not stored, "
        f"replies {result['status']}, {result['left']} left, {result['duplicate_posts']} "
        f"duplicates; faults {dict(faults)}; faults {chaos_s:.0f} s + drain {drain_s:.0f} s"
    )
    ok = not early and not missing and replies_ok(result)
    return figure, ok


# One worker, then two sharing the handles' tokens (a fleet), on SQLite (one machine: turns are
# file locks) and on PostgreSQL (advisory locks): each process learns windows from X's answers,
# shares the spent ones through the database, and takes turns per token and endpoint.
SCENARIOS: dict[str, list[tuple[str, Callable[[Path, dict[str, int]], tuple[str, bool]]]]] = {
    "ingest-kill": [("ingest-kill", ingest_kill)],
    "outbox-kill": [("outbox-kill", outbox_kill)],
    "pg-kill": [("pg-kill (PostgreSQL connections dropped)", pg_kill)],
    **{
        f"{network}-kill": [(f"{network}-kill", partial(open_kill, network=network))]
        for network in OPEN_NETWORKS
    },
    "rate-limits": [
        (
            f"rate-limits, {n} worker{'s' * (n > 1)} ({'PostgreSQL' if pg else 'SQLite'})",
            partial(rate_limits, worker_count=n, postgres=pg),
        )
        for n, pg in ((1, False), (2, False), (2, True))
    ],
}


def table(rows: Iterable[tuple[str, str, str]]) -> str:
    header = ("scenario", "figures", "verdict")
    rows = list(rows)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [header, tuple("-" * w for w in widths), *rows]
    return "\n".join(
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in lines
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SCENARIOS, help="one scenario")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the sizes")
    parser.add_argument("--full", action="store_true", help="the issue's sizes (long)")
    parser.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = WORKERS[args.worker](**json.loads(args.params))
        Path(args.out).write_text(json.dumps(result))
        return

    sizes = FULL if args.full else {k: int(v * args.scale) for k, v in SIZES.items()}
    load_before = os.getloadavg()[0]
    rows = []
    for only, scenarios in SCENARIOS.items():
        if args.only not in (None, only):
            continue
        for name, scenario in scenarios:
            with tempfile.TemporaryDirectory(prefix=f"mentiondesk-chaos-{only}-") as tmp:
                figure, ok = scenario(Path(tmp), sizes)
            rows.append((name, figure, "PASS" if ok else "FAIL"))
            print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))
    print(f"\nload average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    if any(verdict == "FAIL" for *_, verdict in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
