"""`mentiondesk audit export` as an operator runs it: a real process on the test database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mentiondesk.tickets.models import TicketEvent
from tests.audit.conftest import FORMULA_NOTE, Trail
from tests.processes import mentiondesk

pytestmark = pytest.mark.django_db(transaction=True)


def test_export_csv_to_stdout_and_json_to_a_file(trail: Trail, tmp_path: Path) -> None:
    events = trail.events()
    result = mentiondesk("audit", "export")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert [int(r["id"]) for r in rows] == [e.pk for e in events]
    assert f"'{FORMULA_NOTE}" in [r["message"] for r in rows]

    target = tmp_path / "audit.json"
    result = mentiondesk(
        "audit",
        "export",
        "--format",
        "json",
        "--user",
        "ana",
        "--ticket",
        str(trail.maya.pk),
        "--since",
        events[0].created_at.isoformat(),
        "--until",
        "2999-01-01",
        "--output",
        str(target),
    )
    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout
    items = json.loads(target.read_text(encoding="utf-8"))
    assert [i["id"] for i in items] == [
        e.pk
        for e in events
        if e.actor_id and e.actor.username == "ana"  # type: ignore[union-attr]
    ]
    assert {i["ticket"] for i in items} == {trail.maya.pk}
    assert [p.name for p in tmp_path.iterdir()] == ["audit.json"]  # no temporary file left

    kinds = mentiondesk("audit", "export", "--kind", "note", "--format", "json")
    assert [i["kind"] for i in json.loads(kinds.stdout)] == [TicketEvent.Kind.NOTE]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "yesterday"], "--since: 'yesterday' is not an ISO 8601 date or time"),
        (["--until", "2026-13-40"], "--until: '2026-13-40' is not an ISO 8601"),
        (["--user", "nobody"], "no user named 'nobody'"),
        (["--ticket", "abc"], "--ticket: 'abc' is not a ticket number"),
        (["--ticket", "999999"], "ticket 999999 does not exist"),
        (["--kind", "deleted"], "unknown kind 'deleted'"),
        (["--format", "xml"], "--format: use one of csv, json, not 'xml'"),
        (["--since", "2026-11-21", "--until", "2026-11-20"], "the end of the range"),
        (["--output", "/nonexistent-dir/audit.csv"], "--output: cannot write to"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(trail: Trail, args: list[str], says: str) -> None:
    result = mentiondesk("audit", "export", *args)
    assert result.returncode == 1
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
