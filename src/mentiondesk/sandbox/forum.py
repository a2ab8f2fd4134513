"""A local Discourse-compatible server for tests and demos: full-page search as JSON over
Driftwood's community forum, with Discourse's response shape and rate-limit answer, plus the
fault injection of sandbox.base.ContractServer.

    server = DiscourseServer().start()
    settings.DISCOURSE_URL = server.url

What it follows (https://docs.discourse.org/#tag/Search/operation/search, and what
`/search.json` answers on a live forum):
- `GET /search.json?q=…[&page=n]`, anonymous (public categories need no key; `Api-Key` and
  `Api-Username` headers are accepted and logged);
- the body has `posts[]` (id, username, created_at, like_count, blurb, post_number,
  topic_id, …), `topics[]` (id, title, fancy_title, slug, posts_count, reply_count,
  highest_post_number, created_at, last_posted_at, category_id, has_accepted_answer, tags, …),
  `users`, `categories`, `tags`, `groups` and `grouped_search_result` (term, post_ids, …);
- every word of `q` must match (a word prefix) in the topic's title or first post; filters
  such as `status:solved` or `order:latest` are accepted and not applied; a term under three
  characters answers empty with `grouped_search_result.error` "Your search term is too short.";
- rate limited: HTTP 429, `Retry-After`, `Discourse-Rate-Limit-Error-Code`, and
  `{"errors": [...], "error_type": "rate_limit", "extras": {"wait_seconds": n, …}}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

from werkzeug.wrappers import Request, Response

from mentiondesk.sandbox.base import ContractServer, html_page, json_response

JSON = dict[str, Any]
MIN_TERM_LENGTH = 3

CATEGORIES = {
    5: ("how-to-driftwood-dev", "How-to: driftwood.dev"),
    6: ("ci-cd", "CI/CD and runners"),
    7: ("self-managed", "Self-managed"),
    8: ("feature-ideas", "Feature ideas"),
}


@dataclass
class CannedTopic:
    id: int
    title: str
    first_post: str
    category_id: int
    has_accepted_answer: bool
    reply_count: int
    days_ago: float = 10.0
    tags: list[str] = field(default_factory=list)
    author: str = "tomasz_w"


def driftwood_topics() -> list[CannedTopic]:
    return [
        CannedTopic(
            8812,
            "Moving a project to another group breaks container registry",
            "I transferred a project to another group and the container registry images are "
            "gone from the new path. How do I keep them? Solved: move the tags first with "
            "the registry migration script, then transfer.",
            5,
            True,
            5,
            days_ago=40,
            tags=["container-registry", "transfer"],
        ),
        CannedTopic(
            9120,
            "Sidekiq won't start after upgrading self-managed to 17.5",
            "After the 17.5 upgrade sidekiq exits at boot with a Redis connection error.",
            7,
            True,
            8,
            days_ago=6,
            tags=["upgrade", "sidekiq"],
            author="greta_devops",
        ),
        CannedTopic(
            9034,
            "Upgrading 17.4 to 17.5 with an external PostgreSQL 14",
            "Is the 17.5 upgrade safe with our external PostgreSQL 14 cluster?",
            7,
            True,
            3,
            days_ago=12,
            tags=["upgrade", "postgresql"],
            author="lena_ops",
        ),
        CannedTopic(
            8650,
            "Running Driftwood Runner on ARM64 Kubernetes nodes",
            "Has anyone run the runner's Kubernetes executor on arm64 nodes?",
            6,
            False,
            2,
            days_ago=90,
            tags=["runner", "kubernetes", "arm64"],
            author="chris_admin",
        ),
        CannedTopic(
            9201,
            "Push fails with 403 using a personal access token",
            "git push over HTTPS answers 403 with my personal access token. Solved: the "
            "token needs the write_repository scope.",
            5,
            True,
            4,
            days_ago=3,
            tags=["auth", "tokens"],
            author="diego_mx",
        ),
        CannedTopic(
            8999,
            "Do background migrations need to run by hand after an upgrade?",
            "After upgrading, do batched background migrations start on their own?",
            7,
            True,
            2,
            days_ago=25,
            tags=["upgrade", "migrations"],
            author="lena_ops",
        ),
        CannedTopic(
            9310,
            "Runner token rotation: jobs fail with 401",
            "Since I rotated the runner token, jobs fail with 401 Unauthorized. Re-registering "
            "the runner works but is there a better way?",
            6,
            False,
            6,
            days_ago=1,
            tags=["runner", "tokens"],
            author="viktor_ci",
        ),
        CannedTopic(
            9333,
            "Does the importer bring over issue comments and labels?",
            "Moving from our old host: will the importer keep issue comments and labels?",
            5,
            True,
            1,
            days_ago=15,
            tags=["import"],
            author="olu_data",
        ),
    ]


class DiscourseServer(ContractServer):
    """Driftwood's community forum (Discourse): `/search.json` over the canned topics."""

    name = "discourse"

    def __init__(
        self,
        *,
        topics: list[CannedTopic] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.topics = driftwood_topics() if topics is None else topics

    def topic_url(self, topic: CannedTopic) -> str:
        return f"{self.url}/t/{slugify(topic.title)}/{topic.id}"

    # The API

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and (request.path == "/" or request.path.startswith("/t/")):
            return self._web_page(request.path)
        if request.path != "/search.json":
            return json_response(
                404,
                {
                    "errors": ["The requested URL or resource could not be found."],
                    "error_type": "not_found",
                },
            )
        if request.method != "GET":
            return json_response(405, {"errors": ["Method not allowed"]})
        q = request.args.get("q", "")
        terms = [t.lower() for t in q.split() if ":" not in t and not t.startswith("#")]
        result = self._empty(q)
        if not terms or any(len(t) < MIN_TERM_LENGTH for t in terms):
            result["grouped_search_result"]["error"] = "Your search term is too short."
            return json_response(200, result)
        found = [t for t in self.topics if _matches(t, terms)]
        found.sort(key=lambda t: t.days_ago)  # recent first, as "latest" relevance ties go
        result["topics"] = [self._topic_json(t) for t in found]
        result["posts"] = [self._post_json(t, terms) for t in found]
        result["grouped_search_result"]["post_ids"] = [p["id"] for p in result["posts"]]
        return json_response(200, result)

    def _web_page(self, path: str) -> Response:
        """The forum's front page and topic pages (`/t/<slug>/<id>`), where the desk links."""
        if path == "/":
            items = "".join(
                f'<li><a href="/t/{slugify(t.title)}/{t.id}">{escape(t.title)}</a></li>'
                for t in self.topics
            )
            return html_page(200, "Driftwood Community Forum", f"<ul>{items}</ul>")
        topic_id = path.rstrip("/").rsplit("/", 1)[-1]
        topic = next((t for t in self.topics if str(t.id) == topic_id), None)
        if topic is None:
            return html_page(404, "Page Not Found")
        _, category = CATEGORIES[topic.category_id]
        solved = " · solved" if topic.has_accepted_answer else ""
        return html_page(
            200,
            f"{topic.title} - {category} - Driftwood Community Forum",
            f"<p>{escape(topic.author)}{solved} · {topic.reply_count} replies</p>"
            f"<p>{escape(topic.first_post)}</p>",
            description=topic.first_post,
        )

    def ratelimited_response(self, retry_after: str) -> Response:
        wait = int(float(retry_after)) if retry_after.replace(".", "", 1).isdigit() else 45
        return json_response(
            429,
            {
                "errors": [
                    "You\u2019ve performed this action too many times. Please wait "
                    f"{wait} seconds before trying again."
                ],
                "error_type": "rate_limit",
                "extras": {"wait_seconds": wait, "time_left": f"{wait} seconds"},
            },
            # An empty retry_after leaves the header out, as some proxies in front do: the
            # body's wait_seconds is then all a client has.
            {"Discourse-Rate-Limit-Error-Code": "ip_10_secs_limit"}
            | ({"Retry-After": retry_after} if retry_after else {}),
        )

    def _empty(self, term: str) -> JSON:
        return {
            "posts": [],
            "topics": [],
            "users": [],
            "categories": [],
            "tags": [],
            "groups": [],
            "grouped_search_result": {
                "more_posts": None,
                "more_users": None,
                "more_categories": None,
                "term": term,
                "search_log_id": 4711,
                "more_full_page_results": None,
                "can_create_topic": False,
                "error": None,
                "extra": {},
                "post_ids": [],
                "user_ids": [],
                "category_ids": [],
                "tag_ids": [],
                "group_ids": [],
            },
        }

    def _topic_json(self, topic: CannedTopic) -> JSON:
        created = self.ago(days=topic.days_ago)
        last = self.ago(days=max(0.0, topic.days_ago - 1))
        return {
            "fancy_title": topic.title.replace("'", "&rsquo;"),
            "id": topic.id,
            "title": topic.title,
            "slug": slugify(topic.title),
            "posts_count": topic.reply_count + 1,
            "reply_count": topic.reply_count,
            "highest_post_number": topic.reply_count + 1,
            "image_url": None,
            "created_at": created,
            "last_posted_at": last,
            "bumped": True,
            "bumped_at": last,
            "archetype": "regular",
            "unseen": False,
            "pinned": False,
            "unpinned": None,
            "visible": True,
            "closed": False,
            "archived": False,
            "bookmarked": None,
            "liked": None,
            "tags": list(topic.tags),
            "tags_descriptions": {},
            "category_id": topic.category_id,
            "has_accepted_answer": topic.has_accepted_answer,
            "can_have_answer": True,
        }

    def _post_json(self, topic: CannedTopic, terms: list[str]) -> JSON:
        headline = topic.title
        for term in terms:
            headline = re.sub(
                rf"(?i)\b({re.escape(term)}\w*)",
                r'<span class="search-highlight">\1</span>',
                headline,
            )
        return {
            "id": topic.id * 10 + 1,
            "name": topic.author.replace("_", " ").title(),
            "username": topic.author,
            "avatar_template": f"/user_avatar/forum.driftwood.dev/{topic.author}/{{size}}/1_2.png",
            "created_at": self.ago(days=topic.days_ago),
            "like_count": topic.reply_count,
            "blurb": topic.first_post[:200],
            "post_number": 1,
            "topic_title_headline": headline,
            "topic_id": topic.id,
        }


def _matches(topic: CannedTopic, terms: list[str]) -> bool:
    text = f"{topic.title} {topic.first_post}".lower()
    return all(re.search(rf"(?<!\w){re.escape(term)}", text) for term in terms)


def slugify(title: str) -> str:
    """Discourse's slug for an ASCII title: lowercase words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
