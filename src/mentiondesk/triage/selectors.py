"""Reads for triage: the stored result of a post, corrections as labelled data, and how
right the models were on the posts people corrected."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Max, Q, QuerySet

from mentiondesk.core.intents import INTENT_CHOICES, INTENTS

from .choices import Source
from .constants import FORMULA_PREFIXES
from .model import model_load
from .models import TriageResult, intent_model_of

EXPORT_COLUMNS = ("text", "intent", "corrected_by", "corrected_at")


def triage_corrections() -> QuerySet[TriageResult]:
    """Every corrected triage result, oldest correction first, with its post and corrector."""
    return (
        TriageResult.objects.exclude(corrected_intent="")
        .select_related("post", "corrected_by")
        .order_by("corrected_at", "pk")
    )


def triage_corrections_csv(*, results: QuerySet[TriageResult]) -> Iterator[str]:
    """`results` as CSV chunks: text,intent (the corrected one) + corrected_by,corrected_at.
    The first two columns are what `mentiondesk triage eval` and training read. A text a
    spreadsheet would run as a formula (most posts start with "@") gets a leading single
    quote; `mentiondesk triage eval` takes it off again."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for result in results.iterator(chunk_size=500):
        writer.writerow(
            [
                _cell(result.post.text),
                result.corrected_intent,
                result.corrected_by.username if result.corrected_by else "",
                result.corrected_at.isoformat() if result.corrected_at else "",
            ]
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


@dataclass(frozen=True)
class IntentAccuracy:
    """One intent, on the corrected posts of one model. `labelled`: the model said this
    intent, `labelled_right` of them a person agreed (precision-like); `actual`: a person
    said this intent, `found` of them the model had said it too (recall-like)."""

    intent: str
    label: str
    labelled: int = 0
    labelled_right: int = 0
    actual: int = 0
    found: int = 0

    @property
    def precision(self) -> float | None:
        return round(self.labelled_right / self.labelled, 4) if self.labelled else None

    @property
    def recall(self) -> float | None:
        return round(self.found / self.actual, 4) if self.actual else None


@dataclass(frozen=True)
class ModelAccuracy:
    """One intent model (`TriageResult.intent_model`) on the posts people corrected (a
    confirmation counts: it says the model was right)."""

    model: str
    is_live: bool
    corrected: int
    right: int
    intents: list[IntentAccuracy] = field(default_factory=list)


def triage_accuracy(
    *, corrected_from: datetime | None = None, corrected_to: datetime | None = None
) -> list[ModelAccuracy]:
    """Per intent, how the intent model did on the posts people corrected in
    [`corrected_from`, `corrected_to`) (either end open when None), one entry per model
    version: the live one first (even with no correction yet), then the others by their
    latest correction. Labels from policy rules are not the model's and are left out.
    Read-only; two aggregate queries whatever the number of corrections."""
    corrected = TriageResult.objects.exclude(corrected_intent="").filter(source=Source.MODEL)
    if corrected_from is not None:
        corrected = corrected.filter(corrected_at__gte=corrected_from)
    if corrected_to is not None:
        corrected = corrected.filter(corrected_at__lt=corrected_to)
    right = Q(intent=F("corrected_intent"))
    # Grouped by the whole version ("intent-…+sentiment-…"): merged by the intent model below.
    said = corrected.values("model_version", "intent").annotate(
        n=Count("pk"), right=Count("pk", filter=right), latest=Max("corrected_at")
    )
    truth = corrected.values("model_version", "corrected_intent").annotate(
        n=Count("pk"), right=Count("pk", filter=right)
    )
    counts: dict[str, dict[str, list[int]]] = {}  # model -> intent -> [4 figures]
    latest: dict[str, datetime] = {}
    for row in said.order_by():
        model = intent_model_of(row["model_version"])
        figures = counts.setdefault(model, {}).setdefault(row["intent"], [0, 0, 0, 0])
        figures[0] += row["n"]
        figures[1] += row["right"]
        latest[model] = max(latest.get(model, row["latest"]), row["latest"])
    for row in truth.order_by():
        model = intent_model_of(row["model_version"])
        figures = counts.setdefault(model, {}).setdefault(row["corrected_intent"], [0, 0, 0, 0])
        figures[2] += row["n"]
        figures[3] += row["right"]
    live = model_load("intent").version
    counts.setdefault(live, {})
    labels = dict(INTENT_CHOICES)
    order = sorted(counts, key=lambda m: (m != live, -latest[m].timestamp() if m in latest else 0))
    return [
        ModelAccuracy(
            model=model,
            is_live=model == live,
            corrected=sum(f[2] for f in counts[model].values()),
            right=sum(f[3] for f in counts[model].values()),
            intents=[
                IntentAccuracy(intent, str(labels[intent]), *counts[model].get(intent, [0] * 4))
                for intent in INTENTS
            ],
        )
        for model in order
    ]
