from __future__ import annotations

from pathlib import Path

import pytest

from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.length import x_length
from mentiondesk.channels.models import Handle
from mentiondesk.policy.schema import PolicyError
from mentiondesk.replies.services import ticket_drafts, ticket_macros
from mentiondesk.tickets.models import Ticket
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket() -> Ticket:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    (ticket,) = tickets_from(handle, remote_post(author="maya", text="@Driftwood 502s?"))
    return ticket


def test_x_counts_links_as_23_and_wide_characters_as_2() -> None:
    assert x_length("hello") == 5
    assert x_length("see https://example.com/a/very/long/path?with=query&and=more") == 4 + 23
    assert x_length("日本語") == 6
    assert x_length("ok 👍") == 3 + 2 * len("👍")


def test_drafts_follow_the_intent_and_need_their_variables(ticket: Ticket) -> None:
    assert {d.macro for d in ticket_drafts(ticket=ticket)} == set(), "no intent, no macros"
    ticket.intent = "availability"
    assert ticket_drafts(ticket=ticket) == [], "the incident link is not known yet"
    (draft,) = ticket_drafts(
        ticket=ticket, variables={"incident_url": "https://status.driftwood.dev/incidents/7"}
    )
    assert draft.text.startswith("@maya we're looking into it: https://status.driftwood.dev")
    assert draft.fits and draft.length == x_length(draft.text)
    ticket.intent = "support_question"
    names = {
        d.macro
        for d in ticket_drafts(
            ticket=ticket, variables={"forum_category_url": "https://forum.driftwood.dev/c/help"}
        )
    }
    assert names == {"forum_community", "forum_troubleshoot"}


def test_macros_lists_every_macro_with_unknown_variables_left_to_fill(ticket: Ticket) -> None:
    ticket.intent = "bug_report"
    macros = {d.macro: d for d in ticket_macros(ticket=ticket, variables={"issue_url": ""})}
    assert list(macros)[:3] == ["still_affected", "related_issue", "new_issue"], "policy order"
    related = macros["related_issue"]
    assert related.applies and related.missing == ("issue_url",)
    assert related.text.startswith("@maya thanks! This looks related: {issue_url} Add")
    assert related.length == x_length(related.text)
    assert not macros["still_affected"].applies, "meant for availability tickets"
    assert macros["spam_thanks"].missing == () and "@maya!" in macros["spam_thanks"].text
    assert ticket_drafts(ticket=ticket) == [], "a draft needs every variable"
    known = ticket_macros(ticket=ticket, variables={"issue_url": "https://git.example/i/1"})
    (draft,) = [d for d in known if d.macro == "related_issue"]
    assert draft.missing == () and "https://git.example/i/1 Add" in draft.text


def test_policy_macros_replace_the_defaults_and_long_ones_are_flagged(
    ticket: Ticket, tmp_path: Path
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[[macro]]\nname = "long"\ntext = "@{requester} ' + "x" * 300 + '"\nintents = ["praise"]\n'
    )
    policy_actions.policy_apply(path=path)
    ticket.intent = "praise"
    (draft,) = ticket_drafts(ticket=ticket)
    assert draft.macro == "long" and not draft.fits


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[[macro]]\nname = "m"\ntext = "{customer}"\n', "unknown variable {customer}"),
        # str.format would read attributes, index, and pad to a gigabyte on every draft.
        (
            '[[macro]]\nname = "m"\ntext = "@{requester.__class__}"\n',
            "macro\\[1\\].text: {requester.__class__}: only a plain variable is allowed",
        ),
        (
            '[[macro]]\nname = "m"\ntext = "@{requester:>999999999}"\n',
            "{requester:>999999999}: only a plain variable is allowed \\(no format spec",
        ),
        ('[[macro]]\nname = "m"\ntext = "@{requester!r}"\n', "{requester!r}: only a plain"),
        ('[[macro]]\nname = "m"\ntext = "@{requester[0]}"\n', "{requester\\[0\\]}: only a"),
        ('[[macro]]\nname = "m"\ntext = "@{requester"\n', "write {{ and }} for a literal brace"),
        ('[[macro]]\nname = "m"\ntext = "hi"\nintents = ["joy"]\n', "'joy' is not one of"),
        ('[[macro]]\nname = "m"\ntext = "a"\n[[macro]]\nname = "m"\ntext = "b"\n', "repeats"),
    ],
)
def test_bad_macros_are_refused(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=error):
        policy_actions.policy_apply(path=path)
