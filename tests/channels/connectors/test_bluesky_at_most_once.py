"""At most once on Bluesky: the desk names the record (`rkey`), so a repeated createRecord
collides (the reference PDS answers 500 and writes nothing) and the connector learns what
happened by reading the record back (com.atproto.repo.getRecord)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mentiondesk.channels.connectors.base import OutcomeUnknown, Rejected, Unreachable
from mentiondesk.channels.connectors.bluesky import rkey_for
from mentiondesk.sandbox.bluesky import BlueskySandbox
from tests.channels.connectors.conftest import OURS, connect

CREATE = "/xrpc/com.atproto.repo.createRecord"


def test_a_repeated_rkey_collides_with_a_500_and_writes_nothing(bluesky: BlueskySandbox) -> None:
    driftwood = connect(bluesky)
    first = driftwood.post_create("once", rkey="3lbcd2xyz2222")

    again = driftwood.post_create("once", rkey="3lbcd2xyz2222")

    assert again.remote_id == first.remote_id
    assert len(bluesky.store.posts_by(OURS)) == 1
    assert bluesky.store.calls("com.atproto.repo.createRecord") == 2
    assert bluesky.store.calls("com.atproto.repo.getRecord") == 1


def test_written_then_500_then_a_retry_makes_one_post_and_returns_it(
    bluesky: BlueskySandbox,
) -> None:
    store = bluesky.store
    ana = store.post_add("ana.test", "@driftwood.test help")
    rkey = rkey_for(created_at=datetime(2026, 12, 7, 15, 0, tzinfo=UTC), seed=41)
    store.fault("status", path=CREATE, after_write=True)  # written, then the answer is a 500

    first = connect(bluesky).post_create("Looking now", in_reply_to_id=ana, rkey=rkey)
    retried = connect(bluesky).post_create("Looking now", in_reply_to_id=ana, rkey=rkey)

    (only,) = store.posts_by(OURS)
    assert only["rkey"] == rkey
    assert first.remote_id == retried.remote_id == only["uri"]
    assert first.raw["cid"] == only["cid"]
    assert (first.in_reply_to_id, first.conversation_id) == (ana, ana)


def test_a_timeout_after_sending_is_settled_by_get_record(bluesky: BlueskySandbox) -> None:
    store = bluesky.store
    driftwood = connect(bluesky, timeout=0.5)
    driftwood.me()
    store.fault("slow", path=CREATE, after_write=True, delay=1.5)  # written, answer too late

    sent = driftwood.post_create("Fixed in 2.4.1", rkey="3lbcd2xyz3333")

    assert [p["uri"] for p in store.posts_by(OURS)] == [sent.remote_id]
    assert store.calls("com.atproto.repo.getRecord") == 1


def test_a_dropped_connection_after_writing_is_settled_by_get_record(
    bluesky: BlueskySandbox,
) -> None:
    store = bluesky.store
    store.fault("drop", path=CREATE, after_write=True)

    sent = connect(bluesky).post_create("On it", rkey="3lbcd2xyz4444")

    assert [p["uri"] for p in store.posts_by(OURS)] == [sent.remote_id]


def test_a_500_that_wrote_nothing_says_a_retry_is_safe(bluesky: BlueskySandbox) -> None:
    store = bluesky.store
    store.fault("status", path=CREATE, status=502)  # before the write: nothing stored

    with pytest.raises(Unreachable, match="nothing was written"):
        connect(bluesky).post_create("Hello", rkey="3lbcd2xyz5555")
    assert store.posts_by(OURS) == []

    sent = connect(bluesky).post_create("Hello", rkey="3lbcd2xyz5555")
    assert [p["uri"] for p in store.posts_by(OURS)] == [sent.remote_id]


def test_when_the_read_back_fails_too_the_outcome_is_unknown(bluesky: BlueskySandbox) -> None:
    store = bluesky.store
    store.fault("status", path=CREATE, after_write=True)
    store.fault("status", path="/xrpc/com.atproto.repo.getRecord", status=503)

    with pytest.raises(OutcomeUnknown, match="reading the record back failed"):
        connect(bluesky).post_create("Hello", rkey="3lbcd2xyz6666")
    assert len(store.posts_by(OURS)) == 1  # it was written: only a later reconcile can tell


def test_an_rkey_holding_another_text_is_not_taken_for_ours(bluesky: BlueskySandbox) -> None:
    driftwood = connect(bluesky)
    driftwood.post_create("first text", rkey="3lbcd2xyz7777")

    with pytest.raises(Rejected, match="already holds another post"):
        driftwood.post_create("second text", rkey="3lbcd2xyz7777")
    assert [p["value"]["text"] for p in bluesky.store.posts_by(OURS)] == ["first text"]


def test_without_an_rkey_a_lost_answer_is_an_unknown_outcome(bluesky: BlueskySandbox) -> None:
    bluesky.store.fault("status", path=CREATE, after_write=True)

    with pytest.raises(OutcomeUnknown):
        connect(bluesky).post_create("Hello")
    assert bluesky.store.calls("com.atproto.repo.getRecord") == 0
