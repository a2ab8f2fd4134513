"""History import on the open networks (`mentiondesk import`): a Mastodon account archive's
outbox.json and a Bluesky repo (a CAR export, or listRecords pages of posts). Each goes
through the service or the command; the exports of the sandbox tests are made from what the
sandbox network holds, as the network would export it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import libipld
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.connectors.bluesky.parse import ipld_json
from mentiondesk.channels.models import Handle, IngestProblem, Post
from mentiondesk.intake import ingest
from mentiondesk.intake.imports import services
from mentiondesk.intake.imports.bluesky import OTHER_RECORDS
from mentiondesk.intake.imports.mastodon import BOOSTS
from mentiondesk.tickets.models import Ticket, TicketDocument, TicketEvent
from tests.open_networks import BlueskyNet, MastodonNet, Network, poll
from tests.processes import mentiondesk

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
OUTBOX = FIXTURES / "mastodon_outbox.json"
INSTANCE = "https://social.example"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
KOFI_URI = "https://fosstodon.example/users/kofi/statuses/113499990000000007"


def counts() -> dict[str, int]:
    models = (Post, Ticket, TicketEvent, TicketDocument, IngestProblem)
    return {model.__name__: model.objects.count() for model in models}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def toot() -> Handle:
    return Handle.objects.create(
        network="mastodon",
        username="driftwood",
        role="main",
        base_url=INSTANCE,
        remote_id="109000000000000001",
    )


def kofi_mention(handle: Handle) -> Ticket:
    """Kofi (on another server) asked us, and a poll stored it under our instance's id."""
    ingest.mentions_store(
        handle=handle,
        posts=[
            RemotePost(
                remote_id="113499990000000888",
                author_id="109000000000000777",
                author_username="kofi@fosstodon.example",
                text="@driftwood my webhook is not firing after the upgrade",
                created_at=at("2026-11-02T10:00:00Z"),
                conversation_id="113499990000000888",
                mentions=("driftwood",),
                raw={"id": "113499990000000888", "uri": KOFI_URI, "visibility": "public"},
            )
        ],
    )
    return Ticket.objects.get(requester_remote_id="109000000000000777")


# --- Mastodon: the outbox of an account archive ---------------------------------------------------


def test_an_outbox_answers_the_ticket_the_desk_has_and_threads_our_posts(toot: Handle) -> None:
    ticket = kofi_mention(toot)
    assert ticket.status == Ticket.Status.NEW

    result = services.history_import(path=OUTBOX, handle=toot, open_since=LONG_AGO)

    assert result.format == "mastodon-outbox"
    assert result.skipped == {BOOSTS: 1}
    assert (result.totals.stored_out, result.totals.stored_in) == (5, 0)
    ours = Post.objects.filter(network="mastodon", direction="out")
    assert set(ours.values_list("remote_id", flat=True)) == {
        f"11350000000000000{n}" for n in (1, 2, 3, 4, 6)
    }
    # The reply to a status of another server finds it by its URI: the id our poll stored.
    answer = Post.objects.get(remote_id="113500000000000002")
    assert answer.in_reply_to_remote_id == "113499990000000888"
    assert answer.conversation_id == "113499990000000888"
    assert answer.ticket == ticket
    assert answer.handle == toot
    assert answer.created_at == at("2026-11-02T10:15:30Z")
    assert answer.text.startswith("@kofi Sorry about that!")
    assert answer.mentions == ["kofi@fosstodon.example"]
    ticket.refresh_from_db()
    assert ticket.first_response_at == at("2026-11-02T10:15:30Z")
    assert ticket.status == Ticket.Status.PENDING
    # A thread of ours under a local status the desk never stored: one conversation, named
    # after that status (its id on our instance), listed as an unknown parent.
    first, second = (Post.objects.get(remote_id=f"11350000000000000{n}") for n in (3, 4))
    assert first.in_reply_to_remote_id == "113499980000000004"
    assert second.in_reply_to_remote_id == first.remote_id
    assert first.conversation_id == second.conversation_id == "113499980000000004"
    assert first.text == "@ana Exports are under Settings > Data."
    # A direct reply keeps its audience (a reply to it mirrors it), and its unknown parent on
    # another server stays named by its URI.
    direct = Post.objects.get(remote_id="113500000000000006")
    assert direct.raw["visibility"] == "direct"
    assert direct.in_reply_to_remote_id.startswith("https://fosstodon.example/")
    assert {parent for _, _, parent in result.totals.orphans} == {
        "113499980000000004",
        "https://fosstodon.example/users/kofi/statuses/113499990000000050",
    }
    # Links as the Mastodon connector reads them; the post links to its own page.
    news = Post.objects.get(remote_id="113500000000000001")
    assert news.text.endswith("Notes: https://driftwood.example/releases/4.2")
    assert news.urls[0]["expanded_url"] == "https://driftwood.example/releases/4.2"
    assert news.url == "https://social.example/@driftwood/113500000000000001"
    assert news.raw["visibility"] == "public"
    # The broken item is a problem by line, kept whole; no ticket was opened by our posts.
    assert result.problem_count == 1
    ((line, reason),) = result.problems
    assert "published" in reason
    assert OUTBOX.read_text().splitlines()[line - 1].strip() == "{"
    kept = IngestProblem.objects.get()
    assert kept.raw["raw"]["object"]["id"].endswith("/113500000000000007")
    assert Ticket.objects.count() == 1

    before = counts()
    again = services.history_import(path=OUTBOX, handle=toot, open_since=LONG_AGO)
    assert counts() == before
    assert again.totals.already_stored == 5


def test_the_command_picks_the_handle_of_the_files_network_and_prints_the_skips(
    toot: Handle,
) -> None:
    Handle.objects.create(network="x", username="Driftwood", role="main", remote_id="100")
    out = StringIO()
    call_command("import", str(OUTBOX), "--handle", "Driftwood", "--quiet", stdout=out)
    text = out.getvalue()
    assert "(mastodon-outbox) as @driftwood" in text
    assert "posts stored:    5 (0 inbound, 5 ours)" in text
    assert f"skipped:         1 {BOOSTS}" in text
    assert "Note without a readable published time" in text
    assert Post.objects.filter(network="mastodon").count() == 5
    assert not Post.objects.filter(network="x").exists()


def test_a_file_of_another_network_is_refused_and_nothing_is_written(
    tmp_path: Path, toot: Handle
) -> None:
    csv = tmp_path / "twcs.csv"
    csv.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "1,115712,True,Tue Oct 31 22:10:47 +0000 2017,@driftwood hi,,\n"
    )
    with pytest.raises(CommandError, match=r"csv \(x history\) but @driftwood is a mastodon"):
        call_command("import", str(csv), "--handle", "driftwood", stdout=StringIO())
    with pytest.raises(CommandError, match="takes mastodon-outbox"):
        call_command(
            "import", str(OUTBOX), "--handle", "driftwood", "--format", "bluesky-json",
            stdout=StringIO(),
        )  # fmt: skip
    sky = Handle.objects.create(network="bluesky", username="driftwood.example", role="main")
    with pytest.raises(CommandError, match=r"but @driftwood\.example is a bluesky handle"):
        call_command("import", str(OUTBOX), "--handle", sky.username, stdout=StringIO())
    assert counts() == dict.fromkeys(counts(), 0)


def test_an_outbox_broken_part_way_keeps_what_came_before(tmp_path: Path, toot: Handle) -> None:
    text = OUTBOX.read_text()
    cut = tmp_path / "outbox.json"
    cut.write_text(text[: text.index('"type": "Announce"')])
    result = services.history_import(path=cut, handle=toot, open_since=LONG_AGO)
    assert result.totals.stored_out == 4
    assert "broken JSON" in result.problems[-1][1]

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"type": "OrderedCollection", "first": "outbox?page=1"}))
    with pytest.raises(Exception, match="no 'orderedItems' array"):
        services.history_import(path=other, handle=toot, fmt="mastodon-outbox")


# --- Bluesky: a repo export (CAR) and listRecords pages ------------------------------------------


def _cid(block: bytes) -> bytes:
    """A CIDv1 of a DAG-CBOR block with its SHA-256 (the form atproto uses)."""
    return bytes([1, 0x71, 0x12, 0x20]) + hashlib.sha256(block).digest()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def repo_car(did: str, records: dict[str, dict[str, Any]]) -> bytes:
    """A repo export as com.atproto.sync.getRepo gives it, built with the atproto SDK's own
    DAG-CBOR codec (libipld): the records, one tree node holding their keys (prefix-
    compressed), and the commit naming it, the CAR's root. Unsigned: the import does not
    check signatures (the file is the handle owner's own)."""
    blocks: list[tuple[bytes, bytes]] = []

    def put(value: Any) -> bytes:
        data = libipld.encode_dag_cbor(value)
        cid = _cid(data)
        blocks.append((cid, data))
        return cid

    entries, previous = [], b""
    for key in sorted(records):
        raw = key.encode()
        prefix = 0
        while prefix < min(len(raw), len(previous)) and raw[prefix] == previous[prefix]:
            prefix += 1
        entries.append({"p": prefix, "k": raw[prefix:], "v": put(records[key]), "t": None})
        previous = raw
    tree = put({"l": None, "e": entries})
    commit = put({"did": did, "version": 3, "data": tree, "rev": "3lbt2a2f4c22k", "prev": None})
    header = libipld.encode_dag_cbor({"version": 1, "roots": [commit]})
    body = b"".join(_varint(len(cid) + len(data)) + cid + data for cid, data in blocks)
    return _varint(len(header)) + header + body


DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
ANA = "did:plc:2ktczqfubk3b7bfsj5pafnmj"
QUESTION = f"at://{ANA}/app.bsky.feed.post/3lbsz6wqyzk2a"


@pytest.fixture
def sky() -> Handle:
    return Handle.objects.create(
        network="bluesky", username="driftwood.example", role="main", remote_id=DID
    )


def ana_mention(handle: Handle) -> Ticket:
    record = {
        "$type": "app.bsky.feed.post",
        "text": "@driftwood.example the export is empty",
        "createdAt": "2026-11-03T08:00:00.000Z",
    }
    ingest.mentions_store(
        handle=handle,
        posts=[
            RemotePost(
                remote_id=QUESTION,
                author_id=ANA,
                author_username="ana.example",
                text=record["text"],
                created_at=at("2026-11-03T08:00:00Z"),
                conversation_id=QUESTION,
                mentions=("driftwood.example",),
                raw={"uri": QUESTION, "cid": "bafyreia", "record": record},
            )
        ],
    )
    return Ticket.objects.get(network="bluesky")


def our_records() -> dict[str, dict[str, Any]]:
    question = {"uri": QUESTION, "cid": "bafyreia"}
    answer = f"at://{DID}/app.bsky.feed.post/3lbt2a2f4c22k"
    return {
        "app.bsky.feed.post/3lbt2a2f4c22k": {
            "$type": "app.bsky.feed.post",
            "text": "Sorry! Exports fill in a minute after you ask: docs.example/export",
            "createdAt": "2026-11-03T08:30:00.000Z",
            "langs": ["en"],
            "reply": {"root": question, "parent": question},
            "facets": [
                {
                    "index": {"byteStart": 50, "byteEnd": 68},
                    "features": [
                        {
                            "$type": "app.bsky.richtext.facet#link",
                            "uri": "https://docs.example/export",
                        }
                    ],
                }
            ],
        },
        "app.bsky.feed.post/3lbt2b7rxkc2k": {
            "$type": "app.bsky.feed.post",
            "text": "(a CSV is on its way too)",
            "createdAt": "2026-11-03T08:31:00.000Z",
            "reply": {"root": question, "parent": {"uri": answer, "cid": "bafyreib"}},
            # A blob is linked by its CID (a raw-codec CIDv1): DAG-CBOR link in the CAR.
            "embed": {
                "$type": "app.bsky.embed.images",
                "images": [
                    {
                        "alt": "the export screen",
                        "image": {
                            "$type": "blob",
                            "ref": bytes([1, 0x55, 0x12, 0x20]) + hashlib.sha256(b"png").digest(),
                            "mimeType": "image/png",
                            "size": 3,
                        },
                    }
                ],
            },
        },
        "app.bsky.feed.like/3lbt2c3zz5k2k": {
            "$type": "app.bsky.feed.like",
            "subject": question,
            "createdAt": "2026-11-03T08:29:00.000Z",
        },
        "app.bsky.actor.profile/self": {"$type": "app.bsky.actor.profile", "displayName": "Dw"},
        "app.bsky.feed.post/3lbt2d4aaaa2k": {
            "$type": "app.bsky.feed.post",
            "text": "no createdAt",
        },
    }


def test_a_repo_car_answers_the_ticket_and_threads_by_uri(tmp_path: Path, sky: Handle) -> None:
    ticket = ana_mention(sky)
    car = tmp_path / "repo.car"
    car.write_bytes(repo_car(DID, our_records()))

    result = services.history_import(path=car, handle=sky, open_since=LONG_AGO)

    assert result.format == "bluesky-car"
    assert result.skipped == {OTHER_RECORDS: 2}
    assert result.totals.stored_out == 2
    answer_uri = f"at://{DID}/app.bsky.feed.post/3lbt2a2f4c22k"
    answer = Post.objects.get(remote_id=answer_uri)
    assert (answer.in_reply_to_remote_id, answer.conversation_id) == (QUESTION, QUESTION)
    assert answer.ticket == ticket
    assert answer.author_username == "driftwood.example"
    assert answer.urls[0]["expanded_url"] == "https://docs.example/export"
    # The record keeps what a reply to it needs (its cid and its own reply refs).
    assert answer.raw["cid"].startswith("bafyrei")
    assert answer.raw["record"]["reply"]["root"]["uri"] == QUESTION
    follow = Post.objects.get(remote_id__endswith="3lbt2b7rxkc2k")
    assert follow.in_reply_to_remote_id == answer_uri
    # Links in the record are kept in the JSON form the API gives them.
    image = follow.raw["record"]["embed"]["images"][0]["image"]
    assert image["ref"]["$link"].startswith("bafkrei")
    assert follow.ticket == ticket
    ticket.refresh_from_db()
    assert ticket.first_response_at == at("2026-11-03T08:30:00Z")
    assert ticket.status == Ticket.Status.PENDING
    ((_, reason),) = result.problems
    assert "3lbt2d4aaaa2k" in reason

    before = counts()
    services.history_import(path=car, handle=sky, open_since=LONG_AGO)
    assert counts() == before


def test_a_car_of_another_repo_or_not_a_car_is_refused(tmp_path: Path, sky: Handle) -> None:
    other = tmp_path / "other.car"
    other.write_bytes(repo_car(ANA, our_records()))
    with pytest.raises(Exception, match=f"the repo of {ANA}, not of @driftwood.example"):
        services.history_import(path=other, handle=sky)
    junk = tmp_path / "junk.car"
    junk.write_bytes(b"\x0anot a car at all")
    with pytest.raises(Exception, match="not a Bluesky repo export"):
        services.history_import(path=junk, handle=sky)
    assert counts() == dict.fromkeys(counts(), 0)


def test_a_car_whose_tree_links_a_node_twice_is_a_problem_not_walked_forever(
    tmp_path: Path, sky: Handle
) -> None:
    """Content addressing forbids a cycle, not a node linked twice: 40 levels each linking the
    next twice (as `l` and as an entry's `t`) would be 2^40 visits. Each node is walked once;
    a second link to one is where the tree breaks: a problem listed, the import done."""
    blocks: list[tuple[bytes, bytes]] = []

    def put(value: Any) -> bytes:
        data = libipld.encode_dag_cbor(value)
        blocks.append((_cid(data), data))
        return blocks[-1][0]

    record = put({"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-11-03T08:30:00Z"})
    node = put(
        {
            "l": None,
            "e": [{"p": 0, "k": b"app.bsky.feed.post/3lbt2a2f4c22k", "v": record, "t": None}],
        }
    )
    for _ in range(40):
        node = put(
            {
                "l": node,
                "e": [{"p": 0, "k": b"app.bsky.feed.post/3lbt2a2f4c23k", "v": record, "t": node}],
            }
        )
    commit = put({"did": DID, "version": 3, "data": node, "rev": "3lbt2a2f4c22k", "prev": None})
    header = libipld.encode_dag_cbor({"version": 1, "roots": [commit]})
    body = b"".join(_varint(len(cid) + len(data)) + cid + data for cid, data in blocks)
    car = tmp_path / "crafted.car"
    car.write_bytes(_varint(len(header)) + header + body)

    result = services.history_import(path=car, handle=sky)

    ((_, reason),) = result.problems
    assert "records tree is broken from here" in reason and "is missing or bad" in reason


def test_list_records_pages_as_json_lines(tmp_path: Path, sky: Handle) -> None:
    records = our_records()
    page = [
        {"uri": f"at://{DID}/{key}", "cid": "bafyreic" + str(n), "value": ipld_json(value)}
        for n, (key, value) in enumerate(records.items())
        if key.startswith("app.bsky.feed.post/")
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text(
        json.dumps({"records": page[:1], "cursor": "3lbt2a2f4c22k"})
        + "\n{not json\n"
        + json.dumps({"records": page[1:]})
        + "\n"
    )
    out = StringIO()
    call_command("import", str(path), "--quiet", stdout=out)
    text = out.getvalue()
    assert "(bluesky-json) as @driftwood.example" in text
    assert "posts stored:    2 (0 inbound, 2 ours)" in text
    assert "line 2: not JSON" in text
    assert "line 3: post at://" in text
    assert Post.objects.filter(network="bluesky").count() == 2


# --- An import, then a live poll of the same conversations: the same tickets ----------------------


def export(net: Network, tmp_path: Path) -> Path:
    """Our account's history as the network exports it, made from what the sandbox holds."""
    if isinstance(net, MastodonNet):
        store = net.server.store
        account = store.account_by_username(net.main)
        assert account is not None
        items = []
        for status in store.statuses_by(account.id):
            rendered = store.render_status(status, viewer_id=account.id)
            parent = store.statuses.get(status["in_reply_to_id"] or "")
            to = ["https://www.w3.org/ns/activitystreams#Public"]
            note = {
                "id": rendered["uri"],
                "type": "Note",
                "inReplyTo": store.render_status(parent, viewer_id=None)["uri"] if parent else None,
                "published": rendered["created_at"],
                "url": rendered["url"],
                "attributedTo": rendered["account"]["uri"],
                "to": to,
                "cc": [],
                "content": rendered["content"],
                "tag": [{"type": "Mention", "name": f"@{m['acct']}"} for m in rendered["mentions"]],
            }
            items.append(
                {"id": f"{note['id']}/activity", "type": "Create",
                 "actor": note["attributedTo"], "to": to, "object": note}
            )  # fmt: skip
        path = tmp_path / "outbox.json"
        path.write_text(json.dumps({"id": "outbox.json", "type": "OrderedCollection",
                                    "orderedItems": items}))  # fmt: skip
        return path
    assert isinstance(net, BlueskyNet)
    did = net.server.store.did_of(net.main)
    posts = net.server.store.posts_by(net.main)
    records = {f"app.bsky.feed.post/{p['rkey']}": p["value"] for p in posts}
    path = tmp_path / "repo.car"
    path.write_bytes(repo_car(did, records))
    return path


def answer_as_us(net: Network, text: str, *, reply_to: str) -> None:
    """We answer in the network's own app, not the desk."""
    if isinstance(net, MastodonNet):
        account = net.server.store.account_by_username(net.main)
        assert account is not None
        net.server.store.status_post(account.id, f"@ana {text}", in_reply_to_id=reply_to)
    else:
        assert isinstance(net, BlueskyNet)
        net.server.store.post_add(net.main, text, reply_to=reply_to)


def conversation_state(question: str) -> tuple[Any, ...]:
    """What the desk made of a question and our answer, with nothing that names either."""
    asked = Post.objects.get(remote_id=question)
    ticket = asked.ticket
    assert ticket is not None
    (answer,) = Post.objects.filter(network=asked.network, in_reply_to_remote_id=question)
    return (
        ticket.status,
        ticket.created_at == asked.created_at,
        ticket.first_response_at == answer.created_at,
        ticket.conversation_id == asked.conversation_id == answer.conversation_id,
        answer.ticket == ticket,
        answer.direction,
        answer.handle.username if answer.handle else None,
        answer.author_remote_id == asked.ticket.handle.remote_id,
        answer.text.strip(),
        answer.url.split("/")[:3],
        ticket.events.count(),
    )


def test_an_import_then_a_poll_gives_the_tickets_a_poll_alone_gives(
    net: Network, tmp_path: Path
) -> None:
    imported = net.mention("@main how do I rotate my API key?")
    polled = net.mention("@main how do I rotate my API key?", who="kofi")
    poll()
    handle = Handle.objects.get(network=net.name, username=net.main)
    answer_as_us(net, "Settings > Keys", reply_to=imported)

    result = services.history_import(path=export(net, tmp_path), handle=handle)
    assert result.totals.stored_out == 1
    answer_as_us(net, "Settings > Keys", reply_to=polled)
    poll()
    stored = Post.objects.count()
    poll()

    assert Post.objects.count() == stored == 4, "nothing the import stored was stored again"
    assert conversation_state(imported) == conversation_state(polled)
    assert conversation_state(imported)[0] == Ticket.Status.PENDING


# --- Telling the formats apart; what cannot be used ----------------------------------------------


def test_formats_are_told_by_name_or_first_characters(tmp_path: Path) -> None:
    def told(name: str, content: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content)
        return services.import_format(path=path, fmt=None)

    outbox = OUTBOX.read_bytes()
    car = repo_car(DID, {"app.bsky.feed.post/3lbt2a2f4c22k": {"text": "x"}})
    records = json.dumps({"records": [{"uri": f"at://{DID}/app.bsky.feed.post/3l", "value": {
        "$type": "app.bsky.feed.post"}}]}).encode()  # fmt: skip
    assert told("archive-outbox.json", outbox) == "mastodon-outbox"
    assert told("export", outbox) == "mastodon-outbox"
    assert told("repo.car", car) == "bluesky-car"
    assert told("download", car) == "bluesky-car"
    assert told("posts.json", records) == "bluesky-json"
    assert told("posts.jsonl", records + b"\n" + records) == "bluesky-json"
    assert told("pages.json", b'[{"data": [{"id": "1", "text": "hi"}]}]') == "json"
    assert told("pages", b'{"data": []}\n{"data": []}\n') == "jsonl"


def test_items_that_are_not_our_posts_are_problems_kept_whole(tmp_path: Path, toot: Handle) -> None:
    note = json.loads(OUTBOX.read_text())["orderedItems"][0]
    someone = {**note, "actor": "https://social.example/users/ana"}
    by_uri = {**note, "object": note["object"]["id"]}
    elsewhere = {**note, "object": {**note["object"], "id": "https://other.example/users/x/1"}}
    path = tmp_path / "outbox.json"
    path.write_text(
        json.dumps(
            {"type": "OrderedCollection",
             "orderedItems": [someone, by_uri, elsewhere, "nonsense", {"type": "Like"}, note]},
            indent=1,
        )
    )  # fmt: skip
    result = services.history_import(path=path, handle=toot)
    reasons = [reason for _, reason in result.problems]
    assert reasons == [
        "a post of https://social.example/users/ana, not of @driftwood",
        "not a Note",
        "Note id 'https://other.example/users/x/1' is not a status of https://social.example",
        "not a Create or Announce activity (None)",
        "not a Create or Announce activity ('Like')",
    ]
    assert result.totals.stored_out == 1
    assert IngestProblem.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_1_on_another_networks_file_and_writes_nothing(tmp_path: Path) -> None:
    Handle.objects.create(network="bluesky", username="driftwood.example", role="main")
    done = mentiondesk("import", str(OUTBOX), "--handle", "driftwood.example")
    assert done.returncode == 1
    assert "is mastodon-outbox (mastodon history)" in done.stderr
    assert "takes bluesky-car|bluesky-json" in done.stderr
    assert counts() == dict.fromkeys(counts(), 0)


def test_the_archive_itself_is_read_through_to_its_outbox(tmp_path: Path, toot: Handle) -> None:
    """Mastodon's archive-….tar.gz as BackupService writes it: media first, then outbox.json."""
    import tarfile

    path = tmp_path / "archive-20261207211500-0123456789abcdef.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        media = tmp_path / "original.png"
        media.write_bytes(b"\x89PNG" + b"\x00" * 4096)
        archive.add(media, arcname="media_attachments/files/113/original/original.png")
        archive.add(OUTBOX, arcname="outbox.json")
        archive.add(OUTBOX, arcname="likes.json")
    out = StringIO()
    call_command("import", str(path), "--handle", "driftwood", "--quiet", stdout=out)
    assert "(mastodon-outbox) as @driftwood" in out.getvalue()
    assert Post.objects.filter(network="mastodon").count() == 5

    empty = tmp_path / "archive-empty.tar.gz"
    with tarfile.open(empty, "w:gz") as archive:
        archive.add(media, arcname="avatar.png")
    with pytest.raises(CommandError, match=r"no outbox\.json in the archive"):
        call_command("import", str(empty), "--handle", "driftwood", stdout=StringIO())
