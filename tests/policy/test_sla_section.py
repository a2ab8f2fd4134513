"""The policy file's [sla] section: parsed all or nothing, with errors naming the key; shown
back by `policy show` in a form `policy apply` accepts."""

from __future__ import annotations

from datetime import date
from importlib import resources

import pytest

from mentiondesk.actions import policy as policy_actions
from mentiondesk.policy import services
from mentiondesk.policy.schema import PolicyError, policy_parse
from mentiondesk.policy.schema.sla import SlaTarget
from mentiondesk.policy.selectors import policy_current

pytestmark = pytest.mark.django_db

HANDLE = "[[handle]]\nusername = 'Driftwood'\n"


def test_demo_policy_sla_example() -> None:
    text = resources.files("mentiondesk.desk").joinpath("demo_policy.toml").read_text()
    sla = policy_parse(text=text, source="demo_policy.toml").sla
    assert sla.time_zone == "Europe/Amsterdam"
    assert sla.week == ((((9 * 60, 17 * 60),),) * 5) + ((), ())
    assert date(2026, 12, 25) in sla.holidays
    assert (sla.warn_before, sla.breach_channel) == (15 * 60, "support_managers")
    assert sla.targets == (
        SlaTarget("urgent", (), (), ("high",), 30 * 60, 3600, 8 * 3600, business_hours=False),
        SlaTarget("standard", (), (), (), 2 * 3600, 4 * 3600, 24 * 3600),
    )


def test_without_a_section_nothing_is_measured() -> None:
    assert policy_current().sla.targets == ()


def test_show_prints_the_section_and_applies_back() -> None:
    text = resources.files("mentiondesk.desk").joinpath("demo_policy.toml").read_text()
    policy_actions.policy_apply_text(text=text, source="demo.toml")
    shown = services.policy_show()
    assert '[[sla.target]]\nname = "urgent"' in shown
    assert 'mon = ["09:00-17:00"]' in shown
    policy_actions.policy_apply_text(text=shown, source="shown.toml")
    assert policy_current().sla == policy_parse(text=text, source="demo.toml").sla


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sla]\ntime_zone = 'Mars/Olympus'\n", "sla.time_zone: 'Mars/Olympus' is not an IANA"),
        ("[sla]\ncolour = 1\n", "sla: unknown key 'colour'"),
        ("[sla]\nwarn_before = '2d'\n", "sla.warn_before: '2d' is not a duration"),
        ("[sla]\nwarn_before = '0m'\n", "must be longer than zero"),
        ("[sla]\nbreach_channel = 'leads'\n", "sla.breach_channel: no [[channel]] named 'leads'"),
        ("[sla]\nholidays = [2026-12-25]\n", "sla.holidays: holidays need [sla.business_hours]"),
        (
            "[sla]\nholidays = ['25 Dec']\n[sla.business_hours]\nmon = '09:00-17:00'\n",
            "sla.holidays[1]: '25 Dec' is not a date",
        ),
        ("[sla.business_hours]\nmonday = '09:00-17:00'\n", "unknown day 'monday'"),
        ("[sla.business_hours]\nmon = '9-5'\n", "sla.business_hours.mon: '9-5' is not a range"),
        ("[sla.business_hours]\nmon = '17:00-09:00'\n", "the start before the end"),
        (
            "[sla.business_hours]\nmon = ['09:00-13:00', '12:00-17:00']\n",
            "'12:00-17:00' overlaps",
        ),
        ("[sla.business_hours]\n", "no day has business hours"),
        ("[[sla.target]]\nname = 'x'\n", "sla.target[1]: give at least one of"),
        ("[[sla.target]]\nfirst_response = '1h'\n", "sla.target[1]: missing required key 'name'"),
        (
            "[[sla.target]]\nname = 'x'\nintents = ['rant']\nfirst_response = '1h'\n",
            "sla.target[1].intents: 'rant' is not one of",
        ),
        (
            "[[sla.target]]\nname = 'x'\npriorities = ['p1']\nfirst_response = '1h'\n",
            "sla.target[1].priorities: 'p1' is not one of high, normal",
        ),
        (
            HANDLE + "[[sla.target]]\nname = 'x'\nhandles = ['Nope']\nfirst_response = '1h'\n",
            "sla.target[1].handles: no [[handle]] named 'Nope'",
        ),
        (
            "[[sla.target]]\nname = 'x'\nresolution = 24\n",
            "sla.target[1].resolution: expected str, got 24",
        ),
        (
            "[[sla.target]]\nname = 'x'\nresolution = '1h'\n"
            "[[sla.target]]\nname = 'x'\nresolution = '2h'\n",
            "sla: target[2] repeats 'x'",
        ),
    ],
)
def test_invalid_sla_sections_name_the_key(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as excinfo:
        policy_actions.policy_apply_text(text=text, source="bad.toml")
    assert excinfo.value.message.startswith("bad.toml: ")
    assert expected in excinfo.value.message
    assert policy_current().sla.targets == ()
