"""The report as text for `mentiondesk report`: a table for people, CSV and JSON for scripts.
All three render `selectors.report_as_dict`, the API's body, so every door shows the same
numbers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

ROW_SECTIONS = (
    # (section in the CSV, path in the report dict, the key's field)
    ("volume_by_day", ("volume", "by_day"), "date"),
    ("volume_by_hour", ("volume", "by_hour"), "hour"),
    ("volume_by_intent", ("volume", "by_intent"), "intent"),
    ("first_response_distribution", ("first_response", "distribution"), "key"),
    ("first_response_by_handle", ("first_response", "by_handle"), "key"),
    ("first_response_by_agent", ("first_response", "by_agent"), "key"),
    ("backlog_by_age", ("backlog", "by_age"), "key"),
    ("sla_first_response", ("sla", "first_response"), "date"),
    ("sla_next_response", ("sla", "next_response"), "date"),
    ("sla_resolution", ("sla", "resolution"), "date"),
)
# The SLA metrics, in the order of the report's JSON, with their column titles.
SLA_METRICS = (
    ("first_response", "first response"),
    ("next_response", "next response"),
    ("resolution", "resolution"),
)
CSV_COLUMNS = ("section", "key", "metric", "value")
TIMES = ("tickets", "answered", "median_seconds", "p90_seconds")
ACCURACY = ("labelled", "labelled_right", "precision", "actual", "found", "recall")


def report_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def report_csv(data: dict[str, Any]) -> str:
    """One figure per line, `section,key,metric,value` (long format: every section fits one
    header). Seconds are plain numbers; an empty cell is JSON's null (no ticket answered, the
    unassigned tickets' agent). Per network: `by_network` (key: the network) and
    `by_network_sla` (key: `network/metric`, metrics met, breached, percent)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for name, value in data["filters"].items():
        writer.writerow(("filters", "", name, _cell(value)))
    writer.writerow(("volume", "", "tickets", data["volume"]["tickets"]))
    for metric in TIMES:
        writer.writerow(("first_response", "", metric, _cell(data["first_response"][metric])))
    for metric in ("as_of", "tickets", "oldest_seconds"):
        writer.writerow(("backlog", "", metric, _cell(data["backlog"][metric])))
    for metric, totals in data["sla"]["totals"].items():
        for name, value in totals.items():
            writer.writerow(("sla", metric, name, _cell(value)))
    for section, path, key in ROW_SECTIONS:
        for row in _at(data, path):
            for metric, value in row.items():
                if metric not in {key, "label"}:
                    writer.writerow((section, _cell(row[key]), metric, _cell(value)))
    for network in data["by_network"]:
        for metric in TIMES:
            writer.writerow(("by_network", network["key"], metric, _cell(network[metric])))
        for sla_metric, _ in SLA_METRICS:
            for name, value in network["sla"][sla_metric].items():
                key = f"{network['key']}/{sla_metric}"
                writer.writerow(("by_network_sla", key, name, _cell(value)))
    for model in data["triage_accuracy"]:
        for row in model["intents"]:
            for metric in ACCURACY:
                key = f"{model['model']}/{row['intent']}"
                writer.writerow(("triage_accuracy", key, metric, _cell(row[metric])))
    return out.getvalue()


def report_table(data: dict[str, Any]) -> str:
    """The report for a terminal: a heading, the totals, then one small table per chart."""
    f, fr, backlog = data["filters"], data["first_response"], data["backlog"]
    scope = ", ".join(
        f"{name} {f[name]}"
        for name in ("network", "handle", "intent", "agent")
        if f[name] is not None
    )
    lines = [
        f"Tickets created {f['from']} to {f['to']} ({f['time_zone']})"
        + (f", {scope}" if scope else ""),
        f"  {data['volume']['tickets']} tickets, {fr['answered']} answered; first response "
        f"median {duration(fr['median_seconds'])}, p90 {duration(fr['p90_seconds'])}",
        f"  backlog now ({backlog['as_of']}): {backlog['tickets']} waiting, oldest "
        f"{duration(backlog['oldest_seconds'])}",
    ]
    volume = data["volume"]
    lines += _table("Volume by day", ("date", "tickets"), _rows(volume["by_day"], "date"))
    lines += _table(
        "Volume by hour of the day",
        ("hour", "tickets"),
        [(f"{r['hour']:02d}", r["tickets"]) for r in volume["by_hour"]],
    )
    lines += _table("Volume by intent", ("intent", "tickets"), _rows(volume["by_intent"]))
    lines += _table("First response time", ("wait", "tickets"), _rows(fr["distribution"]))
    for title, rows in (("handle", fr["by_handle"]), ("agent", fr["by_agent"])):
        lines += _table(
            f"First response by {title}",
            (title, "tickets", "answered", "median", "p90"),
            [
                (
                    r["label"],
                    r["tickets"],
                    r["answered"],
                    duration(r["median_seconds"]),
                    duration(r["p90_seconds"]),
                )
                for r in rows
            ],
        )
    lines += _table(
        "By network (% within SLA: clocks started in the range)",
        (
            "network",
            "tickets",
            "answered",
            "median",
            "p90",
            *(title for _, title in SLA_METRICS),
        ),
        [
            (
                r["label"],
                r["tickets"],
                r["answered"],
                duration(r["median_seconds"]),
                duration(r["p90_seconds"]),
                *(within(r["sla"][metric]) for metric, _ in SLA_METRICS),
            )
            for r in data["by_network"]
        ],
    )
    lines += _table("Backlog by age", ("age", "tickets"), _rows(backlog["by_age"]))
    sla = data["sla"]
    lines += _table(
        "% within SLA (clocks by the day they started; within target so far: not counted)",
        ("day", *(title for _, title in SLA_METRICS)),
        [
            *(
                (day["date"], *(within(sla[metric][i]) for metric, _ in SLA_METRICS))
                for i, day in enumerate(sla[SLA_METRICS[0][0]])
            ),
            ("all days", *(within(sla["totals"][metric]) for metric, _ in SLA_METRICS)),
        ],
    )
    for model in data["triage_accuracy"]:
        lines += _table(
            f"Triage model {model['model']}{' (live)' if model['live'] else ''} on "
            f"{model['corrected']} corrected posts, {model['right']} right",
            ("intent", "labelled", "right", "precision", "actual", "found", "recall"),
            [
                (
                    r["label"],
                    r["labelled"],
                    r["labelled_right"],
                    share(r["precision"]),
                    r["actual"],
                    r["found"],
                    share(r["recall"]),
                )
                for r in model["intents"]
            ],
        )
    return "\n".join(lines) + "\n"


def share(value: float | None) -> str:
    """`83%` for 0.83; `-` when nothing was counted."""
    return "-" if value is None else f"{value:.0%}"


def duration(seconds: float | None) -> str:
    """`2d 03h`, `1h 05m`, `4m 09s`, `12s`: the two largest units, rounded down; `-` for none."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def within(attainment: dict[str, Any]) -> str:
    """`66.67% of 3`: the percent within SLA and how many clocks it counts; `-` for none."""
    if attainment["percent"] is None:
        return "-"
    total = attainment["met"] + attainment["breached"]
    return f"{attainment['percent']:.2f}% of {total}"


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Iterator[str]:
    cells = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    yield ""
    yield title
    for row in cells:
        # Labels left, figures right.
        yield (
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )


def _rows(items: list[dict[str, Any]], key: str = "label") -> list[tuple[Any, Any]]:
    return [(item[key], item["tickets"]) for item in items]


def _at(data: dict[str, Any], path: tuple[str, ...]) -> list[dict[str, Any]]:
    node: Any = data
    for part in path:
        node = node[part]
    return list(node)


def _cell(value: object) -> object:
    return "" if value is None else value
