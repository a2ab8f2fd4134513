"""The Slack fixtures, so fuzzed escalations and spam reports reach a real (local) Slack, and
the database connection kept across requests made straight through WSGI."""

from collections.abc import Iterator

import pytest
from django.core import signals
from django.db import close_old_connections

from tests.integrations.conftest import slack, slack_server  # noqa: F401 (fixtures)


@pytest.fixture
def _connection_kept() -> Iterator[None]:
    # Called straight through WSGI, each request would end by closing the test's database
    # connection; Django's own test client switches that off the same way.
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)
