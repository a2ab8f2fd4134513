"""How right the live model was on the posts people corrected, per intent and model version:
counted by the database (`triage_accuracy`), shown to leads in the reports (API, page, CLI)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.triage import selectors, services
from mentiondesk.triage.model import model_load
from tests.triage.factories import post_make, triage_result_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def corrected(advocate: User) -> str:
    """Five corrected posts: four labelled by the live model, one by an older one; plus a
    rule's label and an uncorrected one, which do not count. Returns the live version."""
    live = model_load("intent").version
    for said, truth, model in (
        ("availability", "availability", live),
        ("availability", "support_question", live),
        ("support_question", "availability", live),
        ("praise", "praise", live),
        ("other", "spam_report", "intent-old"),
    ):
        result = triage_result_make(
            post_make(f"@Driftwood {said} {truth}"),
            intent=said,
            confidence=0.8,
            model_version=f"{model}+sentiment-x",
        )
        services.triage_correct(post=result.post, intent=truth, by=advocate)
    rule = triage_result_make(post_make("@Driftwood rule"), intent="bug_report", confidence=1.0)
    rule.source = "rule"
    rule.save()
    services.triage_correct(post=rule.post, intent="other", by=advocate)
    triage_result_make(post_make("@Driftwood never corrected"), intent="praise", confidence=0.9)
    return live


def figures(model: Any) -> dict[str, tuple[int, int, int, int]]:
    return {
        i.intent: (i.labelled, i.labelled_right, i.actual, i.found)
        for i in model.intents
        if i.labelled or i.actual
    }


def test_per_intent_accuracy_live_model_first_in_two_queries(
    corrected: str, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(2):
        live, old = selectors.triage_accuracy()
    assert (live.model, live.is_live, live.corrected, live.right) == (corrected, True, 4, 2)
    assert figures(live) == {
        "availability": (2, 1, 2, 1),
        "support_question": (1, 0, 1, 0),
        "praise": (1, 1, 1, 1),
    }
    availability = next(i for i in live.intents if i.intent == "availability")
    assert (availability.precision, availability.recall) == (0.5, 0.5)
    assert next(i for i in live.intents if i.intent == "bug_report").precision is None
    assert (old.model, old.is_live, old.corrected, old.right) == ("intent-old", False, 1, 0)
    assert figures(old) == {"other": (1, 0, 0, 0), "spam_report": (0, 0, 1, 0)}


def test_only_corrections_in_the_range_count(corrected: str) -> None:
    (live,) = selectors.triage_accuracy(corrected_from=timezone.now() + timedelta(minutes=1))
    assert (live.model, live.corrected) == (corrected, 0)


def test_leads_read_it_in_the_report_api_and_cli(corrected: str, lead: User) -> None:
    _, token = account_services.token_create(user=lead)
    body = (
        Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/reports/summary").json()
    )
    live = body["triage_accuracy"][0]
    assert [live[k] for k in ("model", "live", "corrected", "right")] == [corrected, True, 4, 2]
    row = next(i for i in live["intents"] if i["intent"] == "availability")
    assert row == {
        "intent": "availability",
        "label": "Availability",
        "labelled": 2,
        "labelled_right": 1,
        "precision": 0.5,
        "actual": 2,
        "found": 1,
        "recall": 0.5,
    }
    today = timezone.localdate()
    out = io.StringIO()
    call_command("report", "--from", str(today - timedelta(days=1)), "--to", str(today), stdout=out)
    table = out.getvalue()
    assert f"Triage model {corrected} (live) on 4 corrected posts, 2 right" in table
    assert "Triage model intent-old on 1 corrected posts, 0 right" in table


def test_the_reports_page_has_the_card(lead: User) -> None:
    client = Client()
    client.force_login(lead)
    page = client.get("/reports/").content.decode()
    assert "Triage on corrected posts" in page and "data-triage-accuracy" in page
