"""An Atlassian-Statuspage-compatible status page, read through its public API with httpx:
vendor I/O only, no database. There is no maintained Python SDK for the public page API (the
`statuspageio` packages wrap the authenticated management API at api.statuspage.io), and two
GETs of documented JSON need none.

API relied on (https://metastatuspage.com/api/v2/, public, no auth):
- GET /api/v2/incidents/unresolved.json → {"page": {...}, "incidents": [...]}
- GET /api/v2/summary.json → {"page", "status": {"indicator", "description"}, "components",
  "incidents", "scheduled_maintenances"}
Raises EvidenceError for every failure (see integrations.vendorhttp.get_json).
"""

from __future__ import annotations

from typing import Any

from mentiondesk.integrations.vendorhttp import get_json, unexpected

IMPACT_RANK = {"critical": 3, "major": 2, "minor": 1, "none": 0}


def incidents_unresolved(*, base_url: str, timeout: float) -> list[dict[str, Any]]:
    """The page's open incidents as evidence items: id, title, url (the shortlink, or the
    incident's page), status, impact, updated_at, latest_update (the newest update's text) and the
    affected components' names. Raises EvidenceError."""
    data = get_json(f"{base_url}/api/v2/incidents/unresolved.json", timeout=timeout)
    if not isinstance(data, dict) or not isinstance(data.get("incidents"), list):
        raise unexpected("no incidents list")
    page_url = _page_url(data, base_url)
    items = [_incident_item(i, page_url) for i in data["incidents"] if isinstance(i, dict)]
    return [item for item in items if item is not None]


def summary(*, base_url: str, timeout: float) -> dict[str, Any]:
    """The page's overall status: indicator (none | minor | major | critical | maintenance),
    description ("Partial System Outage"), url, updated_at, and the components that are not
    operational ([{name, status}]). Raises EvidenceError."""
    data = get_json(f"{base_url}/api/v2/summary.json", timeout=timeout)
    if not isinstance(data, dict) or not isinstance(data.get("status"), dict):
        raise unexpected("no status")
    status = data["status"]
    page = data.get("page")
    page = page if isinstance(page, dict) else {}
    components = data.get("components")
    components = components if isinstance(components, list) else []
    return {
        "indicator": str(status.get("indicator") or ""),
        "description": str(status.get("description") or ""),
        "url": _page_url(data, base_url),
        "updated_at": str(page.get("updated_at") or ""),
        "components": [
            {"name": str(c.get("name") or ""), "status": str(c.get("status") or "")}
            for c in components
            # Groups repeat their children's worst status; the children are listed anyway.
            if isinstance(c, dict) and c.get("status") != "operational" and not c.get("group")
        ],
    }


def _page_url(data: dict[str, Any], base_url: str) -> str:
    page = data.get("page")
    url = page.get("url") if isinstance(page, dict) else None
    return str(url).rstrip("/") if isinstance(url, str) and url.startswith("http") else base_url


def _incident_item(incident: dict[str, Any], page_url: str) -> dict[str, Any] | None:
    incident_id, name = incident.get("id"), incident.get("name")
    if not isinstance(incident_id, str) or not isinstance(name, str):
        return None
    updates = incident.get("incident_updates")
    latest = updates[0] if isinstance(updates, list) and updates else {}
    components = incident.get("components")
    shortlink = incident.get("shortlink")
    return {
        "id": incident_id,
        "title": name,
        "url": shortlink
        if isinstance(shortlink, str) and shortlink.startswith("http")
        else f"{page_url}/incidents/{incident_id}",
        "status": str(incident.get("status") or ""),
        "impact": str(incident.get("impact") or "none"),
        "updated_at": str(incident.get("updated_at") or incident.get("created_at") or ""),
        "latest_update": str(latest.get("body") or "") if isinstance(latest, dict) else "",
        "components": [
            str(c.get("name"))
            for c in (components if isinstance(components, list) else [])
            if isinstance(c, dict) and c.get("name")
        ],
    }
