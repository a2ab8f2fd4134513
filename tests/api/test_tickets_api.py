from __future__ import annotations

import pytest
from django.test import Client

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.replies.models import Reply
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def handle() -> Handle:
    return Handle.objects.create(username="Driftwood", remote_id="100", role="main")


def bearer(user: User) -> dict[str, str]:
    _, raw = account_services.token_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_requests_without_a_valid_token_get_401_json(client: Client) -> None:
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer md_nope"}):
        response = client.get("/api/v1/tickets", **headers)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


def test_any_unknown_api_path_is_a_json_404_even_with_a_newline(client: Client) -> None:
    """`<path:>` stops at a newline; such a path got Django's HTML page (found by the schema
    fuzzer with a post id holding "\n")."""
    for path in ("/api/v1/nothing", "/api/v1/posts/%0A/like", "/api/v1/posts/a%0Ab", "/api/v1/%0A"):
        response = client.post(path, content_type="application/json", data={})
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found", path
        assert "\n" not in response.json()["detail"]


def test_list_tickets_oldest_first_with_paging(
    client: Client, handle: Handle, advocate: User
) -> None:
    tickets_from(handle, *(remote_post(author=f"u{i}", minutes=-i) for i in range(3)))
    auth = bearer(advocate)
    body = client.get("/api/v1/tickets?status=new&limit=2", **auth).json()
    assert body["count"] == 3
    assert [t["requester"] for t in body["items"]] == ["u2", "u1"]
    item = body["items"][0]
    for key in (
        "id",
        "status",
        "assignee",
        "handle",
        "requester",
        "created_at",
        "first_response_at",
    ):
        assert key in item
    assert item["handle"] == "Driftwood" and item["assignee"] is None
    rest = client.get("/api/v1/tickets?status=new&limit=2&offset=2", **auth).json()
    assert [t["requester"] for t in rest["items"]] == ["u0"]
    assert client.get("/api/v1/tickets?view=twitter", **auth).json()["count"] == 3


def test_ticket_detail_has_the_conversation(client: Client, handle: Handle, advocate: User) -> None:
    first = remote_post(author="maya", text="@Driftwood login loops")
    follow = remote_post(
        author="maya",
        author_id=first.author_id,
        text="@Driftwood still",
        conversation_id=first.conversation_id,
        in_reply_to_id=first.remote_id,
        minutes=2,
    )
    (ticket,) = tickets_from(handle, first, follow)
    body = client.get(f"/api/v1/tickets/{ticket.pk}", **bearer(advocate)).json()
    assert [p["remote_id"] for p in body["posts"]] == [first.remote_id, follow.remote_id]
    post = body["posts"][1]
    assert (post["direction"], post["author"], post["text"]) == ("in", "maya", "@Driftwood still")
    assert post["in_reply_to"] == first.remote_id and post["created_at"]


def test_queue_next_assigns_then_204_when_empty(
    client: Client, handle: Handle, advocate: User
) -> None:
    tickets_from(handle, remote_post(author="a"))
    auth = bearer(advocate)
    response = client.post("/api/v1/queue/next", **auth)
    assert response.status_code == 200
    assert response.json()["assignee"] == "ana"
    again = client.post("/api/v1/queue/next", **auth)
    assert again.json()["id"] == response.json()["id"], "no skipping: Play returns the held ticket"
    solved = client.post(
        f"/api/v1/tickets/{response.json()['id']}/status",
        data={"status": "solved"},
        content_type="application/json",
        **auth,
    )
    assert solved.status_code == 200
    assert client.post("/api/v1/queue/next", **auth).status_code == 204
    with_view = client.post(
        "/api/v1/queue/next", data={"view": "twitter"}, content_type="application/json", **auth
    )
    assert with_view.status_code == 204


def test_queue_next_with_unknown_view_is_a_400_naming_the_field(
    client: Client, advocate: User
) -> None:
    response = client.post("/api/v1/queue/next?view=nope", **bearer(advocate))
    assert response.status_code == 400
    assert response.json()["field"] == "view"


def test_reply_create_returns_201_with_handle_and_thread(
    client: Client, handle: Handle, advocate: User
) -> None:
    post = remote_post(author="maya", text="@Driftwood hi")
    (ticket,) = tickets_from(handle, post)
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        data={"text": "Hi Maya, we're on it."},
        content_type="application/json",
        **bearer(advocate),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued"
    assert body["handle"] == "Driftwood"
    assert body["in_reply_to"] == post.remote_id
    assert body["id"] == Reply.objects.get().pk


def test_reply_with_the_same_idempotency_key_is_queued_once(
    client: Client, handle: Handle, advocate: User
) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    auth = bearer(advocate)
    url = f"/api/v1/tickets/{ticket.pk}/replies"
    ids = {
        client.post(
            url,
            data={"text": "On it"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k-1",
            **auth,
        ).json()["id"]
        for _ in range(3)
    }
    assert len(ids) == 1 and Reply.objects.count() == 1


def test_an_answered_post_is_409_then_201_with_another_reply(
    client: Client, handle: Handle, advocate: User
) -> None:
    asked = remote_post(author="maya", text="@Driftwood login loops")
    (ticket,) = tickets_from(handle, asked)
    # Answered from the X app; the poll stores it on the ticket.
    outside = remote_post(
        author="Driftwood",
        author_id=handle.remote_id,
        text="@maya clear your cookies",
        conversation_id=asked.conversation_id,
        in_reply_to_id=asked.remote_id,
        minutes=3,
    )
    tickets_from(handle, outside)
    auth = bearer(advocate)
    url = f"/api/v1/tickets/{ticket.pk}/replies"
    body = {"text": "Also try a private window", "seen_post_id": outside.remote_id}

    refused = client.post(url, data=body, content_type="application/json", **auth)
    assert refused.status_code == 409
    error = refused.json()
    assert error["code"] == "already_answered"
    link = f"https://x.com/Driftwood/status/{outside.remote_id}"
    assert f"@Driftwood answered from another client: {link}" in error["detail"]
    assert not Reply.objects.exists()

    confirmed = client.post(
        url, data={**body, "another_reply": True}, content_type="application/json", **auth
    )
    assert confirmed.status_code == 201
    assert confirmed.json()["in_reply_to"] == asked.remote_id
    events = client.get(f"/api/v1/tickets/{ticket.pk}/events", **auth).json()
    (another,) = [e for e in events if e["kind"] == "another_reply"]
    assert another["actor"] == advocate.username


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 300}, "text"),
        ({"text": "ok", "status_after": "closed"}, "status_after"),
    ],
)
def test_bad_reply_input_is_a_4xx_naming_the_field(
    client: Client, handle: Handle, advocate: User, body: dict[str, object], field: str
) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        data=body,
        content_type="application/json",
        **bearer(advocate),
    )
    assert 400 <= response.status_code < 500
    assert response.json()["field"] == field


def test_taking_out_of_order_through_the_api_needs_a_reason(
    client: Client, handle: Handle, advocate: User, advocate2: User
) -> None:
    older, newer = tickets_from(
        handle, remote_post(author="a", minutes=0), remote_post(author="b", minutes=5)
    )
    auth = bearer(advocate)
    take = f"/api/v1/tickets/{newer.pk}/assign"
    refused = client.post(take, {"assignee": "ana"}, content_type="application/json", **auth)
    assert refused.status_code == 400
    assert refused.json()["field"] == "reason"
    assert f"Play gives you #{older.pk} next" in refused.json()["detail"]
    body = {"assignee": "ana", "reason": "b is a VIP"}
    taken = client.post(take, body, content_type="application/json", **auth)
    assert taken.status_code == 200 and taken.json()["assignee"] == "ana"

    # ben replies to the oldest (his next, no reason), but never to ana's.
    ben = bearer(advocate2)
    for ticket, status in ((older, 201), (newer, 403)):
        response = client.post(
            f"/api/v1/tickets/{ticket.pk}/replies",
            {"text": "On it", "reason": "I can"},
            content_type="application/json",
            **ben,
        )
        assert response.status_code == status
    assert "assigned to ana" in response.json()["detail"]


def test_malformed_json_and_unknown_ticket_are_4xx(client: Client, advocate: User) -> None:
    auth = bearer(advocate)
    bad = client.post(
        "/api/v1/tickets/1/replies", data="{not json", content_type="application/json", **auth
    )
    assert 400 <= bad.status_code < 500
    missing = client.get("/api/v1/tickets/999999", **auth)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert client.get("/api/v1/tickets?limit=0", **auth).status_code == 422
    assert client.get("/api/v1/tickets?status=weird", **auth).json()["field"] == "status"


def test_light_agents_cannot_reply_through_the_api(
    client: Client, handle: Handle, light_agent: User
) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/replies",
        data={"text": "hi"},
        content_type="application/json",
        **bearer(light_agent),
    )
    assert response.status_code == 403
    notes = client.post(
        f"/api/v1/tickets/{ticket.pk}/notes",
        data={"text": "self-managed user"},
        content_type="application/json",
        **bearer(light_agent),
    )
    assert notes.status_code == 201
    events = client.get(f"/api/v1/tickets/{ticket.pk}/events", **bearer(light_agent)).json()
    assert [e["kind"] for e in events] == ["created", "note"]


def test_revoked_tokens_stop_working(client: Client, advocate: User) -> None:
    token, raw = account_services.token_create(user=advocate)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/tickets", **auth).status_code == 200
    token.revoked_at = token.created_at
    token.save()
    assert client.get("/api/v1/tickets", **auth).status_code == 401


def test_openapi_document_is_served(client: Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["info"]["title"] == "mentiondesk API"
    for path in (
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/queue/next",
        "/api/v1/tickets/{ticket_id}/replies",
    ):
        assert path in doc["paths"]


def test_unknown_api_routes_are_a_json_404(client: Client, advocate: User) -> None:
    for method, path in (
        ("get", "/api/v1/nope"),
        ("get", "/api/v1/tickets/1/nope"),
        ("post", "/api/v1/nope/deeper"),
    ):
        response = getattr(client, method)(path, **bearer(advocate))
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        assert body["code"] == "not_found"
        assert path in body["detail"]


def test_the_docs_page_serves_swagger_from_the_desk_not_a_cdn(client: Client) -> None:
    page = client.get("/api/v1/docs").content.decode()
    assert "cdn" not in page.lower()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "/static/ninja/swagger-ui.css" in page
    # ...and the desk really serves them (whitenoise, from the installed apps).
    bundle = client.get("/static/ninja/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(bundle.streaming_content)


def test_an_offset_past_what_the_database_counts_is_a_422_not_a_500(
    client: Client, handle: Handle, advocate: User, lead: User
) -> None:
    tickets_from(handle, remote_post(author="u0"))
    for user, path in ((advocate, "/api/v1/tickets"), (lead, "/api/v1/audit/events")):
        response = client.get(f"{path}?offset={2**63}", **bearer(user))
        assert response.status_code == 422, (path, response.content)
        assert "offset" in response.content.decode()
        # The furthest allowed offset is served: an empty page.
        assert client.get(f"{path}?offset={2**31 - 1}", **bearer(user)).status_code == 200


def test_a_deeply_nested_body_is_a_400_not_a_500(client: Client, advocate: User) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    for path in ("/api/v1/queue/next", "/api/v1/tickets/1/notes"):
        response = client.post(
            path, data=nested, content_type="application/json", **bearer(advocate)
        )
        assert response.status_code == 400, (path, response.content)
        assert response.json()["detail"]
