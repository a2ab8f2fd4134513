"""Fit the triage models offline and export them as JSON for the plain-Python scorer.

    mentiondesk triage train [--corpora DIR] [--labels FILE.csv] [--out DIR] [--quick]

Needs scikit-learn (the `dev` extra); the product never imports this module. What a model
learns from (`rows_gather`):

- the real labelled corpus (`corpus.corpus_read`: real customer posts to hundreds of brands,
  labels in the repository, texts joined from `--corpora`): the bulk;
- the team-written `data/dev.csv`, `split=train` rows only: a minority that adds the
  product's own domain (developer tools); its `test` rows are only ever predicted;
- the team's own labels: agents' corrections stored in the database and/or `--labels`.

For each task (intent, then sentiment), unless `--quick`:

1. **Leave-brand-out evaluation, nested.** The real corpus is split into folds by brand
   (GroupKFold): each fold's brands are never seen in training. Inside each training part
   an inner leave-brand-out cross-validation chooses C and the character n-grams (GRID),
   then the availability bias and the softmax temperature, on its own out-of-fold scores;
   the outer fold is predicted with what was chosen. Only rows whose `sampling` is
   `random` are scored (enriched rows, picked for being rare, would flatter the figures);
   every row of a training part is fitted. The test folds are never fitted or tuned on.
2. **The shipped model**: the same choice by leave-brand-out cross-validation on all of it,
   fitted on everything; scored on dev.csv's held-out `test` split.

The plain-Python scorer is checked against scikit-learn, label for label. `--quick` skips
both: it refits with the parameters, bias and temperature of the model in `--out` (or the
shipped one), in seconds on a small set (`--real N`)."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.model_selection import GroupKFold  # type: ignore[import-untyped]
from sklearn.svm import LinearSVC  # type: ignore[import-untyped]

from .corpus import REAL_LABELS, corpus_read
from .evaluation import DEV_SET, LABELS, Report, TriageDataError, examples_read, report_make
from .model import FEATURES_ID, FORMAT, LinearModel, english_unlikely, features

# Decimal places kept in the JSON. The rounded values are written back into the fitted
# scikit-learn model before it is evaluated, so rounding never separates the two.
WEIGHT_DECIMALS = 4
IDF_DECIMALS = 6
OUTER_FOLDS = 5
INNER_FOLDS = 3
TASKS = ("intent", "sentiment")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Params:
    """A linear SVM (class weights balanced: the rare intents are the ones that matter) on
    TF-IDF of `model.features`, keeping the `keep` features with the largest weights."""

    c: float
    char_ngrams: tuple[int, int]  # (0, 0): none
    keep: int = 20000

    def as_dict(self) -> dict[str, Any]:
        return {"C": self.c, "char_ngrams": list(self.char_ngrams), "keep": self.keep}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Params:
        low, high = d["char_ngrams"]
        return cls(d["C"], (low, high), d["keep"])

    def __str__(self) -> str:
        chars = "none" if not self.char_ngrams[1] else "{}-{}".format(*self.char_ngrams)
        return f"svm C={self.c:<4g} chars={chars}"


# What the inner cross-validation chooses among. Measured on the real corpus, leave-brand-out
# (bench/RESULTS.md): logistic regression scores the same as the SVM and fits 5-10 times
# slower; C of 1 or more and unweighted classes lose availability and spam recall.
GRID = [Params(c, chars) for c in (0.1, 0.3) for chars in ((0, 0), (3, 5))]
DEFAULT = Params(0.1, (3, 5))
# Missing an outage report costs most (the status handle must answer it, fast): the intent
# model's availability score gets an extra intercept, the largest of BIASES whose
# out-of-fold macro-F1 is within BIAS_COST of none, stopping once availability recall
# reaches AVAILABILITY_RECALL.
AVAILABILITY_RECALL = 0.95
BIAS_COST = 0.02
BIASES = tuple(round(0.05 * i, 2) for i in range(21))
TEMPERATURES = (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
CONFIDENCE_BINS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class Row:
    """One labelled text. `group`: the brand, for leave-brand-out folds ("" for rows that
    are always fitted: dev.csv, the team's labels). `scored`: a test row when its brand is
    held out (a real post sampled at random)."""

    text: str
    intent: str
    sentiment: str
    source: str
    group: str = ""
    scored: bool = False


@dataclass
class Fitted:
    vectorizer: Any
    classifier: Any
    params: Params

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def decision(self, texts: Sequence[str]) -> Any:
        return self.classifier.decision_function(self.vectorizer.transform(texts))

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(x) for x in self.classifier.predict(self.vectorizer.transform(texts))]


@cache
def _features(text: str, char_min: int, char_max: int) -> tuple[str, ...]:
    # Cross-validation fits the same texts dozens of times; extracting their features is
    # most of the time a fit takes.
    return tuple(features(text, char_min=char_min, char_max=char_max))


def _vectorizer(params: Params, vocabulary: dict[str, int] | None = None) -> Any:
    analyzer = partial(_features_of, char_ngrams=params.char_ngrams)
    return TfidfVectorizer(
        analyzer=analyzer, sublinear_tf=True, vocabulary=vocabulary, dtype=np.float64
    )


def _features_of(text: str, *, char_ngrams: tuple[int, int]) -> tuple[str, ...]:
    return _features(text, *char_ngrams)


def _classifier(params: Params) -> Any:
    return LinearSVC(C=params.c, class_weight="balanced", random_state=0)


def fit(texts: Sequence[str], labels: Sequence[str], params: Params) -> Fitted:
    """TF-IDF + linear SVM on `texts`; then only the `params.keep` features with the largest
    weight for any label are kept and both are fitted again on those, so the exported
    vocabulary is exactly the one the final model was fitted with. Deterministic."""
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
    """The JSON document the plain-Python scorer loads (model.LinearModel). Its version
    is a hash of everything that decides a label, so a model of other content has another."""
    names = [str(n) for n in fitted.vectorizer.get_feature_names_out()]
    body = {
        "format": FORMAT,
        "features_id": FEATURES_ID,
        "name": name,
        "labels": fitted.classes,
        "char_ngrams": list(fitted.params.char_ngrams),
        "temperature": temperature,
        "intercept": [float(v) for v in fitted.classifier.intercept_],
        "features": names,
        "idf": [float(v) for v in fitted.vectorizer.idf_],
        "weights": [[float(v) for v in row] for row in fitted.classifier.coef_.T],
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return {**body, "version": f"{name}-{digest}", "meta": meta}


# -- choosing by cross-validation -----------------------------------------------------------


def _folds(rows: Sequence[Row], n: int) -> list[tuple[list[int], list[int]]]:
    """(fit, test) row indexes, leave-brand-out: every row with a group is in one test fold
    (GroupKFold by brand; only `scored` rows are kept as test rows), rows without a group
    are always fitted."""
    grouped = [i for i, r in enumerate(rows) if r.group]
    always = [i for i, r in enumerate(rows) if not r.group]
    out = []
    for fit_part, test_part in GroupKFold(n_splits=n).split(
        grouped, groups=[rows[i].group for i in grouped]
    ):
        fit_idx = sorted([grouped[j] for j in fit_part] + always)
        test_idx = [grouped[j] for j in test_part if rows[grouped[j]].scored]
        out.append((fit_idx, test_idx))
    return out


def _labels(rows: Sequence[Row], task: str) -> list[str]:
    return [getattr(r, task) for r in rows]


def out_of_fold(rows: Sequence[Row], task: str, params: Params, n: int) -> tuple[list[int], Any]:
    """The scored rows' indexes and their out-of-fold decision scores (columns in sorted
    label order) under leave-brand-out folds."""
    labels = _labels(rows, task)
    classes = sorted(set(labels))
    index: list[int] = []
    blocks = []
    for fit_idx, test_idx in _folds(rows, n):
        if not test_idx:
            continue
        model = fit([rows[i].text for i in fit_idx], [labels[i] for i in fit_idx], params)
        scores = model.decision([rows[i].text for i in test_idx])
        # A class missing from a fold's training part scores -inf there.
        full = np.full((len(test_idx), len(classes)), -1e9)
        for k, label in enumerate(model.classes):
            full[:, classes.index(label)] = scores[:, k]
        index.extend(test_idx)
        blocks.append(full)
    return index, np.vstack(blocks)


def _argmax(scores: Any, classes: Sequence[str]) -> list[str]:
    return [classes[i] for i in np.argmax(scores, axis=1)]


def bias_fit(gold: Sequence[str], scores: Any, classes: Sequence[str]) -> float:
    """The availability bias (see AVAILABILITY_RECALL) from out-of-fold scores."""
    column = classes.index("availability")
    labels = LABELS["intent"]
    base = report_make(gold, _argmax(scores, classes), labels).macro_f1
    chosen = 0.0
    for bias in BIASES:
        shifted = scores.copy()
        shifted[:, column] += bias
        report = report_make(gold, _argmax(shifted, classes), labels)
        if report.macro_f1 < base - BIAS_COST:
            break
        chosen = bias
        if report.score("availability").recall >= AVAILABILITY_RECALL:
            break
    return chosen


def _softmax(scores: Any, temperature: float) -> Any:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def temperature_fit(gold: Sequence[str], scores: Any, classes: Sequence[str]) -> float:
    """The softmax temperature with the lowest log-loss on out-of-fold scores: an SVM's
    scores are not log-odds, so this is what makes its confidence a probability."""
    truth = np.array([classes.index(g) for g in gold])

    def log_loss(t: float) -> float:
        p = _softmax(scores, t)[np.arange(len(truth)), truth]
        return float(-np.log(np.maximum(p, 1e-12)).mean())

    return min(TEMPERATURES, key=log_loss)


@dataclass
class Choice:
    params: Params
    bias: float
    temperature: float


def choose(rows: Sequence[Row], task: str, n: int, log: Log | None = None) -> Choice:
    """GRID's best by leave-brand-out macro-F1 over `n` folds of `rows`, then its bias and
    temperature on the same out-of-fold scores."""
    labels = _labels(rows, task)
    classes = sorted(set(labels))
    best: tuple[float, Choice] | None = None
    for params in GRID:
        started = time.perf_counter()
        index, scores = out_of_fold(rows, task, params, n)
        gold = [labels[i] for i in index]
        bias = bias_fit(gold, scores, classes) if task == "intent" else 0.0
        if bias:
            scores[:, classes.index("availability")] += bias
        report = report_make(gold, _argmax(scores, classes), LABELS[task])
        choice = Choice(params, bias, temperature_fit(gold, scores, classes))
        if log:
            log(
                f"  {params}: macro-F1 {report.macro_f1:.3f}{_availability(report)}"
                f"{f' (bias +{bias:g})' if bias else ''} ({time.perf_counter() - started:.0f} s)"
            )
        if best is None or report.macro_f1 > best[0]:
            best = (report.macro_f1, choice)
    if best is None:
        raise TriageDataError(f"{task}: no parameters to choose from")
    return best[1]


def _availability(report: Report) -> str:
    labels = {s.label for s in report.scores}
    if "availability" not in labels:
        return ""
    return f", availability recall {report.score('availability').recall:.3f}"


@dataclass
class Evaluation:
    gold: list[str]
    predicted: list[str]
    confidence: list[float]
    texts: list[str]
    report: Report


def nested_evaluate(rows: Sequence[Row], task: str, log: Log) -> Evaluation:
    """Leave-brand-out figures of the whole procedure (module docstring, 1.)."""
    labels = _labels(rows, task)
    gold: list[str] = []
    predicted: list[str] = []
    confidence: list[float] = []
    texts: list[str] = []
    for fold, (fit_idx, test_idx) in enumerate(_folds(rows, OUTER_FOLDS), start=1):
        inner = [rows[i] for i in fit_idx]
        choice = choose(inner, task, INNER_FOLDS)
        model = fit([r.text for r in inner], [labels[i] for i in fit_idx], choice.params)
        held = [rows[i].text for i in test_idx]
        scores = model.decision(held)
        if choice.bias:
            scores[:, model.classes.index("availability")] += choice.bias
        probabilities = _softmax(scores, choice.temperature)
        gold.extend(labels[i] for i in test_idx)
        predicted.extend(_argmax(scores, model.classes))
        confidence.extend(float(p) for p in probabilities.max(axis=1))
        texts.extend(held)
        note = f"{choice.params}, bias +{choice.bias:g}, temperature {choice.temperature:g}"
        log(f"  outer fold {fold}: {len(test_idx)} test posts; inner choice: {note}")
    report = report_make(gold, predicted, LABELS[task])
    return Evaluation(gold, predicted, confidence, texts, report)


def reliability(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Confidence bins → how many predictions fell in each and how many were right."""
    bins = []
    for low, high in itertools.pairwise(CONFIDENCE_BINS):
        inside = [
            g == p
            for g, p, c in zip(
                evaluation.gold, evaluation.predicted, evaluation.confidence, strict=True
            )
            if low <= c < high or (high == 1.0 and c == 1.0)
        ]
        if inside:
            bins.append(
                {
                    "confidence": f"{low:.1f}-{high:.1f}",
                    "count": len(inside),
                    "accuracy": round(sum(inside) / len(inside), 3),
                }
            )
    return bins


def language_check(evaluation: Evaluation, task: str) -> dict[str, Any]:
    """The test posts `english_unlikely` flags: accuracy of the model there, against
    labelling them all `other` (intent) or `neutral` (sentiment)."""
    fallback = "other" if task == "intent" else "neutral"
    flagged = [
        (g, p)
        for g, p, t in zip(evaluation.gold, evaluation.predicted, evaluation.texts, strict=True)
        if english_unlikely(t)
    ]
    if not flagged:
        return {"posts": 0}
    return {
        "posts": len(flagged),
        "model_accuracy": round(sum(g == p for g, p in flagged) / len(flagged), 3),
        f"all_{fallback}_accuracy": round(sum(g == fallback for g, _ in flagged) / len(flagged), 3),
    }


# -- the data ---------------------------------------------------------------------------------


def labels_read(path: Path) -> list[Row]:
    """A team's labelled posts: columns text,intent and optionally sentiment (blank: the
    row teaches the intent model only). Raises TriageDataError naming the line."""
    intents = examples_read(path, column="intent")
    tones = examples_read(path, column="sentiment", optional=True)
    return [Row(i.text, i.label, t.label, "labels") for i, t in zip(intents, tones, strict=True)]


def rows_gather(
    *,
    corpora: Path | None,
    real_limit: int | None = None,
    dev: bool = True,
    corrections: Sequence[tuple[str, str]] = (),
    labels: Path | None = None,
) -> tuple[list[Row], list[Row]]:
    """(training rows, dev.csv's held-out test rows). `corrections`: (text, intent) pairs.
    `real_limit`: only the first N rows of the real corpus (for a quick run)."""
    rows: list[Row] = []
    if corpora is not None and real_limit != 0:
        corpus = corpus_read(corpora=corpora)[:real_limit]
        rows.extend(
            Row(
                e.text,
                e.intent,
                e.sentiment,
                "real",
                group=e.brand or f"{e.source}:{e.id}",
                scored=e.sampling == "random",
            )
            for e in corpus
        )
    dev_test: list[Row] = []
    if dev:
        intents = examples_read(DEV_SET, column="intent")
        tones = examples_read(DEV_SET, column="sentiment")
        for e, tone in zip(intents, tones, strict=True):
            row = Row(e.text, e.label, tone.label, "dev")
            (rows if e.split == "train" else dev_test).append(row)
    rows.extend(Row(text, intent, "", "corrections") for text, intent in corrections)
    if labels is not None:
        rows.extend(labels_read(labels))
    return rows, dev_test


# -- one task ---------------------------------------------------------------------------------


def _previous(out: Path, task: str) -> dict[str, Any] | None:
    for folder in (out, Path(__file__).resolve().parent / "model"):
        path = folder / f"{task}.json"
        if path.is_file():
            meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("meta", {})
            if "params" in meta and "C" in meta["params"]:
                return meta
    return None


def task_train(
    task: str, rows: Sequence[Row], dev_test: Sequence[Row], *, quick: bool, out: Path, log: Log
) -> dict[str, Any]:
    """Evaluate (unless `quick`), choose, fit, check and write `out/<task>.json`."""
    rows = [r for r in rows if getattr(r, task)]
    counts = Counter(r.source for r in rows)
    log(f"\n== {task}: {len(rows):,} posts ({', '.join(f'{k} {v:,}' for k, v in counts.items())})")
    meta: dict[str, Any] = {"trained_on": dict(counts)}
    if REAL_LABELS.is_file() and counts.get("real"):
        digest = hashlib.sha256(REAL_LABELS.read_bytes()).hexdigest()[:12]
        meta["real_labels"] = f"{REAL_LABELS.name} sha256:{digest}"
    if quick:
        previous = _previous(out, task) or {}
        params = Params.from_dict(previous["params"]) if previous else DEFAULT
        bias = float(previous.get("availability_bias", 0.0))
        temperature = float(previous.get("temperature", 1.0))
        log(f"quick: {params}, bias +{bias:g}, temperature {temperature:g} (not re-chosen)")
    else:
        scored = sum(1 for r in rows if r.scored)
        if len({r.group for r in rows if r.scored}) < OUTER_FOLDS * INNER_FOLDS:
            raise TriageDataError(
                f"{task}: measuring leave-brand-out needs the real corpus (posts of at least "
                f"{OUTER_FOLDS * INNER_FOLDS} brands); --quick trains without measuring"
            )
        log(f"leave-brand-out, nested ({OUTER_FOLDS} outer folds, {scored:,} test posts):")
        evaluation = nested_evaluate(rows, task, log)
        log(evaluation.report.table() + "\n" + _availability(evaluation.report).lstrip(", "))
        table = reliability(evaluation)
        log("reliability (confidence → accuracy, count):")
        for b in table:
            log(f"  {b['confidence']}: {b['accuracy']:.3f} ({b['count']})")
        language = language_check(evaluation, task)
        log(f"posts not in English: {language}")
        log(f"choice on all of it ({OUTER_FOLDS} folds, leave-brand-out):")
        choice = choose(rows, task, OUTER_FOLDS, log)
        params, bias, temperature = choice.params, choice.bias, choice.temperature
        log(f"chosen: {params}, bias +{bias:g}, temperature {temperature:g}")
        meta["leave_brand_out"] = _figures(evaluation.report)
        meta["leave_brand_out"]["reliability"] = table
        meta["leave_brand_out"]["not_english"] = language

    fitted = fit([r.text for r in rows], _labels(rows, task), params)
    if bias:
        column = fitted.classes.index("availability")
        fitted.classifier.intercept_[column] = round(
            float(fitted.classifier.intercept_[column]) + bias, WEIGHT_DECIMALS
        )
    meta.update({"params": params.as_dict(), "availability_bias": bias, "temperature": temperature})
    if dev_test:
        held_out = report_make(
            _labels(dev_test, task), fitted.predict([r.text for r in dev_test]), LABELS[task]
        )
        log(f"dev.csv test split ({len(dev_test)} team-written posts, never fitted):")
        log(held_out.table())
        meta["dev_test"] = _figures(held_out)
    spec = export(fitted, name=task, meta=meta, temperature=temperature)

    # The plain-Python scorer must give scikit-learn's answers, label for label.
    check = [r.text for r in dev_test] or [r.text for r in rows[:500]]
    disagree = sum(
        1
        for a, b in zip(LinearModel(spec).predict_labels(check), fitted.predict(check), strict=True)
        if a != b
    )
    if disagree:
        raise TriageDataError(f"{task}: the plain-Python scorer disagrees on {disagree} posts")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{task}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(spec, separators=(",", ":"), ensure_ascii=False) + "\n")
    tmp.replace(path)
    log(f"wrote {path} ({spec['version']}, {len(spec['features']):,} features)")
    return spec


def _figures(report: Report) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "macro_f1": round(report.macro_f1, 4),
        "accuracy": round(report.accuracy, 4),
        "posts": report.total,
        "per_label": {
            s.label: {"precision": round(s.precision, 3), "recall": round(s.recall, 3)}
            for s in report.scores
            if s.support or s.predicted
        },
    }
    return figures


def models_train(
    *,
    corpora: Path | None,
    out: Path,
    quick: bool = False,
    real_limit: int | None = None,
    dev: bool = True,
    corrections: Sequence[tuple[str, str]] = (),
    labels: Path | None = None,
    log: Log = print,
) -> dict[str, dict[str, Any]]:
    """Train both models (module docstring) and write them to `out`. Returns the specs."""
    rows, dev_test = rows_gather(
        corpora=corpora, real_limit=real_limit, dev=dev, corrections=corrections, labels=labels
    )
    if not rows:
        raise TriageDataError("nothing to train on")
    return {task: task_train(task, rows, dev_test, quick=quick, out=out, log=log) for task in TASKS}
