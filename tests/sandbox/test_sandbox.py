"""The sandbox X network on its own: faithful shapes, headers, errors, the control API, the
script, concurrency and the management command. Plain HTTP (httpx) against a running server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mentiondesk.sandbox.x.script import (
    DEMO_HANDLES,
    REQUESTERS,
    SCRIPT,
    SEED_COUNT,
    ScriptPlayer,
    script_seed,
)
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.sandbox.x.store import SandboxStore

X_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
FIELDS = {
    "tweet.fields": "conversation_id,created_at,in_reply_to_user_id,referenced_tweets,entities,"
    "author_id",
    "expansions": "author_id,referenced_tweets.id",
}


def api(server: SandboxServer, username: str = "Driftwood") -> httpx.Client:
    token = server.store.token_for(username)
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def test_posts_have_19_digit_increasing_string_ids_and_x_timestamps(sandbox: SandboxServer) -> None:
    past = datetime.now(UTC) - timedelta(hours=3)
    first = sandbox.store.mention_add("ana_codes", "@Driftwood one")
    second = sandbox.store.mention_add("ana_codes", "@Driftwood two", created_at=past)

    assert len(first) == len(second) == 19
    assert int(second) > int(first), "ids grow in insertion order, whatever created_at says"
    post = sandbox.store.post_get(second)
    assert post is not None
    assert X_TIME.match(post["created_at"])
    assert post["created_at"] == past.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert post["edit_history_tweet_ids"] == [second]
    assert post["conversation_id"] == second


def test_mentions_and_links_become_entities(sandbox: SandboxServer) -> None:
    post_id = sandbox.store.mention_add(
        "bea_sec",
        "@Driftwood @DriftwoodStatus spam wave on https://driftwood.dev/openleaf/leaf, see:",
        expanded_urls=["https://driftwood.dev/openleaf/leaf/-/issues/3391"],
    )
    post = sandbox.store.post_get(post_id)
    assert post is not None
    text = post["text"]

    mentions = post["entities"]["mentions"]
    assert [text[m["start"] : m["end"]] for m in mentions] == ["@Driftwood", "@DriftwoodStatus"]
    assert mentions[0]["id"] == sandbox.store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    urls = post["entities"]["urls"]
    assert [u["expanded_url"] for u in urls] == [
        "https://driftwood.dev/openleaf/leaf",
        "https://driftwood.dev/openleaf/leaf/-/issues/3391",
    ]
    for url in urls:
        assert re.fullmatch(r"https://t\.co/[A-Za-z0-9]{10}", url["url"])
        assert text[url["start"] : url["end"]] == url["url"]
        assert url["display_url"].startswith("driftwood.dev/openleaf/")
    assert "https://driftwood.dev" not in text


def test_only_requested_fields_and_expansions_are_returned(sandbox: SandboxServer) -> None:
    root = sandbox.store.mention_add("marta_dev", "@Driftwood diff view crashes")
    reply = sandbox.store.mention_add("marta_dev", "@Driftwood any news?", in_reply_to=root)
    client = api(sandbox)

    bare = client.get(f"/2/tweets/{reply}").json()
    full = client.get(f"/2/tweets/{reply}", params=FIELDS).json()

    assert set(bare) == {"data"}
    assert set(bare["data"]) == {"id", "text", "edit_history_tweet_ids"}
    assert full["data"]["conversation_id"] == root
    assert full["data"]["referenced_tweets"] == [{"type": "replied_to", "id": root}]
    assert full["includes"]["users"] == [
        {"id": full["data"]["author_id"], "name": "marta_dev", "username": "marta_dev"}
    ]
    assert [t["id"] for t in full["includes"]["tweets"]] == [root]


def test_empty_mentions_page_is_only_meta(sandbox: SandboxServer) -> None:
    driftwood = sandbox.store.user_by_username("Driftwood")
    assert driftwood is not None
    answer = api(sandbox).get(f"/2/users/{driftwood['id']}/mentions")
    assert answer.status_code == 200
    assert answer.json() == {"meta": {"result_count": 0}}


def test_mentions_meta_and_paging(sandbox: SandboxServer) -> None:
    ids = [sandbox.store.mention_add("kofi_builds", f"@Driftwood ping {n}") for n in range(7)]
    user_id = sandbox.store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    client = api(sandbox)

    first = client.get(f"/2/users/{user_id}/mentions", params={"max_results": 5}).json()
    token = first["meta"]["next_token"]
    second = client.get(
        f"/2/users/{user_id}/mentions", params={"max_results": 5, "pagination_token": token}
    ).json()

    assert first["meta"] == {
        "result_count": 5,
        "newest_id": ids[6],
        "oldest_id": ids[2],
        "next_token": token,
    }
    assert second["meta"] == {"result_count": 2, "newest_id": ids[1], "oldest_id": ids[0]}


def test_mentions_timeline_holds_mentions_and_replies_across_pages_and_deletes() -> None:
    # Enterprise: we also answer posts that do not mention us, which self-serve refuses.
    store = SandboxStore(x_plan="enterprise")
    ours = store.user_add("Driftwood")
    expected: list[str] = []
    for n in range(60):
        text = ("@driftwood" if n % 3 else "@Other") + f" post {n}"
        post = store.mention_add(f"user{n % 7}", text)
        if n % 3:
            expected.append(post)
        if n % 10 == 0:  # our answer, then the requester's reply to it (no @mention needed)
            answer = store.post_create(ours, f"thanks {n}", in_reply_to=post)
            expected.append(store.mention_add(f"user{n % 7}", f"ok {n}", in_reply_to=answer["id"]))
    gone = expected.pop(20)
    store.post_delete(store.post_get(gone)["author_id"], gone)  # type: ignore[index]
    newest_first = expected[::-1]

    def ids(**window: Any) -> list[str]:
        return [p["id"] for p in store.mentions_of(ours, **window)]

    assert ids() == newest_first
    assert ids(limit=5) == newest_first[:5]
    assert ids(until_id=newest_first[9], limit=5) == newest_first[10:15]
    assert ids(since_id=newest_first[-4]) == newest_first[:-4]
    assert ids(since_id=newest_first[12], until_id=newest_first[3]) == newest_first[4:12]
    assert ids(until_id=gone, limit=3) == [i for i in newest_first if int(i) < int(gone)][:3]

    with SandboxServer(store) as server:
        client = api(server)
        paged: list[str] = []
        params: dict[str, Any] = {"max_results": 7}
        while True:
            page = client.get(f"/2/users/{ours}/mentions", params=params).json()
            paged += [p["id"] for p in page.get("data", [])]
            if "next_token" not in page["meta"]:
                break
            params["pagination_token"] = page["meta"]["next_token"]
    assert paged == newest_first


def test_timelines_keep_the_posts_created_from_start_time_to_end_time(
    sandbox: SandboxServer,
) -> None:
    store = sandbox.store
    ours = store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    maya = store.user_add("maya")
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    ids = [
        store.mention_add("Driftwood", f"@maya answer {n}", created_at=noon + timedelta(minutes=n))
        for n in range(5)
    ]
    client = api(sandbox)

    def shown(path: str, **bounds: str) -> list[str]:
        answer = client.get(path, params={"max_results": 5, **bounds})
        assert answer.status_code == 200, answer.text
        return [p["id"] for p in answer.json().get("data", [])]

    # Inclusive to the second at both ends, as on X.
    timeline = f"/2/users/{ours}/tweets"
    bounded = shown(timeline, start_time="2026-12-01T12:01:00Z", end_time="2026-12-01T12:03:00Z")
    assert bounded == ids[3:0:-1]
    assert shown(timeline, end_time="2026-12-01T12:00:59Z") == ids[:1]
    assert shown(f"/2/users/{maya}/mentions", start_time="2026-12-01T12:04:00Z") == ids[4:]

    for bounds in ({"end_time": "yesterday"}, {"start_time": "2026-12-01T12:00:00"}):
        answer = client.get(timeline, params=bounds)
        assert answer.status_code == 400
        assert answer.json()["title"] == "Invalid Request"
    reversed_bounds = {"start_time": "2026-12-01T12:03:00Z", "end_time": "2026-12-01T12:01:00Z"}
    assert client.get(timeline, params=reversed_bounds).status_code == 400


@pytest.mark.parametrize("value", ["4", "101", "ten"])
def test_max_results_is_validated_like_x(sandbox: SandboxServer, value: str) -> None:
    user_id = sandbox.store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    answer = api(sandbox).get(f"/2/users/{user_id}/mentions", params={"max_results": value})
    assert answer.status_code == 400
    body = answer.json()
    assert body["title"] == "Invalid Request"
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert body["errors"][0]["parameters"] == {"max_results": [value]}


def test_every_authenticated_answer_has_rate_limit_headers_counting_down(
    sandbox: SandboxServer,
) -> None:
    client = api(sandbox)
    answers = [client.get("/2/users/me") for _ in range(3)]

    assert [a.headers["x-rate-limit-remaining"] for a in answers] == ["74", "73", "72"]
    assert {a.headers["x-rate-limit-limit"] for a in answers} == {"75"}
    reset = int(answers[0].headers["x-rate-limit-reset"])
    assert time.time() < reset <= time.time() + 15 * 60 + 1
    missing = client.get("/2/tweets/1999999999999999999")
    assert "x-rate-limit-limit" in missing.headers


def test_a_client_that_waits_for_the_announced_reset_is_never_refused() -> None:
    """X announces resets in whole seconds; the sandbox rounds its window's end up, so a
    sub-second test window never announces a reset before it is over."""
    with SandboxServer(SandboxStore(rate_limits={"GET /2/users/me": 1}, window=0.3)) as server:
        server.store.user_add("Driftwood")
        client = api(server)
        for _ in range(3):
            assert client.get("/2/users/me").status_code == 200
            refused = client.get("/2/users/me")
            assert refused.status_code == 429
            reset = int(refused.headers["x-rate-limit-reset"])
            time.sleep(max(reset - time.time(), 0))


def test_spent_window_answers_the_real_429() -> None:
    with SandboxServer(SandboxStore(rate_limits={"GET /2/users/me": 1})) as server:
        server.store.user_add("Driftwood")
        client = api(server)
        assert client.get("/2/users/me").status_code == 200
        answer = client.get("/2/users/me")
    assert answer.status_code == 429
    assert answer.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert answer.headers["x-rate-limit-remaining"] == "0"


def test_missing_or_unknown_token_is_401(sandbox: SandboxServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        answer = httpx.get(f"{sandbox.url}/2/users/me", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["title"] == "Unauthorized"


def test_missing_things_are_200_with_errors(sandbox: SandboxServer) -> None:
    client = api(sandbox)
    post_id = sandbox.store.mention_add("ana_codes", "@Driftwood hi")

    one = client.get("/2/tweets/1999999999999999999").json()
    some = client.get("/2/tweets", params={"ids": f"{post_id},1999999999999999999"}).json()
    user = client.get("/2/users/by/username/nobody_here").json()

    assert one["errors"][0]["type"] == "https://api.twitter.com/2/problems/resource-not-found"
    assert "data" not in one
    assert [p["id"] for p in some["data"]] == [post_id]
    assert some["errors"][0]["resource_id"] == "1999999999999999999"
    assert user["errors"][0]["detail"] == "Could not find user with username: [nobody_here]."


def test_create_is_201_and_duplicates_or_missing_parents_are_403(sandbox: SandboxServer) -> None:
    client = api(sandbox)
    created = client.post("/2/tweets", json={"text": "Hello from Driftwood"})
    duplicate = client.post("/2/tweets", json={"text": "Hello from Driftwood"})
    orphan = client.post(
        "/2/tweets",
        json={"text": "hi", "reply": {"in_reply_to_tweet_id": "1999999999999999999"}},
    )

    assert created.status_code == 201
    assert set(created.json()["data"]) == {"id", "text"}
    assert duplicate.status_code == 403
    assert duplicate.json() == {
        "title": "Forbidden",
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "status": 403,
    }
    assert orphan.status_code == 403
    assert "deleted or not visible" in orphan.json()["detail"]


def test_status_fault_answers_the_real_body_with_reset(sandbox: SandboxServer) -> None:
    sandbox.store.fault_add("GET", "/2/users/me", kind="status", status=429, reset_in=90, count=2)
    client = api(sandbox)
    answers = [client.get("/2/users/me") for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json()["title"] == "Too Many Requests"
    assert answers[0].headers["x-rate-limit-remaining"] == "0"
    assert int(answers[0].headers["x-rate-limit-reset"]) == pytest.approx(time.time() + 90, abs=3)
    assert [r.path for r in sandbox.store.request_log()] == ["/2/users/me"] * 3


def test_fault_add_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        SandboxStore().fault_add("GET", "/", kind="explode")


def test_control_api_drives_the_store_over_http(sandbox: SandboxServer) -> None:
    control = httpx.Client(base_url=f"{sandbox.url}/_sandbox")

    user = control.post("/users", json={"username": "yuki_t", "name": "Yuki Tanaka"}).json()
    tokens = control.get("/tokens").json()["tokens"]
    mention = control.post(
        "/mentions",
        json={
            "author": "yuki_t",
            "text": "@Driftwood SSH clones time out from Tokyo",
            "created_at": "2026-01-02T03:04:05+00:00",
        },
    ).json()["data"]
    control.post("/faults", json={"method": "POST", "path_prefix": "/2/tweets", "kind": "drop"})
    with pytest.raises(httpx.RemoteProtocolError):
        api(sandbox, "yuki_t").post("/2/tweets", json={"text": "hello"})
    posts = control.get("/posts", params={"author": "yuki_t"}).json()["posts"]
    requests = control.get("/requests").json()["requests"]
    bad = control.post("/mentions", json={"text": "no author"})

    assert tokens["yuki_t"] == user["token"] == sandbox.store.token_for("yuki_t")
    assert mention["created_at"] == "2026-01-02T03:04:05.000Z"
    assert [p["id"] for p in posts] == [mention["id"]], "a dropped request stores nothing"
    assert [(r["method"], r["path"]) for r in requests] == [("POST", "/2/tweets")]
    assert bad.status_code == 400
    assert control.post("/reset").status_code == 200
    assert sandbox.store.posts() == []


def test_answers_carry_the_network_clock_in_one_date_header_as_x_writes_it(
    sandbox: SandboxServer,
) -> None:
    """The network's clock can be set apart from the machine's over the control API (X's and a
    desk's clocks differ); its Date header, post times and post ids follow it."""
    control = httpx.Client(base_url=f"{sandbox.url}/_sandbox")

    def date_of(response: httpx.Response) -> datetime:
        (date,) = response.headers.get_list("date")
        # As in the recorded cassettes: `Fri, 07 Oct 2022 22:43:18 UTC`.
        assert re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d UTC$", date), date
        return parsedate_to_datetime(date)

    with api(sandbox) as client:
        in_step = date_of(client.get("/2/users/me")) - datetime.now(UTC)
        assert abs(in_step.total_seconds()) <= 2
        assert date_of(client.get("/2/nowhere")) is not None, "errors carry it too"

        clock = control.post("/clock", json={"offset_seconds": -300})
        assert clock.status_code == 200
        assert clock.json()["offset_seconds"] == -300
        behind = date_of(client.get("/2/users/me")) - datetime.now(UTC)
        assert abs(behind.total_seconds() + 300) <= 2
        created = client.post("/2/tweets", json={"text": "status: all green"}).json()["data"]
    post = sandbox.store.post_get(created["id"])
    assert post is not None
    stamped = datetime.fromisoformat(post["created_at"]) - datetime.now(UTC)
    assert abs(stamped.total_seconds() + 300) <= 2
    id_time = datetime.fromtimestamp(((int(created["id"]) >> 22) + 1288834974657) / 1000, UTC)
    assert abs((id_time - datetime.now(UTC)).total_seconds() + 300) <= 2
    now = datetime.fromisoformat(control.get("/clock").json()["now"])
    assert abs((now - datetime.now(UTC)).total_seconds() + 300) <= 2
    assert control.post("/clock", json={"offset_seconds": "soon"}).status_code == 400
    assert SandboxStore(clock_offset=timedelta(minutes=5)).now() > datetime.now(UTC) + timedelta(
        minutes=4
    )


def test_serves_many_concurrent_requests(sandbox: SandboxServer) -> None:
    user_id = sandbox.store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    for n in range(20):
        sandbox.store.mention_add(f"user_{n}", f"@Driftwood question {n}")

    def poll(_: int) -> list[int]:
        with api(sandbox) as client:
            return [
                client.get(f"/2/users/{user_id}/mentions", params=FIELDS).status_code
                for _ in range(5)
            ]

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = [s for batch in pool.map(poll, range(64)) for s in batch]

    assert statuses == [200] * 320


def test_script_is_realistic_enough() -> None:
    assert DEMO_HANDLES == [
        ("Driftwood", "main"),
        ("DriftwoodStatus", "status"),
        ("MoveToDriftwood", "campaign"),
    ]
    assert len(SCRIPT) >= 40
    assert len({m.author for m in SCRIPT}) >= 25
    assert {m.author for m in SCRIPT} <= {username for username, _ in REQUESTERS}
    assert {m.kind for m in SCRIPT} >= {"downtime", "bug", "feature", "question", "spam", "praise"}
    both = [m for m in SCRIPT if "@Driftwood " in m.text and "@DriftwoodStatus" in m.text]
    assert len(both) >= 2
    assert sum(m.thread for m in SCRIPT) >= 5
    assert sum(bool(m.urls) for m in SCRIPT) >= 5


def test_seed_then_player_adds_mentions_and_follows_up_on_our_replies() -> None:
    store = SandboxStore()
    now = datetime.now(UTC)
    seeded = script_seed(store, now=now)

    assert len(seeded) == SEED_COUNT
    times = [store.post_get(i)["created_at"] for i in seeded]  # type: ignore[index]
    assert times == sorted(times)
    assert times[0] < (now - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert all(store.user_by_username(u) for u, _ in DEMO_HANDLES + REQUESTERS)
    threaded = store.post_get(seeded[3])  # ana_codes follows up on her own first mention
    assert threaded is not None
    assert threaded["conversation_id"] == seeded[0]

    player = ScriptPlayer(store, follow_up_chance=1.0, seed=7)
    driftwood_id = store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    ours = store.post_create(driftwood_id, "Sorry Ana! We're on it.", in_reply_to=seeded[3])
    added = player.step()

    assert len(added) == 2  # the follow-up to our reply, then the next scripted mention
    follow_up = store.post_get(added[0])
    assert follow_up is not None
    assert follow_up["text"].startswith("@Driftwood ")
    assert follow_up["referenced_tweets"] == [{"type": "replied_to", "id": ours["id"]}]
    assert follow_up["conversation_id"] == seeded[0]
    assert follow_up["author_id"] == store.user_by_username("ana_codes")["id"]  # type: ignore[index]
    assert store.post_get(added[1])["text"] == SCRIPT[SEED_COUNT].text  # type: ignore[index]
    assert player.step() == [store.posts()[-1]["id"]], "each reply is followed up once"


def test_server_with_script_seeds_and_plays() -> None:
    with SandboxServer(script=True, script_interval=0.05) as server:
        deadline = time.monotonic() + 10
        while len(server.store.posts()) < SEED_COUNT + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.store.posts()) >= SEED_COUNT + 3


def test_management_command_prints_url_and_tokens(tmp_path: Path) -> None:
    env: dict[str, Any] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mentiondesk.settings",
        "MENTIONDESK_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "django", "sandbox", "--port", "0", "--no-script"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        printed = "".join(process.stdout.readline() for _ in range(5))
        url = re.search(r"http://127\.0\.0\.1:\d+", printed)
        tokens = dict(re.findall(r"@(\w+) .*token=(\S+)", printed))
        assert url is not None
        assert set(tokens) == {name for name, _ in DEMO_HANDLES}
        me = httpx.get(
            f"{url.group(0)}/2/users/me",
            headers={"Authorization": f"Bearer {tokens['DriftwoodStatus']}"},
        )
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert me.json()["data"]["username"] == "DriftwoodStatus"
