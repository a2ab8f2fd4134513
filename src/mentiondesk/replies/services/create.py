"""Replies on tickets: the handle a reply goes out from, and `reply_create`, which stores a
reply in the outbox (checked, guarded against collisions, idempotent) for a worker to send.

Direct messages (direct.py) and likes (actions.py) choose their handle here too."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.models import Post
from mentiondesk.channels.selectors import handle_text_limit
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets import rules
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketEvent

from .. import selectors
from ..models import Reply
from .automation import AutomationSkipped, automated_reply_allowed
from .outbox import reply_delivery_enqueue
from .text import reply_text_check


def reply_handle_choice(*, ticket: Ticket, user: User, threaded: bool = True) -> rules.HandleChoice:
    """The handle a reply by `user` on `ticket` goes out from, with the reason to show.

    `threaded`: a reply to the requester's latest post, so on X's self-serve plan it must
    come from a handle that post summoned (`rules.reply_handle_choose`); False for what X
    does not restrict that way (likes, direct messages). Raises Forbidden or DomainError
    when no handle may answer."""
    mentioned = ticket_selectors.ticket_mentioned_handles(ticket=ticket)
    latest = ticket_selectors.ticket_latest_inbound(ticket=ticket) if threaded else None
    summoned = ticket_selectors.post_summoned_handles(post=latest) if latest else None
    return rules.reply_handle_choose(
        ticket=ticket, mentioned=mentioned, user=user, summoned=summoned
    )


def reply_create(
    *,
    ticket: Ticket,
    author: User,
    text: str,
    idempotency_key: str | None = None,
    status_after: str = Ticket.Status.PENDING,
    seen_post_id: str | None = None,
    another_reply: bool = False,
    reason: str = "",
    automated: bool = False,
    phase: str = "",
) -> Reply:
    """Queue a reply on `ticket` from the handle the policy chooses, and move the ticket to
    `status_after` (pending or solved).

    Replying takes the ticket (an unassigned one becomes the author's), so the rules of
    taking it outside Play apply (`ticket_take_check`): an advocate answers someone else's
    ticket never, one Play would not give them next only with a `reason` (audited) or not
    at all; a lead takes someone else's over with a `reason` (it becomes theirs). `reason`
    is used only then. `automated` messages (status follow-ups, incident replies) are sent
    for the team, not taken by a person: the rule does not apply to them, they leave the
    assignee as it was, and they mind their manners (`automated_reply_allowed` for their
    incident `phase`, under the ticket's lock: raises AutomationSkipped with the reason). They
    are marked `is_automated`, and so are their REPLY_QUEUED/REPLY_SENT events.

    Idempotent: the same `idempotency_key` returns the reply already queued, so a double
    submit from two tabs or a retried API call never queues twice. Collision guard: when
    `seen_post_id` (the newest post the composer showed) is given and the conversation has
    moved on since, or when the requester's latest post is already answered
    (`ticket_answer_get`: a post of ours from any client, or a desk reply on its way), raises
    Collision saying what changed, who answered and from where.

    `another_reply` is the explicit confirmation of a deliberate second answer (a forgotten
    link, the real answer after an automated follow-up, an incident's all-clear): the latest
    post being answered is then not a collision, and a TicketEvent ANOTHER_REPLY records who
    confirmed it after what; the conversation moving on since `seen_post_id` still is a
    collision. Enqueues delivery after commit. Raises Forbidden (light agents; a status handle
    nobody may use; someone else's ticket; skipping the queue when the policy says never),
    DomainError (empty or too long text, bad status, no reason when one is needed: field
    "reason"), Conflict (closed ticket, collision)."""
    if not author.can_reply:
        raise Forbidden("light agents cannot reply; add an internal note instead")
    text = reply_text_check(
        text=_addressed(text, ticket=ticket),
        network=ticket.network,
        limit=handle_text_limit(handle=ticket.handle),
    )
    if status_after not in (Ticket.Status.OPEN, Ticket.Status.PENDING, Ticket.Status.SOLVED):
        raise DomainError("status_after must be open, pending or solved", field="status_after")
    if automated != bool(phase):
        raise ValueError("an automated reply names its phase, and only an automated one does")
    key = idempotency_key or str(uuid.uuid4())
    existing = Reply.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.ticket_id != ticket.pk:
            raise Conflict("this idempotency key belongs to a reply on another ticket")
        return existing
    try:
        with transaction.atomic():
            locked = Ticket.objects.select_for_update().select_related("handle").get(pk=ticket.pk)
            if locked.status == Ticket.Status.CLOSED:
                raise Conflict(f"ticket #{ticket.pk} is closed")
            taken = not automated and ticket_services.ticket_take_check(
                ticket=locked, by=author, reason=reason, via="reply"
            )
            choice = reply_handle_choice(ticket=locked, user=author)
            # Shown to the agent now; chosen again when the send starts.
            latest = ticket_selectors.ticket_latest_inbound(ticket=locked)
            if automated:
                skip = automated_reply_allowed(ticket=locked, phase=phase, latest=latest)
                if skip is not None:
                    raise AutomationSkipped(skip)
            answer = _collision_check(
                ticket=locked, seen_post_id=seen_post_id, latest=latest, another=another_reply
            )
            reply = Reply.objects.create(
                ticket=locked,
                handle=choice.handle,
                handle_reason=choice.reason,
                author=author,
                text=text,
                idempotency_key=key,
                in_reply_to_remote_id=latest.remote_id if latest else "",
                is_automated=automated,
                automation_phase=phase,
            )
            # Automation answers for the team: the ticket stays whoever's (or nobody's) it was.
            if (locked.assignee_id is None and not automated) or taken:
                locked.assignee = author
            locked.status = status_after
            locked.solved_at = timezone.now() if status_after == Ticket.Status.SOLVED else None
            locked.save(update_fields=["assignee", "status", "solved_at", "updated_at"])
            TicketEvent.objects.create(
                ticket=locked,
                kind=TicketEvent.Kind.REPLY_QUEUED,
                actor=author,
                message=text,
                # The status the reply set: SLA clocks pause while a ticket is pending.
                data={
                    "reply": reply.pk,
                    "handle": choice.handle.username,
                    "status": status_after,
                    **({"automated": True, "phase": phase} if automated else {}),
                },
            )
            if answer is not None:
                TicketEvent.objects.create(
                    ticket=locked,
                    kind=TicketEvent.Kind.ANOTHER_REPLY,
                    actor=author,
                    message="Sent another reply, knowing: " + " ".join(answer.describe()),
                    data={
                        "reply": reply.pk,
                        "in_reply_to": reply.in_reply_to_remote_id,
                        "answered_by_post": answer.post.remote_id if answer.post else None,
                        "answered_by_reply": answer.reply.pk if answer.reply else None,
                        "url": answer.url or None,
                    },
                )
            sla_services.tickets_sla_refresh(ticket_ids=[locked.pk])
            transaction.on_commit(lambda: reply_delivery_enqueue(reply_id=reply.pk))
    except IntegrityError:
        # Two requests raced with the same key: the other one won; return its reply.
        raced = Reply.objects.filter(idempotency_key=key).first()
        if raced is None:
            # Another automated message of this phase took the ticket's one place first.
            raise AutomationSkipped(f"the {phase} message already went to this ticket.") from None
        return raced
    except Collision as collision:
        # Recorded after the rollback: a stopped send belongs in the audit log too.
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.COLLISION,
            actor=author,
            message=collision.message,
            data={"changes": collision.changes, "text": text},
        )
        raise
    return reply


class Collision(Conflict):
    """The conversation changed since the composer opened, or the requester's latest post is
    already answered; `changes` says how. `answered` holds the "already answered" lines: when
    set, the same send with `another_reply` goes through (code "already_answered" when they
    are all there is)."""

    code = "collision"

    def __init__(self, changes: list[str], *, answered: list[str] | None = None) -> None:
        self.answered = answered or []
        self.changes = changes + self.answered
        super().__init__("Not sent: " + " ".join(self.changes))
        if self.answered and not changes:
            self.code = "already_answered"


def _collision_check(
    *, ticket: Ticket, seen_post_id: str | None, latest: Post | None, another: bool
) -> selectors.TicketAnswer | None:
    """Raises Collision when the send would race a post the agent has not seen, or answer a
    post already answered (unless `another` confirms it). Returns the answer confirmed past."""
    changes: list[str] = []
    for post in ticket_selectors.ticket_posts_since(ticket=ticket, seen_post_id=seen_post_id or ""):
        verb = "wrote" if post.direction == Post.Direction.INBOUND else "replied"
        changes.append(f"@{post.author_username} {verb} “{post.text[:80]}” since you opened it.")
    answer = selectors.ticket_answer_get(ticket=ticket, latest=latest) if latest else None
    answered = answer.describe() if answer is not None and not another else []
    if changes or answered:
        raise Collision(changes, answered=answered)
    return answer


def _addressed(text: str, *, ticket: Ticket) -> str:
    """`text` as it must go out on `ticket`'s network: on Mastodon a reply reaches the
    requester only if it mentions them (the instance adds no mention a reply answers), so it
    starts with "@acct" unless the agent already wrote it there."""
    text = text.strip()
    if not network_facts(ticket.network).reply_mentions_author or not text:
        return text
    mention = f"@{ticket.requester_username}"
    first = text.split(maxsplit=1)[0]
    if first.lower() == mention.lower():
        return text
    return f"{mention} {text}"
