"""Measuring a triage model on labelled posts: reading the CSV, per-label precision and
recall, macro-F1 and throughput. Plain Python, shared by `mentiondesk triage eval`, the
training script and the benchmark."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mentiondesk.core.errors import DomainError
from mentiondesk.core.intents import INTENTS

from .constants import CONTEXTS, FORMULA_PREFIXES, SENTIMENTS

DEV_SET = Path(__file__).resolve().parent / "data" / "dev.csv"
LABELS = {"intent": INTENTS, "sentiment": SENTIMENTS, "context": CONTEXTS}


class TriageDataError(DomainError):
    """A labelled file cannot be used. The message names the file and the line."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    line: int
    split: str = ""


def examples_read(path: Path, *, column: str = "intent", optional: bool = False) -> list[Example]:
    """The rows of a CSV with a `text` column and a `column` label column (`split` too, when
    present). `optional`: the label column may be missing or blank (label ""). Raises
    TriageDataError naming the file and line of the first problem."""
    allowed = (*LABELS[column], "") if optional else LABELS[column]
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in ("text", column) if c not in header]
            if optional and missing == [column]:
                missing = []
            if missing:
                raise TriageDataError(
                    f"{path}: line 1: missing column {', '.join(missing)} "
                    f"(the header is {','.join(header) or 'empty'}; need text,{column})"
                )
            examples = []
            # line_num is where a record ends; a quoted text may span lines, so name the
            # line it starts on.
            line = reader.line_num + 1
            for record in reader:
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue
                row = dict(zip(header, record, strict=False))
                text = (row.get("text") or "").strip()
                if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
                    text = text[1:]  # the export's guard against spreadsheet formulas
                label = (row.get(column) or "").strip()
                if not text:
                    raise TriageDataError(f"{path}: line {start}: empty text")
                if label not in allowed:
                    raise TriageDataError(
                        f"{path}: line {start}: unknown {column} {label!r}; "
                        f"use one of {', '.join(LABELS[column])}"
                    )
                examples.append(Example(text, label, start, (row.get("split") or "").strip()))
    except FileNotFoundError:
        raise TriageDataError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise TriageDataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise TriageDataError(f"{path}: not a CSV file ({exc})") from None
    if not examples:
        raise TriageDataError(f"{path}: no rows after the header")
    return examples


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(frozen=True)
class Report:
    """Per-label scores over the labels of the task; macro-F1 averages the labels that occur
    in the gold data or the predictions (a label absent from both would score nothing)."""

    scores: list[LabelScore]
    accuracy: float
    macro_f1: float
    total: int

    def score(self, label: str) -> LabelScore:
        return next(s for s in self.scores if s.label == label)

    def table(self) -> str:
        lines = [f"{'label':<18} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}"]
        lines.extend(
            f"{s.label:<18} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} {s.support:>8}"
            for s in self.scores
        )
        lines.append(f"{'macro-F1':<18} {'':>9} {'':>7} {self.macro_f1:>6.3f} {self.total:>8}")
        lines.append(f"{'accuracy':<18} {'':>9} {'':>7} {self.accuracy:>6.3f}")
        return "\n".join(lines)


def report_make(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Report:
    """Precision, recall and F1 per label (0 where undefined, as scikit-learn's
    zero_division=0), accuracy and macro-F1."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        support = sum(1 for g in gold if g == label)
        guessed = sum(1 for p in predicted if p == label)
        precision = tp / guessed if guessed else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScore(label, precision, recall, f1, support, guessed))
    present = [s for s in scores if s.support or s.predicted]
    macro = sum(s.f1 for s in present) / len(present) if present else 0.0
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    return Report(scores, correct / len(gold) if gold else 0.0, macro, len(gold))


def throughput(
    predict: Callable[[Sequence[str]], object], texts: Sequence[str], *, min_seconds: float = 1.0
) -> tuple[float, int]:
    """Posts per second for `predict` over `texts`, repeated until `min_seconds` have passed
    (one core: the caller's process). Returns (posts/s, posts scored)."""
    if not texts:
        return 0.0, 0
    done = 0
    started = time.perf_counter()
    while True:
        predict(texts)
        done += len(texts)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed, done
