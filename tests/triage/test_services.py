"""Storing triage on posts: once per post, in bulk for ingest, and agents' corrections."""

from __future__ import annotations

from typing import Any

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError
from mentiondesk.triage import services
from mentiondesk.triage.models import TriageResult
from tests.triage.factories import post_make

pytestmark = pytest.mark.django_db

OUTAGE = "@DriftwoodStatus is driftwood.dev down? every page gives 502"
QUESTION = "@Driftwood how do I add a deploy key to my project?"


def test_post_triage_stores_the_labels_on_the_post() -> None:
    post = post_make(OUTAGE)
    result = services.post_triage(post=post)
    stored = Post.objects.get(pk=post.pk).triage
    assert stored.pk == result.pk
    assert (stored.intent, stored.context, stored.source) == ("availability", "hosted", "model")
    assert stored.sentiment in {"positive", "neutral", "negative"}
    assert 0 < stored.intent_confidence <= 1
    assert stored.evidence and stored.model_version.startswith("intent-")
    assert stored.final_intent == "availability"


def test_post_triage_is_idempotent_and_keeps_a_correction(advocate: User) -> None:
    post = post_make(OUTAGE)
    first = services.post_triage(post=post)
    services.triage_correct(post=post, intent="bug_report", by=advocate)
    again = services.post_triage(post=post, rules=[(["502"], "other")])
    assert again.pk == first.pk
    assert TriageResult.objects.filter(post=post).count() == 1
    # Not re-classified: neither the new rule nor the model touches a triaged post.
    assert (again.intent, again.source, again.corrected_intent) == (
        "availability",
        "model",
        "bug_report",
    )


def test_rule_overrides_are_stored_with_their_source_and_evidence() -> None:
    post = post_make(OUTAGE)
    result = services.post_triage(post=post, rules=[(["502"], "bug_report")])
    result.refresh_from_db()
    assert (result.intent, result.source) == ("bug_report", "rule")
    assert result.evidence[0] == 'rule 1: keyword "502"'


def test_outbound_posts_are_not_triaged() -> None:
    ours = post_make("@requester sorry about that, we're on it", direction=Post.Direction.OUTBOUND)
    with pytest.raises(DomainError, match="only inbound posts"):
        services.post_triage(post=ours)
    assert services.posts_triage(posts=[ours]) == []
    assert not TriageResult.objects.exists()


def test_posts_triage_stores_many_in_a_few_queries(
    django_assert_max_num_queries: Any,
) -> None:
    done = post_make(QUESTION)
    services.post_triage(post=done)
    posts = [post_make(text) for text in (OUTAGE, QUESTION, "@Driftwood you rock 🚀")] * 1
    ours = post_make("@requester thanks!", direction=Post.Direction.OUTBOUND)
    with django_assert_max_num_queries(4):  # + the policy's rules
        results = services.posts_triage(posts=[done, *posts, ours])
    assert [r.post_id for r in results] == sorted(p.pk for p in [done, *posts])
    assert TriageResult.objects.count() == 4
    by_post = {r.post_id: r for r in results}
    assert by_post[posts[0].pk].intent == "availability"
    assert by_post[posts[1].pk].intent == "support_question"


def test_posts_triage_twice_changes_nothing() -> None:
    posts = [post_make(OUTAGE), post_make(QUESTION)]
    first = services.posts_triage(posts=posts)
    second = services.posts_triage(posts=posts, rules=[(["502"], "other")])
    assert [(r.pk, r.intent) for r in second] == [(r.pk, r.intent) for r in first]
    assert TriageResult.objects.count() == 2


def test_triage_correct_keeps_both_labels(advocate: User) -> None:
    post = post_make(QUESTION)  # never triaged: the correction triages it first
    result = services.triage_correct(post=post, intent="feature_request", by=advocate)
    result.refresh_from_db()
    assert result.intent == "support_question"
    assert result.corrected_intent == "feature_request"
    assert result.final_intent == "feature_request"
    assert result.corrected_by == advocate
    assert result.corrected_at is not None


def test_triage_correct_refuses_an_unknown_intent(advocate: User) -> None:
    post = post_make(QUESTION)
    with pytest.raises(DomainError, match="unknown intent 'rant'") as error:
        services.triage_correct(post=post, intent="rant", by=advocate)
    assert error.value.field == "intent"
    assert not TriageResult.objects.exists()
