from __future__ import annotations

from pathlib import Path

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.policy import services
from mentiondesk.policy.schema import PolicyError

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
    services.policy_apply(path=write(tmp_path, MINIMAL))
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
    services.policy_apply(path=write(tmp_path, MINIMAL))
    shown = services.policy_show()
    assert 'username = "GitLab"' in shown and 'role = "advocate"' in shown
    services.policy_apply(path=write(tmp_path, shown, "again.toml"))
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
        ("[[handle]]\nusername = 'GitLab'\n[[handle]]\nusername = 'gitlab'\n", "handle[2] repeats"),
        ("[handle\nusername = 1", "line 1"),
        ("[[team]]\nname = 'x'\n", "unknown section 'team'"),
    ],
)
def test_invalid_files_name_the_file_the_key_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as excinfo:
        services.policy_apply(path=path)
    assert str(path) in excinfo.value.message
    assert expected in excinfo.value.message


def test_nothing_is_half_applied(tmp_path: Path) -> None:
    services.policy_apply(path=write(tmp_path, MINIMAL))
    broken = MINIMAL.replace('role = "advocate"', 'role = "wizard"').replace(
        'username = "GitLab"', 'username = "GitLabRenamed"'
    )
    with pytest.raises(PolicyError):
        services.policy_apply(path=write(tmp_path, broken, "broken.toml"))
    assert list(Handle.objects.values_list("username", flat=True)) == ["GitLab"]


def test_handles_missing_from_the_file_are_deactivated(tmp_path: Path) -> None:
    two = MINIMAL + '\n[[handle]]\nusername = "GitLabStatus"\nrole = "status"\n'
    services.policy_apply(path=write(tmp_path, two))
    services.policy_apply(path=write(tmp_path, MINIMAL, "one.toml"))
    assert not Handle.objects.get(username="GitLabStatus").is_active


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        services.policy_apply(path=tmp_path / "nope.toml")
