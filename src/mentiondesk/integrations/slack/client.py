"""Slack's Web API through slack_sdk: vendor I/O only, no database.

Every failure comes out as SlackSendError, which says whether trying again can help and, for
rate limits, when. Method docs relied on:
https://docs.slack.dev/reference/methods/chat.postMessage
https://docs.slack.dev/reference/methods/chat.getPermalink
https://docs.slack.dev/apis/web-api/rate-limits (HTTP 429 with Retry-After in seconds)
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

# Errors that say Slack itself is struggling: the same request may well work later.
# Everything else Slack answers with `ok: false` (bad token, unknown channel, archived
# channel, missing scope, text too long…) needs a person to change something first.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)

# What to tell the person reading `last_error` for the refusals a desk admin can fix.
HINTS = {
    "not_authed": "no bot token was sent; set MENTIONDESK_SLACK_BOT_TOKEN",
    "invalid_auth": "the bot token is not valid; check MENTIONDESK_SLACK_BOT_TOKEN",
    "token_revoked": "the bot token was revoked; install the app again and update the token",
    "token_expired": "the bot token expired; update MENTIONDESK_SLACK_BOT_TOKEN",
    "account_inactive": "the bot's user or workspace was deactivated",
    "missing_scope": "the Slack app lacks the chat:write scope",
    "channel_not_found": "no such channel, or the bot cannot see it",
    "not_in_channel": "invite the bot to the channel first (/invite @bot)",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message is too long for Slack",
    "no_text": "the message has no text",
}


@dataclass(frozen=True)
class Posted:
    """Where Slack put a message: the channel's id and the message's `ts`."""

    channel_id: str
    ts: str


class SlackSendError(Exception):
    """A Slack call did not succeed.

    `code` is Slack's error (`invalid_auth`) or ours (`unreachable`, `http_500`); `retryable`
    says whether the same request can succeed later; `retry_after` is Slack's Retry-After in
    seconds, when it sent one."""

    def __init__(
        self, code: str, detail: str, *, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after


def slack_web_client() -> WebClient:
    """A WebClient for the configured workspace.

    slack_sdk's own retry handlers are switched off: they would sleep inside the worker, and a
    blind retry of chat.postMessage can post twice. The outbox retries with backoff instead."""
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        # Annotated int, but slack_sdk only hands it to urllib's urlopen, which takes a float.
        timeout=settings.SLACK_TIMEOUT_SECONDS,  # type: ignore[arg-type]
        retry_handlers=[],
    )


def message_post(
    client: WebClient, *, channel: str, text: str, blocks: list[dict[str, Any]] | None = None
) -> Posted:
    """chat.postMessage. Links are not unfurled: a spam report or a tweet link would otherwise
    expand into a preview of the very thing being reported. Raises SlackSendError."""
    response = _call(
        client.chat_postMessage,
        channel=channel,
        text=text,
        blocks=blocks or None,
        unfurl_links=False,
        unfurl_media=False,
    )
    ts, channel_id = response.get("ts"), response.get("channel")
    if not isinstance(ts, str) or not ts or not isinstance(channel_id, str):
        # Slack said ok but gave no ts: the message may exist, but we cannot point to it.
        raise SlackSendError(
            "bad_response", f"Slack answered ok without a message ts: {response!r}", retryable=False
        )
    return Posted(channel_id=channel_id, ts=ts)


def permalink_get(client: WebClient, *, channel_id: str, ts: str) -> str:
    """chat.getPermalink for a posted message. Raises SlackSendError."""
    response = _call(client.chat_getPermalink, channel=channel_id, message_ts=ts)
    permalink = response.get("permalink")
    if not isinstance(permalink, str) or not permalink:
        raise SlackSendError(
            "bad_response", f"Slack answered ok without a permalink: {response!r}", retryable=False
        )
    return permalink


def _call(method: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        response = method(**kwargs)
    except SlackApiError as exc:
        raise _api_error(exc) from exc
    except SlackClientError as exc:  # e.g. a malformed MENTIONDESK_SLACK_API_URL
        raise SlackSendError("client_error", f"Slack client error: {exc}", retryable=False) from exc
    except (OSError, http.client.HTTPException) as exc:
        # Connection refused, reset or dropped, DNS failure, timeout (TimeoutError and urllib's
        # URLError are OSErrors; RemoteDisconnected is both).
        raise SlackSendError(
            "unreachable", f"Slack unreachable: {_describe(exc)}", retryable=True
        ) from exc
    data = response.data
    return data if isinstance(data, dict) else {}


def _api_error(exc: SlackApiError) -> SlackSendError:
    response = exc.response
    status = int(response.status_code)
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or "")
    if status == 429 or error in {"ratelimited", "rate_limited"}:
        retry_after = _retry_after(response.headers)
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        return SlackSendError(
            "ratelimited",
            f"Slack rate limited the request{wait}",
            retryable=True,
            retry_after=retry_after,
        )
    if status >= 500:
        return SlackSendError(
            f"http_{status}", f"Slack answered HTTP {status}: {error[:300]}", retryable=True
        )
    if status != 200:
        return SlackSendError(
            f"http_{status}", f"Slack answered HTTP {status}: {error[:300]}", retryable=False
        )
    code = error or "unknown_error"
    hint = HINTS.get(code)
    detail = f"Slack refused the message: {code}" + (f" ({hint})" if hint else "")
    return SlackSendError(code, detail, retryable=code in TRANSIENT_ERRORS)


def _retry_after(headers: Any) -> float | None:
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # urllib's URLError wraps the socket error
    text = str(reason if reason is not None else exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
