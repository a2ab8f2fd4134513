"""Fit the shipped triage models offline and export them as JSON for the plain-Python scorer.

    .venv/bin/python -m mentiondesk.triage.train [--quick] [--data FILE] [--out DIR]

Needs scikit-learn (the `dev` extra); the product never imports this module. For each task
(intent, then sentiment) it tunes the classifier (logistic regression or linear SVM), C,
character n-grams (none or 2-4) and how many features to keep by 5-fold cross-validation on
the `train` split, refits the best on the whole train split,
rounds the weights to what the JSON stores (and puts the rounded weights back into the
scikit-learn model, so the exported model *is* the fitted one), checks the plain-Python
scorer against scikit-learn on the `test` split, and prints the held-out scores. The `test`
split is only ever predicted, never fitted or tuned on. `--quick` skips the search and
refits with the parameters recorded in the current JSON files."""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]
from sklearn.svm import LinearSVC  # type: ignore[import-untyped]

from . import classify
from .evaluation import DEV_SET, LABELS, Example, Report, examples_read, report_make
from .model import FEATURES_ID, FORMAT, MODEL_DIR, LinearModel, features

# Decimal places kept in the JSON. The rounded values are written back into the fitted
# scikit-learn model before it is evaluated, so rounding never separates the two.
WEIGHT_DECIMALS = 4
IDF_DECIMALS = 6
FOLDS = 5
SEED = 20261120


@dataclass(frozen=True)
class Params:
    kind: str  # "logreg" or "svm"
    c: float
    char_ngrams: tuple[int, int]  # (0, 0): none
    keep: int
    class_weight: str | None = "balanced"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "C": self.c,
            "char_ngrams": list(self.char_ngrams),
            "keep": self.keep,
            "class_weight": self.class_weight,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Params:
        low, high = d["char_ngrams"]
        return cls(d["kind"], d["C"], (low, high), d["keep"], d["class_weight"])

    def __str__(self) -> str:
        chars = "none" if not self.char_ngrams[1] else "{}-{}".format(*self.char_ngrams)
        return f"{self.kind:<6} C={self.c:<5g} chars={chars:<4} keep={self.keep}"


def _grid(
    cs: dict[str, tuple[float, ...]], chars: tuple[tuple[int, int], ...], keeps: tuple[int, ...]
) -> list[Params]:
    return [
        Params(kind, c, ngrams, keep)
        for kind in cs
        for c, ngrams, keep in itertools.product(cs[kind], chars, keeps)
    ]


# Character n-grams (2-4) cost 0.01-0.03 of cross-validated macro-F1 on dev.csv for both tasks
# (they drown the cue features in the L2 norm) and make scoring 5 times slower, so the
# search no longer tries them; Params still takes them for another data set.
NO_CHARS = ((0, 0),)

GRIDS: dict[str, list[Params]] = {
    "intent": _grid(
        {"svm": (0.1, 0.3, 1.0), "logreg": (10.0, 30.0, 100.0)}, NO_CHARS, (4000, 15000)
    ),
    "sentiment": _grid({"svm": (0.1, 0.3, 1.0), "logreg": (10.0, 30.0)}, NO_CHARS, (3000, 15000)),
}
DEFAULTS = {
    "intent": Params("svm", 0.3, (0, 0), 15000),
    "sentiment": Params("svm", 0.3, (0, 0), 15000),
}
TEMPERATURES = (0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20)
# Missing an outage report costs most (the status handle must answer it, fast): the intent
# model's availability score gets the smallest extra intercept that brings out-of-fold
# availability recall to AVAILABILITY_RECALL, if one of BIASES does without costing more
# than 0.01 of macro-F1. It goes into the model's intercept, so scorer and scikit-learn
# still agree.
AVAILABILITY_RECALL = 0.97
BIASES = tuple(round(0.02 * i, 2) for i in range(26))


@dataclass
class Fitted:
    vectorizer: Any
    classifier: Any
    params: Params

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(x) for x in self.classifier.predict(self.vectorizer.transform(texts))]

    def decision(self, texts: Sequence[str]) -> Any:
        return self.classifier.decision_function(self.vectorizer.transform(texts))


def _vectorizer(params: Params, vocabulary: dict[str, int] | None = None) -> Any:
    analyzer = partial(features, char_min=params.char_ngrams[0], char_max=params.char_ngrams[1])
    return TfidfVectorizer(
        analyzer=analyzer, sublinear_tf=True, vocabulary=vocabulary, dtype=np.float64
    )


def _classifier(params: Params) -> Any:
    if params.kind == "svm":
        return LinearSVC(C=params.c, class_weight=params.class_weight, random_state=0)
    # saga: lbfgs gives the same model here but takes 20 times longer on these sparse rows.
    return LogisticRegression(
        C=params.c, class_weight=params.class_weight, solver="saga", max_iter=5000, random_state=0
    )


def fit(texts: Sequence[str], labels: Sequence[str], params: Params) -> Fitted:
    """TF-IDF + logistic regression on `texts`; then only the `params.keep` features with
    the largest weight for any label are kept and both are fitted again on those, so the
    exported vocabulary is exactly the one the final model was fitted with. Deterministic."""
    vectorizer = _vectorizer(params)
    x = vectorizer.fit_transform(texts)
    classifier = _classifier(params).fit(x, labels)
    if x.shape[1] > params.keep:
        importance = np.abs(classifier.coef_).max(axis=0)
        top = np.argsort(-importance, kind="stable")[: params.keep]
        names = sorted(str(n) for n in vectorizer.get_feature_names_out()[top])
        vectorizer = _vectorizer(params, {name: i for i, name in enumerate(names)})
        x = vectorizer.fit_transform(texts)
        classifier = _classifier(params).fit(x, labels)
    vectorizer.idf_ = np.round(vectorizer.idf_, IDF_DECIMALS)
    classifier.coef_ = np.round(classifier.coef_, WEIGHT_DECIMALS)
    classifier.intercept_ = np.round(classifier.intercept_, WEIGHT_DECIMALS)
    return Fitted(vectorizer, classifier, params)


def export(
    fitted: Fitted, *, name: str, meta: dict[str, Any], temperature: float = 1.0
) -> dict[str, Any]:
    """The JSON document the plain-Python scorer loads (model.LinearModel)."""
    names = [str(n) for n in fitted.vectorizer.get_feature_names_out()]
    body = {
        "format": FORMAT,
        "features_id": FEATURES_ID,
        "name": name,
        "labels": [str(label) for label in fitted.classifier.classes_],
        "char_ngrams": list(fitted.params.char_ngrams),
        "temperature": temperature,
        "intercept": [float(v) for v in fitted.classifier.intercept_],
        "features": names,
        "idf": [float(v) for v in fitted.vectorizer.idf_],
        "weights": [[float(v) for v in row] for row in fitted.classifier.coef_.T],
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return {**body, "version": f"{name}-{digest}", "meta": meta}


def cross_validate(examples: Sequence[Example], params: Params) -> tuple[list[str], Any]:
    """Out-of-fold predictions for `examples` (stratified folds, fixed seed), and the
    out-of-fold decision scores (columns in sorted label order)."""
    texts = [e.text for e in examples]
    labels = [e.label for e in examples]
    predicted = [""] * len(texts)
    scores = np.zeros((len(texts), len(set(labels))))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for train_idx, test_idx in folds.split(texts, labels):
        model = fit([texts[i] for i in train_idx], [labels[i] for i in train_idx], params)
        held = [texts[i] for i in test_idx]
        for i, label in zip(test_idx, model.predict(held), strict=True):
            predicted[i] = label
        scores[test_idx] = model.decision(held)
    return predicted, scores


def _argmax_labels(scores: Any, classes: Sequence[str]) -> list[str]:
    return [classes[i] for i in np.argmax(scores, axis=1)]


def bias_fit(examples: Sequence[Example], scores: Any) -> tuple[float, list[str]]:
    """(bias, predictions with it) for the availability score: see AVAILABILITY_RECALL."""
    classes = sorted({e.label for e in examples})
    column = classes.index("availability")
    gold = [e.label for e in examples]
    base = report_make(gold, _argmax_labels(scores, classes), classes).macro_f1
    for bias in BIASES:
        shifted = scores.copy()
        shifted[:, column] += bias
        predicted = _argmax_labels(shifted, classes)
        report = report_make(gold, predicted, classes)
        if report.macro_f1 < base - 0.01:
            break
        if report.score("availability").recall >= AVAILABILITY_RECALL:
            return bias, predicted
    return 0.0, _argmax_labels(scores, classes)


def temperature_fit(examples: Sequence[Example], scores: Any) -> float:
    """The softmax temperature with the lowest log-loss on out-of-fold scores."""
    classes = sorted({e.label for e in examples})
    gold = np.array([classes.index(e.label) for e in examples])

    def log_loss(t: float) -> float:
        z = scores * t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(gold)), gold].mean())

    return min(TEMPERATURES, key=log_loss)


def _key(task: str, report: Report) -> tuple[float, ...]:
    if task == "intent":
        # Missing an outage report costs most (the status handle must answer it): prefer
        # configurations that keep availability recall at the target, then macro-F1.
        return (report.score("availability").recall >= 0.95, report.macro_f1)
    return (report.macro_f1,)


def task_train(
    task: str, rows: Sequence[dict[str, str]], *, quick: bool, out: Path, log: Any
) -> dict[str, Any]:
    labels = LABELS[task]
    train = [Example(r["text"], r[task], 0) for r in rows if r["split"] == "train"]
    test = [Example(r["text"], r[task], 0) for r in rows if r["split"] == "test"]
    log(f"\n== {task}: {len(train)} train / {len(test)} test posts")

    if quick:
        current = out / f"{task}.json"
        best = (
            Params.from_dict(json.loads(current.read_text())["meta"]["params"])
            if current.exists()
            else DEFAULTS[task]
        )
        predicted, scores = cross_validate(train, best)
        bias = 0.0
        if task == "intent":
            bias, predicted = bias_fit(train, scores)
        cv_report = report_make([e.label for e in train], predicted, labels)
        log(f"parameters (from {current.name}): {best}")
    else:
        results = []
        log(f"cross-validation, {FOLDS} folds on the train split:")
        for params in GRIDS[task]:
            started = time.perf_counter()
            predicted, scores = cross_validate(train, params)
            bias = 0.0
            if task == "intent":
                bias, predicted = bias_fit(train, scores)
            report = report_make([e.label for e in train], predicted, labels)
            results.append((params, report, scores, bias))
            extra = (
                f" availability recall {report.score('availability').recall:.3f}"
                if task == "intent"
                else ""
            )
            if bias:
                extra += f" (availability bias +{bias:g})"
            log(
                f"  {params} macro-F1 {report.macro_f1:.3f}{extra} "
                f"({time.perf_counter() - started:.1f} s)"
            )
        best, cv_report, scores, bias = max(results, key=lambda r: _key(task, r[1]))
        log(f"chosen: {best}" + (f", availability bias +{bias:g}" if bias else ""))
    log(f"cross-validation (out-of-fold) for the chosen parameters:\n{cv_report.table()}")

    fitted = fit([e.text for e in train], [e.label for e in train], best)
    if bias:
        column = list(fitted.classifier.classes_).index("availability")
        fitted.classifier.intercept_[column] = round(
            float(fitted.classifier.intercept_[column]) + bias, WEIGHT_DECIMALS
        )
    gold = [e.label for e in test]
    held_out = report_make(gold, fitted.predict([e.text for e in test]), labels)
    log(f"held-out test split ({len(test)} posts, never fitted or tuned on):")
    log(held_out.table())
    meta = {
        "params": best.as_dict(),
        "availability_bias": bias,
        "trained_on": f"{DEV_SET.name} split=train ({len(train)} posts)",
        "cv_macro_f1": round(cv_report.macro_f1, 4),
        "test_macro_f1": round(held_out.macro_f1, 4),
    }
    if task == "intent":
        meta["cv_availability_recall"] = round(cv_report.score("availability").recall, 4)
        meta["test_availability_recall"] = round(held_out.score("availability").recall, 4)
    temperature = temperature_fit(train, scores) if best.kind == "svm" else 1.0
    if best.kind == "svm":
        log(f"softmax temperature for confidences (out-of-fold log-loss): {temperature:g}")
    spec = export(fitted, name=task, meta=meta, temperature=temperature)

    # The plain-Python scorer must give scikit-learn's answers, label for label.
    scorer = LinearModel(spec)
    ours = scorer.predict_labels([e.text for e in test])
    theirs = fitted.predict([e.text for e in test])
    disagree = sum(1 for a, b in zip(ours, theirs, strict=True) if a != b)
    log(f"scorer vs scikit-learn on the test split: {len(test) - disagree}/{len(test)} agree")
    if disagree:
        raise SystemExit(f"{task}: the plain-Python scorer disagrees on {disagree} posts")

    path = out / f"{task}.json"
    path.write_text(json.dumps(spec, separators=(",", ":"), ensure_ascii=False) + "\n")
    log(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB, {len(spec['features'])} features)")
    return spec


def context_check(rows: Sequence[dict[str, str]], log: Any) -> None:
    """The context keyword rules are not trained; their accuracy on the test split."""
    test = [r for r in rows if r["split"] == "test"]
    predicted = [classify.context_detect(r["text"], intent=r["intent"])[0] for r in test]
    report = report_make([r["context"] for r in test], predicted, LABELS["context"])
    log(f"\n== context (keyword rules, default TriageConfig) on the test split:\n{report.table()}")


def rows_read(path: Path) -> list[dict[str, str]]:
    for column in ("intent", "sentiment", "context"):
        examples_read(path, column=column)  # validates every label, with line numbers
    import csv

    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    splits = {r.get("split", "") for r in rows}
    if splits != {"train", "test"}:
        raise SystemExit(f"{path}: the split column must hold train and test, not {splits}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEV_SET, help="labelled CSV (dev.csv)")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="where the JSON goes")
    parser.add_argument("--quick", action="store_true", help="no search: refit current params")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    rows = rows_read(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    for task in ("intent", "sentiment"):
        task_train(task, rows, quick=args.quick, out=args.out, log=log)
    context_check(rows, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
