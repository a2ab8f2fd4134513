"""The Slack fixtures, so fuzzed escalations and spam reports reach a real (local) Slack."""

from tests.integrations.conftest import slack, slack_server  # noqa: F401 (fixtures)
