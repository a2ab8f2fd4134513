"""Reading X API v2 answers: posts, DM events, problems, and what the desk can store of them.
Facts cited as "API-FACTS §n" are in `shared/fixtures/x-api-v2/API-FACTS.md`; "README" is the
fixtures README beside it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from mentiondesk.channels.connectors.base import (
    ConnectorError,
    DmPage,
    PayloadProblem,
    PostPage,
    RemoteDm,
    RemotePost,
)
from mentiondesk.channels.connectors.payload import (
    as_dict,
    as_list,
    digits_id,
    time_parse,
    time_plausible,
)
from mentiondesk.core.constants import POST_TIME_RANGE

# Snowflake ids carry their creation time: milliseconds since this epoch, shifted left by 22.
_SNOWFLAKE_EPOCH_MS = 1288834974657
# A JSON escape of U+0000 that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")

# API-FACTS §4: pay-per-use self-serve plans refuse an API reply unless the author of the
# post replied to summoned the replying account; X answers 403 with the problem shape of
# API-FACTS §3 (the sandbox's REPLY_NOT_SUMMONED is the detail as reported publicly).
SELF_SERVE_REPLY_RULE = (
    "on X's self-serve plan (policy x_plan) X refuses API replies from accounts the post "
    "does not mention"
)


def url_shown(url: str, text: str | None = None) -> str:
    """`text` (default: `url` itself) with the credentials `url` may carry (a gateway's
    `https://user:secret@host`) masked: error messages and logs never show them."""
    text = url if text is None else text
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    return text.replace(userinfo, "***") if userinfo else text


def snowflake_time(post_id: str) -> datetime:
    return datetime.fromtimestamp(((int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def problem_text(body: Any) -> str:
    """The human part of a problem (`detail`/`title`) and of any `errors[]` entries."""
    if not isinstance(body, dict):
        return str(body)[:200] if body else ""
    parts = [body.get("detail") or body.get("title") or body.get("message")]
    parts.extend(
        error.get("detail") or error.get("message") or error.get("title")
        for error in as_list(body.get("errors"))
        if isinstance(error, dict)
    )
    return "; ".join(str(part) for part in parts if part)


def _has_surrogate(value: Any) -> bool:
    """Whether a JSON value holds an unpaired surrogate anywhere (X's JSON can escape one as
    `"\\udc00"`): valid JSON, but no UTF-8 form, so no database can store it as text."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storable(value: Any) -> Any:
    """`value` itself when a database can keep it as JSON, else its JSON text with every
    character escaped: a string, so nothing is lost and both SQLite and PostgreSQL accept it.

    What needs the escape: an unpaired surrogate (no UTF-8 form) and, for PostgreSQL, NUL;
    either one anywhere in a problem's payload would fail the statement storing it."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return "(a value that cannot be written as JSON)"
    return json.dumps(value) if _NUL_ESCAPE.search(text) else value


def _kept(problem: PayloadProblem) -> PayloadProblem:
    """The problem as the database can keep it: its payload through `storable`, its reason
    with unstorable characters escaped."""
    raw, reason = storable(problem.raw), problem.reason
    if _has_surrogate(reason) or "\x00" in reason:
        reason = reason.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
    return (
        problem if raw is problem.raw and reason is problem.reason else PayloadProblem(reason, raw)
    )


def parse_post(item: Any, users: dict[str, dict[str, Any]]) -> RemotePost | PayloadProblem:
    """Normalise one post object; `users` maps author ids to `includes.users` entries.

    Accepts both spellings of the spec (`referenced_tweets`/`referenced_posts`; the edit history
    is only kept in `raw`). A missing `conversation_id` means the post starts its own
    conversation; a missing `created_at` is read from the snowflake id. Returns a PayloadProblem,
    never raises, when `id`, `text` or `author_id` is missing, `created_at` is unreadable, or
    the item or its author holds a character no database stores (an unpaired surrogate).
    """
    if not isinstance(item, dict):
        return PayloadProblem("item is not an object", raw=item)
    post_id = digits_id(item.get("id"))
    if post_id is None:
        return PayloadProblem("missing or invalid id", raw=item)
    text = item.get("text")
    if not isinstance(text, str):
        return PayloadProblem(f"post {post_id}: missing text", raw=item)
    author_id = digits_id(item.get("author_id"))
    if author_id is None:
        return PayloadProblem(f"post {post_id}: missing author_id", raw=item)
    created_raw = item.get("created_at")
    if created_raw is None:
        # X's ids are 64-bit: a longer one would put the time past what datetime holds.
        created_at: datetime | None = snowflake_time(post_id) if len(post_id) <= 19 else None
    else:
        created_at = time_parse(created_raw) if isinstance(created_raw, str) else None
    if not time_plausible(created_at):
        return PayloadProblem(
            f"post {post_id}: bad created_at {created_raw!r} (a time {POST_TIME_RANGE} is "
            "expected)",
            raw=item,
        )
    author = users.get(author_id, {})
    # Decided per item: this post cannot be stored, the rest of its page can.
    for where, value in (("text", text), ("payload", item), ("author", author.get("username"))):
        if _has_surrogate(value):
            return PayloadProblem(
                f"post {post_id}: an unpaired surrogate in its {where} (no UTF-8 form)", raw=item
            )

    references = as_list(item.get("referenced_tweets")) or as_list(item.get("referenced_posts"))
    in_reply_to_id = next(
        (
            ref_id
            for ref in references
            if isinstance(ref, dict)
            and ref.get("type") == "replied_to"
            and (ref_id := digits_id(ref.get("id")))
        ),
        None,
    )
    entities = as_dict(item.get("entities"))
    mentions = tuple(
        m["username"]
        for m in as_list(entities.get("mentions"))
        if isinstance(m, dict) and isinstance(m.get("username"), str)
    )
    urls = tuple(
        {
            "url": u["url"],
            "expanded_url": str(u.get("expanded_url") or u["url"]),
            "display_url": str(u.get("display_url") or ""),
        }
        for u in as_list(entities.get("urls"))
        if isinstance(u, dict) and isinstance(u.get("url"), str)
    )
    return RemotePost(
        remote_id=post_id,
        author_id=author_id,
        author_username=str(author.get("username") or ""),
        text=text,
        created_at=created_at,
        conversation_id=digits_id(item.get("conversation_id")) or post_id,
        in_reply_to_id=in_reply_to_id,
        in_reply_to_user_id=digits_id(item.get("in_reply_to_user_id")),
        mentions=mentions,
        urls=urls,
        raw=item,
    )


def parse_page(body: Any) -> PostPage:
    """Parse any v2 response carrying posts: a timeline page, a lookup, or a single post.

    Item by item: an unusable post becomes a PayloadProblem and the rest is kept. Each entry of a
    top-level `errors[]` (a 200 can carry them for missing ids, API-FACTS §3) is a problem too.
    `includes` may be absent; `data` may be absent (an empty page is `{"meta":{"result_count":0}}`,
    README), a list, or one object. Raises ConnectorError if `body` is not a JSON object.
    """
    if not isinstance(body, dict):
        raise ConnectorError("X answered with something that is not a JSON object", body=body)
    includes = as_dict(body.get("includes"))
    users = {
        user["id"]: user
        for user in as_list(includes.get("users"))
        if isinstance(user, dict) and isinstance(user.get("id"), str)
    }
    data = body.get("data")
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) and data else []

    posts: list[RemotePost] = []
    problems: list[PayloadProblem] = []
    for item in items:
        parsed = parse_post(item, users)
        if isinstance(parsed, RemotePost):
            posts.append(parsed)
        else:
            problems.append(parsed)
    included: dict[str, RemotePost] = {}
    for item in as_list(includes.get("tweets")) or as_list(includes.get("posts")):
        parsed = parse_post(item, users)
        if isinstance(parsed, RemotePost):
            included[parsed.remote_id] = parsed
        else:
            problems.append(PayloadProblem(f"includes: {parsed.reason}", raw=parsed.raw))
    problems.extend(
        PayloadProblem(problem_text(error) or "error without detail", raw=error)
        for error in as_list(body.get("errors"))
    )
    problems = [_kept(problem) for problem in problems]

    meta = as_dict(body.get("meta"))
    newest_id = digits_id(meta.get("newest_id"))
    if newest_id is None and posts:
        newest_id = max((p.remote_id for p in posts), key=int)
    next_token = meta.get("next_token")
    return PostPage(
        posts=posts,
        newest_id=newest_id,
        next_token=next_token if isinstance(next_token, str) and next_token else None,
        problems=problems,
        included=included,
    )


def parse_dm_event(item: Any) -> RemoteDm | PayloadProblem:
    """Normalise one `MessageCreate` DM event; anything without an id, a sender, a conversation,
    a time and a text (or of another event type) is a problem kept whole."""
    if not isinstance(item, dict):
        return PayloadProblem("dm event is not an object", raw=item)
    event_id, sender_id = digits_id(item.get("id")), digits_id(item.get("sender_id"))
    conversation_id, text = item.get("dm_conversation_id"), item.get("text")
    created = item.get("created_at")
    created_at = time_parse(created) if isinstance(created, str) else None
    if item.get("event_type") != "MessageCreate":
        return PayloadProblem(f"dm event of type {item.get('event_type')!r}", raw=item)
    if event_id is None or sender_id is None or created_at is None:
        return PayloadProblem("dm event without id, sender_id or created_at", raw=item)
    if not isinstance(conversation_id, str) or not conversation_id or not isinstance(text, str):
        return PayloadProblem("dm event without dm_conversation_id or text", raw=item)
    return RemoteDm(
        remote_id=event_id,
        sender_id=sender_id,
        conversation_id=conversation_id,
        text=text,
        created_at=created_at,
        raw=item,
    )


def parse_dm_page(body: Any) -> DmPage:
    """Parse a page of GET /2/dm_events. An empty page has no `data` key (README); `errors[]`
    entries are problems. Raises ConnectorError if `body` is not a JSON object."""
    if not isinstance(body, dict):
        raise ConnectorError("X answered with something that is not a JSON object", body=body)
    events: list[RemoteDm] = []
    problems: list[PayloadProblem] = []
    for item in as_list(body.get("data")):
        parsed = parse_dm_event(item)
        if isinstance(parsed, RemoteDm):
            events.append(parsed)
        else:
            problems.append(parsed)
    problems.extend(
        PayloadProblem(problem_text(error) or "error without detail", raw=error)
        for error in as_list(body.get("errors"))
    )
    problems = [_kept(problem) for problem in problems]
    ids = [i for item in as_list(body.get("data")) if (i := digits_id(as_dict(item).get("id")))]
    next_token = as_dict(body.get("meta")).get("next_token")
    return DmPage(
        events=events,
        newest_id=max(ids, key=lambda i: (len(i), i)) if ids else None,
        next_token=next_token if isinstance(next_token, str) and next_token else None,
        problems=problems,
    )


def json_without_nul(text: str) -> str:
    """JSON text with every U+0000 escape turned into U+FFFD: PostgreSQL stores no NUL in
    text or jsonb, so one such character in a tweet would otherwise fail its whole page."""
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def json_decode(content: bytes) -> Any:
    """json.loads for X's answers, read as `json_without_nul` gives them."""
    return json.loads(json_without_nul(content.decode("utf-8")))


def is_reply_not_summoned(body: Any) -> bool:
    """403 for a reply the self-serve plan does not allow. Matched on the detail's start: its
    ending has been reported both with and without "by the author of the post ..."."""
    return "reply to this conversation is not allowed" in problem_text(body).lower()


def is_duplicate(body: Any) -> bool:
    """403 duplicate content (v2 problem detail), or v1.1-style code 187 "Status is a duplicate"."""
    if "duplicate content" in problem_text(body).lower():
        return True
    errors = as_list(body.get("errors")) if isinstance(body, dict) else []
    return any(isinstance(e, dict) and e.get("code") == 187 for e in errors)
