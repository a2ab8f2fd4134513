from __future__ import annotations

import json

import pytest

from mentiondesk.channels.connectors.base import PayloadProblem
from mentiondesk.channels.connectors.x import parse_page
from mentiondesk.channels.models import Handle, IngestProblem, Post
from mentiondesk.intake import enrich, ingest
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.factories import remote_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def handles() -> dict[str, Handle]:
    return {
        "main": Handle.objects.create(username="Driftwood", remote_id="100", role="main"),
        "status": Handle.objects.create(username="DriftwoodStatus", remote_id="101", role="status"),
    }


def test_mention_store_is_idempotent(handles: dict[str, Handle]) -> None:
    post = remote_post(text="@Driftwood is the API down?")
    first = ingest.mentions_store(handle=handles["main"], posts=[post])
    again = ingest.mentions_store(handle=handles["main"], posts=[post, post])
    assert (first.stored, first.tickets_created) == (1, 1)
    assert (again.stored, again.tickets_created, again.duplicates) == (0, 0, 1)
    assert Post.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_follow_up_in_same_conversation_joins_the_open_ticket(handles: dict[str, Handle]) -> None:
    first = remote_post(author="maya", text="@Driftwood push fails with 502")
    ingest.mentions_store(handle=handles["main"], posts=[first])
    follow = remote_post(
        author="maya",
        author_id=first.author_id,
        text="@Driftwood still failing",
        conversation_id=first.conversation_id,
        in_reply_to_id=first.remote_id,
        minutes=10,
    )
    result = ingest.mentions_store(handle=handles["main"], posts=[follow])
    assert (result.tickets_created, result.follow_ups) == (0, 1)
    ticket = Ticket.objects.get()
    assert ticket.posts.count() == 2
    assert ticket.last_inbound_at == follow.created_at
    assert ticket.events.filter(kind=TicketEvent.Kind.FOLLOW_UP).count() == 1


def test_follow_up_reopens_a_solved_ticket_but_not_a_closed_one(handles: dict[str, Handle]) -> None:
    first = remote_post(author="omar", text="@Driftwood thanks!")
    ingest.mentions_store(handle=handles["main"], posts=[first])
    Ticket.objects.update(status=Ticket.Status.SOLVED)

    def follow(minutes: int) -> None:
        ingest.mentions_store(
            handle=handles["main"],
            posts=[
                remote_post(
                    author="omar",
                    author_id=first.author_id,
                    text="@Driftwood one more thing",
                    conversation_id=first.conversation_id,
                    minutes=minutes,
                )
            ],
        )

    follow(5)
    ticket = Ticket.objects.get()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.events.filter(kind=TicketEvent.Kind.REOPENED).exists()

    Ticket.objects.update(status=Ticket.Status.CLOSED)
    follow(10)
    assert Ticket.objects.count() == 2, "a closed ticket stays closed; the follow-up opens another"


def test_another_person_in_the_conversation_gets_their_own_ticket(
    handles: dict[str, Handle],
) -> None:
    first = remote_post(author="maya", text="@Driftwood outage?")
    other = remote_post(
        author="li", text="@maya @Driftwood same here", conversation_id=first.conversation_id
    )
    ingest.mentions_store(handle=handles["main"], posts=[first, other])
    assert sorted(Ticket.objects.values_list("requester_username", flat=True)) == ["li", "maya"]


def test_our_own_posts_never_open_tickets_and_stop_the_clock(handles: dict[str, Handle]) -> None:
    mention = remote_post(author="maya", text="@Driftwood hi")
    ingest.mentions_store(handle=handles["main"], posts=[mention])
    ours = remote_post(
        author="Driftwood",
        author_id="100",
        text="@maya hello! @DriftwoodStatus",
        conversation_id=mention.conversation_id,
        in_reply_to_id=mention.remote_id,
        minutes=3,
    )
    result = ingest.mentions_store(handle=handles["status"], posts=[ours])
    assert (result.outbound, result.tickets_created) == (1, 0)
    ticket = Ticket.objects.get()
    assert Post.objects.get(remote_id=ours.remote_id).direction == Post.Direction.OUTBOUND
    assert ticket.first_response_at == ours.created_at


def test_several_of_our_handles_mentioned_goes_to_main(handles: dict[str, Handle]) -> None:
    post = remote_post(text="@DriftwoodStatus @Driftwood is it down?")
    ingest.mentions_store(handle=handles["status"], posts=[post])
    assert Ticket.objects.get().handle == handles["main"]
    only_status = remote_post(author="kai", text="@DriftwoodStatus down?")
    ingest.mentions_store(handle=handles["main"], posts=[only_status])
    assert Ticket.objects.get(requester_username="kai").handle == handles["status"]


def test_unusable_items_are_kept_and_the_rest_of_the_page_is_stored(
    handles: dict[str, Handle],
) -> None:
    page = parse_page(
        {
            "data": [
                {"id": "1800000000000000001", "text": "@Driftwood ok", "author_id": "7"},
                {"id": "1800000000000000002", "author_id": "7"},  # no text
                {"text": "no id"},
            ],
            "errors": [
                {
                    "value": "9",
                    "detail": "Could not find tweet with ids: [9].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": "9",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ],
        }
    )
    result = ingest.mentions_store(handle=handles["main"], posts=page.posts, problems=page.problems)
    assert (result.stored, result.problems) == (1, 3)
    kept = list(IngestProblem.objects.values_list("raw", flat=True))
    assert {"text": "no id"} in kept
    assert any(isinstance(raw, dict) and raw.get("resource_id") == "9" for raw in kept)


def test_checkpoint_moves_only_forward(handles: dict[str, Handle]) -> None:
    handle = handles["main"]
    ingest.mentions_store(handle=handle, posts=[], checkpoint="1800000000000000500")
    ingest.mentions_store(handle=handle, posts=[], checkpoint="999")
    handle.refresh_from_db()
    assert handle.since_id == "1800000000000000500"


def test_real_reply_page_rebuilds_threads(shared_fixtures, handles: dict[str, Handle]) -> None:  # type: ignore[no-untyped-def]
    folder = shared_fixtures / "x-api-v2" / "academictwitteR" / "hk3"
    body = {
        "data": json.loads((folder / "data_1405589018948026377.json").read_text()),
        "includes": json.loads((folder / "users_1405589018948026377.json").read_text()),
    }
    page = parse_page(body)
    result = ingest.mentions_store(
        handle=handles["main"],
        posts=page.posts,
        context=page.included.values(),
        problems=page.problems,
    )
    assert result.stored == 500
    keys = {(p.conversation_id, p.author_id) for p in page.posts}
    assert Ticket.objects.count() == len(keys)
    # Parents from includes.tweets are stored as context on the tickets.
    assert Post.objects.count() > 500
    assert not [p for p in page.problems if not isinstance(p, PayloadProblem)]
    again = ingest.mentions_store(handle=handles["main"], posts=page.posts)
    assert again.stored == 0


def test_poll_fetches_a_missing_parent_for_context(desk, advocate) -> None:  # type: ignore[no-untyped-def]
    # The requester's first tweet does not mention us; their reply to it does.
    first = desk.store.mention_add("rosa", "my runner keeps timing out since this morning")
    desk.store.mention_add("rosa", "@Driftwood any idea? see above", in_reply_to=first)
    (result, *_) = ingest.mentions_poll_all()
    assert (result.stored, result.tickets_created) == (1, 1)
    ticket = Ticket.objects.get()
    texts = list(ticket.posts.values_list("text", flat=True))  # timeline order
    assert texts == [
        "my runner keeps timing out since this morning",
        "@Driftwood any idea? see above",
    ]


def test_an_earlier_post_arriving_late_moves_the_ticket_back(handles: dict[str, Handle]) -> None:
    first = remote_post(author="zoe", text="@Driftwood login broken", minutes=0)
    later = remote_post(
        author="zoe",
        author_id=first.author_id,
        text="@Driftwood still broken",
        conversation_id=first.conversation_id,
        minutes=20,
    )
    ingest.mentions_store(handle=handles["main"], posts=[later])
    ingest.mentions_store(handle=handles["main"], posts=[first])
    ticket = Ticket.objects.get()
    assert ticket.created_at == first.created_at, "the queue and the SLA count from the first post"
    assert ticket.last_inbound_at == later.created_at


def test_new_mentions_are_triaged_and_their_tickets_labelled(desk, advocate) -> None:  # type: ignore[no-untyped-def]
    desk.store.mention_add("nia", "@Driftwood is driftwood.dev down? getting 502 on every push")
    desk.store.mention_add("oli", "@Driftwood love the new merge request view, great work!")
    ingest.mentions_poll_all()
    posts = list(Post.objects.filter(direction="in"))
    assert enrich.posts_enrich(network="x", remote_ids=[p.remote_id for p in posts]) == 2
    intents = dict(Ticket.objects.values_list("requester_username", "intent"))
    assert intents == {"nia": "availability", "oli": "praise"}
    event = Ticket.objects.get(requester_username="nia").events.get(kind="intent_set")
    assert event.actor is None and event.message.startswith("Triage: Availability")
    # Labels set by a person are never overwritten by triage.
    Ticket.objects.filter(requester_username="oli").update(intent="other")
    assert enrich.posts_enrich(network="x", remote_ids=[p.remote_id for p in posts]) == 0


def test_a_post_with_an_unpaired_surrogate_is_kept_whole_and_the_rest_of_the_page_stored(
    desk,  # type: ignore[no-untyped-def]
    main_handle: Handle,
) -> None:
    # X escapes such a character as "\udc00" in its JSON: valid JSON, but no UTF-8 text, so
    # neither SQLite nor PostgreSQL can store it as a post.
    before = desk.store.mention_add("maya", "@Driftwood runner stuck")
    bad = desk.store.mention_add("omar", "@Driftwood broken \udc00 half")
    after = desk.store.mention_add("zoe", "@Driftwood still down")

    result = ingest.handle_poll(handle=main_handle)

    assert not result.error
    assert (result.stored, result.problems) == (2, 1)
    assert set(Post.objects.values_list("remote_id", flat=True)) == {before, after}
    problem = IngestProblem.objects.get()
    assert f"post {bad}" in problem.reason and "unpaired surrogate" in problem.reason
    # Kept whole: the item's JSON text, with the surrogate as its escape.
    assert isinstance(problem.raw, str) and "\\udc00" in problem.raw
    assert json.loads(problem.raw)["text"] == "@Driftwood broken \udc00 half"
    main_handle.refresh_from_db()
    assert main_handle.since_id == max(before, bad, after, key=int)
    # The next poll reads past it: nothing new, nothing failed.
    again = ingest.handle_poll(handle=main_handle)
    assert (again.error, again.stored, again.problems) == ("", 0, 0)
