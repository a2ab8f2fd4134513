from __future__ import annotations

from datetime import date, datetime

from ninja import Schema
from pydantic import Field


class ReportIn(Schema):
    # `from` is a Python keyword: the query parameter keeps its name through the alias.
    date_from: date | None = Field(
        default=None,
        alias="from",
        description="first day counted, YYYY-MM-DD on the report's time zone (default: 29 days"
        " before `to`)",
    )
    date_to: date | None = Field(
        default=None,
        alias="to",
        description="last day counted, inclusive (default: today on the report's time zone)",
    )
    handle: str | None = Field(default=None, description="only tickets of this handle")
    intent: str | None = Field(default=None, description="only tickets with this intent")
    agent: str | None = Field(default=None, description="only tickets assigned to this user")
    network: str | None = Field(
        default=None,
        description="only tickets on this network: x, mastodon or bluesky (default: all);"
        " also picks the handle when its name is ours on several networks",
    )


class ReportFiltersOut(Schema):
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    time_zone: str
    handle: str | None
    intent: str | None
    agent: str | None
    network: str | None


class DayOut(Schema):
    date: date
    tickets: int


class HourOut(Schema):
    hour: int = Field(description="hour of the day, 0-23, on the report's time zone")
    tickets: int


class IntentOut(Schema):
    intent: str = Field(description='the intent value ("" = not triaged)')
    label: str
    tickets: int


class BucketOut(Schema):
    key: str
    label: str
    tickets: int


class ResponseTimesOut(Schema):
    key: str | None = Field(
        description="handle or agent username, or the network; null: all tickets/unassigned"
    )
    label: str
    tickets: int = Field(description="tickets created in the range")
    answered: int = Field(description="...of which have a first response")
    median_seconds: float | None = Field(description="nearest-rank median; null if none answered")
    p90_seconds: float | None = Field(description="nearest-rank 90th percentile")


class HandleTimesOut(ResponseTimesOut):
    network: str = Field(description="the handle's network (x, mastodon, bluesky)")


class VolumeOut(Schema):
    tickets: int
    by_day: list[DayOut]
    by_hour: list[HourOut]
    by_intent: list[IntentOut]


class FirstResponseOut(ResponseTimesOut):
    distribution: list[BucketOut]
    by_handle: list[HandleTimesOut]
    by_agent: list[ResponseTimesOut]


class BacklogOut(Schema):
    as_of: datetime = Field(description="when the backlog was counted (UTC)")
    tickets: int = Field(description="tickets new or open now, whatever their date")
    oldest_seconds: float | None
    by_age: list[BucketOut]


class SlaAttainmentOut(Schema):
    met: int = Field(description="clocks stopped within their target")
    breached: int = Field(description="clocks stopped late, or still running past their deadline")
    percent: float | None = Field(
        description="100 * met / (met + breached), 2 decimals; null when no clock was decided"
    )


class SlaDayOut(Schema):
    """The clocks that started on `date` (the report's time zone). Fields as in
    SlaAttainmentOut, the date first like the JSON of `mentiondesk report`."""

    date: date
    met: int
    breached: int
    percent: float | None


class SlaTotalsOut(Schema):
    first_response: SlaAttainmentOut
    next_response: SlaAttainmentOut
    resolution: SlaAttainmentOut


class SlaOut(Schema):
    """% within SLA per day of the range (every day listed), per metric, and the range's
    totals. Clocks still within their target are not counted yet."""

    first_response: list[SlaDayOut]
    next_response: list[SlaDayOut]
    resolution: list[SlaDayOut]
    totals: SlaTotalsOut


class NetworkOut(ResponseTimesOut):
    """How one network was served: `key` is the network (x, mastodon, bluesky), `label` its
    name; first-response times of its tickets, and % within SLA of its clocks that started in
    the range (all days together; `sla.totals` is the sum over networks)."""

    sla: SlaTotalsOut


class IntentAccuracyOut(Schema):
    intent: str
    label: str
    labelled: int = Field(description="corrected posts the model labelled with this intent")
    labelled_right: int = Field(description="...of which a person agreed")
    precision: float | None = Field(description="labelled_right / labelled; null when 0")
    actual: int = Field(description="corrected posts a person labelled with this intent")
    found: int = Field(description="...of which the model had said it too")
    recall: float | None = Field(description="found / actual; null when 0")


class ModelAccuracyOut(Schema):
    """One intent model on the posts people corrected (or confirmed) in the range; rule
    labels are left out."""

    model: str = Field(description="the intent model's version, as on the ticket page")
    live: bool = Field(description="the model triaging new posts now")
    corrected: int
    right: int = Field(description="corrected posts the model had right (confirmations)")
    intents: list[IntentAccuracyOut]


class ReportOut(Schema):
    filters: ReportFiltersOut
    volume: VolumeOut
    first_response: FirstResponseOut
    by_network: list[NetworkOut] = Field(
        description="every network, x then mastodon then bluesky, with or without tickets"
    )
    backlog: BacklogOut
    sla: SlaOut
    triage_accuracy: list[ModelAccuracyOut] = Field(
        description="per intent model, the live one first: accuracy on corrected posts"
    )
