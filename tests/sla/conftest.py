"""SLA tests use the local Slack-compatible server for breach alerts."""

from tests.integrations.conftest import slack, slack_server  # noqa: F401
