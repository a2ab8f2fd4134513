"""The connector's recording seam and the billing rule for single calls: what is a request,
what is billed."""

from __future__ import annotations

import socket

import pytest

from mentiondesk.channels.connectors.base import CallReport, OutcomeUnknown, Unreachable
from mentiondesk.channels.connectors.x import XConnector
from mentiondesk.costs.billing import Usage, call_usage
from mentiondesk.sandbox.x.server import SandboxServer


def test_a_call_that_never_left_is_not_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reports: list[CallReport] = []
    x = XConnector(base_url=f"http://127.0.0.1:{port}", token="t", timeout=1.0)
    with x.recording(reports.append), pytest.raises(Unreachable):
        x.me()
    assert reports == []


def test_a_post_whose_answer_never_came_is_billed(sandbox: SandboxServer) -> None:
    token = sandbox.store.token_for("Driftwood")
    reports: list[CallReport] = []
    x = XConnector(base_url=sandbox.url, token=token, timeout=0.5)
    sandbox.store.fault_add("POST", "/2/tweets", kind="timeout_after_accept", delay=1.5)
    with x.recording(reports.append), pytest.raises(OutcomeUnknown):
        x.post_create("Looking into it https://status.example.com")
    me, post = reports
    assert (me.endpoint, me.status) == ("GET /2/users/me", 200)
    assert (post.endpoint, post.status) == ("POST /2/tweets", None)
    # It may exist on X, so it is billed; it is still a failed request.
    assert call_usage(post) == [
        Usage("post_create_with_url", "POST /2/tweets", requests=1, failed=1, units=1)
    ]
    x.close()


@pytest.mark.parametrize(
    ("status", "units"),
    [(201, 1), (403, 0), (429, 0), (400, 0), (503, 1)],
)
def test_writes_bill_when_accepted_or_unknown_not_when_refused(status: int, units: int) -> None:
    report = CallReport("POST /2/tweets", status, body={}, sent={"text": "thanks!"})
    failed, limited = (0 if status < 300 else 1), (1 if status == 429 else 0)
    assert call_usage(report) == [
        Usage("post_create", "POST /2/tweets", 1, failed, units, rate_limited=limited)
    ]


def test_reads_list_every_resource_returned_and_nothing_when_refused() -> None:
    body = {
        "data": [{"id": "3", "text": "a"}, {"id": "2", "text": "b"}],
        "includes": {"users": [{"id": "9"}], "tweets": [{"id": "2", "text": "b"}]},
    }
    endpoint = "GET /2/users/:id/mentions"
    assert call_usage(CallReport(endpoint, 200, body=body)) == [
        Usage("post_read", endpoint, 1, 0, 0, ("3", "2", "2")),
        Usage("user_read", endpoint, 0, 0, 0, ("9",)),
    ]
    assert call_usage(CallReport(endpoint, 429, body={"title": "Too Many Requests"})) == [
        Usage("post_read", endpoint, 1, 1, 0, (), rate_limited=1)
    ]
    assert call_usage(CallReport(endpoint, 200, body={"meta": {"result_count": 0}})) == [
        Usage("post_read", endpoint, 1, 0, 0, ())
    ]
