"""The demo's offline web: the pages behind the links in the scripted mentions (driftwood.dev,
its docs, a picture host, an impersonator's X profile), answered by host from one local server,
so link previews work in the demo without resolving a single outside name.

    server = WebServer().start()
    settings.LINKS_OFFLINE_WEB_URL = server.url   # the previewer sends every hop here

The previewer keeps each link's own name in the Host header (as it does when it connects to a
vetted address), so this server tells the sites apart by it. What the pages say follows the
rest of the Driftwood world: issue pages carry the issue tracker stand-in's titles. A page that
is not here answers 404, as a dead link does.
"""

from __future__ import annotations

import re
from html import escape

from werkzeug.wrappers import Request, Response

from mentiondesk.sandbox.base import ContractServer, html_page
from mentiondesk.sandbox.issuetracker import driftwood_projects

# The smallest valid PNG (1x1, transparent): a picture link is not a page.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478"
    "9c6360000002000154a24f5d0000000049454e44ae426082"
)
_ISSUE = re.compile(r"^/(?P<project>[\w.-]+/[\w.-]+)/-/issues/(?P<iid>\d+)$")
_ISSUES = re.compile(r"^/(?P<project>[\w.-]+/[\w.-]+)/-/issues/?$")
_PIPELINE = re.compile(r"^/(?P<project>[\w.-]+/[\w.-]+)/-/pipelines/(?P<id>\d+)$")
_PROJECT = re.compile(r"^/(?P<project>[\w.-]+/[\w.-]+)/?$")
# Issues outside the tracker stand-in's projects that the script links to.
OTHER_ISSUES = {
    ("openleaf/leaf", 3391): (
        "🚀 FREE DRIFT airdrop: claim 500 tokens before midnight!!!",
        "Connect your wallet at drift-airdrop.example to claim. Limited spots.",
    ),
}
PAGES = {
    ("x.com", "/Driftwood_Helpdesk"): (
        "Driftwood Help Desk (@Driftwood_Helpdesk) / X",
        "Official Driftwood support 24/7. DM us your personal access token to verify your account.",
    ),
}


class WebServer(ContractServer):
    """The fictional sites of the Driftwood world, by Host header."""

    name = "web"

    def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _page(405, "Method Not Allowed", "")
        host = request.host.rsplit(":", 1)[0].lower() if request.host else ""
        path = request.path
        if host == "pics.example.net" and path.endswith(".png"):
            return Response(PNG, content_type="image/png")
        if host == "driftwood.dev":
            found = self._driftwood(path)
            if found is not None:
                return _page(200, *found)
        if (host, path) in PAGES:
            return _page(200, *PAGES[(host, path)])
        return _page(404, "Page not found", "The page you were looking for could not be found.")

    def _driftwood(self, path: str) -> tuple[str, str] | None:
        """(title, description) of a driftwood.dev page, as Driftwood titles them."""
        if match := _ISSUE.match(path):
            project, iid = match["project"], int(match["iid"])
            issue = _issue(project, iid)
            if issue is None:
                return None
            title, description = issue
            return f"{title} (#{iid}) · Issues · {_name(project)} · Driftwood", description
        if match := _ISSUES.match(path):
            return f"Issues · {_name(match['project'])} · Driftwood", ""
        if match := _PIPELINE.match(path):
            return f"Pipeline #{match['id']} · {_name(match['project'])} · Driftwood", ""
        if match := _PROJECT.match(path):
            return f"{_name(match['project'])} · Driftwood", ""
        return None


def _issue(project: str, iid: int) -> tuple[str, str] | None:
    for canned in driftwood_projects():
        if canned.path == project and canned.public:
            for issue in canned.issues:
                if issue.iid == iid:
                    return issue.title, issue.description
    return OTHER_ISSUES.get((project, iid))


def _name(project: str) -> str:
    return " / ".join(project.split("/"))


def _page(status: int, title: str, description: str) -> Response:
    return html_page(status, title, f"<p>{escape(description)}</p>", description=description)
