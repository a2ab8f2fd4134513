"""The handbook's rules about handles, each decided in one place.

First cut of the policy engine: the rules are the seed's defaults. The policy file will make
them configurable without changing these functions' contracts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import Forbidden


@dataclass(frozen=True)
class HandleChoice:
    handle: Handle
    reason: str


def ticket_handle_for_mention(*, mentioned: Iterable[Handle], polled_by: Handle) -> Handle:
    """The handle a new ticket belongs to: the one the post mentioned; the main handle when
    it mentioned several of ours (seed: "always reply from the main handle")."""
    handles = list({h.pk: h for h in mentioned}.values())
    if len(handles) == 1:
        return handles[0]
    if len(handles) > 1:
        return next((h for h in handles if h.role == Handle.Role.MAIN), polled_by)
    return polled_by


def reply_handle_choose(*, handle: Handle, mentioned_count: int, user: User) -> HandleChoice:
    """Which handle a reply on a ticket of `handle` goes out from, and why.

    Only infrastructure users post from a status handle (seed: "Only the infrastructure team
    should be posting updates on @GitLabStatus"); anyone else answers from the main handle."""
    if handle.role == Handle.Role.STATUS and user.role != User.Role.INFRASTRUCTURE:
        main = Handle.objects.filter(
            network=handle.network, role=Handle.Role.MAIN, is_active=True
        ).first()
        if main is not None:
            return HandleChoice(
                main,
                f"@{handle.username} is the status handle: only infrastructure posts there, "
                f"so this reply goes out from the main handle @{main.username}.",
            )
        raise Forbidden(
            f"Only infrastructure users may post from the status handle @{handle.username}, "
            "and there is no main handle to answer from instead."
        )
    if mentioned_count > 1:
        return HandleChoice(
            handle, f"The post mentions several of our handles: replying from @{handle.username}."
        )
    return HandleChoice(handle, f"The post mentioned @{handle.username}.")
