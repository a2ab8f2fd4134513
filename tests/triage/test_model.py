"""The plain-Python scorer against scikit-learn, and the evaluation helpers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mentiondesk.triage.evaluation import (
    DEV_SET,
    TriageDataError,
    examples_read,
    report_make,
)
from mentiondesk.triage.model import MODEL_DIR, LinearModel, model_load
from tests.conftest import shared_folder


@pytest.mark.parametrize("name", ["intent", "sentiment"])
def test_the_shipped_model_is_its_training_data_refitted(name: str) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn (the dev extra) refits the model")
    from mentiondesk.triage import train

    shipped = model_load(name)
    rows, dev_test = train.rows_gather(corpora=shared_folder("corpora"))
    rows = [r for r in rows if getattr(r, name)]
    assert shipped.meta["trained_on"] == dict(Counter(r.source for r in rows))
    params = train.Params.from_dict(shipped.meta["params"])
    fitted = train.fit([r.text for r in rows], [getattr(r, name) for r in rows], params)
    bias = shipped.meta["availability_bias"]
    if bias:
        column = fitted.classes.index("availability")
        fitted.classifier.intercept_[column] = round(
            float(fitted.classifier.intercept_[column]) + bias, train.WEIGHT_DECIMALS
        )

    test = [r.text for r in dev_test]
    expected = fitted.predict(test)
    # The same fit, exported and scored in plain Python...
    fresh = LinearModel(train.export(fitted, name=name, meta={}))
    assert fresh.predict_labels(test) == expected
    # ...and the model that ships is that fit: training is reproducible.
    assert shipped.predict_labels(test) == expected
    decision = fitted.decision(test)
    for row, text in zip(decision, test[:50], strict=False):
        ours, _ = fresh.decision(fresh.features(text))
        assert ours == pytest.approx(list(row), abs=1e-9)


def test_shipped_models_are_small() -> None:
    for path in MODEL_DIR.glob("*.json"):
        assert path.stat().st_size < 3_000_000, path
        assert json.loads(path.read_text())["format"] == "mentiondesk-linear-tfidf/1"


def test_dev_set_is_split_and_every_intent_is_well_represented() -> None:
    examples = examples_read(DEV_SET, column="intent")
    assert len(examples) >= 800
    for intent in {e.label for e in examples}:
        count = sum(1 for e in examples if e.label == intent)
        tested = sum(1 for e in examples if e.label == intent and e.split == "test")
        assert count >= 80, intent
        assert 0.2 <= tested / count <= 0.3, intent
    examples_read(DEV_SET, column="sentiment")
    examples_read(DEV_SET, column="context")


def test_report_make_computes_precision_recall_and_macro_f1() -> None:
    gold = ["a", "a", "b", "b", "c"]
    predicted = ["a", "b", "b", "b", "a"]
    report = report_make(gold, predicted, ["a", "b", "c"])
    a, b, c = report.scores
    assert (a.precision, a.recall) == (0.5, 0.5)
    assert (b.precision, b.recall) == pytest.approx((2 / 3, 1.0))
    assert (c.precision, c.recall, c.f1) == (0.0, 0.0, 0.0)
    assert report.macro_f1 == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert report.accuracy == 0.6


def test_examples_read_names_the_line_a_record_starts_on(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text('text,intent\n"two\nlines",praise\n\n"@x hi",nope\n', encoding="utf-8")
    with pytest.raises(TriageDataError, match=r"line 5: unknown intent 'nope'"):
        examples_read(path)


def test_examples_read_undoes_the_exports_formula_guard(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("text,intent\n'@Driftwood thanks!,praise\n", encoding="utf-8")
    assert examples_read(path)[0].text == "@Driftwood thanks!"
