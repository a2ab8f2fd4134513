"""triage_classify without a database: the shipped models, rules that win over them, and the
product context from keywords. Only unambiguous posts are asserted: quality is `make bench`'s."""

from __future__ import annotations

import re

import pytest

from mentiondesk.core.intents import INTENTS
from mentiondesk.triage.classify import (
    TriageConfig,
    TriageRuleError,
    context_detect,
    keywords_find,
    triage_classify,
)
from mentiondesk.triage.constants import NOT_ENGLISH_CONFIDENCE, SENTIMENTS
from mentiondesk.triage.model import LinearModel, english_unlikely, model_load

OUTAGE = "@DriftwoodStatus is driftwood.dev down? every page gives 502 for our whole team"


def test_triage_classify_labels_a_post_and_explains_it() -> None:
    result = triage_classify(OUTAGE)
    assert result.intent == "availability"
    assert result.source == "model"
    assert 0 < result.intent_confidence <= 1
    assert result.sentiment in SENTIMENTS
    assert result.context == "hosted"
    assert result.evidence, "the label comes with the features that explain it"
    assert 'context hosted: "driftwood.dev"' in result.evidence
    assert result.model_version.startswith("intent-")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        (
            "@Driftwood there are spam issues with phishing links all over the tracker",
            "spam_report",
        ),
        ("@Driftwood please add a dark mode to the web IDE, would love it", "feature_request"),
        ("@Driftwood how do I change the email address on my account?", "support_question"),
        ("@Driftwood thank you, you folks are awesome ❤️", "praise"),
    ],
)
def test_triage_classify_knows_the_plain_cases(text: str, intent: str) -> None:
    assert triage_classify(text).intent == intent


def test_every_label_the_models_give_is_a_known_one() -> None:
    assert set(model_load("intent").labels) == set(INTENTS)
    assert set(model_load("sentiment").labels) == set(SENTIMENTS)


def test_rules_win_over_the_model_and_say_so() -> None:
    rules = [
        (["phishing"], "spam_report"),
        (re.compile(r"\b50[234]\b"), "other"),
        ("never matches", "praise"),
    ]
    result = triage_classify(OUTAGE, rules=rules)
    assert result.intent == "other"
    assert result.source == "rule"
    assert result.intent_confidence == 1.0
    assert result.evidence[0] == 'rule 2: /\\b50[234]\\b/ matched "502"'


def test_a_string_rule_is_a_case_insensitive_pattern_and_the_first_match_decides() -> None:
    rules = [("DOWN\\?", "bug_report"), (["driftwood.dev"], "praise")]
    result = triage_classify(OUTAGE, rules=rules)
    assert (result.intent, result.source) == ("bug_report", "rule")
    assert result.evidence[0].startswith("rule 1: /DOWN\\?/")


def test_keyword_rules_match_whole_words_only() -> None:
    rules = [(["bug"], "bug_report")]
    assert triage_classify("@Driftwood debugging my pipeline, is it down?", rules=rules).source == (
        "model"
    )
    hit = triage_classify("@Driftwood found a Bug in the diff view", rules=rules)
    assert (hit.intent, hit.source) == ("bug_report", "rule")
    assert hit.evidence[0] == 'rule 1: keyword "bug"'


def test_no_rule_matching_leaves_the_model_in_charge() -> None:
    assert triage_classify(OUTAGE, rules=[(["sticker"], "other")]).source == "model"
    assert triage_classify(OUTAGE, rules=[]) == triage_classify(OUTAGE)


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        (("(unclosed", "other"), "not a regular expression"),
        ((["spam"], "junk"), "unknown intent 'junk'"),
    ],
)
def test_a_bad_rule_is_refused_with_a_reason(rule: tuple[object, str], says: str) -> None:
    with pytest.raises(TriageRuleError, match=re.escape(says)):
        triage_classify(OUTAGE, rules=[rule])  # type: ignore[list-item]


def test_rules_run_in_linear_time_whatever_the_pattern() -> None:
    # Under Python's backtracking `re` this search never ends: 2**10000 ways to split the a's.
    rules = [("(a+)+$", "other")]
    assert triage_classify("@Driftwood " + "a" * 10_000 + "!", rules=rules).source == "model"
    hit = triage_classify("@Driftwood aaaa", rules=rules)
    assert (hit.intent, hit.evidence[0]) == ("other", 'rule 1: /(a+)+$/ matched "aaaa"')


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        (r"(down)\1", "uses a backreference"),
        (r"down(?=time)", "uses lookahead or lookbehind"),
        ("a" * 501, "is 501 characters long; at most 500"),
    ],
)
def test_a_rule_the_linear_time_matcher_cannot_run_is_refused(pattern: str, says: str) -> None:
    with pytest.raises(TriageRuleError, match=re.escape(says)):
        triage_classify(OUTAGE, rules=[(pattern, "other")])


def test_a_lone_surrogate_in_a_post_does_not_stop_its_rules() -> None:
    # RE2 reads UTF-8, which has no form for "\udc00"; the rest of the text is still matched.
    hit = triage_classify("@Driftwood \udc00 phishing link", rules=[("phish", "spam_report")])
    assert (hit.intent, hit.evidence[0]) == ("spam_report", 'rule 1: /phish/ matched "phish"')


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("@Driftwood our self-hosted instance won't start after the upgrade", "self_managed"),
        ("@Driftwood omnibus reconfigure fails on step 3", "self_managed"),
        ("@Driftwood the self hosted edition needs a backup scheduler", "self_managed"),
        ("@Driftwood driftwood.dev pipelines are slow to start", "hosted"),
        ("@GitLab is .com having issues with merge requests?", "hosted"),
        ("@Driftwood my blog on example.com links to you", "unknown"),
        ("@Driftwood moving from self-managed to driftwood.dev, how do users move?", "unknown"),
        ("@Driftwood how do I add a deploy key?", "unknown"),
    ],
)
def test_context_from_keywords(text: str, context: str) -> None:
    found, evidence = context_detect(text)
    assert found == context
    if context != "unknown":
        assert evidence[0].startswith(f"context {context}: ")


def test_an_availability_report_without_keywords_is_about_the_hosted_service() -> None:
    assert context_detect("is it down for everyone?", intent="availability") == (
        "hosted",
        ["context hosted: an availability report"],
    )
    assert context_detect("our self-managed box is down", intent="availability")[0] == (
        "self_managed"
    )
    no_inference = TriageConfig(availability_means_hosted=False)
    assert context_detect("is it down?", intent="availability", config=no_inference)[0] == (
        "unknown"
    )


def test_context_keywords_come_from_the_company_config() -> None:
    acme = TriageConfig(hosted=("acme.io", "acme cloud"), self_managed=("acme server",))
    text = "@Acme our Acme Server install crashes"
    assert context_detect(text, config=acme)[0] == "self_managed"
    assert context_detect("@Acme acme.io is slow", config=acme)[0] == "hosted"
    assert context_detect("@Driftwood driftwood.dev is slow", config=acme)[0] == "unknown"
    result = triage_classify("@Acme acme.io settings page crashes", config=acme)
    assert result.context == "hosted"


def test_keywords_find_keeps_text_order_and_ignores_parts_of_words() -> None:
    assert keywords_find("Helm chart on-prem, not helmet", ["helm", "on-prem"]) == [
        "helm",
        "on-prem",
    ]
    assert keywords_find("self-hosted", ["hosted"]) == []


def test_a_model_trained_on_other_features_is_refused() -> None:
    spec = {
        "format": "mentiondesk-linear-tfidf/1",
        "features_id": "something-else",
        "name": "intent",
        "version": "intent-x",
        "labels": ["a", "b"],
        "intercept": [0.0, 0.0],
        "char_ngrams": [0, 0],
        "features": [],
        "idf": [],
        "weights": [],
    }
    with pytest.raises(ValueError, match="retrain"):
        LinearModel(spec)


@pytest.mark.parametrize(
    "text",
    [
        "@AskPlayStation no puedo iniciar sesión en ps3, ¿Hay algún problema con los servidores?",
        "@Driftwood マージリクエストの差分が正しく表示されません",
        "@AmazonHelp Bonjour, j'ai passé une commande jeudi et je n'ai pas reçu le mail",
    ],
)
def test_a_post_not_in_english_gets_a_label_but_only_as_a_suggestion(text: str) -> None:
    result = triage_classify(text)
    assert result.intent in INTENTS
    assert result.intent_confidence <= NOT_ENGLISH_CONFIDENCE
    assert "language: not English (a suggestion)" in result.evidence


def test_english_posts_are_not_taken_for_another_language() -> None:
    for text in (OUTAGE, "@united my flight to Denver is delayed again, any update?", "ok"):
        assert not english_unlikely(text), text
    assert triage_classify(OUTAGE).intent_confidence > NOT_ENGLISH_CONFIDENCE
