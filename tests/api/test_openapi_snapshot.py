from __future__ import annotations

from django.test import Client

from tests.api.snapshot import SNAPSHOT, openapi_current, openapi_dump


def test_openapi_matches_the_committed_snapshot() -> None:
    """An API change must be deliberate: refresh the snapshot with `make openapi`."""
    assert openapi_dump(openapi_current()) == SNAPSHOT.read_text()


def test_served_document_is_the_snapshot(client: Client) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert openapi_dump(served.json()) == SNAPSHOT.read_text()
