"""A local Slack-compatible server for tests and demos: the two Web API methods the desk uses,
with Slack's paths, request handling, response shapes and errors, plus fault injection.

    server = SlackServer().start()            # http://127.0.0.1:<free port>
    settings.SLACK_API_URL = server.api_url   # http://127.0.0.1:<port>/api/
    settings.SLACK_BOT_TOKEN = server.token
    server.fault("status", status=500)        # the next request answers HTTP 500
    server.messages                           # every message Slack accepted

What it follows (https://docs.slack.dev/reference/methods/chat.postMessage,
…/chat.getPermalink, https://docs.slack.dev/apis/web-api/rate-limits):
- `POST /api/<method>`, arguments form-encoded (`application/x-www-form-urlencoded` or
  multipart) or JSON (`application/json`, token only in the header); a read method such as
  chat.getPermalink also takes GET with a query string.
- The token is `Authorization: Bearer xoxb-…` (or a `token` form field): absent → `not_authed`,
  wrong → `invalid_auth`. Slack answers errors with HTTP 200 and `{"ok": false, "error": …}`.
- chat.postMessage: `channel` (id or name) is required (`channel_not_found`), `text` unless
  `blocks` (`no_text`), text over 40,000 characters → `msg_too_long`; success is
  `{"ok": true, "channel": "C…", "ts": "1700000000.000100", "message": {…}}`.
- chat.getPermalink: `channel` and `message_ts` (`channel_not_found`, `message_not_found`);
  success is `{"ok": true, "channel": "C…", "permalink": "https://…/archives/C…/p…"}`.
- Rate limited: HTTP 429, `Retry-After: <seconds>`, `{"ok": false, "error": "ratelimited"}`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from mentiondesk.core.localserver import LocalServer
from mentiondesk.sandbox.base import Fault, Faults, error_page, fault_without_answer

JSON = dict[str, Any]

DEFAULT_TOKEN = "xoxb-1000000001-2000000002-mentiondesktesttoken"  # noqa: S105 (a fake)
TEAM_ID = "T0MENTION1"
BOT_ID = "B0MENTION1"
BOT_USER_ID = "U0MENTION1"
APP_ID = "A0MENTION1"
# The handbook's channels: experts, abuse reports and the social team.
DEFAULT_CHANNELS = (
    "support_gitlab-com",
    "support_self-managed",
    "support_managers",
    "abuse",
    "social_media",
)
MAX_TEXT_CHARS = 40_000
FAULT_KINDS = ("status", "ratelimited", "slow", "drop", "error")


@dataclass(frozen=True)
class SlackRequest:
    """One request as the server saw it, accepted or not."""

    method: str  # the API method: "chat.postMessage"
    http_method: str
    content_type: str
    authorization: str
    args: JSON
    at: float  # epoch seconds


@dataclass(frozen=True)
class PostedMessage:
    """A message Slack accepted."""

    channel: str  # the channel id
    channel_requested: str  # as the client named it: a name or an id
    ts: str
    text: str
    blocks: list[JSON]
    unfurl_links: bool | None
    unfurl_media: bool | None
    args: JSON


@dataclass
class _State:
    channels: dict[str, str] = field(default_factory=dict)  # name -> id
    messages: list[PostedMessage] = field(default_factory=list)
    requests: list[SlackRequest] = field(default_factory=list)


class SlackServer(LocalServer):
    """A threaded werkzeug server speaking Slack's Web API on `host`; `port=0` picks a free
    port. `stop()` then `start()` brings it back on the same port (Slack "recovering")."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        channels: Iterable[str] = DEFAULT_CHANNELS,
        host: str = "127.0.0.1",
        port: int = 0,
        workspace: str = "mentiondesk-test",
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.workspace = workspace
        self._lock = threading.Lock()
        self._state = _State()
        self._faults = Faults(FAULT_KINDS)
        self._ids = itertools.count(1)
        self._ts_seq = itertools.count(100)
        for name in channels:
            self.channel_add(name)

    name = "slack"

    def wsgi_app(self) -> Any:
        return self._app

    @property
    def api_url(self) -> str:
        """What to give WebClient as `base_url` (MENTIONDESK_SLACK_API_URL)."""
        return f"{self.url}/api/"

    # Control and inspection

    def channel_add(self, name: str) -> str:
        """Create channel `name` (if new) and return its id."""
        with self._lock:
            if name not in self._state.channels:
                self._state.channels[name] = f"C{next(self._ids):09d}"
            return self._state.channels[name]

    @property
    def channels(self) -> dict[str, str]:
        """Every channel, name -> id, in the order they were created."""
        with self._lock:
            return dict(self._state.channels)

    def channel_id(self, name: str) -> str:
        with self._lock:
            return self._state.channels[name]

    def fault(
        self,
        kind: str,
        *,
        count: int = 1,
        status: int = 500,
        retry_after: int = 30,
        delay: float = 0.0,
        error: str = "internal_error",
        method: str | None = None,
    ) -> None:
        """Make the next `count` requests (to `method`, if given) fail:

        - `status`: answer HTTP `status` with an HTML error page, as a gateway in front of
          Slack does;
        - `ratelimited`: HTTP 429 with `Retry-After: retry_after`;
        - `slow`: wait `delay` seconds, then handle the request normally (it takes effect even
          if the client gave up);
        - `drop`: close the connection without answering;
        - `error`: HTTP 200 with `{"ok": false, "error": error}`.
        """
        self._faults.add(
            Fault(
                kind,
                count=count,
                method=method,
                status=status,
                retry_after=str(retry_after),
                delay=delay,
                error=error,
            )
        )

    @property
    def messages(self) -> list[PostedMessage]:
        """Every message accepted so far, oldest first."""
        with self._lock:
            return list(self._state.messages)

    @property
    def requests(self) -> list[SlackRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._state.requests)

    def permalink(self, channel_id: str, ts: str) -> str:
        return f"https://{self.workspace}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"

    def reset(self) -> None:
        """Forget messages, requests and pending faults (channels stay)."""
        with self._lock:
            self._state.messages.clear()
            self._state.requests.clear()
        self._faults.clear()

    # The WSGI application

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return self._dispatch(request)(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        method = request.path.removeprefix("/api/") if request.path.startswith("/api/") else ""
        handlers: dict[str, Callable[[JSON], tuple[int, JSON]]] = {
            "chat.postMessage": self._post_message,
            "chat.getPermalink": self._get_permalink,
        }
        try:
            args = _arguments(request)
        except ValueError as exc:
            args, bad_request = {}, str(exc)
        else:
            bad_request = ""
        authorization = request.headers.get("Authorization", "")
        with self._lock:
            self._state.requests.append(
                SlackRequest(
                    method=method,
                    http_method=request.method,
                    content_type=request.mimetype,
                    authorization=authorization,
                    args=args,
                    at=time.time(),
                )
            )
        # Faults name a Slack method, not a path: every path is theirs.
        fault = self._faults.take(path=request.path, method=method)
        if fault is not None:
            answer = self._fault_answer(fault, request)
            if answer is not None:
                return answer
        if method not in handlers:
            return _json(404, {"ok": False, "error": "unknown_method", "req_method": method})
        if bad_request:
            return _json(200, {"ok": False, "error": bad_request})
        token = authorization.removeprefix("Bearer ").strip() if authorization else ""
        if not token and request.mimetype != "application/json":
            # Form requests may carry the token as a field; JSON requests may not.
            token = str(args.get("token") or "")
        if not token:
            return _json(200, {"ok": False, "error": "not_authed"})
        if token != self.token:
            return _json(200, {"ok": False, "error": "invalid_auth"})
        status, body = handlers[method](args)
        return _json(status, body)

    def _fault_answer(self, fault: Fault, request: Request) -> Response | None:
        if fault_without_answer(fault, request, server=self.name):
            return None
        if fault.kind == "ratelimited":
            return _json(
                429,
                {"ok": False, "error": "ratelimited"},
                headers={"Retry-After": fault.retry_after},
            )
        if fault.kind == "error":
            return _json(200, {"ok": False, "error": fault.error})
        return error_page(fault.status)

    # Methods

    def _channel_resolve(self, value: str) -> str | None:
        value = value.removeprefix("#")
        if value in self._state.channels.values():
            return value
        return self._state.channels.get(value)

    def _post_message(self, args: JSON) -> tuple[int, JSON]:
        requested = str(args.get("channel") or "")
        text = args.get("text")
        text = "" if text is None else str(text)
        try:
            blocks = _blocks(args.get("blocks"))
        except ValueError:
            return 200, {"ok": False, "error": "invalid_blocks"}
        with self._lock:
            channel_id = self._channel_resolve(requested) if requested else None
            if channel_id is None:
                return 200, {"ok": False, "error": "channel_not_found"}
            if not text.strip() and not blocks:
                return 200, {"ok": False, "error": "no_text"}
            if len(text) > MAX_TEXT_CHARS:
                return 200, {"ok": False, "error": "msg_too_long"}
            ts = f"{int(time.time())}.{next(self._ts_seq):06d}"
            self._state.messages.append(
                PostedMessage(
                    channel=channel_id,
                    channel_requested=requested,
                    ts=ts,
                    text=text,
                    blocks=blocks,
                    unfurl_links=_flag(args.get("unfurl_links")),
                    unfurl_media=_flag(args.get("unfurl_media")),
                    args=args,
                )
            )
        message: JSON = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": text,
            "team": TEAM_ID,
            "bot_profile": {
                "id": BOT_ID,
                "app_id": APP_ID,
                "name": "mentiondesk",
                "deleted": False,
                "team_id": TEAM_ID,
            },
        }
        if blocks:
            message["blocks"] = blocks
        return 200, {"ok": True, "channel": channel_id, "ts": ts, "message": message}

    def _get_permalink(self, args: JSON) -> tuple[int, JSON]:
        requested = str(args.get("channel") or "")
        ts = str(args.get("message_ts") or "")
        with self._lock:
            channel_id = self._channel_resolve(requested) if requested else None
            if channel_id is None:
                return 200, {"ok": False, "error": "channel_not_found"}
            found = any(m.channel == channel_id and m.ts == ts for m in self._state.messages)
        if not found:
            return 200, {"ok": False, "error": "message_not_found"}
        return 200, {"ok": True, "channel": channel_id, "permalink": self.permalink(channel_id, ts)}


def _arguments(request: Request) -> JSON:
    """The call's arguments, from the query string and the body, as Slack reads them.

    Raises ValueError with Slack's error name for a body it could not read."""
    args: JSON = dict(request.args.items())
    if request.method != "POST":
        return args
    if request.mimetype == "application/json":
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except json.JSONDecodeError as exc:
            raise ValueError("invalid_json") from exc
        if not isinstance(body, dict):
            raise ValueError("invalid_json")
        args.update(body)
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        args.update(request.form.items())
    elif request.get_data():
        raise ValueError("invalid_form_data")
    return args


def _blocks(value: Any) -> list[JSON]:
    """Blocks arrive as a JSON array (JSON body) or as a JSON-encoded string (form body)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list) or not all(isinstance(b, dict) and "type" in b for b in value):
        raise ValueError("invalid_blocks")
    return value


def _flag(value: Any) -> bool | None:
    """A boolean argument: JSON true/false, or form "1"/"0"/"true"/"false"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true")


def _json(status: int, body: JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )
