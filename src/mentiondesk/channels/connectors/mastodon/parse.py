"""Reading Mastodon's answers: statuses (their HTML content as text and links), notifications,
the threads they form, and the paging and rate-limit headers. Facts cited as "README" are in
`shared/fixtures/mastodon/README.md`; the Mastodon source cited is mastodon/mastodon 4.3+."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from mentiondesk.channels.connectors.base import ConnectorError, PayloadProblem, RemotePost
from mentiondesk.channels.connectors.payload import as_dict, digits_id, time_parse


class _ContentText(HTMLParser):
    """Plain text of a status's HTML `content`: paragraphs become blank lines, <br> newlines.
    A link's text is kept whole (Mastodon hides part of long links in `span.invisible`, which
    is still the URL) and its href kept as a url; mention and hashtag links stay text only."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.urls: list[dict[str, str]] = []
        self._link: dict[str, Any] | None = None
        self._spans: list[str] = []
        self._paragraphs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p":
            if self._paragraphs:
                self.parts.append("\n\n")
            self._paragraphs += 1
        elif tag == "a" and self._link is None:
            classes = attributes.get("class", "").split()
            self._link = {
                "href": attributes.get("href", ""),
                "plain": "mention" in classes or "hashtag" in classes,
                "shown": [],
            }
        elif tag == "span":
            self._spans.append(attributes.get("class", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._spans:
            if "ellipsis" in self._spans.pop().split() and self._link is not None:
                self._link["shown"].append("…")
        elif tag == "a" and self._link is not None:
            link, self._link = self._link, None
            if link["href"] and not link["plain"]:
                self.urls.append(
                    {
                        "url": link["href"],
                        "expanded_url": link["href"],
                        "display_url": "".join(link["shown"]),
                    }
                )

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        hidden = any("invisible" in classes.split() for classes in self._spans)
        if self._link is not None and not hidden:
            self._link["shown"].append(data)


def content_text(html: str) -> tuple[str, tuple[dict[str, str], ...]]:
    """The plain text of a status's HTML `content` and its links ({"url", "expanded_url",
    "display_url"}, as X's entities), mentions and hashtags excluded."""
    parser = _ContentText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip(), tuple(parser.urls)


def thread_roots(statuses: list[Any]) -> dict[str, str]:
    """Each status id -> its conversation id, as far as `statuses` tell.

    Mastodon statuses carry no conversation id (the `/api/v1/conversations` ids are for
    direct messages only, and `GET …/:id/context` costs a call per status). So the root is
    found by walking `in_reply_to_id` through the statuses at hand: a status that replies to
    nothing is its own root; a chain that leaves them ends at the last parent named (the
    closest ancestor known), which is what `post_create` gives a reply too. The desk threads
    on this best-known root; a reply whose ancestors are all in view gets the true root."""
    parents: dict[str, str | None] = {}
    for status in statuses:
        status_id = digits_id(as_dict(status).get("id"))
        if status_id is not None:
            parents[status_id] = digits_id(status.get("in_reply_to_id"))
    roots: dict[str, str] = {}
    for status_id in parents:
        current, seen = status_id, {status_id}
        while (parent := parents.get(current)) is not None and parent not in seen:
            seen.add(parent)
            current = parent
        roots[status_id] = current
    return roots


def parse_status(
    item: Any, *, roots: Mapping[str, str] | None = None
) -> RemotePost | PayloadProblem:
    """Normalise one Status entity. `raw` is the status as received (its `visibility`
    included: a reply mirrors it). Anything without an id, an author, a time or a content is
    a problem kept whole."""
    if not isinstance(item, dict):
        return PayloadProblem("status is not an object", raw=item)
    status_id = digits_id(item.get("id"))
    account = as_dict(item.get("account"))
    author_id = digits_id(account.get("id"))
    # `acct` is `user@their.instance` for remote accounts: the form a reply must mention.
    author = account.get("acct") or account.get("username")
    created_at = time_parse(item.get("created_at"))
    content = item.get("content")
    if status_id is None or author_id is None or not isinstance(author, str) or not author:
        return PayloadProblem("status without id or account", raw=item)
    if created_at is None or not isinstance(content, str):
        return PayloadProblem("status without created_at or content", raw=item)
    text, urls = content_text(content)
    mentions = tuple(
        str(m.get("acct") or m.get("username"))
        for m in item.get("mentions") or []
        if isinstance(m, dict) and (m.get("acct") or m.get("username"))
    )
    in_reply_to_id = digits_id(item.get("in_reply_to_id"))
    return RemotePost(
        remote_id=status_id,
        author_id=author_id,
        author_username=author,
        text=text,
        created_at=created_at,
        conversation_id=(roots or {}).get(status_id) or in_reply_to_id or status_id,
        in_reply_to_id=in_reply_to_id,
        in_reply_to_user_id=digits_id(item.get("in_reply_to_account_id")),
        mentions=mentions,
        urls=urls,
        raw=item,
    )


def parse_statuses(items: list[Any]) -> tuple[list[RemotePost], list[PayloadProblem]]:
    roots = thread_roots(items)
    posts: list[RemotePost] = []
    problems: list[PayloadProblem] = []
    for item in items:
        parsed = parse_status(item, roots=roots)
        if isinstance(parsed, RemotePost):
            posts.append(parsed)
        else:
            problems.append(parsed)
    return posts, problems


def parse_notifications(body: Any) -> tuple[list[RemotePost], list[PayloadProblem], str | None]:
    """The mentions in a list of Notification entities, the problems, and the newest
    notification id (the checkpoint: `since_id` pages notifications, not statuses).

    A mention whose `status` is null (deleted, or not visible to us: 39 of the 40 recorded
    from mastodon.social, README) is a problem kept whole; so is any other type."""
    if not isinstance(body, list):
        raise ConnectorError("Mastodon answered with something that is not a JSON list", body=body)
    mentions: list[dict[str, Any]] = []
    problems: list[PayloadProblem] = []
    newest: str | None = None
    for item in body:
        notification_id = digits_id(as_dict(item).get("id"))
        if notification_id is not None and (newest is None or int(notification_id) > int(newest)):
            newest = notification_id
        if not isinstance(item, dict) or notification_id is None:
            problems.append(PayloadProblem("notification without id", raw=item))
        elif item.get("type") != "mention":
            problems.append(PayloadProblem(f"notification of type {item.get('type')!r}", raw=item))
        elif not isinstance(item.get("status"), dict):
            problems.append(
                PayloadProblem("mention without a status (deleted or not visible)", raw=item)
            )
        else:
            mentions.append(item)
    roots = thread_roots([item["status"] for item in mentions])
    posts: list[RemotePost] = []
    for item in mentions:
        parsed = parse_status(item["status"], roots=roots)
        if isinstance(parsed, RemotePost):
            posts.append(parsed)
        else:  # the whole notification, so nothing of it is lost
            problems.append(PayloadProblem(f"mention: {parsed.reason}", raw=item))
    return posts, problems, newest


def next_max_id(response: requests.Response) -> str | None:
    """`max_id` of the Link header's rel="next" (README: list endpoints page through Link)."""
    url = response.links.get("next", {}).get("url", "")
    values = parse_qs(urlsplit(url).query).get("max_id") if url else None
    return values[0] if values and values[0].isdigit() else None


def ratelimit_reset(value: str | None) -> datetime | None:
    """x-ratelimit-reset is an ISO 8601 time on Mastodon (README), epoch seconds on X."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return datetime.fromtimestamp(int(value), UTC) if value.strip().isdigit() else None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- ActivityPub, as an account archive's outbox.json holds it ------------------------------------
# Mastodon's BackupService writes every status of the account as the activity it federated
# (app/services/backup_service.rb): a `Create` whose `object` is the Note itself
# (app/serializers/activitypub/note_serializer.rb), or an `Announce` (a boost) naming the
# boosted status by URI. Audience addressing is app/lib/activitypub/tag_manager.rb's `to`/`cc`.

AS_PUBLIC = ("https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public")


def note_visibility(note: Mapping[str, Any]) -> str:
    """The Mastodon visibility a Note was posted with, from its audience: public (addressed
    to Public), unlisted (Public only in cc), private (to the followers collection), else
    direct (to the mentioned accounts only)."""
    to = [a for a in note.get("to") or [] if isinstance(a, str)]
    cc = [a for a in note.get("cc") or [] if isinstance(a, str)]
    if any(a in AS_PUBLIC for a in to):
        return "public"
    if any(a in AS_PUBLIC for a in cc):
        return "unlisted"
    if any(a.endswith("/followers") for a in to):
        return "private"
    return "direct"


def status_id_from_uri(uri: Any, *, instance: str) -> str | None:
    """The status id in a status URI of `instance`, else None: a status of another server
    has another id on ours, which its URI does not tell. TagManager#uri_for gives local
    statuses as `https://host/users/NAME/statuses/ID`, or `https://host/ap/users/ACCOUNT_ID/
    statuses/ID` for accounts with numeric ActivityPub ids (Mastodon 4.4+)."""
    segments = _local_path(uri, instance=instance)
    if segments[:1] == ["ap"]:
        segments = segments[1:]
    if len(segments) == 4 and segments[0] == "users" and segments[2] == "statuses":
        return digits_id(segments[3])
    return None


def actor_is(actor: Any, *, instance: str, username: str, account_id: str) -> bool:
    """Whether an ActivityPub actor URI is our account's: `/users/NAME` or, with numeric
    ActivityPub ids, `/ap/users/ACCOUNT_ID` on our instance."""
    segments = _local_path(actor, instance=instance)
    if len(segments) == 2 and segments[0] == "users":
        return segments[1].lower() == username.lower()
    return (
        segments[:2] == ["ap", "users"]
        and len(segments) == 3
        and (not account_id or segments[2] == account_id)
    )


def _local_path(uri: Any, *, instance: str) -> list[str]:
    """The path segments of `uri` when it is on `instance`, else []."""
    if not isinstance(uri, str) or not instance:
        return []
    parts = urlsplit(uri)
    if parts.netloc.lower() != urlsplit(instance).netloc.lower():
        return []
    return parts.path.strip("/").split("/")


def parse_note(
    note: Any, *, instance: str, account_id: str, username: str
) -> RemotePost | PayloadProblem:
    """One Note (or Question: a poll) of our own account's outbox as a RemotePost written by
    `username` (`account_id` on `instance`). `in_reply_to_id` is the status id when the parent
    is on our instance, else None, with the parent's URI left in `raw["inReplyTo"]`.

    `raw` is the Note plus the two fields the desk reads from a Status entity: `uri` (its
    ActivityPub id) and `visibility` (from its audience, so a reply mirrors it)."""
    if not isinstance(note, dict) or note.get("type") not in ("Note", "Question"):
        return PayloadProblem("not a Note", raw=note)
    status_id = status_id_from_uri(note.get("id"), instance=instance)
    if status_id is None:
        return PayloadProblem(f"Note id {note.get('id')!r} is not a status of {instance}", note)
    created_at = time_parse(note.get("published"))
    content = note.get("content")
    if created_at is None or not isinstance(content, str):
        return PayloadProblem("Note without a readable published time or content", raw=note)
    text, urls = content_text(content)
    mentions = tuple(
        name.removeprefix("@")
        for tag in note.get("tag") or []
        if isinstance(tag, dict)
        and tag.get("type") == "Mention"
        and isinstance(name := tag.get("name"), str)
        and name.removeprefix("@")
    )
    in_reply_to_id = status_id_from_uri(note.get("inReplyTo"), instance=instance)
    return RemotePost(
        remote_id=status_id,
        author_id=account_id,
        author_username=username,
        text=text,
        created_at=created_at,
        conversation_id=in_reply_to_id or status_id,
        in_reply_to_id=in_reply_to_id,
        mentions=mentions,
        urls=urls,
        raw={**note, "uri": note["id"], "visibility": note_visibility(note)},
    )
