"""History import (`mentiondesk import`): both formats, conversations, tickets, problems."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle, IngestProblem, Post
from mentiondesk.core.errors import DomainError
from mentiondesk.intake.imports import services
from mentiondesk.intake.imports.readers import CSV_COLUMNS, csv_time
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketDocument, TicketEvent
from mentiondesk.tickets.search import search_parse, ticket_search, ticket_similar
from tests.factories import remote_post, tickets_from
from tests.processes import mentiondesk

pytestmark = pytest.mark.django_db

# The public data set's own first conversation (sprintcare), with our handle in its place:
# replies come before the posts they answer, as in the original file.
SPRINT = [
    ["1", "Driftwood", "False", "Tue Oct 31 22:10:47 +0000 2017",
     "@115712 I understand. I would like to assist you.", "2", "3"],
    ["2", "115712", "True", "Tue Oct 31 22:11:45 +0000 2017",
     "@Driftwood and how do you propose we do that", "", "1"],
    ["3", "115712", "True", "Tue Oct 31 22:08:27 +0000 2017",
     "@Driftwood I have sent several private messages and no one is responding", "1", "4"],
    ["4", "Driftwood", "False", "Tue Oct 31 21:54:49 +0000 2017",
     "@115712 Please send us a Private Message so that we can further assist you.", "3", "5"],
    ["5", "115712", "True", "Tue Oct 31 21:49:35 +0000 2017", "@Driftwood I did.", "4", "6"],
    ["6", "Driftwood", "False", "Tue Oct 31 21:46:24 +0000 2017",
     "@115712 Can you please send us a private message?", "5,7", "8"],
    ["8", "115712", "True", "Tue Oct 31 21:45:10 +0000 2017",
     "@Driftwood is the worst customer service", "9,6,10", ""],
    # A second customer, answered last: solved.
    ["12", "115713", "True", "Tue Oct 31 22:04:47 +0000 2017",
     "@Driftwood my webhook is not firing after the upgrade", "11", ""],
    ["11", "Driftwood", "False", "Tue Oct 31 22:10:35 +0000 2017",
     "@115713 Sorry! Re-save the webhook settings, that fixes it.", "", "12"],
    # Another brand's conversation: not ours, left out.
    ["16", "115714", "True", "Tue Oct 31 22:04:47 +0000 2017", "@AmazonHelp my parcel", "15", ""],
    ["15", "AmazonHelp", "False", "Tue Oct 31 22:10:35 +0000 2017", "@115714 hi there", "", "16"],
]  # fmt: skip


def at(text: str) -> datetime:
    return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)


def write_csv(path: Path, rows: list[list[str]], *, header: tuple[str, ...] = CSV_COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.fixture
def handle() -> Handle:
    Handle.objects.create(username="DriftwoodStatus", role="status", remote_id="101")
    return Handle.objects.create(username="Driftwood", role="main", remote_id="100")


def run(path: Path, handle: Handle, **kwargs: Any) -> services.ImportResult:
    return services.history_import(path=path, handle=handle, **kwargs)


def counts() -> dict[str, int]:
    models = (Post, Ticket, TicketEvent, TicketDocument, IngestProblem)
    return {model.__name__: model.objects.count() for model in models}


def test_csv_time_reads_the_data_sets_format_and_refuses_impossible_dates() -> None:
    assert csv_time("Tue Oct 31 22:10:47 +0000 2017") == "2017-10-31 22:10:47"
    assert csv_time("Tue Oct 31 22:10:47 +0200 2017") == "2017-10-31 20:10:47"
    for bad in (
        "Tue Oct 32 22:10:47 +0000 2017",
        "Tue Feb 30 10:00:00 +0000 2017",
        "Tue Oct 31 24:10:47 +0000 2017",
        "2017-10-31T22:10:47Z",
        "",
    ):
        assert csv_time(bad) is None, bad


def test_csv_conversations_are_rebuilt_from_reply_links(tmp_path: Path, handle: Handle) -> None:
    result = run(write_csv(tmp_path / "twcs.csv", SPRINT), handle)

    assert result.format == "csv"
    conversation = Post.objects.filter(conversation_id="8")
    # Every post of the first thread, though the file lists replies before their parents.
    assert sorted(conversation.values_list("remote_id", flat=True), key=int) == [
        "1", "2", "3", "4", "5", "6", "8",
    ]  # fmt: skip
    assert Post.objects.get(remote_id="2").in_reply_to_remote_id == "1"
    assert Post.objects.get(remote_id="11").conversation_id == "12"
    # The brand's replies are ours (outbound, from the handle); customers' are inbound.
    ours = Post.objects.filter(direction=Post.Direction.OUTBOUND)
    assert set(ours.values_list("remote_id", flat=True)) == {"1", "4", "6", "11"}
    assert set(ours.values_list("handle__username", flat=True)) == {"Driftwood"}
    assert Post.objects.get(remote_id="5").author_username == "115712"
    # Another brand's conversation is not ours.
    assert not Post.objects.filter(remote_id__in=["15", "16"]).exists()
    assert (result.totals.other_brands, result.totals.unrelated) == (1, 1)
    # Raw payload kept: the CSV row as read.
    raw = Post.objects.get(remote_id="8").raw
    assert raw["created_at"] == "Tue Oct 31 21:45:10 +0000 2017"
    assert raw["response_tweet_id"] == "9,6,10"
    assert raw["inbound"] == "True"


# Imports that keep 2017's conversations open, as if they were this week's.
LIVE = datetime(2017, 1, 1, tzinfo=UTC)


def test_csv_tickets_take_their_times_and_status_from_the_posts(
    tmp_path: Path, handle: Handle
) -> None:
    result = run(write_csv(tmp_path / "twcs.csv", SPRINT), handle, open_since=LIVE)

    assert result.totals.tickets_created == {"open": 1, "pending": 1}
    # 115712 wrote last: still open, answered at our first reply after their first post.
    open_ticket = Ticket.objects.get(requester_remote_id="115712")
    assert open_ticket.status == Ticket.Status.OPEN
    assert open_ticket.handle == handle
    assert open_ticket.conversation_id == "8"
    assert open_ticket.created_at == at("Tue Oct 31 21:45:10 +0000 2017")
    assert open_ticket.first_response_at == at("Tue Oct 31 21:46:24 +0000 2017")
    assert open_ticket.last_inbound_at == at("Tue Oct 31 22:11:45 +0000 2017")
    assert open_ticket.solved_at is None
    assert open_ticket.subject == "@Driftwood is the worst customer service"
    assert open_ticket.posts.count() == 7
    # We wrote last: answered, waiting for the customer (as ingest leaves it).
    pending = Ticket.objects.get(requester_remote_id="115713")
    assert pending.status == Ticket.Status.PENDING
    assert pending.created_at == at("Tue Oct 31 22:04:47 +0000 2017")
    assert pending.first_response_at == at("Tue Oct 31 22:10:35 +0000 2017")
    assert pending.solved_at is None
    assert list(pending.posts.values_list("remote_id", flat=True)) == ["12", "11"]
    # Updated when the last post was written: `sort:updated` orders history as it happened.
    assert pending.updated_at == at("Tue Oct 31 22:10:35 +0000 2017")
    assert open_ticket.updated_at == open_ticket.last_inbound_at
    # The same invariants as ingest: one CREATED event each, a search document each.
    for ticket in (open_ticket, pending):
        assert list(ticket.events.values_list("kind", flat=True)) == [TicketEvent.Kind.CREATED]
        assert ticket.events.get().data == {"import": "twcs.csv"}
        assert TicketDocument.objects.filter(ticket=ticket).exists()


def test_conversations_older_than_open_since_are_solved_history_out_of_play(
    tmp_path: Path, handle: Handle, advocate: User
) -> None:
    recent = datetime.now(UTC) - timedelta(days=2)
    rows = [
        *SPRINT,
        [
            "50",
            "555",
            "True",
            recent.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "@Driftwood hi",
            "",
            "",
        ],
    ]
    result = run(write_csv(tmp_path / "twcs.csv", rows), handle)  # default: the last 7 days

    assert result.totals.tickets_created == {"new": 1, "solved": 2}
    history = Ticket.objects.filter(status=Ticket.Status.SOLVED)
    # Solved at their last post, whoever wrote it; first responses as the posts say.
    assert {t.requester_remote_id: t.solved_at for t in history} == {
        "115712": at("Tue Oct 31 22:11:45 +0000 2017"),
        "115713": at("Tue Oct 31 22:10:35 +0000 2017"),
    }
    assert history.get(requester_remote_id="115712").first_response_at == at(
        "Tue Oct 31 21:46:24 +0000 2017"
    )
    # Search still finds history; Play hands out only this week's ticket, then nothing.
    assert len(ticket_search(query=search_parse(text="worst customer service"))) == 1
    assert ticket_services.ticket_next(user=advocate).requester_remote_id == "555"
    ticket_actions.ticket_status_set(
        ticket=Ticket.objects.get(requester_remote_id="555"), status="solved", by=advocate
    )
    assert ticket_services.ticket_next(user=advocate) is None


def test_open_since_reads_ages_and_dates() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert services.open_since_parse("7d", now=now) == now - timedelta(days=7)
    assert services.open_since_parse("36h", now=now) == now - timedelta(hours=36)
    assert services.open_since_parse("3", now=now) == now - timedelta(days=3)
    assert services.open_since_parse("2026-12-01", now=now) == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(DomainError, match="give an age"):
        services.open_since_parse("last week", now=now)


def test_unanswered_ticket_is_new_and_joins_the_queue(tmp_path: Path, handle: Handle) -> None:
    rows = [["30", "555", "True", "Wed Nov 01 08:00:00 +0000 2017", "@Driftwood hello?", "", ""]]
    run(write_csv(tmp_path / "one.csv", rows), handle, open_since=LIVE)
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.first_response_at, ticket.solved_at) == ("new", None, None)


def test_importing_twice_adds_nothing(tmp_path: Path, handle: Handle) -> None:
    path = write_csv(tmp_path / "twcs.csv", [*SPRINT, ["40", "9", "True", "bad date", "x", "", ""]])
    first = run(path, handle)
    after_first = counts()
    again = run(path, handle)

    assert after_first == {
        "Post": 9,
        "Ticket": 2,
        "TicketEvent": 2,
        "TicketDocument": 2,
        "IngestProblem": 1,
    }
    assert counts() == after_first
    assert again.totals.already_stored == 9
    assert (again.totals.stored_in, again.totals.stored_out) == (0, 0)
    assert again.totals.tickets_created == {}
    # The problem is still reported, and said to be kept already.
    assert (again.problem_count, again.problems_kept) == (1, 0)
    assert first.problems_kept == 1


@pytest.mark.parametrize("batch_rows", [1, 4, 5000])
def test_any_batch_size_stages_each_post_once_and_the_first_of_an_id_wins(
    tmp_path: Path, handle: Handle, settings: Any, batch_rows: int
) -> None:
    settings.IMPORT_BATCH_ROWS = batch_rows
    # The same post id again further down (another batch but with the largest size): the
    # row read first is the one kept, on both engines (SQLite skips it on the way in,
    # PostgreSQL de-duplicates after COPY).
    again = ["12", "115713", "True", "Tue Oct 31 23:00:00 +0000 2017", "@Driftwood later", "", ""]
    path = write_csv(tmp_path / "twcs.csv", [*SPRINT, again])
    reads: list[int] = []

    result = run(path, handle, on_read=lambda _bytes, rows: reads.append(rows))

    # One call per batch: the file is staged batch by batch, never held whole.
    assert len(reads) == -(-(len(SPRINT) + 1) // batch_rows)
    assert reads[-1] == result.rows == len(SPRINT) + 1
    assert result.totals.staged == len(SPRINT)
    assert Post.objects.get(remote_id="12").text.startswith("@Driftwood my webhook")
    assert counts() == {
        "Post": 9,
        "Ticket": 2,
        "TicketEvent": 2,
        "TicketDocument": 2,
        "IngestProblem": 0,
    }


def test_bad_rows_are_reported_by_line_kept_whole_and_the_rest_imported(
    tmp_path: Path, handle: Handle
) -> None:
    rows = [
        ["50", "700", "True", "Tue Oct 32 22:10:47 +0000 2017", "@Driftwood bad date", "", ""],
        ["51", "700", "True", "Tue Oct 31 22:10:47 +0000 2017", "@Driftwood short row"],
        ["52", "700", "maybe", "Tue Oct 31 22:10:47 +0000 2017", "@Driftwood hm", "", ""],
        ["x53", "700", "True", "Tue Oct 31 22:10:47 +0000 2017", "@Driftwood id", "", ""],
        ["54", "700", "True", "Tue Oct 31 22:10:47 +0000 2017", "@Driftwood fine", "", ""],
        # A reply to a post in neither the file nor the database: imported, and said so.
        ["55", "701", "True", "Tue Oct 31 23:00:00 +0000 2017", "@Driftwood hi", "", "999"],
    ]
    result = run(write_csv(tmp_path / "bad.csv", rows), handle)

    assert result.problem_count == 4
    lines = [line for line, _ in result.problems]
    assert lines == [2, 3, 4, 5]
    reasons = dict(result.problems)
    assert "created_at 'Tue Oct 32 22:10:47 +0000 2017'" in reasons[2]
    assert "5 fields, the header has 7" in reasons[3]
    assert "inbound 'maybe'" in reasons[4]
    assert "tweet_id 'x53'" in reasons[5]
    kept = IngestProblem.objects.order_by("id")
    assert [p.raw["line"] for p in kept] == [2, 3, 4, 5]
    assert kept[0].reason.startswith("line 2: created_at")
    assert kept[0].raw["raw"]["text"] == "@Driftwood bad date"
    assert kept[1].raw["raw"] == rows[1]  # a short row is kept as the list it was
    assert kept[0].endpoint.startswith("import bad.csv sha256:")
    # The usable rows are in.
    assert set(Post.objects.values_list("remote_id", flat=True)) == {"54", "55"}
    assert result.totals.orphan_count == 1
    assert result.totals.orphans == [(7, "55", "999")]
    assert Post.objects.get(remote_id="55").conversation_id == "999"


def test_a_loop_of_reply_links_is_reported_not_imported(tmp_path: Path, handle: Handle) -> None:
    rows = [
        ["81", "800", "True", "Tue Oct 31 22:10:47 +0000 2017", "@Driftwood a", "", "82"],
        ["82", "800", "True", "Tue Oct 31 22:11:47 +0000 2017", "@Driftwood b", "", "81"],
        ["83", "801", "True", "Tue Oct 31 22:12:47 +0000 2017", "@Driftwood fine", "", ""],
    ]
    result = run(write_csv(tmp_path / "loop.csv", rows), handle)
    assert [line for line, _ in result.problems] == [2, 3]
    assert "post 81 is in a loop of reply links" in result.problems[0][1]
    assert list(Post.objects.values_list("remote_id", flat=True)) == ["83"]
    kept = IngestProblem.objects.order_by("id").first()
    assert kept is not None
    assert kept.raw["raw"]["text"] == "@Driftwood a"


def test_a_file_that_cannot_be_read_imports_nothing(tmp_path: Path, handle: Handle) -> None:
    with pytest.raises(DomainError, match="lacks author_id"):
        run(write_csv(tmp_path / "x.csv", [["1"]], header=("tweet_id", "text")), handle)
    with pytest.raises(DomainError, match="No such file"):
        run(tmp_path / "missing.csv", handle)
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(DomainError, match="cannot tell the format"):
        run(tmp_path / "notes.txt", handle)
    with pytest.raises(DomainError, match="not JSON"):
        run(write_csv(tmp_path / "twcs.csv", SPRINT), handle, fmt="json")
    assert counts()["Post"] == 0


def test_gzip_and_a_format_named_by_hand(tmp_path: Path, handle: Handle) -> None:
    plain = write_csv(tmp_path / "twcs.csv", SPRINT)
    packed = tmp_path / "history.data.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    result = run(packed, handle, fmt="csv")
    assert result.totals.stored_in + result.totals.stored_out == 9


def test_reply_to_a_ticket_the_desk_has_joins_it(tmp_path: Path, handle: Handle) -> None:
    mention = remote_post(author="maya", author_id="4242", text="@Driftwood push fails")
    (ticket,) = tickets_from(handle, mention)
    rows = [
        ["61", "Driftwood", "False", "Fri Nov 20 09:05:00 +0000 2026", "@maya retry?", "62",
         mention.remote_id],
        ["62", "4242", "True", "Fri Nov 20 09:07:00 +0000 2026", "@Driftwood still failing",
         "", "61"],
    ]  # fmt: skip
    result = run(write_csv(tmp_path / "more.csv", rows), handle)

    assert result.totals.tickets_created == {}
    assert result.totals.tickets_updated == 1
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert set(ticket.posts.values_list("remote_id", flat=True)) == {mention.remote_id, "61", "62"}
    assert Post.objects.get(remote_id="62").conversation_id == mention.conversation_id
    assert ticket.first_response_at == at("Fri Nov 20 09:05:00 +0000 2026")
    assert ticket.last_inbound_at == at("Fri Nov 20 09:07:00 +0000 2026")
    assert ticket.events.filter(kind=TicketEvent.Kind.FOLLOW_UP).count() == 1


def test_imported_solved_tickets_are_found_by_search_and_similar(
    tmp_path: Path, handle: Handle
) -> None:
    run(write_csv(tmp_path / "twcs.csv", SPRINT), handle)
    hits = ticket_search(query=search_parse(text="webhook status:solved"))
    assert [h.ticket.requester_remote_id for h in hits] == ["115713"]
    # A new mention about the same thing finds the imported answer.
    (fresh,) = tickets_from(handle, remote_post(text="@Driftwood webhook not firing since upgrade"))
    similar = ticket_similar(ticket=fresh)
    assert [h.ticket.requester_remote_id for h in similar] == ["115713"]


def test_documents_are_what_the_search_refresh_builds(tmp_path: Path, handle: Handle) -> None:
    from mentiondesk.tickets.search import ticket_documents_refresh

    run(write_csv(tmp_path / "twcs.csv", SPRINT), handle)
    imported = dict(TicketDocument.objects.values_list("ticket_id", "body"))
    ticket_documents_refresh(ticket_ids=list(imported))
    assert dict(TicketDocument.objects.values_list("ticket_id", "body")) == imported


# --- X API v2 pages ----------------------------------------------------------------------------

USERS = [
    {"id": "100", "username": "Driftwood", "name": "Driftwood"},
    {"id": "7001", "username": "maya", "name": "Maya"},
    {"id": "7002", "username": "omar", "name": "Omar"},
]


def tweet(
    pid: str,
    author: str,
    text: str,
    conv: str,
    *,
    reply_to: str | None = None,
    minute: int = 0,
    mentions: tuple[str, ...] = ("Driftwood",),
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": pid,
        "author_id": author,
        "text": text,
        "conversation_id": conv,
        "created_at": f"2026-11-20T09:{minute:02d}:00.000Z",
        "entities": {"mentions": [{"start": 0, "end": 10, "username": m} for m in mentions]},
        "edit_history_tweet_ids": [pid],
    }
    if reply_to:
        item["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
    return item


def pages() -> list[dict[str, Any]]:
    """Two pages of the mentions endpoint: maya asks, we answer (our post in includes as the
    parent of her thanks), omar asks and waits."""
    maya_q = tweet("900001", "7001", "@Driftwood runner stuck", "900001", minute=1)
    ours = tweet("900002", "100", "@maya restart it", "900001", reply_to="900001", minute=3,
                 mentions=("maya",))  # fmt: skip
    maya_thanks = tweet("900003", "7001", "@Driftwood thanks", "900001", reply_to="900002",
                        minute=5)  # fmt: skip
    omar = tweet("900004", "7002", "@Driftwood billing invoice missing", "900004", minute=6)
    return [
        {
            "data": [maya_thanks, omar],
            "includes": {"users": USERS, "tweets": [ours]},
            "meta": {"result_count": 2, "newest_id": "900004", "oldest_id": "900003"},
        },
        {
            "data": [maya_q, {"id": "900005", "author_id": "7002"}],  # the second has no text
            "includes": {"users": USERS},
            "meta": {"result_count": 2},
        },
    ]


def check_x_import(result: services.ImportResult) -> None:
    assert Post.objects.count() == 4
    assert Post.objects.get(remote_id="900002").direction == Post.Direction.OUTBOUND
    maya = Ticket.objects.get(requester_username="maya")
    assert maya.status == Ticket.Status.OPEN  # she wrote last
    assert maya.first_response_at == datetime(2026, 11, 20, 9, 3, tzinfo=UTC)
    assert set(maya.posts.values_list("remote_id", flat=True)) == {"900001", "900002", "900003"}
    omar = Ticket.objects.get(requester_username="omar")
    assert omar.status == Ticket.Status.NEW
    assert result.problem_count == 1
    ((_, reason),) = result.problems
    assert "post 900005: missing text" in reason
    return None


def test_x_page_file(tmp_path: Path, handle: Handle) -> None:
    path = tmp_path / "mentions.json"
    path.write_text(json.dumps(pages(), indent=2))
    result = run(path, handle, open_since=LIVE)
    assert result.format == "json"
    check_x_import(result)
    # The second page starts on a later line; its broken item is reported there.
    assert result.problems[0][0] > 10


def test_x_json_lines_with_a_broken_line(tmp_path: Path, handle: Handle) -> None:
    path = tmp_path / "mentions.jsonl"
    first, second = pages()
    path.write_text(json.dumps(first) + "\n{not json\n" + json.dumps(second) + "\n")
    result = run(path, handle)
    assert result.format == "jsonl"
    assert [line for line, _ in result.problems] == [2, 3]
    assert "not JSON" in result.problems[0][1]
    assert Post.objects.count() == 4
    # Pages one per file, concatenated without a newline format: read as JSON values.
    again = tmp_path / "again.json"
    again.write_text(json.dumps(first, indent=1) + "\n" + json.dumps(second, indent=1))
    assert run(again, handle).totals.already_stored == 4
    assert Post.objects.count() == 4


def test_x_truncated_array_keeps_what_came_before(tmp_path: Path, handle: Handle) -> None:
    first, second = pages()
    text = json.dumps([first, second], indent=1)
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index('"900005"')])
    result = run(path, handle)
    assert Post.objects.filter(remote_id="900004").exists()
    assert any("the rest of the file cannot be read" in r for _, r in result.problems)


def test_real_search_page_rebuilds_threads(shared_fixtures: Path, tmp_path: Path, db: None) -> None:
    """A real full-archive search page (academictwitteR hk3): 500 replies and their parents."""
    folder = shared_fixtures / "x-api-v2" / "academictwitteR" / "hk3"
    data = json.loads((folder / "data_1405589018948026377.json").read_text())
    includes = json.loads((folder / "users_1405589018948026377.json").read_text())
    page = tmp_path / "hk3.json"
    page.write_text(json.dumps({"data": data, "includes": includes}))
    handle = Handle.objects.create(username="appledaily_hk", role="main")

    result = services.history_import(path=page, handle=handle)

    mentioning = {
        t["id"]
        for t in data
        if any(
            isinstance(m, dict) and str(m.get("username")).lower() == "appledaily_hk"
            for m in (t.get("entities", {}).get("mentions") or [])
        )
    }
    stored = set(Post.objects.values_list("remote_id", flat=True))
    assert mentioning <= stored
    assert result.totals.stored_out == Post.objects.filter(author_username="appledaily_hk").count()
    for post in Post.objects.filter(remote_id__in=mentioning):
        assert post.ticket is not None
        assert post.ticket.requester_remote_id == post.author_remote_id
        assert (
            post.conversation_id
            == next(t for t in data if t["id"] == post.remote_id)["conversation_id"]
        )
    # Tickets only for people who wrote to the handle: not for those who only posted in a
    # thread it was part of.
    wrote_to_us = [
        p
        for p in Post.objects.filter(direction="in")
        if "appledaily_hk" in {m.lower() for m in p.mentions}
    ]
    assert Ticket.objects.count() == len(
        {(p.conversation_id, p.author_remote_id) for p in wrote_to_us}
    )
    assert Ticket.objects.count() < len(
        {(p.conversation_id, p.author_remote_id) for p in Post.objects.filter(direction="in")}
    )


# --- The command ---------------------------------------------------------------------------------


def test_command_prints_the_summary_and_refuses_unknown_handles(
    tmp_path: Path, handle: Handle
) -> None:
    from io import StringIO

    path = write_csv(tmp_path / "twcs.csv", [*SPRINT, ["70", "1", "True", "nope", "x", "", ""]])
    out = StringIO()
    with pytest.raises(CommandError, match="give an age"):
        call_command("import", str(path), "--open-since", "soon", stdout=StringIO())
    call_command(
        "import", str(path), "--handle", "driftwood", "--open-since", "2017-01-01", stdout=out
    )
    text = out.getvalue()
    assert "tickets created: 2 (1 open, 1 pending)" in text
    assert "line 13: created_at 'nope'" in text
    with pytest.raises(CommandError, match="@Nobody is not one of our handles"):
        call_command("import", str(path), "--handle", "Nobody", stdout=StringIO())


def generated_csv(path: Path, conversations: int) -> int:
    """Conversations of a question and our answer (the answer first, as in the data set)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        for n in range(conversations):
            q, a = 2 * n + 1, 2 * n + 2
            minute, second = divmod(n % 3600, 60)
            stamp = f"Wed Nov 01 10:{minute:02d}:{second:02d} +0000 2017"
            later = f"Wed Nov 01 11:{minute:02d}:{second:02d} +0000 2017"
            out.writerow([a, "Driftwood", "False", later, f"@{900 + n} done", "", q])
            out.writerow([q, 900 + n, "True", stamp, f"@Driftwood question {n}", a, ""])
    return 2 * conversations


@pytest.mark.django_db(transaction=True)
def test_command_streams_a_large_file_in_a_real_process(tmp_path: Path) -> None:
    Handle.objects.create(username="Driftwood", role="main")
    path = tmp_path / "big.csv"
    rows = generated_csv(path, 30_000)

    done = mentiondesk("import", str(path), timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{rows:,} rows" in done.stdout
    assert "tickets created: 30,000 (30,000 solved)" in done.stdout
    assert done.stderr == ""  # no progress bar without a terminal
    assert Ticket.objects.filter(status="solved").count() == 30_000
    assert Post.objects.count() == rows

    again = mentiondesk("import", str(path), "--quiet", timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"already stored:  {rows:,} posts" in again.stdout
    assert Post.objects.count() == rows

    missing = mentiondesk("import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1
    assert "No such file" in missing.stderr


def test_the_handle_defaults_to_the_only_main_one(handle: Handle) -> None:
    assert services.import_handle(username=None) == handle
    assert services.import_handle(username="@driftwoodstatus").role == "status"
    Handle.objects.create(username="Other", role="main")
    with pytest.raises(DomainError, match="name the handle"):
        services.import_handle(username=None)


def test_imported_tickets_get_their_sla_state_after_commit(
    tmp_path: Path, handle: Handle, django_capture_on_commit_callbacks: Any
) -> None:
    from mentiondesk.sla.models import TicketSla

    with django_capture_on_commit_callbacks() as queued:
        run(write_csv(tmp_path / "twcs.csv", SPRINT), handle)
    assert not TicketSla.objects.exists()  # the worker's job, after commit, as after ingest
    for callback in queued:
        callback()
    assert set(TicketSla.objects.values_list("ticket_id", flat=True)) == set(
        Ticket.objects.values_list("pk", flat=True)
    )


def test_a_post_with_an_unpaired_surrogate_is_a_problem_by_line_and_the_rest_imported(
    tmp_path: Path, handle: Handle
) -> None:
    first, second = pages()
    first["data"][1]["text"] = "@Driftwood billing \udc00 missing"  # omar's post
    path = tmp_path / "mentions.jsonl"
    # json.dumps writes the surrogate as its escape, as X does.
    path.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    result = run(path, handle)
    reasons = dict(result.problems)
    assert "post 900004: an unpaired surrogate in its text" in reasons[1]
    assert "post 900005: missing text" in reasons[2]
    assert set(Post.objects.values_list("remote_id", flat=True)) == {
        "900001",
        "900002",
        "900003",
    }
    kept = IngestProblem.objects.get(raw__line=1)
    assert json.loads(kept.raw["raw"])["text"] == "@Driftwood billing \udc00 missing"


def test_a_csv_with_an_unpaired_surrogate_imports(tmp_path: Path, handle: Handle) -> None:
    path = tmp_path / "twcs.csv"
    write_csv(path, SPRINT[:2])
    # The surrogate's bytes (what a careless encoder writes) are no UTF-8: read as U+FFFD.
    with path.open("ab") as f:
        f.write(b'90,700,True,Tue Oct 31 22:10:47 +0000 2017,"@Driftwood a \xed\xb0\x80 b",,\n')
    result = run(path, handle)
    assert result.problem_count == 0
    assert Post.objects.get(remote_id="90").text == "@Driftwood a \ufffd\ufffd\ufffd b"


def test_deeply_nested_json_is_a_problem_by_line_and_the_rest_imported(
    tmp_path: Path, handle: Handle
) -> None:
    first, second = pages()
    deep = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = tmp_path / "mentions.jsonl"
    lines.write_text(json.dumps(first) + "\n" + deep + "\n" + json.dumps(second) + "\n")
    result = run(lines, handle)
    assert [line for line, _ in result.problems] == [2, 3]
    assert "nested too deeply" in result.problems[0][1]
    assert Post.objects.count() == 4
    # In a JSON array nothing after such a value can be found again: what came before is in.
    array = tmp_path / "mentions.json"
    array.write_text("[" + json.dumps(first) + ",\n" + deep + "]")
    result = run(array, handle)
    assert [line for line, _ in result.problems] == [2]
    assert "nested too deeply" in result.problems[0][1]


SLA_POLICY = """
[[handle]]
network = "x"
username = "Driftwood"
role = "main"
credentials_env = "MENTIONDESK_X_TOKEN_DRIFTWOOD"

[sla.business_hours]
mon = "09:00-17:00"

[[sla.target]]
name = "standard"
first_response = "2h"
resolution = "24h"
"""


@pytest.mark.parametrize(
    ("year", "created"),
    [("0001", "0001-01-01T00:00:00.000Z"), ("9999", "9999-12-31T23:59:59.000Z")],
)
def test_a_post_dated_at_the_ends_of_the_calendar_is_a_problem_and_sla_still_applies(
    tmp_path: Path, handle: Handle, year: str, created: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Year 1 made `policy apply` with [sla] fail with an OverflowError (issue 18, item 11)."""
    from mentiondesk.actions import policy as policy_actions
    from mentiondesk.sla.models import TicketSla

    first, second = pages()
    first["data"][1]["created_at"] = created  # omar's post
    lines = tmp_path / "mentions.jsonl"
    lines.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    odd = ["90", "700", "True", f"Tue Oct 31 22:10:47 +0000 {year}", "@Driftwood a", "", ""]
    table = write_csv(tmp_path / "twcs.csv", [*SPRINT[:2], odd])
    main = Handle.objects.get(username="Driftwood")
    # Kept open, however old: the SLA clocks run on every ticket.
    since = datetime.min.replace(tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        result = run(lines, main, open_since=since)
        csv_result = run(table, main, open_since=since)
    with django_capture_on_commit_callbacks(execute=True):
        policy_actions.policy_apply_text(text=SLA_POLICY, source="sla.toml")

    assert "post 900004: bad created_at" in dict(result.problems)[1]
    assert "a time from 1970 to 2099 is expected" in dict(result.problems)[1]
    assert dict(csv_result.problems)[4] == (
        f"created_at 'Tue Oct 31 22:10:47 +0000 {year}' is not a time from 1970 to 2099"
    )
    assert IngestProblem.objects.filter(raw__line=4, raw__raw__tweet_id="90").exists()
    stored = set(Post.objects.values_list("remote_id", flat=True))
    assert "900004" not in stored and "90" not in stored and "900001" in stored
    assert set(TicketSla.objects.values_list("ticket_id", flat=True)) == set(
        Ticket.objects.values_list("pk", flat=True)
    )
