"""Triage on the desk: labels and their evidence on the ticket page, queues and searches
filtered by them, corrections from the ticket page kept as labelled data, and the policy's
rules winning over the model — through the web pages, the API and the CLI."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.models import Handle, Post
from mentiondesk.cli import main
from mentiondesk.core.errors import DomainError
from mentiondesk.intake import enrich
from mentiondesk.policy import services as policy_services
from mentiondesk.policy.models import PolicyVersion
from mentiondesk.policy.schema import PolicyError, policy_parse
from mentiondesk.tickets import search
from mentiondesk.tickets.models import Ticket, TicketEvent
from mentiondesk.triage.models import TriageResult
from tests.conftest import DESK_POLICY
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db

OUTAGE = "@Driftwood is driftwood.dev down?? every page gives 502, seriously again 😡"
SELF_MANAGED = "@Driftwood how do I configure LDAP on our self-managed instance?"
PRAISE = "@Driftwood love the new merge request view, great work! 🚀"


def triaged(handle: Handle, *texts: str) -> dict[str, Ticket]:
    """Tickets for `texts` through real ingest, then triaged as the worker does after it."""
    posts = [remote_post(author=f"user{i}", text=text, minutes=i) for i, text in enumerate(texts)]
    tickets_from(handle, *posts)
    enrich.posts_enrich(network="x", remote_ids=[p.remote_id for p in posts])
    return {t.subject: t for t in Ticket.objects.all()}


def csrf(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match
    return match.group(1)


def rows(client: Client, query: str) -> set[str]:
    page = client.get(f"{reverse('tickets:queue')}?{query}").content.decode()
    return set(re.findall(r'data-ticket-id="(\d+)"', page))


def test_the_ticket_page_shows_intent_sentiment_context_and_to_leads_confidence_and_evidence(
    main_handle: Handle, client: Client, advocate: User, lead: User
) -> None:
    ticket = triaged(main_handle, OUTAGE)[OUTAGE]
    result = TriageResult.objects.get()
    confidence = f"{round(result.intent_confidence * 100)}% · model"
    evidence = [f"<li>{reason}</li>".replace('"', "&quot;") for reason in result.evidence[:6]]
    assert evidence

    client.force_login(lead)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-triage-intent="availability">Availability' in page
    assert confidence in page
    assert f'data-triage-sentiment="{result.sentiment}"' in page
    assert 'data-triage-context="hosted">Hosted service' in page
    assert all(reason in page for reason in evidence)

    # An advocate sees the labels, not the model's workings (User.sees_diagnostics).
    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-triage-intent="availability">Availability' in page
    assert 'data-triage-context="hosted">Hosted service' in page
    assert confidence not in page
    assert not any(reason in page for reason in evidence)


def test_a_correction_from_the_ticket_page_is_audited_and_exported(
    main_handle: Handle, advocate: User, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = triaged(main_handle, PRAISE)[PRAISE]
    assert ticket.intent == "praise"
    client = Client(enforce_csrf_checks=True)
    client.force_login(advocate)
    url = reverse("tickets:detail", args=[ticket.pk])
    # The form is refused without its CSRF token.
    assert (
        client.post(reverse("tickets:intent", args=[ticket.pk]), {"intent": "other"}).status_code
        == 403
    )
    response = client.post(
        reverse("tickets:intent", args=[ticket.pk]),
        {"intent": "feature_request", "csrfmiddlewaretoken": csrf(client, url)},
        HTTP_HX_REQUEST="true",
        HTTP_HX_BOOSTED="true",
    )
    assert response.status_code == 302

    result = TriageResult.objects.get()
    assert (result.intent, result.corrected_intent, result.corrected_by) == (
        "praise",
        "feature_request",
        advocate,
    )
    ticket.refresh_from_db()
    assert ticket.intent == "feature_request"
    event = ticket.events.filter(kind=TicketEvent.Kind.INTENT_SET, actor=advocate).get()
    assert event.message == "Marked as Feature request (triage said Praise)"
    assert event.data["triage"] == {"intent": "praise", "post": result.post_id}
    page = client.get(url).content.decode()
    assert 'data-corrected-intent="feature_request">Feature request' in page

    assert main(["triage", "export"]) == 0
    header, row = csv.reader(io.StringIO(capsys.readouterr().out))
    assert header == ["text", "intent", "corrected_by", "corrected_at"]
    assert row[:3] == [f"'{PRAISE}", "feature_request", "ana"]


def test_the_api_intent_endpoint_keeps_a_correction_too(
    main_handle: Handle, advocate: User
) -> None:
    ticket = triaged(main_handle, OUTAGE)[OUTAGE]
    _, token = account_services.token_create(user=advocate)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/intent",
        {"intent": "bug_report"},
        content_type="application/json",
    )
    assert response.status_code == 200
    detail = client.get(f"/api/v1/tickets/{ticket.pk}").json()
    assert detail["intent"] == "bug_report"
    assert detail["triage"]["intent"] == "availability"
    assert detail["triage"]["corrected_intent"] == "bug_report"
    assert detail["triage"]["corrected_by"] == "ana"
    assert detail["triage"]["context"] == "hosted" and detail["triage"]["evidence"]


def test_light_agents_cannot_correct(
    main_handle: Handle, client: Client, light_agent: User
) -> None:
    ticket = triaged(main_handle, PRAISE)[PRAISE]
    client.force_login(light_agent)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'id="triage-correct"' not in page
    response = client.post(reverse("tickets:intent", args=[ticket.pk]), {"intent": "other"})
    assert response.status_code == 403
    assert TriageResult.objects.get().corrected_intent == ""
    assert Ticket.objects.get().intent == "praise"


def test_queues_filter_by_intent_sentiment_and_context(
    main_handle: Handle, client: Client, advocate: User
) -> None:
    tickets = triaged(main_handle, OUTAGE, SELF_MANAGED, PRAISE)
    ids = {text: str(t.pk) for text, t in tickets.items()}
    labels = {r.post.text: r for r in TriageResult.objects.select_related("post")}
    client.force_login(advocate)
    assert rows(client, "view=twitter") == set(ids.values())
    assert rows(client, "view=twitter&intent=availability") == {ids[OUTAGE]}
    assert rows(client, "view=twitter&context=self_managed") == {ids[SELF_MANAGED]}
    assert rows(client, "view=all&context=hosted&intent=availability") == {ids[OUTAGE]}
    positive = {ids[t] for t, r in labels.items() if r.sentiment == "positive"}
    assert PRAISE in {t for t, r in labels.items() if r.sentiment == "positive"}
    assert rows(client, "view=twitter&sentiment=positive") == positive
    assert rows(client, "view=twitter&intent=spam_report") == set()
    # The rows' polling keeps the filters.
    page = client.get(f"{reverse('tickets:queue')}?view=twitter&intent=availability").content
    assert b'hx-get="/?view=twitter&amp;intent=availability"' in page
    # Labels on the rows.
    assert b'data-labels="availability' in page


def test_search_syntax_and_the_api_list_filter_by_triage(
    main_handle: Handle, advocate: User
) -> None:
    tickets = triaged(main_handle, OUTAGE, SELF_MANAGED, PRAISE)
    query = search.search_parse(text="context:self_managed sentiment:neutral")
    assert (query.context, query.sentiment) == ("self_managed", "neutral")
    hits = search.ticket_search(query=search.search_parse(text="context:self_managed"))
    assert [h.ticket.pk for h in hits] == [tickets[SELF_MANAGED].pk]
    hits = search.ticket_search(
        query=search.search_parse(text="intent:availability context:hosted")
    )
    assert [h.ticket.pk for h in hits] == [tickets[OUTAGE].pk]
    with pytest.raises(DomainError, match="context:cloud — use one of hosted, self_managed"):
        search.search_parse(text="context:cloud")

    _, token = account_services.token_create(user=advocate)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    body = client.get("/api/v1/tickets?intent=availability&context=hosted").json()
    assert [t["id"] for t in body["items"]] == [tickets[OUTAGE].pk] and body["count"] == 1
    body = client.get("/api/v1/tickets?context=self_managed").json()
    assert [t["id"] for t in body["items"]] == [tickets[SELF_MANAGED].pk]
    bad = client.get("/api/v1/tickets?sentiment=angry")
    assert bad.status_code == 400
    assert bad.json()["field"] == "sentiment" and "angry" in bad.json()["detail"]
    found = client.get("/api/v1/search", {"q": "sentiment:positive"}).json()
    assert tickets[PRAISE].pk in [hit["id"] for hit in found]


# The policy's rules and keywords


RULES = """
[triage]
hosted_keywords = ["acme cloud"]
self_managed_keywords = ["acme box"]

[[triage_rule]]
name = "pipeline-stuck"
intent = "availability"
keywords = ["pending forever", "stuck in pending"]

[[triage_rule]]
name = "phishing"
intent = "spam_report"
pattern = "phish\\\\w*"
"""


def test_policy_rules_win_over_the_model_and_show_their_name(
    main_handle: Handle, client: Client, lead: User
) -> None:
    policy_actions.policy_apply_text(text=DESK_POLICY + RULES, source="rules.toml")
    question = "@Driftwood how do I fix jobs stuck in pending on acme box?"
    phish = "@Driftwood someone is phishing your users with a fake login page"
    tickets = triaged(main_handle, question, PRAISE, phish)
    stuck = TriageResult.objects.get(post__text=question)
    assert (stuck.intent, stuck.source, stuck.intent_confidence) == ("availability", "rule", 1.0)
    assert stuck.evidence[0] == 'rule: pipeline-stuck (keyword "stuck in pending")'
    # The company's own context keywords.
    assert stuck.context == "self_managed" and 'context self_managed: "acme box"' in stuck.evidence
    assert tickets[question].intent == "availability"
    spam = TriageResult.objects.get(post__text=phish)
    assert spam.evidence[0] == 'rule: phishing (/phish\\w*/ matched "phishing")'
    assert TriageResult.objects.get(post__text=PRAISE).source == "model"

    client.force_login(lead)  # who tunes the rules
    page = client.get(reverse("tickets:detail", args=[tickets[question].pk])).content.decode()
    assert "rule: pipeline-stuck (keyword &quot;stuck in pending&quot;)" in page
    assert "100% · rule" in page


def test_the_cli_classify_uses_the_policy_rules(capsys: pytest.CaptureFixture[str]) -> None:
    policy_actions.policy_apply_text(text=DESK_POLICY + RULES, source="rules.toml")
    assert main(["triage", "classify", "@Driftwood my build is pending forever"]) == 0
    out = capsys.readouterr().out
    assert "intent:     availability (100%, rule)" in out
    assert "rule: pipeline-stuck" in out


def test_policy_show_round_trips_the_triage_and_surge_sections() -> None:
    policy_actions.policy_apply_text(
        text=DESK_POLICY + RULES + "\n[surge]\nthreshold = 7\n", source="rules.toml"
    )
    shown = policy_services.policy_show()
    again = policy_parse(text=shown, source="shown.toml")
    assert [r.name for r in again.triage.rules] == ["pipeline-stuck", "phishing"]
    assert again.triage.rules[1].pattern == "phish\\w*"
    assert again.triage.hosted_keywords == ("acme cloud",)
    assert again.surge.threshold == 7


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            'name = "x"\nintent = "outage"\nkeywords = ["down"]',
            "triage_rule[1].intent: 'outage' is not one of",
        ),
        (
            'name = "x"\nintent = "other"',
            "triage_rule[1] (x): give either keywords (a non-empty list) or pattern, not neither",
        ),
        ('name = "x"\nintent = "other"\nkeywords = ["a"]\npattern = "b"', "not both"),
        (
            'name = "x"\nintent = "other"\npattern = "(down"',
            "triage_rule[1].pattern (x): /(down/ is not a regular expression the linear-time "
            "matcher can run: missing )",
        ),
        ('name = "x"\nintent = "other"\npattern = "a*"', "matches an empty text"),
        (
            'name = "x"\nintent = "other"\nkeywords = [""]',
            "triage_rule[1].keywords[1]: expected a non-empty string",
        ),
        (
            'name = "Bad Name"\nintent = "other"\nkeywords = ["a"]',
            "triage_rule[1].name: 'Bad Name'",
        ),
        ('intent = "other"\nkeywords = ["a"]', "triage_rule[1]: missing required key 'name'"),
        ('name = "x"\nintent = "other"\nwords = ["a"]', "triage_rule[1]: unknown key 'words'"),
    ],
)
def test_bad_triage_rules_are_refused_precisely(entry: str, error: str) -> None:
    with pytest.raises(PolicyError) as exc:
        policy_parse(text=f"[[triage_rule]]\n{entry}\n", source="team.toml")
    assert exc.value.message.startswith("team.toml: ")
    assert error in exc.value.message


# Patterns run on RE2 (linear time): under Python's backtracking `re`, `(a+)+$` took 10 s on
# a 26-character post and doubled with each character, and the worker's heartbeat kept the
# hung task alive.
CARELESS = '\n[[triage_rule]]\nname = "aaargh"\nintent = "other"\npattern = "(a+)+$"\n'


def test_a_careless_pattern_is_applied_and_matched_in_linear_time(main_handle: Handle) -> None:
    policy_actions.policy_apply_text(text=DESK_POLICY + CARELESS, source="rules.toml")
    # Never finishes under `re`: 2**10000 ways to split the a's before the "!" fails $.
    adversarial = "@Driftwood " + "a" * 10_000 + "!"
    shout = "@Driftwood aaaaaaa"
    triaged(main_handle, adversarial, shout)
    assert TriageResult.objects.get(post__text=adversarial).source == "model"
    hit = TriageResult.objects.get(post__text=shout)
    assert (hit.intent, hit.source) == ("other", "rule")
    assert hit.evidence[0] == 'rule: aaargh (/(a+)+$/ matched "aaaaaaa")'


@pytest.mark.parametrize(
    ("pattern", "error"),
    [
        (
            "(down)\\\\1",
            "triage_rule[1].pattern (careless): /(down)\\1/ uses a backreference (\\1, "
            "(?P=name)), which the linear-time matcher cannot run",
        ),
        ("(?P<w>a)(?P=w)", "/(?P<w>a)(?P=w)/ uses a backreference"),
        (
            "down(?!time)",
            "triage_rule[1].pattern (careless): /down(?!time)/ uses lookahead or lookbehind",
        ),
        ("(?<=is )down", "/(?<=is )down/ uses lookahead or lookbehind"),
        ("down\\\\Z", "/down\\Z/ uses \\Z: write \\z for the end of the text"),
        (
            "a" * 501,
            "triage_rule[1].pattern (careless): /" + "a" * 40 + "…/ is 501 characters long; "
            "at most 500",
        ),
    ],
    ids=["backreference", "named-backreference", "lookahead", "lookbehind", "Z", "overlong"],
)
def test_policy_apply_refuses_a_pattern_the_matcher_cannot_run(pattern: str, error: str) -> None:
    rule = f'\n[[triage_rule]]\nname = "careless"\nintent = "other"\npattern = "{pattern}"\n'
    with pytest.raises(PolicyError) as exc:
        policy_actions.policy_apply_text(text=DESK_POLICY + rule, source="rules.toml")
    assert exc.value.message.startswith("rules.toml: ")
    assert error in exc.value.message
    assert not PolicyVersion.objects.exists()


def test_duplicate_rule_names_and_bad_keywords_are_refused() -> None:
    twice = '[[triage_rule]]\nname = "a"\nintent = "other"\nkeywords = ["x"]\n' * 2
    with pytest.raises(PolicyError, match=r"team.toml: triage_rule\[2\] repeats 'a'"):
        policy_parse(text=twice, source="team.toml")
    with pytest.raises(PolicyError, match=r"triage.hosted_keywords\[1\]: expected a non-empty"):
        policy_parse(text="[triage]\nhosted_keywords = [1]\n", source="team.toml")
    # All or nothing: a bad file changes nothing.
    before = Post.objects.count(), Handle.objects.count()
    with pytest.raises(PolicyError):
        policy_actions.policy_apply_text(text=DESK_POLICY + twice, source="team.toml")
    assert (Post.objects.count(), Handle.objects.count()) == before
