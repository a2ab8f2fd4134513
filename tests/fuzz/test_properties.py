"""Property tests on what comes from outside: X payloads of any shape and policy files of any
content give a result or a precise error, never a crash, and stored text comes back intact."""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mentiondesk.channels.connectors.base import ConnectorError
from mentiondesk.channels.connectors.x import parse_page
from mentiondesk.channels.models import Handle, IngestProblem, Post
from mentiondesk.intake.ingest import handle_poll
from mentiondesk.policy import schema as policy_schema
from mentiondesk.policy.schema import PolicyError, policy_parse
from mentiondesk.sandbox.x.server import SandboxServer

# Any code point, unpaired surrogates (valid in JSON as "\\udc00"), NUL and bidi controls
# included, and those often: st.text() alone never draws a surrogate and rarely a control.
HOSTILE = st.sampled_from(
    ["\x00", "\udc00", "\ud800", "\ud83d", "\ude00", "\u202e", "\u2066", "\u200f"]
)
TEXT = st.text(alphabet=st.characters(exclude_categories=()) | HOSTILE)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
POST_KEYS = [
    "id",
    "text",
    "author_id",
    "created_at",
    "conversation_id",
    "entities",
    "referenced_tweets",
    "in_reply_to_user_id",
    "edit_history_tweet_ids",
]
# Near-valid posts: the real keys with values of any type, some of them right.
POST = st.dictionaries(
    st.sampled_from(POST_KEYS),
    JSON
    | st.just("1800000000000000001")
    | st.just("2026-11-20T09:00:00.000Z")
    | st.text(st.characters(exclude_categories=()) | HOSTILE, max_size=300),
    max_size=len(POST_KEYS),
)
PAGE = st.fixed_dictionaries(
    {},
    optional={
        "data": st.lists(POST, max_size=5) | POST | JSON,
        "includes": st.fixed_dictionaries(
            {}, optional={"users": st.lists(JSON, max_size=3), "tweets": st.lists(POST)}
        )
        | JSON,
        "errors": st.lists(JSON, max_size=3) | JSON,
        "meta": st.dictionaries(st.sampled_from(["newest_id", "next_token"]), JSON) | JSON,
    },
)


@given(PAGE)
@settings(max_examples=300, deadline=None)
def test_any_page_shape_parses_item_by_item_without_crashing(body: dict[str, Any]) -> None:
    page = parse_page(body)
    data = body.get("data")
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) and data else []
    # Every item of data is either a post or a problem: nothing silently dropped.
    from_data = [p for p in page.problems if not p.reason.startswith("includes:")]
    assert len(page.posts) + len(from_data) >= len(items)
    for post in page.posts:
        assert post.remote_id.isdigit()
        assert isinstance(post.text, str)
        assert post.created_at.tzinfo is not None
        assert any(post.raw is item for item in items)
        # What a database can store: UTF-8 text (NUL is the storing side's business).
        json.dumps([post.raw, post.author_username], ensure_ascii=False).encode()
    for problem in page.problems:
        kept = json.dumps([problem.reason, problem.raw], ensure_ascii=False)
        kept.encode()
        assert "\\u0000" not in kept.replace("\\\\", "")


@given(JSON.filter(lambda value: not isinstance(value, dict)))
def test_a_body_that_is_not_an_object_is_a_connector_error(body: Any) -> None:
    with pytest.raises(ConnectorError):
        parse_page(body)


def _known_keys() -> list[str]:
    keys = set(policy_schema.TABLES) | {"rules"}
    # Each section's keys live in its own module of the package.
    modules = [policy_schema] + [
        importlib.import_module(f"{policy_schema.__name__}.{info.name}")
        for info in pkgutil.iter_modules(policy_schema.__path__)
    ]
    for module in modules:
        for name, value in vars(module).items():
            if name.endswith("_KEYS") and isinstance(value, dict):
                keys |= set(value)
    return sorted(keys)


TOML_VALUE = st.recursive(
    st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)
KEY = st.sampled_from(_known_keys()) | st.text(min_size=1, max_size=12)
TABLE = st.dictionaries(KEY, TOML_VALUE, max_size=6)
POLICY = st.dictionaries(
    KEY, TOML_VALUE | TABLE | st.lists(TABLE, min_size=1, max_size=3), max_size=6
)


@given(POLICY)
@settings(max_examples=300, deadline=None)
def test_any_policy_file_is_accepted_or_refused_with_the_file_named(data: dict[str, Any]) -> None:
    text = tomli_w.dumps(data)
    try:
        policy_parse(text=text, source="team.toml")
    except PolicyError as exc:
        assert str(exc).startswith("team.toml"), exc


@given(st.text(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_any_text_as_a_policy_file_never_crashes(text: str) -> None:
    try:
        policy_parse(text=text, source="team.toml")
    except PolicyError as exc:
        assert str(exc).startswith("team.toml"), exc


@pytest.mark.django_db
@given(
    text=st.text(st.characters(exclude_categories=()) | HOSTILE, max_size=300)
    | st.text(min_size=20_000, max_size=30_000),
    author=st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True),
)
# Always tried, whatever the draw: an unpaired surrogate, a pair written as two escapes, NUL.
@example(text="broken \udc00 half", author="omar")
@example(text="two escapes, one emoji: \ud83d\ude00", author="omar")
@example(text="nul \x00 here", author="omar")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_unicode_in_a_tweet_is_stored_and_read_back(
    desk: SandboxServer, main_handle: Handle, text: str, author: str
) -> None:
    remote_id = desk.store.mention_add(author, f"@Driftwood {text}")
    result = handle_poll(handle=main_handle)
    assert not result.error
    # As the desk reads it: X escapes surrogates in its JSON, so an adjacent pair reads as one
    # character; U+0000, which PostgreSQL cannot store, reads as U+FFFD.
    sent = json.loads(json.dumps(f"@Driftwood {text}")).replace("\x00", "\ufffd")
    try:
        sent.encode()
    except UnicodeEncodeError:
        # An unpaired surrogate: no database stores it; the post is kept whole as a problem.
        assert not Post.objects.filter(remote_id=remote_id).exists()
        problem = IngestProblem.objects.get(reason__startswith=f"post {remote_id}:")
        assert json.loads(problem.raw)["text"] == sent
        return
    assert Post.objects.get(remote_id=remote_id).text == sent


# What X's Account Activity API posts, with any values: the real keys, and any JSON besides.
WEBHOOK_EVENT = (
    st.fixed_dictionaries(
        {},
        optional={
            "for_user_id": JSON | st.just("100"),
            "tweet_create_events": st.lists(
                st.dictionaries(st.sampled_from(["id_str", "text", "user"]), JSON), max_size=3
            )
            | JSON,
            "favorite_events": JSON,
            "direct_message_events": JSON,
        },
    )
    | JSON
)


@given(WEBHOOK_EVENT, st.integers(min_value=0, max_value=3000))
@example({"tweet_create_events": [{"id_str": "1", "text": "\x00\udc00"}]}, 0)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_a_signed_webhook_of_any_content_is_kept_never_a_500(
    client: Any, settings: Any, event: Any, depth: int
) -> None:
    """The webhook endpoint is outside the OpenAPI document schemathesis reads: drawn here,
    signed as X signs, bodies with NUL, lone surrogates and nesting up to thousands deep."""
    import base64
    import hashlib
    import hmac

    from mentiondesk.webhooks.models import WebhookEvent

    settings.X_CONSUMER_SECRET = "fuzz-secret"
    body = ("[" * depth + json.dumps(event) + "]" * depth).encode()
    signature = base64.b64encode(hmac.new(b"fuzz-secret", body, hashlib.sha256).digest()).decode()
    response = client.post(
        "/webhooks/x",
        body,
        content_type="application/json",
        headers={"x-twitter-webhooks-signature": f"sha256={signature}"},
    )
    assert response.status_code < 500, response.content
    assert WebhookEvent.objects.filter(digest=hashlib.sha256(body).hexdigest()).exists()
