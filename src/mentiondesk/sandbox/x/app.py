"""The sandbox network's HTTP face: a WSGI app speaking the X API v2 subset the desk uses, with
X's paths, payload shapes, status codes, rate-limit headers and error bodies, plus a
`/_sandbox/` control API (no auth; the server binds to loopback by default) so another process
can drive and inspect the store.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from html import escape
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from mentiondesk.sandbox.base import Fault, drop_connection, html_page
from mentiondesk.sandbox.x.store import OAuthRefused, Refused, SandboxStore, x_time

PROBLEMS = "https://api.twitter.com/2/problems"
# Fields X returns when a request names none (README: tweepy's cassettes show exactly these).
DEFAULT_POST_FIELDS = {"id", "text", "edit_history_tweet_ids"}
DEFAULT_DM_EVENT_FIELDS = {"id", "event_type", "text"}  # as recorded (README, DM cassette)
PUBLIC_USER_FIELDS = ("id", "name", "username")
_ID = re.compile(r"^[0-9]{1,19}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")

JSON = dict[str, Any]
Result = tuple[int, JSON]


def problem(status: int, detail: str | None = None) -> JSON:
    """RFC 7807 body as X sends it for 401, 403, 429 and 5xx (API-FACTS §3)."""
    title = HTTPStatus(status).phrase
    return {"title": title, "detail": detail or title, "type": "about:blank", "status": status}


def invalid_request(parameter: str, value: str, message: str) -> JSON:
    """X's 400 body for a bad parameter."""
    return {
        "errors": [{"parameters": {parameter: [value]}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": f"{PROBLEMS}/invalid-request",
    }


def not_found(resource_type: str, parameter: str, value: str) -> JSON:
    """One `errors[]` entry of a 200 that could not find something (API-FACTS §3)."""
    return {
        "value": value,
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": f"{PROBLEMS}/resource-not-found",
    }


class _BadParameter(ValueError):
    """A request X would answer with 400 invalid-request."""

    def __init__(self, parameter: str, value: str, message: str) -> None:
        super().__init__(message)
        self.body = invalid_request(parameter, value, message)


def _template(rule: str) -> str:
    """werkzeug's "/2/users/<id>/likes" as X's docs write it: "/2/users/:id/likes"."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r":\1", rule)


def _checked_id(parameter: str, value: str) -> str:
    if not _ID.match(value):
        raise _BadParameter(
            parameter,
            value,
            f"The `{parameter}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$",
        )
    return value


def _time_arg(args: Mapping[str, str], parameter: str) -> str | None:
    """A `start_time`/`end_time` (RFC 3339, second granularity, inclusive) as x_time."""
    value = args.get(parameter)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _BadParameter(
            parameter,
            value,
            f"The `{parameter}` query parameter value [{value}] is not a valid RFC 3339 "
            "date-time (YYYY-MM-DDTHH:mm:ssZ)",
        )
    return x_time(moment)


class SandboxApp:
    """WSGI application over one SandboxStore."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        api: list[tuple[str, str, Callable[..., Result]]] = [
            ("GET", "/2/users/me", self._me),
            ("GET", "/2/users/by/username/<username>", self._user_by_username),
            ("GET", "/2/users/<id>/mentions", self._mentions),
            ("GET", "/2/users/<id>/tweets", self._user_tweets),
            ("GET", "/2/tweets", self._tweets_lookup),
            ("GET", "/2/tweets/<id>", self._tweet_get),
            ("POST", "/2/tweets", self._tweet_create),
            ("DELETE", "/2/tweets/<id>", self._tweet_delete),
            ("POST", "/2/users/<id>/likes", self._like),
            ("DELETE", "/2/users/<id>/likes/<tweet_id>", self._unlike),
            ("POST", "/2/dm_conversations/with/<participant_id>/messages", self._dm_send),
            ("GET", "/2/dm_events", self._dm_events),
        ]
        # Not a bearer-token call: the client authenticates itself (see `_oauth_token`).
        oauth: list[tuple[str, str, Callable[..., Result]]] = [
            ("POST", "/2/oauth2/token", self._oauth_token),
        ]
        control: list[tuple[str, str, Callable[..., Result]]] = [
            ("POST", "/_sandbox/users", self._control_user_add),
            ("GET", "/_sandbox/tokens", self._control_tokens),
            ("POST", "/_sandbox/mentions", self._control_mention_add),
            ("GET", "/_sandbox/posts", self._control_posts),
            ("GET", "/_sandbox/likes", self._control_likes),
            ("GET", "/_sandbox/dms", self._control_dms),
            ("POST", "/_sandbox/faults", self._control_fault_add),
            ("GET", "/_sandbox/requests", self._control_requests),
            ("POST", "/_sandbox/reset", self._control_reset),
            ("GET", "/_sandbox/clock", self._control_clock),
            ("POST", "/_sandbox/clock", self._control_clock_set),
            ("GET", "/_sandbox/plan", self._control_plan),
            ("POST", "/_sandbox/plan", self._control_plan_set),
            ("POST", "/_sandbox/oauth/clients", self._control_oauth_client_add),
            ("POST", "/_sandbox/oauth/grants", self._control_oauth_grant),
            ("POST", "/_sandbox/oauth/expire", self._control_oauth_expire),
        ]
        # The network's web pages, where the desk's "View on X" links lead in the demo
        # (MENTIONDESK_X_WEB_URL): a post and a profile, as plain escaped HTML.
        self._pages: dict[str, Callable[..., Response]] = {
            "GET /<username>/status/<id>": self._page_post,
            "GET /<username>": self._page_profile,
        }
        routes = api + oauth + control
        self._handlers = {f"{m} {path}": handler for m, path, handler in routes}
        self._url_map = Map(
            [Rule(path, methods=[m], endpoint=f"{m} {path}") for m, path, _ in routes]
            + [Rule(rule.split(" ", 1)[1], methods=["GET"], endpoint=rule) for rule in self._pages],
            strict_slashes=False,
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        response = self._dispatch(request)
        # Every answer carries the network's time, as X's do (the desk measures clock skew
        # from it); otherwise the server would write the machine's.
        response.headers["Date"] = x_http_date(self.store.now())
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self._url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            status = exc.code or 404
            return _json(status, problem(status))
        if str(endpoint) in self._pages:
            return self._pages[str(endpoint)](**args)
        handler = self._handlers[str(endpoint)]
        if request.path.startswith("/_sandbox/"):
            try:
                status, body = handler(request, **args)
            except (ValueError, KeyError, TypeError, Refused) as exc:
                return _json(400, {"error": str(exc)})
            return _json(status, body)
        if endpoint == "POST /2/oauth2/token":
            self.store.request_record(request.method, request.path)
            status, body = handler(request)
            return _json(status, body)
        return self._api(request, str(endpoint), handler, args)

    def _api(
        self,
        request: Request,
        endpoint: str,
        handler: Callable[..., Result],
        args: Mapping[str, Any],
    ) -> Response:
        method, rule = endpoint.split(" ", 1)
        endpoint = f"{method} {_template(rule)}"
        self.store.request_record(request.method, request.path)
        fault = self.store.faults.take(path=request.path, method=request.method.upper())
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        user = self.store.user_for_token(token) if token else None
        if fault and fault.kind == "drop":
            drop_connection(request, server="sandbox")
        if fault and fault.kind == "status":
            return self._fault_answer(fault, endpoint, user)
        if user is None:
            # Recorded 401s carry no rate-limit headers: there is no user bucket to count
            # (node-twitter-api-v2#425), and the content type is problem+json.
            return _json(401, problem(401), content_type="application/problem+json")

        window = self.store.rate_window(user["id"], endpoint)
        headers = {
            "x-rate-limit-limit": str(window.limit),
            "x-rate-limit-remaining": str(window.remaining),
            "x-rate-limit-reset": str(self._network_time(window.reset)),
        }
        if not window.allowed:
            return _json(429, problem(429), headers)
        try:
            status, body = handler(request, user, **args)
        except _BadParameter as exc:
            status, body = 400, exc.body
        except Refused as exc:
            status, body = exc.status, problem(exc.status, exc.detail)
        if fault and fault.kind == "timeout_after_accept":
            # The work is done; the answer comes after the client has given up.
            time.sleep(fault.delay)
        return _json(status, body, headers)

    def _fault_answer(self, fault: Fault, endpoint: str, user: dict[str, str] | None) -> Response:
        status = fault.status
        window = self.store.rate_window(user["id"] if user else "app", endpoint, consume=False)
        remaining, reset = window.remaining, window.reset
        if status == 429:
            remaining, reset = 0, int(time.time() + fault.reset_in)
        headers = {
            "x-rate-limit-limit": str(window.limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(self._network_time(reset)),
        }
        return _json(status, problem(status), headers)

    def _network_time(self, epoch: int) -> int:
        """A machine-clock epoch second as X would announce it: on the network's clock,
        rounded up so a client that honours it is never refused."""
        return math.ceil(epoch + self.store.clock_offset.total_seconds())

    # Field selection and pages

    def _render(self, request: Request, posts: list[JSON]) -> tuple[list[JSON], JSON]:
        """The posts with only the requested `tweet.fields`, and the requested `includes`."""
        wanted = DEFAULT_POST_FIELDS | set(request.args.get("tweet.fields", "").split(","))
        expansions = set(request.args.get("expansions", "").split(","))

        def shape(post: JSON) -> JSON:
            return {k: v for k, v in post.items() if k in wanted}

        referenced = [
            parent
            for post in posts
            for ref in post.get("referenced_tweets", [])
            if "referenced_tweets.id" in expansions
            and (parent := self.store.post_get(ref["id"])) is not None
        ]
        user_ids: list[str] = []
        if "author_id" in expansions:
            user_ids += [p["author_id"] for p in posts]
        if "in_reply_to_user_id" in expansions:
            user_ids += [p["in_reply_to_user_id"] for p in posts if "in_reply_to_user_id" in p]
        if "referenced_tweets.id.author_id" in expansions:
            user_ids += [p["author_id"] for p in referenced]
        users = [u for uid in dict.fromkeys(user_ids) if (u := self.store.user_get(uid))]
        includes: JSON = {}
        if users:
            includes["users"] = [_public_user(u) for u in users]
        if referenced:
            unique = {p["id"]: p for p in referenced}
            includes["tweets"] = [shape(p) for p in unique.values()]
        return [shape(p) for p in posts], includes

    def _timeline(self, request: Request, fetch: Callable[..., list[JSON]]) -> Result:
        """One newest-first page from `fetch` (a store timeline), after `since_id`, before the
        position in `pagination_token`, `max_results` long (default 10, 5 to 100 as on X)."""
        args = request.args
        raw_max = args.get("max_results", "10")
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            raise _BadParameter(
                "max_results",
                raw_max,
                f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100",
            )
        since_id = args.get("since_id")
        if since_id:
            _checked_id("since_id", since_id)
        until_id = None
        if token := args.get("pagination_token"):
            try:
                until_id = str(int(token.removeprefix("sbx"), 36))
            except ValueError:
                raise _BadParameter(
                    "pagination_token",
                    token,
                    f"The `pagination_token` query parameter value [{token}] is not valid",
                ) from None
        start_time, end_time = _time_arg(args, "start_time"), _time_arg(args, "end_time")
        if start_time and end_time and start_time > end_time:
            raise _BadParameter(
                "start_time",
                args["start_time"],
                "The `start_time` query parameter value must be before the `end_time` one",
            )
        size = int(raw_max)
        posts = fetch(
            since_id=since_id,
            until_id=until_id,
            limit=size + 1,
            start_time=start_time,
            end_time=end_time,
        )
        page, has_more = posts[:size], len(posts) > size
        if not page:
            return 200, {"meta": {"result_count": 0}}
        data, includes = self._render(request, page)
        meta: JSON = {
            "result_count": len(page),
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
        }
        if has_more:
            meta["next_token"] = "sbx" + _base36(int(page[-1]["id"]))
        body: JSON = {"data": data}
        if includes:
            body["includes"] = includes
        body["meta"] = meta
        return 200, body

    # X API v2 endpoints: (request, authenticated user, path args) -> (status, body)

    def _me(self, request: Request, user: dict[str, str]) -> Result:
        return 200, {"data": _public_user(user)}

    def _user_by_username(self, request: Request, user: dict[str, str], username: str) -> Result:
        if not _USERNAME.match(username):
            raise _BadParameter(
                "username",
                username,
                f"The `username` query parameter value [{username}] does not match "
                "^[A-Za-z0-9_]{1,15}$",
            )
        found = self.store.user_by_username(username)
        if found is None:
            return 200, {"errors": [not_found("user", "username", username)]}
        return 200, {"data": _public_user(found)}

    def _mentions(self, request: Request, user: dict[str, str], id: str) -> Result:
        if self.store.user_get(_checked_id("id", id)) is None:
            return 200, {"errors": [not_found("user", "id", id)]}
        return self._timeline(request, partial(self.store.mentions_of, id))

    def _user_tweets(self, request: Request, user: dict[str, str], id: str) -> Result:
        if self.store.user_get(_checked_id("id", id)) is None:
            return 200, {"errors": [not_found("user", "id", id)]}
        return self._timeline(request, partial(self.store.posts_of, id))

    def _tweets_lookup(self, request: Request, user: dict[str, str]) -> Result:
        raw = request.args.get("ids", "")
        ids = [i for i in raw.split(",") if i]
        if not 1 <= len(ids) <= 100:
            raise _BadParameter("ids", raw, "The `ids` query parameter needs 1 to 100 ids")
        found = []
        errors = []
        for post_id in ids:
            post = self.store.post_get(_checked_id("ids", post_id))
            if post is None:
                errors.append(not_found("tweet", "ids", post_id))
            else:
                found.append(post)
        body: JSON = {}
        if found:
            body["data"], includes = self._render(request, found)
            if includes:
                body["includes"] = includes
        if errors:
            body["errors"] = errors
        return 200, body

    def _tweet_get(self, request: Request, user: dict[str, str], id: str) -> Result:
        post = self.store.post_get(_checked_id("id", id))
        if post is None:
            return 200, {"errors": [not_found("tweet", "id", id)]}
        data, includes = self._render(request, [post])
        body: JSON = {"data": data[0]}
        if includes:
            body["includes"] = includes
        return 200, body

    def _tweet_create(self, request: Request, user: dict[str, str]) -> Result:
        payload = _json_body(request)
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _BadParameter("text", str(text), "The `text` field must be a non-empty string")
        reply = payload.get("reply")
        parent: str | None = None
        if reply is not None:
            parent = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
            _checked_id("reply.in_reply_to_tweet_id", str(parent))
        post = self.store.post_create(user["id"], text, in_reply_to=parent)
        # Recorded: 201 with only id and text (test_client_create_and_delete_tweet.yaml).
        return 201, {"data": {"id": post["id"], "text": post["text"]}}

    def _tweet_delete(self, request: Request, user: dict[str, str], id: str) -> Result:
        deleted = self.store.post_delete(user["id"], _checked_id("id", id))
        return 200, {"data": {"deleted": deleted}}

    def _like(self, request: Request, user: dict[str, str], id: str) -> Result:
        if id != user["id"]:
            # The path id must be the token's own user (API-FACTS §4).
            raise Refused(403, "You are not permitted to perform this action.")
        tweet_id = _json_body(request).get("tweet_id")
        liked = self.store.like_add(user["id"], _checked_id("tweet_id", str(tweet_id)))
        return 200, {"data": {"liked": liked}}

    def _unlike(self, request: Request, user: dict[str, str], id: str, tweet_id: str) -> Result:
        if id != user["id"]:
            raise Refused(403, "You are not permitted to perform this action.")
        self.store.like_remove(user["id"], tweet_id)
        return 200, {"data": {"liked": False}}

    def _dm_send(self, request: Request, user: dict[str, str], participant_id: str) -> Result:
        text = _json_body(request).get("text")
        if not isinstance(text, str) or not text:
            raise _BadParameter("text", str(text), "The `text` field must be a non-empty string")
        if self.store.user_get(_checked_id("participant_id", participant_id)) is None:
            raise _BadParameter(
                "participant_id", participant_id, f"Could not find user [{participant_id}]"
            )
        event = self.store.dm_add(user["id"], participant_id, text)
        data = {"dm_conversation_id": event["dm_conversation_id"], "dm_event_id": event["id"]}
        return 201, {"data": data}

    def _dm_events(self, request: Request, user: dict[str, str]) -> Result:
        """GET /2/dm_events: the user's DM events newest first, `max_results` long (1 to 100,
        default 100), before the position in `pagination_token`, of the `event_types` asked
        (all kept are MessageCreate), with the `dm_event.fields` asked beside the default
        id, event_type and text, as recorded."""
        args = request.args
        raw_max = args.get("max_results", "100")
        if not raw_max.isdigit() or not 1 <= int(raw_max) <= 100:
            raise _BadParameter(
                "max_results",
                raw_max,
                f"The `max_results` query parameter value [{raw_max}] is not between 1 and 100",
            )
        types = set(filter(None, args.get("event_types", "").split(","))) or {"MessageCreate"}
        events = [e for e in reversed(self.store.dms(user["id"])) if e["event_type"] in types]
        if token := args.get("pagination_token"):
            try:
                before = int(token.removeprefix("sbxdm"), 36)
            except ValueError:
                raise _BadParameter(
                    "pagination_token",
                    token,
                    f"The `pagination_token` query parameter value [{token}] is not valid",
                ) from None
            events = [e for e in events if int(e["id"]) < before]
        size = int(raw_max)
        page, has_more = events[:size], len(events) > size
        if not page:
            # Recorded exactly so: no `data` key at all (README, DM cassette).
            return 200, {"meta": {"result_count": 0}}
        wanted = DEFAULT_DM_EVENT_FIELDS | set(args.get("dm_event.fields", "").split(","))
        data = [{k: v for k, v in e.items() if k in wanted} for e in page]
        meta: JSON = {"result_count": len(data)}
        if has_more:
            meta["next_token"] = "sbxdm" + _base36(int(page[-1]["id"]))
        return 200, {"data": data, "meta": meta}

    # OAuth 2.0 token endpoint

    def _oauth_token(self, request: Request) -> Result:
        """POST /2/oauth2/token with grant_type=refresh_token, as X answers it: a confidential
        client must authenticate with HTTP Basic, a public one names itself in `client_id`.
        Errors are OAuth's {"error", "error_description"}, with X's wording."""
        form = request.form
        client_id, secret = _basic_credentials(request.headers.get("Authorization", ""))
        known = self.store.oauth_client_secret(client_id or form.get("client_id", ""))
        if client_id is None:
            authenticated = known == ""  # a public client, named in the body
        else:
            authenticated = bool(known) and secrets.compare_digest(known or "", secret or "")
        if not authenticated:
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Missing valid authorization header",
            }
        if form.get("grant_type") != "refresh_token":
            return 400, {
                "error": "invalid_request",
                "error_description": "Missing required parameter [grant_type].",
            }
        try:
            answer = self.store.oauth_refresh(
                client_id or form.get("client_id", ""), form.get("refresh_token", "")
            )
        except OAuthRefused as exc:
            return exc.status, exc.body
        return 200, answer

    # Control API (/_sandbox/): plain JSON for other processes driving the sandbox

    def _control_user_add(self, request: Request) -> Result:
        payload = _json_body(request)
        user_id = self.store.user_add(
            str(payload["username"]), str(payload.get("name") or ""), payload.get("user_id")
        )
        user = self.store.user_get(user_id)
        if user is None:
            raise KeyError(user_id)
        return 201, {**user, "token": self.store.token_for(user["username"])}

    def _control_tokens(self, request: Request) -> Result:
        return 200, {"tokens": self.store.tokens()}

    def _control_mention_add(self, request: Request) -> Result:
        payload = _json_body(request)
        created_at = payload.get("created_at")
        post_id = self.store.mention_add(
            str(payload["author"]),
            str(payload["text"]),
            in_reply_to=payload.get("in_reply_to"),
            created_at=datetime.fromisoformat(created_at) if created_at else None,
            expanded_urls=list(payload.get("expanded_urls") or []),
        )
        return 201, {"data": self.store.post_get(post_id)}

    def _control_posts(self, request: Request) -> Result:
        return 200, {"posts": self.store.posts(request.args.get("author"))}

    def _control_likes(self, request: Request) -> Result:
        return 200, {"likes": self.store.likes()}

    def _control_dms(self, request: Request) -> Result:
        return 200, {"dms": self.store.dms()}

    def _control_fault_add(self, request: Request) -> Result:
        payload = _json_body(request)
        self.store.fault_add(
            str(payload["method"]),
            str(payload["path_prefix"]),
            kind=str(payload["kind"]),
            status=payload.get("status"),
            count=int(payload.get("count", 1)),
            reset_in=float(payload.get("reset_in", 60)),
            delay=float(payload.get("delay", 3.0)),
        )
        return 201, {"ok": True}

    def _control_requests(self, request: Request) -> Result:
        log = [{"method": r.method, "path": r.path, "at": r.at} for r in self.store.request_log()]
        return 200, {"requests": log}

    def _control_oauth_client_add(self, request: Request) -> Result:
        payload = _json_body(request)
        self.store.oauth_client_add(str(payload["client_id"]), str(payload.get("secret") or ""))
        return 201, {"ok": True}

    def _control_oauth_grant(self, request: Request) -> Result:
        """The token endpoint's answer after `username` authorised `client_id` (the consent
        screen and the code exchange are outside the sandbox)."""
        payload = _json_body(request)
        kwargs: JSON = {}
        if "expires_in" in payload:
            kwargs["expires_in"] = int(payload["expires_in"])
        if "scope" in payload:
            kwargs["scope"] = str(payload["scope"])
        return 200, self.store.oauth_grant(
            str(payload["username"]), str(payload["client_id"]), **kwargs
        )

    def _control_oauth_expire(self, request: Request) -> Result:
        self.store.oauth_expire(str(_json_body(request)["access_token"]))
        return 200, {"ok": True}

    def _control_clock(self, request: Request) -> Result:
        return 200, _clock(self.store)

    def _control_clock_set(self, request: Request) -> Result:
        """{"offset_seconds": 300}: the network's clock five minutes ahead of the machine's."""
        offset = _json_body(request)["offset_seconds"]
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise TypeError(f"offset_seconds must be a number of seconds, not {offset!r}")
        self.store.clock_set(timedelta(seconds=offset))
        return 200, _clock(self.store)

    def _control_plan(self, request: Request) -> Result:
        return 200, {"x_plan": self.store.x_plan}

    def _control_plan_set(self, request: Request) -> Result:
        self.store.plan_set(str(_json_body(request).get("x_plan")))
        return 200, {"x_plan": self.store.x_plan}

    def _control_reset(self, request: Request) -> Result:
        self.store.reset()
        return 200, {"ok": True}

    # Web pages

    def _page_post(self, username: str, id: str) -> Response:
        post = self.store.post_get(id)
        author = self.store.user_get(post["author_id"]) if post else None
        if post is None or author is None or author["username"].lower() != username.lower():
            return _page(404, "Post not found", "<p>This post does not exist (any more).</p>")
        body = (
            f"<p><strong>{escape(author['name'])}</strong> "
            f'<a href="/{escape(author["username"])}">@{escape(author["username"])}</a></p>'
            f"<blockquote>{escape(post['text'])}</blockquote>"
            f"<p><time>{escape(post['created_at'])}</time></p>"
        )
        return _page(200, f"{author['name']} on X: {post['text'][:80]}", body)

    def _page_profile(self, username: str) -> Response:
        user = self.store.user_by_username(username)
        if user is None:
            return _page(404, "Account not found", "<p>This account does not exist.</p>")
        posts = self.store.posts(user["username"])[-20:]
        items = "".join(
            f'<li><a href="/{escape(user["username"])}/status/{escape(p["id"])}">'
            f"{escape(p['text'])}</a></li>"
            for p in reversed(posts)
        )
        return _page(
            200,
            f"{user['name']} (@{user['username']})",
            f"<ul>{items}</ul>",
        )


def _page(status: int, title: str, body: str) -> Response:
    """A page of the sandbox network's web: `body` is HTML already escaped by the caller."""
    banner = "<p><small>Sandbox X network: a local stand-in, not x.com</small></p>"
    return html_page(status, title, banner + body)


def x_http_date(moment: datetime) -> str:
    """An HTTP Date as X writes it today: RFC 7231 with "UTC" where the RFC says "GMT"
    (`Fri, 07 Oct 2022 22:43:18 UTC`; the 2021 recordings still say "GMT")."""
    return format_datetime(moment.astimezone(UTC), usegmt=True).removesuffix("GMT") + "UTC"


def _clock(store: SandboxStore) -> JSON:
    return {"now": x_time(store.now()), "offset_seconds": store.clock_offset.total_seconds()}


def _public_user(user: dict[str, str]) -> JSON:
    return {k: user[k] for k in PUBLIC_USER_FIELDS}


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    """(client id, secret) from an HTTP Basic Authorization header, (None, None) without one."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return unquote(client_id), unquote(secret)


def _json_body(request: Request) -> JSON:
    try:
        payload = json.loads(request.get_data() or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise _BadParameter("body", "", "The request body must be a JSON object")
    return payload


def _json(
    status: int,
    body: JSON,
    headers: dict[str, str] | None = None,
    *,
    content_type: str = "application/json; charset=utf-8",
) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        data.encode("utf-8")
    except UnicodeEncodeError:
        # An unpaired surrogate has no UTF-8 form: X sends it as its JSON escape ("\udc00").
        data = json.dumps(body, separators=(",", ":"))
    return Response(data, status=status, headers=headers, content_type=content_type)
