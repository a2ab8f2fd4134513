"""Browsing and exporting the audit log through its selectors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from pytest_django import DjangoAssertNumQueries

from mentiondesk.accounts.models import User
from mentiondesk.audit import selectors
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.tickets import services
from mentiondesk.tickets.models import TicketEvent
from tests.audit.conftest import FORMULA_NOTE, Trail

pytestmark = pytest.mark.django_db

COLUMNS = ["id", "created_at", "ticket", "kind", "actor", "message", "data"]


def export(fmt: str, **filters: object) -> str:
    events = selectors.audit_events(**filters)  # type: ignore[arg-type]
    return "".join(selectors.audit_export(events=events, fmt=fmt))


def csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def test_events_are_oldest_first_with_actor_and_ticket_joined(
    trail: Trail, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    events = list(selectors.audit_events())
    assert [e.pk for e in events] == [e.pk for e in trail.events()]
    assert [(e.created_at, e.pk) for e in events] == sorted((e.created_at, e.pk) for e in events)
    with django_assert_num_queries(0):
        [(e.actor.username if e.actor else None, e.ticket.requester_username) for e in events]


def test_csv_export_has_a_header_and_one_row_per_event(trail: Trail) -> None:
    text = export("csv")
    assert text.startswith("id,created_at,ticket,kind,actor,message,data\r\n")
    rows = csv_rows(text)
    events = trail.events()
    assert [int(r["id"]) for r in rows] == [e.pk for e in events]
    for row, event in zip(rows, events, strict=True):
        assert row["created_at"] == iso_utc(event.created_at)
        assert row["ticket"] == str(event.ticket_id)
        assert row["kind"] == event.kind
        assert row["actor"] == (event.actor.username if event.actor else "")
        assert json.loads(row["data"]) == event.data
    status = next(r for r in rows if r["kind"] == TicketEvent.Kind.STATUS_CHANGED)
    assert (status["ticket"], status["actor"]) == (str(trail.maya.pk), "ana")
    assert json.loads(status["data"]) == {"from": "new", "to": "solved"}
    created = [r for r in rows if r["kind"] == TicketEvent.Kind.CREATED]
    assert [r["actor"] for r in created] == ["", ""]  # ingest: no person did it


def test_json_export_is_one_array_of_the_same_rows(trail: Trail) -> None:
    items = json.loads(export("json"))
    events = trail.events()
    assert [i["id"] for i in items] == [e.pk for e in events]
    assert all(list(i) == COLUMNS for i in items)
    note = next(i for i in items if i["kind"] == TicketEvent.Kind.NOTE)
    assert note == {
        "id": note["id"],
        "created_at": iso_utc(TicketEvent.objects.get(pk=note["id"]).created_at),
        "ticket": trail.maya.pk,
        "kind": "note",
        "actor": "ana",
        "message": FORMULA_NOTE,  # JSON is data, not a spreadsheet: verbatim
        "data": {},
    }
    assert items[0]["actor"] is None and items[0]["created_at"].endswith("Z")


def test_an_empty_export_is_a_header_or_an_empty_array(db: None) -> None:
    assert export("csv") == "id,created_at,ticket,kind,actor,message,data\r\n"
    assert json.loads(export("json")) == []


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_csv_cells_a_spreadsheet_would_run_start_with_a_quote(
    trail: Trail, advocate: User, prefix: str
) -> None:
    services.ticket_note_add(ticket=trail.omar, by=advocate, text=f"{prefix}1+1 cmd|' /C calc'!A0")
    rows = csv_rows(export("csv", kind="note"))
    assert [r["message"] for r in rows] == [
        f"'{FORMULA_NOTE}",
        f"'{prefix}1+1 cmd|' /C calc'!A0",
    ]
    plain = next(r for r in csv_rows(export("csv")) if r["kind"] == "status_changed")
    assert plain["message"] == "new → solved"


def test_csv_cells_starting_with_tab_or_carriage_return_are_guarded_too(trail: Trail) -> None:
    # Notes are stripped by the service; other events may carry such text from the network.
    for text in ("\t=1+1", "\r=1+1"):
        TicketEvent.objects.create(ticket=trail.omar, kind=TicketEvent.Kind.FOLLOW_UP, message=text)
    rows = csv_rows(export("csv", kind="follow_up"))
    assert [r["message"] for r in rows] == ["'\t=1+1", "'\r=1+1"]


def test_filters_by_ticket_user_kind_and_time(trail: Trail, advocate: User, lead: User) -> None:
    def ids(**filters: object) -> list[int]:
        return [e.pk for e in selectors.audit_events(**filters)]  # type: ignore[arg-type]

    everything = trail.events()
    by = {e.pk: e for e in everything}
    omar = ids(ticket_id=trail.omar.pk)
    assert omar and all(by[i].ticket_id == trail.omar.pk for i in omar)
    assert (
        ids(actor=lead) == ids(actor="LEE") == [e.pk for e in everything if e.actor_id == lead.pk]
    )
    assert len(ids(actor=lead)) == 1
    assert ids(actor="ana", kind="note") == [
        e.pk for e in everything if e.kind == "note" and e.actor_id == advocate.pk
    ]
    later = ids(since=trail.middle)
    assert later == [e.pk for e in everything if e.created_at >= trail.middle]
    assert [by[i].actor_id for i in later] == [lead.pk]
    assert ids(until=trail.middle) == [e.pk for e in everything if e.created_at < trail.middle]
    # A naive time is UTC.
    naive = trail.middle.astimezone(UTC).replace(tzinfo=None)
    assert ids(since=naive) == later
    assert ids(since=trail.middle + timedelta(days=1)) == []


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"ticket_id": 999_999}, "ticket"),
        ({"actor": "nobody"}, "user"),
        ({"kind": "deleted"}, "kind"),
        (
            {
                "since": datetime(2026, 11, 21, tzinfo=UTC),
                "until": datetime(2026, 11, 20, tzinfo=UTC),
            },
            "until",
        ),
    ],
)
def test_unknown_filter_values_name_the_field(
    trail: Trail, filters: dict[str, object], field: str
) -> None:
    with pytest.raises(DomainError) as caught:
        selectors.audit_events(**filters)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_an_unknown_format_is_refused_before_any_row_is_read(db: None) -> None:
    with pytest.raises(DomainError) as caught:
        selectors.audit_export(events=TicketEvent.objects.none(), fmt="xml")
    assert caught.value.field == "format"


def test_only_leads_and_admins_may_read_the_audit_log(
    advocate: User, lead: User, admin: User, infrastructure: User, light_agent: User
) -> None:
    for viewer in (lead, admin):
        selectors.audit_viewer_check(viewer=viewer)
    for viewer in (advocate, infrastructure, light_agent):
        with pytest.raises(Forbidden):
            selectors.audit_viewer_check(viewer=viewer)


def test_export_filename_is_stamped_in_utc() -> None:
    when = datetime(2026, 11, 20, 10, 30, 5, tzinfo=UTC)
    assert selectors.audit_export_filename(fmt="csv", now=when) == (
        "mentiondesk-audit-20261120T103005Z.csv"
    )
