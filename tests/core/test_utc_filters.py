"""The queue's fast time filters print exactly what Django's `date` filter prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.template import Context, Template

MOMENTS = [
    datetime(2026, 1, 5, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 25, 23, 59, 59, 123456, tzinfo=UTC),
    # Not UTC: both print the moment in UTC (the desk's TIME_ZONE).
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-5))),
]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize(
    ("ours", "django"),
    [("utc_iso", 'date:"c"'), ("utc_minute", 'date:"Y-m-d H:i"'), ("utc_short", 'date:"M j, H:i"')],
)
def test_utc_filters_match_the_date_filter(moment: datetime, ours: str, django: str) -> None:
    context = Context({"t": moment})
    mine = Template("{% load utc %}{{ t|" + ours + " }}").render(context)
    assert mine == Template("{{ t|" + django + " }}").render(context)
    assert mine  # a blank on both sides would pass the comparison


def test_utc_filters_print_nothing_for_no_time() -> None:
    rendered = Template("{% load utc %}[{{ t|utc_iso }}|{{ t|utc_minute }}|{{ t|utc_short }}]")
    assert rendered.render(Context({"t": None})) == "[||]"
