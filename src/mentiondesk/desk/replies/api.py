"""Posts, status updates and the stream: likes, deletes, retweet suggestions (there is no
retweet action), availability updates, and direct answers from stream handles."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.models import Handle, Post
from mentiondesk.core.errors import NotFound
from mentiondesk.desk.auth import api_user
from mentiondesk.desk.tickets.api import event_out, post_out, reply_out
from mentiondesk.desk.tickets.schemas import EventOut, ReplyOut
from mentiondesk.integrations.slack import escalations
from mentiondesk.replies import selectors, services
from mentiondesk.replies.models import PostAction

from .schemas import (
    NoteIn,
    PostActionOut,
    ReasonIn,
    StatusUpdateIn,
    StreamPostOut,
    StreamReplyIn,
)

router = Router(tags=["posts"])


def action_out(action: PostAction) -> dict[str, object]:
    return {
        "id": action.pk,
        "kind": action.kind,
        "status": action.status,
        "post": action.post.remote_id,
        "handle": action.handle.username,
        "reason": action.reason,
        "detail": action.detail,
        "created_at": action.created_at,
        "done_at": action.done_at,
    }


@router.post(
    "/posts/{path:remote_id}/like",
    response={201: PostActionOut},
    summary="Like a post (positive feedback; anything else needs a reason)",
)
def like(
    request: HttpRequest, remote_id: str, payload: ReasonIn, network: str | None = None
) -> object:
    post = channel_selectors.post_get(remote_id=remote_id, network=network)
    action = services.post_like(post=post, by=api_user(request), reason=payload.reason)
    return Status(201, action_out(action))


@router.post(
    "/posts/{path:remote_id}/delete",
    response={201: PostActionOut},
    summary="Delete one of our posts (its author or a lead)",
)
def delete(
    request: HttpRequest, remote_id: str, payload: ReasonIn, network: str | None = None
) -> object:
    post = channel_selectors.post_get(remote_id=remote_id, network=network)
    action = services.post_delete(post=post, by=api_user(request), reason=payload.reason)
    return Status(201, action_out(action))


@router.post(
    "/posts/{path:remote_id}/suggest-retweet",
    response={201: EventOut | None},
    summary="Suggest a post to the social team (the desk never retweets)",
)
def suggest_retweet(
    request: HttpRequest, remote_id: str, payload: NoteIn, network: str | None = None
) -> object:
    post = channel_selectors.post_get(remote_id=remote_id, network=network)
    event = escalations.post_suggest_retweet(post=post, by=api_user(request), note=payload.note)
    return Status(201, event_out(event) if event else None)


@router.post(
    "/status-updates",
    response={201: ReplyOut},
    summary="Post an availability update from the status handle (infrastructure)",
)
def status_update(request: HttpRequest, payload: StatusUpdateIn) -> object:
    reply = services.status_update_create(
        by=api_user(request),
        text=payload.text,
        incident_url=payload.incident_url,
        follow_up_open_reports=payload.follow_up_open_reports,
    )
    return Status(201, reply_out(selectors.reply_get(reply_id=reply.pk)))


class StreamFilters(Schema):
    handle: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


@router.get("/stream", response=list[StreamPostOut], summary="The stream handles' live column")
def stream(request: HttpRequest, filters: Query[StreamFilters]) -> list[dict[str, object]]:
    handle = None
    if filters.handle:
        handle = channel_selectors.stream_handles().filter(username__iexact=filters.handle).first()
        if handle is None:
            raise NotFound(f"no stream handle named {filters.handle!r}", field="handle")
    return [
        stream_post_out(p)
        for p in channel_selectors.stream_posts(handle=handle, limit=filters.limit)
    ]


def stream_post_out(post: Post) -> dict[str, object]:
    handle: Handle | None = post.handle
    return {
        **post_out(post),
        "handle": handle.username if handle else None,
        "ticket": post.ticket_id,
        "is_answered": bool(getattr(post, "is_answered", False)),
    }


@router.post(
    "/stream/{path:remote_id}/reply",
    response={201: ReplyOut},
    summary="Answer a stream post directly (recorded, threaded, at most once)",
)
def stream_reply(
    request: HttpRequest, remote_id: str, payload: StreamReplyIn, network: str | None = None
) -> object:
    post = channel_selectors.post_get(remote_id=remote_id, network=network)
    key = payload.idempotency_key or request.headers.get("Idempotency-Key") or None
    reply = services.stream_reply(
        post=post,
        by=api_user(request),
        text=payload.text,
        idempotency_key=key,
        another_reply=payload.another_reply,
    )
    return Status(201, reply_out(selectors.reply_get(reply_id=reply.pk)))
