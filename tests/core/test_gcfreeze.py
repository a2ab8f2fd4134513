"""A web process moves what it keeps for good out of the garbage collector's sight after its
first requests, so a full collection no longer lands on a request (bench/RESULTS.md, "Scale")."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator

import pytest
from django.test import Client

from mentiondesk.core import gcfreeze


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This test process as a web process that has served no request yet."""
    gc.unfreeze()
    monkeypatch.setattr(gcfreeze, "_finished", itertools.count(1))
    yield
    gc.unfreeze()


def test_objects_alive_after_the_first_and_the_tenth_request_are_frozen(
    client: Client, fresh_process: None
) -> None:
    assert gc.get_freeze_count() == 0
    assert client.get("/healthz").status_code == 200
    after_first = gc.get_freeze_count()
    assert after_first > 10_000, "Django, the URL patterns and the views are frozen"

    kept_by_the_next = [[n] for n in range(500)]  # what requests 2-10 keep (lists: tracked)
    for _ in range(8):
        client.get("/healthz")
    # Frozen objects freed since leave the count: it may only go down.
    before_tenth = gc.get_freeze_count()
    assert before_tenth <= after_first, "no freeze between the first and the tenth"
    client.get("/healthz")
    assert gc.get_freeze_count() >= before_tenth + len(kept_by_the_next)
