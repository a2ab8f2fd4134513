"""Reads for triage: the stored result of a post, and corrections as labelled data."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet

from .constants import FORMULA_PREFIXES
from .models import TriageResult

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
