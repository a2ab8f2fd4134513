"""The one ticket rule: what a stored post does to the tickets of its conversation.

Ingest (`intake/store.py`, page by page) and the history import (`intake/imports/tickets.py`,
set-based SQL over a whole file) both decide through `RULE` below: ingest calls
`post_outcome` and `status_after` for each post, the import runs the SQL `CASE` that
`outcome_sql` and `status_after_sql` render from the same rows. A test stores the same
conversations both ways and compares every ticket and every post's ticket
(tests/intake/test_ticket_rule_agrees.py).

Inputs, for one post (first matching row wins):

  ours  to_us  author's ticket  auto_ticket | outcome     | where it goes, what it does
  ----  -----  ---------------  ----------- | ----------- | -------------------------------
  yes   -      -                -           | answers     | on the conversation's first
                                            |             | ticket, then `tickets.answers`
                                            |             | files it on the ticket it answers;
                                            |             | a new/open ticket it answers goes
                                            |             | pending (its requester's latest
                                            |             | post answered) or open
  no    no     -                -           | context     | on its author's ticket, else the
                                            |             | conversation's first; no status
                                            |             | change, opens nothing
  no    yes    solved           -           | reopens     | open, solved_at cleared
  no    yes    new/open/pending -           | follows_up  | pending -> open, else unchanged
  no    yes    none             no          | stream      | stored without a ticket
  no    yes    none             yes         | opens       | a new ticket (new; pending or open
                                            |             | once one of ours answers it)

Where posts go ("first": the active ticket that started first) is worked out again for whole
conversations when a ticket opens or starts earlier (`intake/placement.py`), so the order the
posts arrive in does not matter: a backlog read newest first ends where a file read at once
does.

- ours: written by one of our handles (on X: its author id is one of theirs).
- to_us: the post writes to us. Ingest: it was read as a mention of the polled handle (its
  parents, read for context, do not); the import: it mentions the imported handle, replies to
  one of its posts, or is its own.
- author's ticket: the active ticket (new, open, pending, solved) of the post's author in the
  post's conversation: one ticket per requester and conversation. A third party joining a
  thread is a requester of their own when they write to us, context otherwise; our reply
  as the parent of a customer's next post is ours (answers) and the customer's post is theirs.
- auto_ticket: a handle the post writes to opens tickets (`Handle.auto_ticket`); ingest also
  counts the polling handle, the import the imported one.

Only the import has a further input, history: a conversation quiet since before
`--open-since` is solved history, and a follow-up older than that reopens nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

SOLVED, OPEN, PENDING = "solved", "open", "pending"


class Outcome(StrEnum):
    ANSWERS = "answers"
    REOPENS = "reopens"
    FOLLOWS_UP = "follows_up"
    CONTEXT = "context"
    STREAM = "stream"
    OPENS = "opens"


@dataclass(frozen=True)
class Seen:
    """What the rule knows of one post (plain values, no models)."""

    ours: bool
    to_us: bool
    ticket_status: str | None  # the author's active ticket in the conversation; None: none
    auto_ticket: bool


# The decision list: (input, value it must have, outcome), first match wins; the last row
# has no condition. `ticket` compares the author's ticket status: "solved", "any" (a ticket),
# or None (no ticket).
RULE: tuple[tuple[str, object, Outcome], ...] = (
    ("ours", True, Outcome.ANSWERS),
    ("to_us", False, Outcome.CONTEXT),
    ("ticket", SOLVED, Outcome.REOPENS),
    ("ticket", "any", Outcome.FOLLOWS_UP),
    ("auto_ticket", False, Outcome.STREAM),
    ("", None, Outcome.OPENS),
)
# What an outcome does to the status of the ticket the post joins (status before -> after).
STATUS_AFTER: Mapping[Outcome, Mapping[str, str]] = {
    Outcome.REOPENS: {SOLVED: OPEN},
    Outcome.FOLLOWS_UP: {PENDING: OPEN},
}


def post_outcome(seen: Seen) -> Outcome:
    """What `seen` does, by the first row of RULE it matches."""
    for name, value, outcome in RULE:
        if not name:
            return outcome
        if name == "ticket":
            status = seen.ticket_status
            if (value == "any" and status is not None) or status == value:
                return outcome
        elif getattr(seen, name) == value:
            return outcome
    raise AssertionError("RULE ends with a row without a condition")


def status_after(*, outcome: Outcome, status: str) -> str:
    """The status of the ticket a post joins, once it has joined."""
    return STATUS_AFTER.get(outcome, {}).get(status, status)


def outcome_sql(*, ours: str, to_us: str, ticket_status: str, auto_ticket: str) -> str:
    """RULE as an SQL CASE over the given SQL expressions (booleans as 1/0 integers,
    `ticket_status` NULL for no ticket), for the import's set-based statements."""
    columns = {"ours": ours, "to_us": to_us, "auto_ticket": auto_ticket}
    whens: list[str] = []
    for name, value, outcome in RULE:
        if not name:
            return f"CASE {' '.join(whens)} ELSE '{outcome}' END"
        if name == "ticket":
            test = (
                f"{ticket_status} IS NOT NULL" if value == "any" else f"{ticket_status} = '{value}'"
            )
        else:
            test = f"{columns[name]} = {int(bool(value))}"
        whens.append(f"WHEN {test} THEN '{outcome}'")
    raise AssertionError("RULE ends with a row without a condition")


def status_after_sql(*, outcome: str, status: str) -> str:
    """STATUS_AFTER as an SQL CASE: `status` after a post of `outcome` joined its ticket."""
    whens = [
        f"WHEN {outcome} = '{o}' AND {status} = '{before}' THEN '{after}'"
        for o, changes in STATUS_AFTER.items()
        for before, after in changes.items()
    ]
    return f"CASE {' '.join(whens)} ELSE {status} END"
