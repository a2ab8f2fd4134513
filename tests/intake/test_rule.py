"""The rule's two renderings agree: `post_outcome` in Python and the SQL `CASE` the import runs,
on every combination of inputs, evaluated by the suite's database."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection

from mentiondesk.intake import rule

pytestmark = pytest.mark.django_db

STATUSES = (None, "new", "open", "pending", "solved")


def sql_value(sql: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}")
        row = cursor.fetchone()
        return row[0] if row else None


@pytest.mark.parametrize(
    ("ours", "to_us", "status", "auto_ticket"),
    list(itertools.product((True, False), (True, False), STATUSES, (True, False))),
)
def test_python_and_sql_give_the_same_outcome_and_status(
    ours: bool, to_us: bool, status: str | None, auto_ticket: bool
) -> None:
    seen = rule.Seen(ours=ours, to_us=to_us, ticket_status=status, auto_ticket=auto_ticket)
    outcome = rule.post_outcome(seen)
    in_sql = sql_value(
        rule.outcome_sql(
            ours=str(int(ours)),
            to_us=str(int(to_us)),
            ticket_status=f"'{status}'" if status else "NULL",
            auto_ticket=str(int(auto_ticket)),
        )
    )
    assert in_sql == outcome
    if status is not None:
        after = sql_value(rule.status_after_sql(outcome=f"'{outcome}'", status=f"'{status}'"))
        assert after == rule.status_after(outcome=outcome, status=status)


def test_the_table_reads_as_the_issue_says() -> None:
    """The shapes named in the module's table, by hand."""

    def post(
        *, ours: bool = False, to_us: bool = True, status: str | None = None, auto: bool = True
    ) -> str:
        return rule.post_outcome(
            rule.Seen(ours=ours, to_us=to_us, ticket_status=status, auto_ticket=auto)
        )

    assert post(ours=True, to_us=False) == "answers"
    assert post(status="solved") == "reopens"
    assert rule.status_after(outcome=rule.Outcome.REOPENS, status="solved") == "open"
    assert rule.status_after(outcome=rule.Outcome.FOLLOWS_UP, status="pending") == "open"
    assert rule.status_after(outcome=rule.Outcome.FOLLOWS_UP, status="new") == "new"
    # A third party joining without writing to us, a parent read for context: no ticket; a
    # requester's own post read only as context changes no status.
    assert post(to_us=False) == "context"
    assert post(to_us=False, status="solved") == "context"
    assert post(auto=False) == "stream"
    assert post() == "opens"
