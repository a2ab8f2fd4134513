from __future__ import annotations

import pytest

from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError
from mentiondesk.tickets import search
from mentiondesk.tickets.models import Ticket
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus() -> dict[str, Ticket]:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    texts = {
        "runner": "@Driftwood my runner token expired and the pipeline is stuck",
        "token": "@Driftwood how do I rotate a personal access token?",
        "ssl": "@Driftwood SSL certificate error on my self-managed instance",
        "billing": "@Driftwood I was billed twice this month",
        "quote": '@Driftwood the error says "permission denied (publickey)" on push',
    }
    tickets = tickets_from(
        handle,
        *(remote_post(author=k, text=t, minutes=i) for i, (k, t) in enumerate(texts.items())),
    )
    by_name = {t.requester_username: t for t in tickets}
    Ticket.objects.filter(requester_username__in=["runner", "token", "quote"]).update(
        status=Ticket.Status.SOLVED
    )
    assert search.ticket_documents_refresh() == 5
    return by_name


def names(hits: list[search.SearchHit]) -> list[str]:
    return [h.ticket.requester_username for h in hits]


def run(text: str) -> list[str]:
    return names(search.ticket_search(query=search.search_parse(text=text)))


def test_all_words_must_match_and_stemming_applies(corpus: dict[str, Ticket]) -> None:
    assert set(run("token")) == {"token", "runner"}
    assert run("runner tokens") == ["runner"]
    assert run("billed certificate") == []
    assert set(run("any:billed any:certificate")) == {"billing", "ssl"}


def test_phrases_filters_and_sorting(corpus: dict[str, Ticket]) -> None:
    assert run('"permission denied"') == ["quote"]
    assert run('"denied permission"') == []
    assert set(run("token status:solved")) == {"token", "runner"}
    assert run("token status:new") == []
    assert run("status:solved sort:created") == ["quote", "token", "runner"]
    assert run("requester:@ssl") == ["ssl"]


def test_user_input_never_reaches_the_index_syntax(corpus: dict[str, Ticket]) -> None:
    for hostile in ['token" OR "billed', "NEAR(token billed)", "token*", "-token", "token^2"]:
        hits = search.ticket_search(query=search.search_parse(text=hostile))
        assert set(names(hits)) <= {"token", "runner"}, hostile


def test_unknown_filters_and_bad_values_name_the_problem() -> None:
    with pytest.raises(DomainError, match="unknown search filter 'colour'"):
        search.search_parse(text="colour:red")
    with pytest.raises(DomainError, match="status:done"):
        search.search_parse(text="status:done")
    with pytest.raises(DomainError, match="unbalanced quotes"):
        search.search_parse(text='"open')


def test_similar_solved_tickets_rank_by_shared_words(corpus: dict[str, Ticket]) -> None:
    handle = Handle.objects.get()
    (new,) = tickets_from(handle, remote_post(author="new", text="@Driftwood my runner is stuck"))
    search.ticket_documents_refresh()
    hits = search.ticket_similar(ticket=new)
    assert names(hits)[0] == "runner"
    assert all(h.ticket.status == Ticket.Status.SOLVED for h in hits)


def test_refresh_picks_up_follow_ups(corpus: dict[str, Ticket]) -> None:
    ticket = corpus["billing"]
    first = ticket.posts.get()
    from mentiondesk.intake import ingest

    ingest.mentions_store(
        handle=ticket.handle,
        posts=[
            remote_post(
                author="billing",
                author_id=first.author_remote_id,
                text="@Driftwood invoice 2291 shows a duplicate charge",
                conversation_id=first.conversation_id,
                minutes=30,
            )
        ],
    )
    assert search.ticket_documents_refresh() >= 1
    assert run("duplicate charge") == ["billing"]


def test_search_api(corpus: dict[str, Ticket], client, advocate) -> None:  # type: ignore[no-untyped-def]
    from mentiondesk.accounts import services as accounts

    _, raw = accounts.token_create(user=advocate)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = client.get("/api/v1/search", {"q": "token status:solved sort:updated"}, **auth).json()
    assert {t["requester"] for t in body} == {"token", "runner"}
    bad = client.get("/api/v1/search", {"q": "colour:red"}, **auth)
    assert bad.status_code == 400 and bad.json()["field"] == "q"
    similar = client.get(f"/api/v1/tickets/{corpus['billing'].pk}/similar", **auth)
    assert similar.status_code == 200
