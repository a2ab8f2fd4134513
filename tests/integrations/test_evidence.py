"""Evidence connectors against real local servers speaking each vendor's API (status page,
GitLab, Discourse, Zendesk): what the panel shows when they answer, and that a slow, broken,
rate-limiting or unconfigured source comes back as an error in the result, never as an
exception, and is not asked again before it may be."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import gitlab
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from gitlab.exceptions import GitlabListError

from mentiondesk.core.keywords import (
    keyword_overlap,
    keyword_queries,
    keywords_extract,
)
from mentiondesk.integrations.evidence import services
from mentiondesk.integrations.evidence.models import EvidenceCache
from mentiondesk.integrations.evidence.services import EvidenceResult
from mentiondesk.integrations.vendorhttp import (
    DEFAULT_RETRY_AFTER_SECONDS,
    retry_after_seconds,
)
from mentiondesk.sandbox.base import ContractServer
from mentiondesk.sandbox.forum import DiscourseServer
from mentiondesk.sandbox.helpdesk import ZendeskServer
from mentiondesk.sandbox.issuetracker import GitLabServer
from mentiondesk.sandbox.statuspage import StatuspageServer
from mentiondesk.settings import evidence_settings_check
from tests.sandboxes import discourse_category_url, zendesk_agent_url

RUNNER_BUG = (
    "@Driftwood @DriftwoodStatus runner token rotation fails with 401 since this morning, "
    "every job dies https://t.co/r8Qx1 #devops"
)
REGISTRY = (
    "@Driftwood on driftwood.dev, how do I move a project to another group without breaking "
    "its container registry?"
)
PUSH_403 = "@Driftwood push fails with error 403 using my personal access token 😩"
SOURCES = ("statuspage", "issuetracker", "forum", "helpdesk")

Settings = Any  # pytest-django's settings wrapper


@pytest.fixture(autouse=True)
def no_sources(settings: Settings) -> None:
    """Every source off, whatever the shell's MENTIONDESK_* say; fixtures switch theirs on."""
    settings.STATUSPAGE_URL = ""
    settings.GITLAB_URL = ""
    settings.GITLAB_TOKEN = ""
    settings.GITLAB_PROJECTS = []
    settings.DISCOURSE_URL = ""
    settings.DISCOURSE_CATEGORY_URL = ""
    settings.ZENDESK_URL = ""
    settings.ZENDESK_EMAIL = ""
    settings.ZENDESK_TOKEN = ""
    settings.EVIDENCE_BUDGET_SECONDS = 8.0
    settings.EVIDENCE_ERROR_CACHE_SECONDS = 30.0


@pytest.fixture
def statuspage(settings: Settings) -> Iterator[StatuspageServer]:
    with StatuspageServer() as server:
        settings.STATUSPAGE_URL = server.url
        settings.STATUSPAGE_TIMEOUT_SECONDS = 1.0
        settings.STATUSPAGE_CACHE_SECONDS = 300.0
        yield server


@pytest.fixture
def gitlab_server(settings: Settings) -> Iterator[GitLabServer]:
    with GitLabServer() as server:
        settings.GITLAB_URL = server.url
        settings.GITLAB_TOKEN = server.token
        settings.GITLAB_PROJECTS = ["driftwood/driftwood", "driftwood/runner"]
        settings.GITLAB_TIMEOUT_SECONDS = 1.0
        settings.GITLAB_CACHE_SECONDS = 300.0
        yield server


@pytest.fixture
def discourse(settings: Settings) -> Iterator[DiscourseServer]:
    with DiscourseServer() as server:
        settings.DISCOURSE_URL = server.url
        settings.DISCOURSE_TIMEOUT_SECONDS = 1.0
        settings.DISCOURSE_CACHE_SECONDS = 300.0
        yield server


@pytest.fixture
def zendesk(settings: Settings) -> Iterator[ZendeskServer]:
    with ZendeskServer() as server:
        settings.ZENDESK_URL = server.url
        settings.ZENDESK_EMAIL = server.email
        settings.ZENDESK_TOKEN = server.api_token
        settings.ZENDESK_TIMEOUT_SECONDS = 1.0
        settings.ZENDESK_CACHE_SECONDS = 300.0
        yield server


@dataclass
class Source:
    """One connector for the tests every source must pass."""

    name: str
    server: ContractServer
    lookup: Callable[[str], EvidenceResult]
    timeout_setting: str
    wrong_shape: str  # valid JSON the source never answers

    def requests_made(self) -> int:
        return len(self.server.requests)


@pytest.fixture(params=SOURCES)
def source(request: pytest.FixtureRequest) -> Source:
    name = request.param
    if name == "statuspage":
        return Source(
            name,
            request.getfixturevalue("statuspage"),
            lambda text: services.statuspage_open_incidents(),
            "STATUSPAGE_TIMEOUT_SECONDS",
            "[]",
        )
    if name == "issuetracker":
        return Source(
            name,
            request.getfixturevalue("gitlab_server"),
            services.issues_related,
            "GITLAB_TIMEOUT_SECONDS",
            '{"issues": []}',
        )
    if name == "forum":
        return Source(
            name,
            request.getfixturevalue("discourse"),
            services.forum_topics_related,
            "DISCOURSE_TIMEOUT_SECONDS",
            "[]",
        )
    return Source(
        name,
        request.getfixturevalue("zendesk"),
        services.helpdesk_solved_tickets,
        "ZENDESK_TIMEOUT_SECONDS",
        '{"tickets": []}',
    )


def make_due(source: str) -> None:
    """Move the clock past the source's pause: its next look-up may ask again."""
    EvidenceCache.objects.filter(source=source, key=EvidenceCache.BACKOFF_KEY).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def expire_cache(source: str) -> None:
    EvidenceCache.objects.filter(source=source).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def pause_seconds(source: str) -> float:
    row = EvidenceCache.objects.get(source=source, key=EvidenceCache.BACKOFF_KEY)
    return (row.expires_at - timezone.now()).total_seconds()


# Keywords


def test_keywords_drop_mentions_links_hashtags_and_stop_words() -> None:
    assert keywords_extract(RUNNER_BUG) == [
        "runner",
        "token",
        "rotation",
        "fails",
        "401",
        "job",
        "dies",
    ]


def test_keywords_drop_the_mentioned_names_and_bare_domains() -> None:
    words = keywords_extract(REGISTRY)
    assert "driftwood" not in words
    assert "dev" not in words
    assert words == ["move", "project", "group", "breaking", "container", "registry"]


def test_keywords_keep_status_codes_and_drop_other_numbers() -> None:
    words = keywords_extract("@Driftwood diff view crashes over 5000 lines on 17.5, HTTP 502 again")
    assert "502" in words
    assert "5000" not in words
    assert "17" not in words
    assert keywords_extract("@Driftwood 👏 https://driftwood.dev/x www.example.com #love") == []


def test_keywords_keep_the_most_telling_when_there_are_many() -> None:
    text = (
        "@Driftwood hola, ¿a alguien más le falla el push desde esta mañana? "
        "Me sale error 403 con mi token personal"
    )
    words = keywords_extract(text, limit=6)
    assert len(words) == 6
    assert "403" in words


def test_queries_widen_from_the_three_most_telling_words() -> None:
    assert keyword_queries(["runner", "token", "rotation", "fails", "401"]) == [
        "401 rotation runner",
        "401 rotation",
        "401",
        "rotation",
        "runner",
    ]
    assert keyword_queries(["ssh"]) == ["ssh"]
    assert keyword_queries([]) == []


def test_overlap_counts_title_words_double_and_matches_word_starts() -> None:
    keywords = ["runner", "token", "401"]
    assert keyword_overlap(keywords, title="Runner tokens", body="fails with 401") == 5 / 6
    assert keyword_overlap(keywords, title="Unrelated", body="sprinter") == 0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 25 Nov 2026 12:01:30 GMT", now=now) == 90
    assert retry_after_seconds("soon") == DEFAULT_RETRY_AFTER_SECONDS
    assert retry_after_seconds(None) == DEFAULT_RETRY_AFTER_SECONDS
    assert retry_after_seconds("-5") == 0
    assert retry_after_seconds("999999") == 3600


# Status page


@pytest.mark.django_db
def test_open_incidents_worst_first_with_shortlink_or_incident_page(
    statuspage: StatuspageServer,
) -> None:
    result = services.statuspage_open_incidents()

    assert result.ok
    assert result.configured
    assert result.cached is False
    runners, push = result.items
    assert runners["title"] == "Jobs stuck in pending on shared runners"
    assert runners["url"] == "https://stspg.io/dw4kq81"
    assert runners["status"] == "identified"
    assert runners["impact"] == "major"
    assert runners["components"] == ["CI/CD: shared runners"]
    assert runners["latest_update"].startswith("A failed autoscaler deploy")
    assert datetime.fromisoformat(runners["updated_at"]) < datetime.now(UTC)
    # No shortlink: the incident's page on the status page.
    assert push["title"] == "Elevated error rates on git push over HTTPS"
    assert push["url"].startswith(f"{statuspage.url}/incidents/")
    assert push["impact"] == "minor"
    (request,) = statuspage.requests
    assert request.path == "/api/v2/incidents/unresolved.json"


@pytest.mark.django_db
def test_all_green_page_has_no_items_and_no_error(statuspage: StatuspageServer) -> None:
    statuspage.incidents_clear()
    result = services.statuspage_open_incidents()
    assert result.items == []
    assert result.error == ""


@pytest.mark.django_db
def test_summary_gives_the_indicator_and_the_degraded_components(
    statuspage: StatuspageServer,
) -> None:
    (summary,) = services.statuspage_summary().items
    assert summary["indicator"] == "major"
    assert summary["description"] == "Partial System Outage"
    assert summary["url"] == statuspage.url
    assert summary["components"] == [
        {"name": "Git operations (SSH and HTTPS)", "status": "degraded_performance"},
        {"name": "CI/CD: shared runners", "status": "partial_outage"},
    ]
    assert statuspage.requests[-1].path == "/api/v2/summary.json"


# Issue tracker (python-gitlab against the GitLab contract server)


@pytest.mark.django_db
def test_related_issues_ranked_by_overlap_open_first(gitlab_server: GitLabServer) -> None:
    result = services.issues_related(RUNNER_BUG)

    assert result.ok
    first = result.items[0]
    assert first["title"] == "Runner token rotation fails with 401"
    assert first["url"] == gitlab_server.web_url("driftwood/driftwood", 51234)
    assert first["state"] == "opened"
    assert first["labels"] == ["bug", "runner", "auth", "severity::2"]
    assert first["reference"] == "driftwood/driftwood#51234"
    assert first["updated_at"].endswith("Z")
    assert first["excerpt"].startswith("After rotating a runner authentication token")
    titles = [i["title"] for i in result.items]
    # The private project is searched with the token.
    assert "Runner fails to register with 401 after token rotation" in titles
    scores = [i["score"] for i in result.items]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1.3 for s in scores)
    assert len(result.items) <= 5

    searches = [r for r in gitlab_server.requests if r.path.endswith("/issues")]
    assert searches[0].args["search"] == "401 rotation runner"
    assert searches[0].args["order_by"] == "updated_at"
    assert searches[0].args["sort"] == "desc"
    assert "state" not in searches[0].args  # open and closed
    assert searches[0].raw_path == "/api/v4/projects/driftwood%2Fdriftwood/issues"
    assert all(r.headers["private-token"] == gitlab_server.token for r in searches)
    assert len(gitlab_server.requests) <= services.MAX_REQUESTS


@pytest.mark.django_db
def test_open_issue_outranks_an_equally_matching_closed_one(
    gitlab_server: GitLabServer, settings: Settings
) -> None:
    settings.GITLAB_PROJECTS = ["driftwood/driftwood"]
    result = services.issues_related("@Driftwood push fails with 403 on my token", limit=10)
    by_title = {i["title"]: i for i in result.items}
    closed = by_title["Push over HTTPS fails with 403 after personal access token expiry change"]
    assert closed["state"] == "closed"
    assert result.items[0]["title"] == closed["title"]  # the best overlap still wins
    runner = by_title["Runner token rotation fails with 401"]
    assert runner["state"] == "opened"
    assert runner["score"] < closed["score"]


@pytest.mark.django_db
def test_public_project_needs_no_token(gitlab_server: GitLabServer, settings: Settings) -> None:
    settings.GITLAB_TOKEN = ""
    settings.GITLAB_PROJECTS = ["driftwood/driftwood"]
    result = services.issues_related(RUNNER_BUG)
    assert result.ok
    assert result.items[0]["title"] == "Runner token rotation fails with 401"
    assert all("private-token" not in r.headers for r in gitlab_server.requests)


@pytest.mark.django_db
def test_private_project_without_token_says_which_setting_to_fix(
    gitlab_server: GitLabServer, settings: Settings
) -> None:
    settings.GITLAB_TOKEN = ""
    result = services.issues_related(RUNNER_BUG)
    assert result.items == []
    assert result.error.startswith("issuetracker: has no project 'driftwood/runner'")
    assert "MENTIONDESK_GITLAB_TOKEN" in result.error


@pytest.mark.django_db
def test_wrong_gitlab_token_is_a_readable_error(
    gitlab_server: GitLabServer, settings: Settings
) -> None:
    settings.GITLAB_TOKEN = "glpat-not-the-token"
    result = services.issues_related(RUNNER_BUG)
    assert result.items == []
    assert result.error == (
        "issuetracker: refused the token (HTTP 401); check MENTIONDESK_GITLAB_TOKEN"
    )


@pytest.mark.django_db
def test_new_issue_url_points_at_the_first_project(gitlab_server: GitLabServer) -> None:
    assert services.issues_new_url() == f"{gitlab_server.url}/driftwood/driftwood/-/issues/new"


def test_gitlab_server_refuses_what_gitlab_refuses(gitlab_server: GitLabServer) -> None:
    gl = gitlab.Gitlab(gitlab_server.url, private_token=gitlab_server.token, timeout=2)
    project = gl.projects.get("driftwood/driftwood", lazy=True)
    with pytest.raises(GitlabListError) as raised:
        project.issues.list(search="runner", order_by="relevance", get_all=False)
    assert raised.value.response_code == 400
    assert "order_by does not have a valid value" in str(raised.value)
    # Every word must match (in the title, or in the description).
    assert [i.iid for i in project.issues.list(search="token rotation 401", get_all=False)] == [
        51234
    ]
    assert project.issues.list(search="token rotation kubernetes", get_all=False) == []


# Forum


@pytest.mark.django_db
def test_related_forum_topics_with_accepted_answers_first(discourse: DiscourseServer) -> None:
    result = services.forum_topics_related(REGISTRY)

    assert result.ok
    first = result.items[0]
    assert first["title"] == "Moving a project to another group breaks container registry"
    assert first["url"] == (
        f"{discourse.url}/t/moving-a-project-to-another-group-breaks-container-registry/8812"
    )
    assert first["has_accepted_answer"] is True
    assert first["replies"] == 5
    assert first["excerpt"].startswith("I transferred a project")
    assert discourse.requests[0].path == "/search.json"
    assert discourse.requests[0].args == {"q": "project breaking container"}


@pytest.mark.django_db
def test_forum_search_widens_until_it_finds_topics(discourse: DiscourseServer) -> None:
    text = "@Driftwood git push answers 403 since I regenerated my personal token"
    result = services.forum_topics_related(text)
    assert result.items[0]["title"] == "Push fails with 403 using a personal access token"
    # No topic has all three words, nor the two most telling; "403" alone finds it.
    queries = [r.args["q"] for r in discourse.requests]
    assert queries[:3] == ["403 answers regenerated", "403 answers", "403"]


@pytest.mark.django_db
def test_forum_rate_limit_without_retry_after_waits_what_the_body_says(
    discourse: DiscourseServer,
) -> None:
    discourse.fault("ratelimited", retry_after="")  # body: extras.wait_seconds = 45
    result = services.forum_topics_related(REGISTRY)
    assert result.error.startswith("forum: rate limited (HTTP 429)")
    assert 40 < pause_seconds("forum") <= 45


@pytest.mark.django_db
def test_forum_category_url_defaults_to_the_forum(
    discourse: DiscourseServer, settings: Settings
) -> None:
    assert services.forum_category_url() == discourse.url
    settings.DISCOURSE_CATEGORY_URL = discourse_category_url(discourse, 5)
    assert services.forum_category_url() == f"{discourse.url}/c/how-to-driftwood-dev/5"


# Support helpdesk


@pytest.mark.django_db
def test_solved_tickets_with_agent_links(zendesk: ZendeskServer) -> None:
    result = services.helpdesk_solved_tickets(RUNNER_BUG)

    assert result.ok
    first = result.items[0]
    assert first["subject"] == "Runner registration fails with 401 after rotating the runner token"
    assert first["url"] == zendesk_agent_url(zendesk, 35501)
    assert first["status"] == "solved"
    assert first["updated_at"].endswith("Z")
    assert {i["status"] for i in result.items} == {"solved"}

    request = zendesk.requests[0]
    assert request.path == "/api/v2/search.json"
    assert request.args["query"] == "type:ticket status:solved 401 rotation runner"
    assert request.args["sort_by"] == "updated_at"
    assert request.args["sort_order"] == "desc"
    assert request.headers["authorization"].startswith("Basic ")


@pytest.mark.django_db
def test_wrong_zendesk_token_is_a_readable_error(
    zendesk: ZendeskServer, settings: Settings
) -> None:
    settings.ZENDESK_TOKEN = "not-the-token"
    result = services.helpdesk_solved_tickets(RUNNER_BUG)
    assert result.items == []
    assert result.error == (
        "helpdesk: refused the credentials (HTTP 401); check MENTIONDESK_ZENDESK_EMAIL and "
        "MENTIONDESK_ZENDESK_TOKEN"
    )


# Every source: failures are results, never exceptions


@pytest.mark.django_db
def test_slow_source_times_out_with_a_readable_error(source: Source, settings: Settings) -> None:
    setattr(settings, source.timeout_setting, 0.3)
    source.server.fault("slow", delay=1.5)
    started = time.monotonic()

    result = source.lookup(RUNNER_BUG)

    assert time.monotonic() - started < 1.2
    assert result.items == []
    assert result.error == f"{source.name}: timed out after 0.3 s"
    assert result.configured is True


@pytest.mark.django_db
def test_server_error_is_a_readable_error(source: Source) -> None:
    source.server.fault("status", status=503)
    result = source.lookup(RUNNER_BUG)
    assert result.items == []
    assert result.error.startswith(f"{source.name}: answered HTTP 503")


@pytest.mark.django_db
def test_malformed_json_is_a_readable_error(source: Source) -> None:
    source.server.fault("malformed")
    result = source.lookup(RUNNER_BUG)
    assert result.items == []
    assert result.error == f"{source.name}: answered malformed JSON"


@pytest.mark.django_db
def test_json_of_the_wrong_shape_is_a_readable_error(source: Source) -> None:
    source.server.fault("body", body=source.wrong_shape)
    result = source.lookup(RUNNER_BUG)
    assert result.items == []
    assert result.error.startswith(f"{source.name}: answered an unexpected payload")


@pytest.mark.django_db
def test_unreachable_source_is_a_readable_error(source: Source) -> None:
    source.server.stop()
    result = source.lookup(RUNNER_BUG)
    assert result.items == []
    assert result.error == f"{source.name}: unreachable (connection refused)"


@pytest.mark.django_db
def test_rate_limit_honours_retry_after(source: Source) -> None:
    source.server.fault("ratelimited", retry_after=120)

    result = source.lookup(RUNNER_BUG)

    assert result.items == []
    assert result.error.startswith(f"{source.name}: rate limited (HTTP 429); next try after ")
    assert result.error.endswith(" UTC")
    assert source.requests_made() == 1
    assert 115 < pause_seconds(source.name) <= 120

    # Before Retry-After: no request at all, whatever is asked.
    for text in (RUNNER_BUG, REGISTRY, PUSH_403):
        again = source.lookup(text)
        assert again.items == []
        assert again.error.startswith(f"{source.name}: rate limited (HTTP 429)")
    assert source.requests_made() == 1

    make_due(source.name)
    after = source.lookup(RUNNER_BUG)
    assert after.ok
    assert after.items
    assert source.requests_made() > 1


@pytest.mark.django_db
def test_failure_pauses_the_source_briefly_then_it_recovers(source: Source) -> None:
    source.server.fault("status", status=500)
    assert source.lookup(RUNNER_BUG).error.startswith(f"{source.name}: answered HTTP 500")
    asked = source.requests_made()
    assert 25 < pause_seconds(source.name) <= 30

    paused = source.lookup(REGISTRY)
    assert paused.items == []
    assert "answered HTTP 500" in paused.error
    assert "next try after" in paused.error
    assert source.requests_made() == asked

    make_due(source.name)
    recovered = source.lookup(RUNNER_BUG)
    assert recovered.ok
    assert recovered.items


# Caching


@pytest.mark.django_db
def test_second_look_up_is_served_from_the_cache(source: Source) -> None:
    first = source.lookup(RUNNER_BUG)
    asked = source.requests_made()
    assert first.ok
    assert first.items
    assert asked >= 1

    second = source.lookup(RUNNER_BUG)
    assert second.cached is True
    assert second.items == first.items
    assert second.fetched_at == first.fetched_at
    assert source.requests_made() == asked

    row = EvidenceCache.objects.get(source=source.name)
    assert row.payload == first.items
    assert row.error == ""
    assert (row.expires_at - row.fetched_at).total_seconds() == 300

    expire_cache(source.name)
    third = source.lookup(RUNNER_BUG)
    assert third.cached is False
    assert source.requests_made() > asked


@pytest.mark.django_db
def test_cache_key_includes_the_query(discourse: DiscourseServer) -> None:
    services.forum_topics_related(RUNNER_BUG)
    asked = len(discourse.requests)
    other = services.forum_topics_related(REGISTRY)
    assert other.cached is False
    assert len(discourse.requests) > asked
    assert EvidenceCache.objects.filter(source="forum").count() == 2
    # Same keywords, different wording around them: the same query.
    again = services.forum_topics_related(REGISTRY.replace("@Driftwood", "@MoveToDriftwood"))
    assert again.cached is True


@pytest.mark.django_db
def test_cache_time_is_configurable(zendesk: ZendeskServer, settings: Settings) -> None:
    settings.ZENDESK_CACHE_SECONDS = 45
    services.helpdesk_solved_tickets(RUNNER_BUG)
    row = EvidenceCache.objects.get(source="helpdesk")
    assert (row.expires_at - row.fetched_at).total_seconds() == 45


@pytest.mark.django_db
def test_post_without_keywords_asks_nobody(
    gitlab_server: GitLabServer, discourse: DiscourseServer, zendesk: ZendeskServer
) -> None:
    text = "@Driftwood 👏👏 https://t.co/abc #MoveToDriftwood"
    for result in (
        services.issues_related(text),
        services.forum_topics_related(text),
        services.helpdesk_solved_tickets(text),
    ):
        assert result.items == []
        assert result.error == ""
        assert result.configured
    assert gitlab_server.requests == discourse.requests == zendesk.requests == []


# Not configured


@pytest.mark.django_db
def test_unconfigured_sources_say_so_and_ask_nobody() -> None:
    results = [
        services.statuspage_open_incidents(),
        services.statuspage_summary(),
        services.issues_related(RUNNER_BUG),
        services.forum_topics_related(RUNNER_BUG),
        services.helpdesk_solved_tickets(RUNNER_BUG),
    ]
    for result in results:
        assert result.configured is False
        assert result.items == []
        assert result.error == ""
        assert result.ok is False
    assert services.issues_new_url() is None
    assert services.forum_category_url() is None
    assert services.evidence_configured() == dict.fromkeys(SOURCES, False)
    evidence = services.evidence_for_text(RUNNER_BUG)
    assert list(evidence) == list(SOURCES)
    assert not any(r.configured for r in evidence.values())
    assert not EvidenceCache.objects.exists()


@pytest.mark.django_db
def test_gitlab_without_projects_is_not_configured(settings: Settings) -> None:
    settings.GITLAB_URL = "http://127.0.0.1:9"
    assert services.issues_related(RUNNER_BUG).configured is False


def test_half_configured_sources_fail_at_startup() -> None:
    ok: dict[str, Any] = {
        "gitlab_url": "",
        "gitlab_projects": [],
        "zendesk_url": "",
        "zendesk_email": "",
        "zendesk_token": "",
    }
    evidence_settings_check(**ok)
    evidence_settings_check(**(ok | {"gitlab_url": "https://x", "gitlab_projects": ["a/b"]}))
    with pytest.raises(ImproperlyConfigured, match="MENTIONDESK_GITLAB_PROJECTS"):
        evidence_settings_check(**(ok | {"gitlab_url": "https://x"}))
    with pytest.raises(ImproperlyConfigured, match="MENTIONDESK_ZENDESK_TOKEN"):
        evidence_settings_check(**(ok | {"zendesk_url": "https://x", "zendesk_email": "a@b"}))


# All sources together


@pytest.mark.django_db
def test_evidence_for_text_asks_every_configured_source(
    statuspage: StatuspageServer,
    gitlab_server: GitLabServer,
    discourse: DiscourseServer,
    zendesk: ZendeskServer,
) -> None:
    evidence = services.evidence_for_text(RUNNER_BUG)

    assert list(evidence) == list(SOURCES)
    assert all(r.ok for r in evidence.values()), {k: r.error for k, r in evidence.items()}
    assert evidence["statuspage"].items[0]["impact"] == "major"
    assert evidence["issuetracker"].items[0]["title"] == "Runner token rotation fails with 401"
    assert evidence["forum"].items[0]["title"] == "Runner token rotation: jobs fail with 401"
    assert evidence["helpdesk"].items[0]["url"] == zendesk_agent_url(zendesk, 35501)
    assert services.evidence_configured() == dict.fromkeys(SOURCES, True)


@pytest.mark.django_db
def test_one_source_failing_leaves_the_others_alone(
    statuspage: StatuspageServer,
    gitlab_server: GitLabServer,
    discourse: DiscourseServer,
    zendesk: ZendeskServer,
) -> None:
    gitlab_server.fault("ratelimited", retry_after=60, count=10)
    discourse.stop()
    evidence = services.evidence_for_text(RUNNER_BUG)
    assert evidence["statuspage"].ok
    assert evidence["helpdesk"].ok
    assert evidence["issuetracker"].error.startswith("issuetracker: rate limited")
    assert evidence["forum"].error == "forum: unreachable (connection refused)"


@pytest.mark.django_db
def test_evidence_for_text_is_bounded_by_the_budget(
    statuspage: StatuspageServer,
    gitlab_server: GitLabServer,
    discourse: DiscourseServer,
    zendesk: ZendeskServer,
    settings: Settings,
) -> None:
    settings.EVIDENCE_BUDGET_SECONDS = 0.5
    settings.STATUSPAGE_TIMEOUT_SECONDS = 3.0
    statuspage.fault("slow", delay=2.0)
    started = time.monotonic()

    evidence = services.evidence_for_text(RUNNER_BUG)

    assert time.monotonic() - started < 1.5
    assert evidence["statuspage"].error == (
        "statuspage: no answer within the evidence time budget (0.5 s)"
    )
    for name in ("issuetracker", "forum", "helpdesk"):
        assert evidence[name].error == (
            f"{name}: skipped: the evidence time budget (0.5 s) was spent"
        )
    assert gitlab_server.requests == discourse.requests == zendesk.requests == []

    # Cut short or skipped by the budget is neither cached nor a reason to pause the source.
    assert not EvidenceCache.objects.exists()
    settings.EVIDENCE_BUDGET_SECONDS = 8.0
    assert services.issues_related(RUNNER_BUG).ok
    assert gitlab_server.requests


@pytest.mark.django_db
def test_zero_cache_time_asks_every_time(statuspage: StatuspageServer, settings: Settings) -> None:
    settings.STATUSPAGE_CACHE_SECONDS = 0
    assert services.statuspage_open_incidents().items
    assert services.statuspage_open_incidents().items
    assert len(statuspage.requests) == 2
    assert not EvidenceCache.objects.exists()
