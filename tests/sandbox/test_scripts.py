"""The demo's Mastodon and Bluesky scripts (issue 17, item 5): the X script's people in each
network's shape, played by the shared ScriptPlayer, which answers our replies with
follow-ups on the network they were made on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mentiondesk.sandbox import bluesky_script, mastodon_script
from mentiondesk.sandbox.bluesky import BlueskyStore
from mentiondesk.sandbox.mastodon import MastodonStore
from mentiondesk.sandbox.script import REQUESTERS, SCRIPT_INTERVAL, ScriptPlayer
from mentiondesk.sandbox.x.server import SandboxServer

PASSWORDS = {"driftwood.dev": "main-pass", "status.driftwood.dev": "status-pass"}


def mastodon_player(store: MastodonStore) -> ScriptPlayer:
    """The Mastodon script after its seed, answering every reply of ours."""
    return ScriptPlayer(
        mastodon_script.MastodonStage(store),
        mastodon_script.SCRIPT,
        start_at=mastodon_script.SEED_COUNT,
        follow_up_chance=1.0,
    )


def test_the_scripts_speak_of_the_x_scripts_people() -> None:
    people = {username for username, _ in REQUESTERS}
    for script in (mastodon_script.SCRIPT, bluesky_script.SCRIPT):
        assert {m.author for m in script} <= people
        assert sum(m.thread for m in script) >= 2
    assert SandboxServer().script_interval == SCRIPT_INTERVAL, "one clock for every network"


def test_mastodon_seed_has_a_direct_mention_and_the_player_a_held_one() -> None:
    store = MastodonStore()
    now = datetime.now(UTC)
    seeded = mastodon_script.script_seed(store, now=now)

    assert len(seeded) == mastodon_script.SEED_COUNT
    times = [store.statuses[i]["created_at"] for i in seeded]
    assert times == sorted(times) and times[0] < now - timedelta(hours=5)
    driftwood = store.account_by_username("driftwood")
    assert driftwood is not None
    direct = [store.statuses[i] for i in seeded if store.statuses[i]["visibility"] == "direct"]
    assert [store.accounts[s["account_id"]].username for s in direct] == ["fatima_sec"]
    mine = [n for n in store.notifications if n["recipient_id"] == driftwood.id]
    assert len(mine) == len(seeded) and not any(n["filtered"] for n in mine)

    player = mastodon_player(store)
    (played,) = player.step()
    held = [n for n in store.notifications if n["status_id"] == played]
    assert held and all(n["filtered"] for n in held), "a stranger's mention is a request"
    assert store.accounts[store.statuses[played]["account_id"]].username == "yuki_t"


def test_mastodon_player_follows_up_on_our_reply_in_its_visibility() -> None:
    store = MastodonStore()
    seeded = mastodon_script.script_seed(store)
    fatima = next(i for i in seeded if store.statuses[i]["visibility"] == "direct")
    driftwood = store.account_by_username("driftwood")
    assert driftwood is not None
    ours = store.status_post(
        driftwood.id, "@fatima_sec sorry, mailing you", in_reply_to_id=fatima, visibility="direct"
    )

    player = mastodon_player(store)
    follow_up, _next_mention = player.step()
    status = store.statuses[follow_up]
    assert status["in_reply_to_id"] == ours["id"]
    assert status["visibility"] == "direct"
    assert status["text"].startswith("@driftwood ")
    assert store.accounts[status["account_id"]].username == "fatima_sec"
    assert len(player.step()) == 1, "each reply is followed up once"


def test_bluesky_posts_carry_facets_and_follow_ups_thread_to_our_reply() -> None:
    store = BlueskyStore()
    seeded = bluesky_script.script_seed(store, passwords=PASSWORDS)

    assert len(seeded) == bluesky_script.SEED_COUNT
    assert store.app_password("driftwood.dev") == "main-pass"
    marta = store.post_get(seeded[1])
    assert marta is not None and marta["author"] == "marta-dev.bsky.example"
    features = [f["features"][0]["$type"] for f in marta["value"]["facets"]]
    assert features == ["app.bsky.richtext.facet#mention", "app.bsky.richtext.facet#link"]

    ours = store.post_add("driftwood.dev", "Fix is rolling out.", reply_to=marta["uri"])
    player = ScriptPlayer(
        bluesky_script.BlueskyStage(store),
        bluesky_script.SCRIPT,
        start_at=bluesky_script.SEED_COUNT,
        follow_up_chance=1.0,
    )
    follow_up_uri, thread_uri = player.step()

    follow_up = store.post_get(follow_up_uri)
    assert follow_up is not None and follow_up["author"] == "marta-dev.bsky.example"
    assert follow_up["value"]["reply"]["parent"]["uri"] == ours
    assert follow_up["value"]["reply"]["root"]["uri"] == marta["uri"]
    assert follow_up["value"]["text"].startswith("@driftwood.dev ")
    assert follow_up["value"]["facets"][0]["features"][0]["did"] == store.did_of("driftwood.dev")
    # kofi adds to his own thread: a reply whose root is his first post.
    thread = store.post_get(thread_uri)
    assert thread is not None
    assert thread["value"]["reply"]["root"]["uri"] == seeded[0]
