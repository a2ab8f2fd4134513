from __future__ import annotations

import pytest

from mentiondesk.policy import services

pytestmark = pytest.mark.django_db


def test_without_a_policy_the_seed_defaults_are_in_force() -> None:
    from mentiondesk.policy.selectors import policy_current

    policy = policy_current()
    assert policy.rules.like_intents == ("praise",)
    assert policy.channel_for("abuse").slack == "#abuse"
    assert "# no policy file applied yet" in services.policy_show()
