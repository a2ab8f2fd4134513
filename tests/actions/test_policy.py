"""Applying a policy file (`actions.policy`): all or nothing, errors naming the file and the
key, handles and users written, rules in force, and open tickets' SLA deadlines moved."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.models import Handle
from mentiondesk.policy import services
from mentiondesk.policy.models import PolicyVersion
from mentiondesk.policy.schema import PolicyError
from mentiondesk.tickets.models import Ticket
from tests.sla.conftest import POLICY, at, carol_says, sla_of

pytestmark = pytest.mark.django_db

MINIMAL = """
[[handle]]
network = "x"
username = "GitLab"
role = "main"                                   # main | status | campaign
respond_from = "desk"                           # desk | stream
auto_ticket = true
credentials_env = "MENTIONDESK_X_TOKEN_GITLAB"  # env var with the OAuth 2.0 user access token
# user_id = "2244994945"                        # optional: looked up through the API when absent

[[user]]
username = "ana"
role = "advocate"  # advocate | lead | infrastructure | light_agent | admin
"""


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_minimal_design_file_applies(tmp_path: Path) -> None:
    policy_actions.policy_apply(path=write(tmp_path, MINIMAL))
    handle = Handle.objects.get()
    assert (handle.username, handle.role, handle.respond_from, handle.auto_ticket) == (
        "GitLab",
        "main",
        "desk",
        True,
    )
    assert handle.credentials_env == "MENTIONDESK_X_TOKEN_GITLAB"
    assert User.objects.get(username="ana").role == "advocate"


def test_show_prints_what_is_in_force_and_applies_back(tmp_path: Path) -> None:
    policy_actions.policy_apply(path=write(tmp_path, MINIMAL))
    shown = services.policy_show()
    assert 'username = "GitLab"' in shown and 'role = "advocate"' in shown
    policy_actions.policy_apply(path=write(tmp_path, shown, "again.toml"))
    assert Handle.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[[handle]]\nusername = 'GitLab'\nrole = 'boss'\n",
            "handle[1].role: 'boss' is not one of",
        ),
        (
            "[[handle]]\nusername = 'GitLab'\nauto_ticket = 'yes'\n",
            "handle[1].auto_ticket: expected bool",
        ),
        ("[[handle]]\nusername = 'GitLab'\ncolour = 'red'\n", "handle[1]: unknown key 'colour'"),
        ("[[user]]\nrole = 'lead'\n", "user[1]: missing required key 'username'"),
        ("[[handle]]\nusername = 'GitLab'\ncredentials_env = 'sk-live-123'\n", "credentials_env"),
        # The desk would send the variable's value to X as the handle's token.
        (
            "[[handle]]\nusername = 'GitLab'\ncredentials_env = 'PATH'\n",
            "handle[1].credentials_env: 'PATH' is not a handle's secret",
        ),
        (
            "[[handle]]\nusername = 'GitLab'\ncredentials_env = 'MENTIONDESK_SECRET_KEY'\n",
            "'MENTIONDESK_SECRET_KEY' is not a handle's secret: name a variable "
            "MENTIONDESK_X_TOKEN_<NAME>",
        ),
        ("[[handle]]\nusername = 'GitLab'\n[[handle]]\nusername = 'gitlab'\n", "handle[2] repeats"),
        ("[handle\nusername = 1", "line 1"),
        ("x = " + "[" * 100_000 + "]" * 100_000, "values nested too deeply to read"),
        ("[[team]]\nname = 'x'\n", "unknown section 'team'"),
        (
            "[rules]\nspam_report_channel = 'spam'\n",
            "rules.spam_report_channel: no [[channel]] named 'spam'",
        ),
        (
            "[[channel]]\nname = 'abuse'\nslack = '#abuse'\n"
            "[[channel]]\nname = 'social_media'\nslack = '#social'\n"
            "[[escalation]]\ncategory = 'hosted'\nchannel = 'experts'\n",
            "escalation[1].channel: no [[channel]] named 'experts'",
        ),
        ("[[channel]]\nname = 'abuse'\nslack = 'abuse'\n", "is not a Slack channel"),
        ("[rules]\nstatus_handle_posters = ['wizard']\n", "rules.status_handle_posters: 'wizard'"),
        ("[rules]\nlike_intents = ['joy']\n", "rules.like_intents: 'joy' is not one of"),
        ("[rules]\nreassign_roles = 'lead'\n", "rules.reassign_roles: expected list"),
        ("[rules]\nout_of_order = 'sometimes'\n", "rules.out_of_order: 'sometimes' is not one of"),
    ],
)
def test_invalid_files_name_the_file_the_key_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as excinfo:
        policy_actions.policy_apply(path=path)
    assert str(path) in excinfo.value.message
    assert expected in excinfo.value.message


def test_nothing_is_half_applied(tmp_path: Path) -> None:
    policy_actions.policy_apply(path=write(tmp_path, MINIMAL))
    broken = MINIMAL.replace('role = "advocate"', 'role = "wizard"').replace(
        'username = "GitLab"', 'username = "GitLabRenamed"'
    )
    with pytest.raises(PolicyError):
        policy_actions.policy_apply(path=write(tmp_path, broken, "broken.toml"))
    assert list(Handle.objects.values_list("username", flat=True)) == ["GitLab"]


MADE_UP = """
[[handle]]
network = "friendster"
username = "driftwood"
instance = "https://friendster.example"
"""


def test_a_handle_on_a_network_without_a_connector_is_refused_and_nothing_applied(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, MINIMAL + MADE_UP)
    with pytest.raises(PolicyError) as excinfo:
        policy_actions.policy_apply(path=path)
    message = excinfo.value.message
    assert f"{path}: handle[2] @driftwood: network 'friendster' is not supported yet" in message
    assert "supported networks: x, mastodon, bluesky" in message
    assert "unknown key" not in message
    assert not Handle.objects.exists()
    assert not User.objects.filter(username="ana").exists()
    assert not PolicyVersion.objects.exists()


def test_handles_missing_from_the_file_are_deactivated(tmp_path: Path) -> None:
    two = MINIMAL + '\n[[handle]]\nusername = "GitLabStatus"\nrole = "status"\n'
    policy_actions.policy_apply(path=write(tmp_path, two))
    policy_actions.policy_apply(path=write(tmp_path, MINIMAL, "one.toml"))
    assert not Handle.objects.get(username="GitLabStatus").is_active


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        policy_actions.policy_apply(path=tmp_path / "nope.toml")


RULES = """
[rules]
status_handle_posters = ["infrastructure", "lead"]
like_intents = ["praise", "feature_request"]
spam_report_channel = "trust"

[[channel]]
name = "trust"
slack = "#trust-and-safety"

[[channel]]
name = "social_media"
slack = "#social"

[[channel]]
name = "experts"
slack = "#experts"

[[escalation]]
category = "hosted"
label = "Hosted"
channel = "experts"
"""


def test_rules_channels_and_escalations_are_in_force_and_shown(tmp_path: Path) -> None:
    from mentiondesk.policy.selectors import policy_current

    policy_actions.policy_apply(path=write(tmp_path, MINIMAL + RULES))
    policy = policy_current()
    assert policy.rules.status_handle_posters == ("infrastructure", "lead")
    assert policy.channel_for(policy.rules.spam_report_channel).slack == "#trust-and-safety"
    assert [e.category for e in policy.escalations] == ["hosted"]
    shown = services.policy_show()
    assert 'status_handle_posters = ["infrastructure", "lead"]' in shown
    assert 'slack = "#trust-and-safety"' in shown
    policy_actions.policy_apply(path=write(tmp_path, shown, "again.toml"))
    assert policy_current().rules == policy.rules


def test_a_request_sees_the_policy_it_applies(tmp_path: Path) -> None:
    """Within a request the policy is looked up once, except after that request applies a
    file: what follows in it reads the new one."""
    from mentiondesk.core.logs import request_memo
    from mentiondesk.policy.selectors import policy_current

    token = request_memo.set({})
    try:
        assert policy_current().rules.spam_report_channel != "trust"
        policy_actions.policy_apply(path=write(tmp_path, MINIMAL + RULES))
        assert policy_current().rules.spam_report_channel == "trust"
    finally:
        request_memo.reset(token)


# The SLA desk of tests/sla: open tickets' deadlines follow the policy applied.


def test_a_new_policy_moves_open_deadlines(handle: Handle, clock: time_machine.Coordinates) -> None:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10))
    policy_actions.policy_apply_text(
        text=POLICY.replace('first_response = "30m"', 'first_response = "1h"'), source="v2.toml"
    )
    assert sla_of(Ticket.objects.get()).due_at == at(11)


def test_an_invalid_policy_changes_no_clock(
    handle: Handle, clock: time_machine.Coordinates
) -> None:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10))
    with pytest.raises(PolicyError, match=r"sla\.target\[2\]\.first_response"):
        policy_actions.policy_apply_text(
            text=POLICY.replace('first_response = "30m"', 'first_response = "1d"'), source="v2.toml"
        )
    assert sla_of(Ticket.objects.get()).due_at == at(10, 30)
