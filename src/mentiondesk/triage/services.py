"""Triage writes: classify inbound posts and store the result; keep agents' corrections.

Classification itself (`classify.triage_classify`) needs no database and no network: the
models ship in model/*.json."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.core.intents import INTENTS
from mentiondesk.policy.selectors import policy_current

from . import classify
from .models import TriageResult


def _fields(result: classify.TriageResult) -> dict[str, Any]:
    return {
        "intent": result.intent,
        "intent_confidence": result.intent_confidence,
        "sentiment": result.sentiment,
        "context": result.context,
        "evidence": result.evidence,
        "model_version": result.model_version,
        "source": result.source,
    }


def triage_policy() -> tuple[list[classify.Rule], classify.TriageConfig]:
    """The policy's [[triage_rule]] entries as classifier rules, in file order, and its
    [triage] context keywords (the built-in lists for a kind the file leaves empty)."""
    settings = policy_current().triage
    rules: list[classify.Rule] = [
        classify.NamedRule(name=r.name, match=r.pattern or r.keywords, intent=r.intent)
        for r in settings.rules
    ]
    config = classify.TriageConfig(
        hosted=settings.hosted_keywords or classify.DEFAULT_CONFIG.hosted,
        self_managed=settings.self_managed_keywords or classify.DEFAULT_CONFIG.self_managed,
    )
    return rules, config


def _rules_and_config(
    rules: Sequence[classify.Rule] | None, config: classify.TriageConfig | None
) -> tuple[Sequence[classify.Rule], classify.TriageConfig]:
    if rules is not None and config is not None:
        return rules, config
    policy_rules, policy_config = triage_policy()
    return (policy_rules if rules is None else rules), (config or policy_config)


def post_triage(
    *,
    post: Post,
    rules: Sequence[classify.Rule] | None = None,
    config: classify.TriageConfig | None = None,
) -> TriageResult:
    """Triage one inbound `post` and store the result on it.

    Idempotent: a post triaged before keeps its stored result and any correction; the models
    are not run again. `rules` win over the intent model; `config` holds the company's
    context keywords (see classify.triage_classify); both default to the policy's
    (`triage_policy`). Raises DomainError for an outbound post, TriageRuleError for a bad
    rule."""
    if post.direction != Post.Direction.INBOUND:
        raise DomainError(f"post {post.pk} is one of ours: only inbound posts are triaged")
    existing = TriageResult.objects.filter(post=post).first()
    if existing is not None:
        return existing
    rules, config = _rules_and_config(rules, config)
    result = classify.triage_classify(post.text, rules=rules, config=config)
    stored, _ = TriageResult.objects.get_or_create(post=post, defaults=_fields(result))
    return stored


def posts_triage(
    *,
    posts: Iterable[Post],
    rules: Sequence[classify.Rule] | None = None,
    config: classify.TriageConfig | None = None,
) -> list[TriageResult]:
    """Triage many stored posts at once, for ingest: the inbound ones not triaged yet are
    classified and inserted in one bulk insert; outbound posts are skipped.

    Returns the results of every inbound post given, old and new, in post order. Four
    queries whatever the number of posts (one reads the policy's rules); safe to run twice
    or side by side (a post triaged meanwhile by another process keeps that result)."""
    inbound = [p for p in posts if p.direction == Post.Direction.INBOUND and p.pk]
    if not inbound:
        return []
    ids = [p.pk for p in inbound]
    done = set(TriageResult.objects.filter(post_id__in=ids).values_list("post_id", flat=True))
    if len(done) < len(ids):
        rules, config = _rules_and_config(rules, config)
    new = [
        TriageResult(
            post=post, **_fields(classify.triage_classify(post.text, rules=rules, config=config))
        )
        for post in inbound
        if post.pk not in done
    ]
    if new:
        TriageResult.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return list(TriageResult.objects.filter(post_id__in=ids).order_by("post_id"))


@transaction.atomic
def triage_correct(*, post: Post, intent: str, by: User) -> TriageResult:
    """Record that `by` says `post` is about `intent`, beside triage's own label.

    Triages the post first if it never was. A confirmation (the same intent) is kept too:
    both are labelled data for `mentiondesk triage export`, and a corrected label always acts
    (`tickets.gate`). Locks the result row. Raises Forbidden for a light agent (who labels
    nothing), DomainError for an unknown intent or an outbound post."""
    if not by.can_reply:
        raise Forbidden("light agents cannot correct triage's labels")
    if intent not in INTENTS:
        raise DomainError(
            f"unknown intent {intent!r}; use one of {', '.join(INTENTS)}", field="intent"
        )
    result = post_triage(post=post)
    result = TriageResult.objects.select_for_update().get(pk=result.pk)
    result.corrected_intent = intent
    result.corrected_by = by
    result.corrected_at = timezone.now()
    result.save(update_fields=["corrected_intent", "corrected_by", "corrected_at"])
    return result
