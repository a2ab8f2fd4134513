"""Triage quality and speed: the shipped intent model's leave-brand-out figures on the real
corpus (measured when it was trained, `mentiondesk triage train`, and kept in its meta: the
headline), its figures on the held-out split of dev.csv, and its throughput.

No database and no Django setup: the scorer is plain Python. Throughput is measured in this
process (one core) over the test split's texts, repeated to at least a second, beside a
baseline measured in the same run over the same texts (`str.lower()` + `split()`, the least
any text handling does), so a slow machine shows as a slow baseline rather than a slow
model. Targets are the issue's; they are reported, never asserted."""

from __future__ import annotations

from typing import Any

from mentiondesk.triage.classify import triage_classify
from mentiondesk.triage.evaluation import DEV_SET, LABELS, examples_read, report_make, throughput
from mentiondesk.triage.model import model_load

MACRO_F1_TARGET = 0.85
AVAILABILITY_RECALL_TARGET = 0.95
THROUGHPUT_TARGET = 2_000  # posts/s on one core, the default (intent) model


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _baseline(texts: list[str]) -> list[list[str]]:
    return [t.lower().split() for t in texts]


def triage_bench(*, min_seconds: float = 1.0) -> list[dict[str, Any]]:
    """Rows for bench/run.py's table: benchmark, database, figure, target (as Bench.row takes
    them), plus `values` with the raw numbers."""
    test = [e for e in examples_read(DEV_SET, column="intent") if e.split == "test"]
    texts = [e.text for e in test]
    model = model_load("intent")
    report = report_make([e.label for e in test], model.predict_labels(texts), LABELS["intent"])
    availability = report.score("availability").recall
    rate, _ = throughput(model.predict_labels, texts, min_seconds=min_seconds)
    full_rate, _ = throughput(
        lambda ts: [triage_classify(t) for t in ts], texts, min_seconds=min_seconds
    )
    baseline_rate, _ = throughput(_baseline, texts, min_seconds=min_seconds)
    name = f"triage: intent model {model.version} on dev.csv test split ({len(test)} posts)"
    per_intent = ", ".join(f"{s.label} {s.precision:.2f}/{s.recall:.2f}" for s in report.scores)
    lbo = model.meta.get("leave_brand_out", {})
    lbo_rows = []
    if lbo:
        recall = lbo["per_label"]["availability"]["recall"]
        lbo_rows.append(
            {
                "benchmark": f"triage: intent model {model.version}, leave-brand-out on the "
                f"real corpus ({lbo['posts']} posts; measured at training)",
                "database": "-",
                "figure": f"macro-F1 {lbo['macro_f1']:.3f}, availability recall {recall:.3f}",
                "target": f"≥ {MACRO_F1_TARGET} / ≥ {AVAILABILITY_RECALL_TARGET}: "
                f"{_verdict(lbo['macro_f1'] >= MACRO_F1_TARGET)}"
                f" / {_verdict(recall >= AVAILABILITY_RECALL_TARGET)}",
                "values": lbo,
            }
        )
    return [
        *lbo_rows,
        {
            "benchmark": f"{name}: macro-F1",
            "database": "-",
            "figure": f"{report.macro_f1:.3f} (accuracy {report.accuracy:.3f})",
            "target": f"≥ {MACRO_F1_TARGET}: {_verdict(report.macro_f1 >= MACRO_F1_TARGET)}",
            "values": {"macro_f1": report.macro_f1, "accuracy": report.accuracy},
        },
        {
            "benchmark": f"{name}: availability recall",
            "database": "-",
            "figure": f"{availability:.3f} ({report.score('availability').support} posts)",
            "target": f"≥ {AVAILABILITY_RECALL_TARGET}: "
            f"{_verdict(availability >= AVAILABILITY_RECALL_TARGET)}",
            "values": {"availability_recall": availability},
        },
        {
            "benchmark": f"{name}: precision/recall per intent",
            "database": "-",
            "figure": per_intent,
            "target": "info",
            "values": {
                s.label: {"precision": s.precision, "recall": s.recall, "f1": s.f1}
                for s in report.scores
            },
        },
        {
            "benchmark": "triage: intent model throughput (one core)",
            "database": "-",
            "figure": f"{rate:,.0f} posts/s; {rate / baseline_rate:.3f} of the "
            f"lower()+split() baseline ({baseline_rate:,.0f} posts/s)",
            "target": f"≥ {THROUGHPUT_TARGET:,}/s: {_verdict(rate >= THROUGHPUT_TARGET)}",
            "values": {
                "posts_per_s": rate,
                "baseline_posts_per_s": baseline_rate,
                "ratio": rate / baseline_rate,
            },
        },
        {
            "benchmark": "triage: triage_classify throughput (intent+sentiment+context)",
            "database": "-",
            "figure": f"{full_rate:,.0f} posts/s; {full_rate / baseline_rate:.3f} of baseline",
            "target": "info",
            "values": {"posts_per_s": full_rate, "ratio": full_rate / baseline_rate},
        },
    ]


if __name__ == "__main__":
    for row in triage_bench():
        print(f"{row['benchmark']} | {row['figure']} | {row['target']}")
