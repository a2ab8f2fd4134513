"""A local Atlassian-Statuspage-compatible server for tests and demos: the public (no auth)
status API with the Driftwood status page's components and incidents, plus the fault injection
of sandbox.base.ContractServer.

    server = StatuspageServer().start()
    settings.STATUSPAGE_URL = server.url
    server.incidents_clear()                  # all systems operational

What it follows (https://metastatuspage.com/api/v2/ and
https://developer.statuspage.io/#tag/incidents — the public page API, v2):
- `GET /api/v2/summary.json`: `page`, `status{indicator, description}`, `components[]`,
  `incidents[]` (unresolved only), `scheduled_maintenances[]`;
- `GET /api/v2/status.json`: `page`, `status`;
- `GET /api/v2/incidents/unresolved.json`: `page`, `incidents[]` — each with id, name, status
  (investigating | identified | monitoring), impact (none | minor | major | critical),
  shortlink, created_at, updated_at, started_at, incident_updates[] (newest first),
  components[];
- anything else → 404. Times carry the page's offset ("2026-11-25T09:12:03.421+00:00").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from werkzeug.wrappers import Request, Response

from mentiondesk.sandbox.base import ContractServer, html_page, json_response

JSON = dict[str, Any]
PAGE_ID = "dw7k2f9m3q1x"
IMPACT_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
INDICATOR_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
COMPONENTS = (
    ("Website", "driftwood.dev web interface"),
    ("API", "REST and GraphQL API"),
    ("Git operations (SSH and HTTPS)", "Clone, fetch and push"),
    ("CI/CD: shared runners", "Jobs on Driftwood's hosted runners"),
    ("Container registry", None),
    ("Pages", None),
)


@dataclass
class CannedIncident:
    name: str
    status: str  # investigating | identified | monitoring
    impact: str  # none | minor | major | critical
    updates: list[tuple[str, str]]  # (status, body), oldest first
    components: list[str] = field(default_factory=list)  # names; their status is "new_status"
    new_status: str = "partial_outage"
    shortlink: str | None = None
    started_minutes_ago: float = 30.0


def driftwood_incidents() -> list[CannedIncident]:
    return [
        CannedIncident(
            name="Jobs stuck in pending on shared runners",
            status="identified",
            impact="major",
            updates=[
                (
                    "investigating",
                    "We are investigating reports of CI jobs pending for a long "
                    "time on the shared runners.",
                ),
                (
                    "identified",
                    "A failed autoscaler deploy left too few runner machines. We are "
                    "rolling it back; queued jobs will start as capacity returns.",
                ),
            ],
            components=["CI/CD: shared runners"],
            new_status="partial_outage",
            shortlink="https://stspg.io/dw4kq81",
            started_minutes_ago=52,
        ),
        CannedIncident(
            name="Elevated error rates on git push over HTTPS",
            status="investigating",
            impact="minor",
            updates=[
                (
                    "investigating",
                    "Some pushes over HTTPS fail with HTTP 502. SSH is not "
                    "affected. We are investigating.",
                ),
            ],
            components=["Git operations (SSH and HTTPS)"],
            new_status="degraded_performance",
            shortlink=None,  # not every incident gets a shortlink: the page's URL is used
            started_minutes_ago=14,
        ),
    ]


class StatuspageServer(ContractServer):
    """Driftwood's status page API. Incidents are listed newest first, as Statuspage does."""

    name = "statuspage"

    def __init__(
        self,
        *,
        incidents: list[CannedIncident] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self._ids = itertools.count(1)
        self._incidents: list[JSON] = []
        self._history: dict[str, JSON] = {}  # every incident ever opened, by id: its web page
        for incident in driftwood_incidents() if incidents is None else incidents:
            self.incident_add(incident)

    # Control

    def incident_add(self, incident: CannedIncident) -> JSON:
        """Open `incident`; returns it as the API shows it."""
        started = self.now - timedelta(minutes=incident.started_minutes_ago)
        incident_id = f"{next(self._ids):04d}q{PAGE_ID[:7]}"
        updates: list[JSON] = []
        step = timedelta(minutes=incident.started_minutes_ago / max(1, len(incident.updates)))
        for n, (status, body) in enumerate(incident.updates):
            at = _page_time(started + step * n)
            updates.insert(
                0,
                {
                    "id": f"{incident_id}u{n}",
                    "status": status,
                    "body": body,
                    "incident_id": incident_id,
                    "created_at": at,
                    "updated_at": at,
                    "display_at": at,
                    "affected_components": [
                        {
                            "code": _component_id(name),
                            "name": name,
                            "old_status": "operational",
                            "new_status": incident.new_status,
                        }
                        for name in incident.components
                    ],
                    "deliver_notifications": True,
                    "custom_tweet": None,
                    "tweet_id": None,
                },
            )
        last_update = updates[0]["updated_at"] if updates else _page_time(started)
        payload: JSON = {
            "id": incident_id,
            "name": incident.name,
            "status": incident.status,
            "created_at": _page_time(started),
            "updated_at": last_update,
            "monitoring_at": last_update if incident.status == "monitoring" else None,
            "resolved_at": None,
            "impact": incident.impact,
            "shortlink": incident.shortlink,
            "started_at": _page_time(started),
            "page_id": PAGE_ID,
            "incident_updates": updates,
            "components": [
                self._component(name, incident.new_status) for name in incident.components
            ],
        }
        with self.lock:
            self._incidents.insert(0, payload)
            self._history[incident_id] = payload
        return payload

    def incident_resolve(self, name: str) -> bool:
        """Resolve the open incident called `name` (it leaves the unresolved list); False when
        none is open by that name."""
        with self.lock:
            kept = [i for i in self._incidents if i["name"] != name]
            for incident in self._incidents:
                if incident["name"] == name:
                    incident["status"] = "resolved"
            resolved = len(kept) != len(self._incidents)
            self._incidents[:] = kept
        return resolved

    def incidents_open(self) -> list[str]:
        """The names of the open incidents, newest first."""
        with self.lock:
            return [i["name"] for i in self._incidents]

    def incidents_clear(self) -> None:
        """Resolve every incident: the page is all green."""
        with self.lock:
            self._incidents.clear()

    # The API

    def handle(self, request: Request) -> Response:
        if request.method != "GET":
            return json_response(405, {"error": "Method not allowed"})
        routes = {
            "/api/v2/summary.json": self._summary,
            "/api/v2/status.json": self._status_only,
            "/api/v2/incidents/unresolved.json": self._unresolved,
        }
        if request.path == "/" or request.path.startswith("/incidents/"):
            return self._web_page(request.path)
        route = routes.get(request.path)
        if route is None:
            return json_response(404, {"error": "Not found"})
        return json_response(200, route())

    def _web_page(self, path: str) -> Response:
        """The status page people read, and an incident's page (`/incidents/<id>`), where
        the desk's incident links lead."""
        if path == "/":
            status = self._status()
            items = "".join(
                f'<li><a href="/incidents/{escape(i["id"])}">{escape(i["name"])}</a> '
                f"({escape(i['status'])})</li>"
                for i in self._incidents_copy()
            )
            return html_page(
                200, "Driftwood Status", f"<p>{escape(status['description'])}</p><ul>{items}</ul>"
            )
        with self.lock:
            incident = self._history.get(path.removeprefix("/incidents/").strip("/"))
            incident = dict(incident) if incident is not None else None
        if incident is None:
            return html_page(404, "Page Not Found")
        updates = "".join(
            f"<li><strong>{escape(u['status'])}</strong> {escape(u['body'])}</li>"
            for u in incident["incident_updates"]
        )
        return html_page(
            200,
            f"Driftwood Status - {incident['name']}",
            f"<p>{escape(incident['status'])} · {escape(incident['impact'])} impact</p>"
            f"<ul>{updates}</ul>",
        )

    def _page(self) -> JSON:
        with self.lock:
            updated = max((i["updated_at"] for i in self._incidents), default=None)
        return {
            "id": PAGE_ID,
            "name": "Driftwood",
            "url": self.url,
            "time_zone": "Etc/UTC",
            "updated_at": updated or _page_time(self.now - timedelta(days=2)),
        }

    def _status(self) -> JSON:
        with self.lock:
            worst = max((IMPACT_RANK[i["impact"]] for i in self._incidents), default=0)
        indicator = next(k for k, v in IMPACT_RANK.items() if v == worst)
        return {"indicator": indicator, "description": INDICATOR_DESCRIPTION[indicator]}

    def _component(self, name: str, status: str) -> JSON:
        position = next(n for n, (c, _) in enumerate(COMPONENTS, 1) if c == name)
        return {
            "id": _component_id(name),
            "name": name,
            "status": status,
            "created_at": _page_time(self.now - timedelta(days=900)),
            "updated_at": _page_time(self.now - timedelta(minutes=10)),
            "position": position,
            "description": COMPONENTS[position - 1][1],
            "showcase": True,
            "start_date": "2023-06-01",
            "group_id": None,
            "page_id": PAGE_ID,
            "group": False,
            "only_show_if_degraded": False,
        }

    def _components(self) -> list[JSON]:
        with self.lock:
            affected: dict[str, str] = {}
            for incident in self._incidents:
                for component in incident["components"]:
                    affected.setdefault(component["name"], component["status"])
        return [self._component(name, affected.get(name, "operational")) for name, _ in COMPONENTS]

    def _incidents_copy(self) -> list[JSON]:
        with self.lock:
            return [dict(i) for i in self._incidents]

    def _summary(self) -> JSON:
        return {
            "page": self._page(),
            "components": self._components(),
            "incidents": self._incidents_copy(),
            "scheduled_maintenances": [],
            "status": self._status(),
        }

    def _status_only(self) -> JSON:
        return {"page": self._page(), "status": self._status()}

    def _unresolved(self) -> JSON:
        return {"page": self._page(), "incidents": self._incidents_copy()}


def _page_time(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def _component_id(name: str) -> str:
    return "c" + "".join(ch for ch in name.lower() if ch.isalnum())[:11]
