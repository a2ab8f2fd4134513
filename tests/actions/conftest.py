"""Fixtures of the actions' tests: the SLA desk of tests/sla (a clock to move, a handle with
SLA targets), whose clocks the actions move, and the local Slack server breach alerts go to.
A test module may define its own `handle`."""

from tests.integrations.conftest import slack, slack_server  # noqa: F401
from tests.sla.conftest import clock, handle  # noqa: F401
