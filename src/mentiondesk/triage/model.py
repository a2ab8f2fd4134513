"""The shipped text classifiers, scored in plain Python: no NumPy, no scikit-learn, no Django.

A model is a TF-IDF vector (sublinear term frequency, L2-normalised) of the features below,
times the weights of a linear classifier (logistic regression or linear SVM, whichever
cross-validated better), exported by `triage.train` to `model/<name>.json`. `features()` is
the very function scikit-learn used as its analyzer when the model was fitted, so the scores
here are the fitted model's, not an approximation of them (tests/triage/test_model.py
compares both on the held-out split).

Features, for one post:
- words and word pairs of the normalised text: lowercased, every link one `_url_` token,
  every @handle one `_at_` token followed by the words of its name (`@DriftwoodStatus` →
  `_at_ driftwood status`, so "status" counts whichever company's status handle it is),
  `?`, `!` and emoji kept as tokens of their own;
- cues (`=` + name) from lexicon.py: phrases any company's posts use for an outage, a wish,
  a question, thanks, spam..., so a few hundred examples generalise past their own words;
- optionally, character n-grams of each token padded with spaces (`|` + n-gram). The
  shipped models use none: on dev.csv they cost cross-validated macro-F1 (they drown the
  cues in the L2 norm) and make scoring several times slower (see train.py).

A model records the `FEATURES_ID` it was trained with; loading one trained on other features
fails instead of scoring garbage.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import lexicon

MODEL_DIR = Path(__file__).resolve().parent / "model"
FORMAT = "mentiondesk-linear-tfidf/1"

_URL = re.compile(r"https?://\S+|\bt\.co/\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@(\w{1,50})")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# Words, and single characters that are neither word, space nor ASCII punctuation (emoji,
# symbols). `?` and `!` are the punctuation worth keeping: questions and exclamations.
# Variation selectors and joiners only style an emoji: not tokens.
_TOKEN = re.compile(r"\w+|[?!]|[^\w\s\x00-\x7f\ufe0e\ufe0f\u200d]")


def _handle_words(match: re.Match[str]) -> str:
    parts = _CAMEL.findall(match.group(1)) or [match.group(1)]
    return " _at_ " + " ".join(parts) + " "


def tokens(text: str) -> list[str]:
    """The normalised tokens of `text` (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" _url_ ", text)
    text = _HANDLE.sub(_handle_words, text)
    return _TOKEN.findall(text.lower())


def _cues() -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
    """Cue phrases by length (1, 2, 3 tokens) → the cue features they add."""
    by_length: tuple[dict[str, list[str]], ...] = ({}, {}, {})
    for cue, phrases in lexicon.CUES.items():
        for phrase in re.split(r"[|\n]", phrases):
            words = tokens(phrase)
            if not words:
                continue
            if len(words) > 3:
                raise ValueError(f"cue {cue!r}: {phrase.strip()!r} is longer than 3 words")
            names = by_length[len(words) - 1].setdefault(" ".join(words), [])
            if f"={cue}" not in names:
                names.append(f"={cue}")
    return by_length[0], by_length[1], by_length[2]


_CUE1, _CUE2, _CUE3 = _cues()
_CUE3_FIRST = {phrase.split(" ", 1)[0] for phrase in _CUE3}
_CUE_SUBSTRINGS = [(s, f"={cue}") for cue, subs in lexicon.SUBSTRINGS.items() for s in subs]
# What the features are made of, so a model trained on other ones is refused.
FEATURES_ID = hashlib.sha256(
    json.dumps(
        [
            "1",
            _URL.pattern,
            _HANDLE.pattern,
            _CAMEL.pattern,
            _TOKEN.pattern,
            lexicon.CUES,
            lexicon.SUBSTRINGS,
        ],
        sort_keys=True,
    ).encode()
).hexdigest()[:12]


def features(text: str, *, char_min: int = 0, char_max: int = 0) -> list[str]:
    """Every feature occurrence in `text`: words, word pairs, cues and, when `char_max` > 0,
    character n-grams of `char_min` to `char_max` characters."""
    words = tokens(text)
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    out = words + pairs
    for word in words:
        cue = _CUE1.get(word)
        if cue:
            out.extend(cue)
    for pair in pairs:
        cue = _CUE2.get(pair)
        if cue:
            out.extend(cue)
    for i in range(len(words) - 2):
        if words[i] in _CUE3_FIRST:
            cue = _CUE3.get(f"{words[i]} {words[i + 1]} {words[i + 2]}")
            if cue:
                out.extend(cue)
    for substring, cue_name in _CUE_SUBSTRINGS:
        if substring in text:
            out.append(cue_name)
    if char_max <= 0:
        return out
    for word in words:
        padded = f" {word} "
        size = len(padded)
        for n in range(char_min, char_max + 1):
            if size < n:
                break
            out.extend("|" + padded[i : i + n] for i in range(size - n + 1))
    return out


@dataclass(frozen=True)
class Prediction:
    """One model's answer for one text: the label, its probability, every label's probability
    (in the model's label order) and the features that pushed hardest towards the label."""

    label: str
    confidence: float
    probabilities: dict[str, float]
    evidence: list[str]


class LinearModel:
    """A TF-IDF + linear classifier model read from its JSON export."""

    def __init__(self, spec: dict[str, Any]) -> None:
        if spec.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model: format={spec.get('format')!r}")
        self.name: str = spec["name"]
        self.version: str = spec["version"]
        self.labels: tuple[str, ...] = tuple(spec["labels"])
        self.intercept: tuple[float, ...] = tuple(spec["intercept"])
        self.char_min: int = spec["char_ngrams"][0]
        self.char_max: int = spec["char_ngrams"][1]
        # Probabilities are softmax(temperature * score): 1 for logistic regression; fitted
        # on cross-validated scores for a linear SVM, whose scores are not log-odds.
        self.temperature: float = float(spec.get("temperature", 1.0))
        self.meta: dict[str, Any] = spec.get("meta", {})
        if spec.get("features_id") != FEATURES_ID:
            raise ValueError(
                f"model {self.name} was trained on other features "
                f"({spec.get('features_id')!r}, this code makes {FEATURES_ID!r}); "
                "retrain it with `python -m mentiondesk.triage.train`"
            )
        # feature -> (idf, weight for each label): one lookup per feature while scoring.
        self.table: dict[str, tuple[float, tuple[float, ...]]] = {
            feature: (idf, tuple(weights))
            for feature, idf, weights in zip(
                spec["features"], spec["idf"], spec["weights"], strict=True
            )
        }
        if any(len(w) != len(self.labels) for _, w in self.table.values()):
            raise ValueError(f"model {self.name}: a weight row does not match the labels")

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def features(self, text: str) -> list[str]:
        return features(text, char_min=self.char_min, char_max=self.char_max)

    def decision(
        self, feats: Iterable[str]
    ) -> tuple[list[float], list[tuple[float, tuple[float, ...], str]]]:
        """The linear scores (one per label, before softmax), and each known feature's
        normalised TF-IDF value with its weights, for explaining the result."""
        counts: dict[str, int] = {}
        for f in feats:
            counts[f] = counts.get(f, 0) + 1
        table = self.table
        found: list[tuple[float, tuple[float, ...], str]] = []
        squares = 0.0
        for f, count in counts.items():
            entry = table.get(f)
            if entry is None:
                continue
            value = (math.log(count) + 1.0) * entry[0]
            squares += value * value
            found.append((value, entry[1], f))
        scores = list(self.intercept)
        if not found:
            return scores, []
        norm = math.sqrt(squares)
        # Normalise first, as scikit-learn does, so the sums are the fitted model's.
        rows = [(value / norm, weights, f) for value, weights, f in found]
        for k in range(len(scores)):
            scores[k] += sum(value * weights[k] for value, weights, _ in rows)
        return scores, rows

    def predict(
        self, text: str, *, explain: int = 3, feats: Sequence[str] | None = None
    ) -> Prediction:
        """The most probable label for `text`, with up to `explain` features as evidence.
        `feats`: this model's features of `text`, when the caller has them already."""
        scores, rows = self.decision(self.features(text) if feats is None else feats)
        top = max(scores)
        exps = [math.exp(self.temperature * (s - top)) for s in scores]
        total = sum(exps)
        best = scores.index(top)
        label = self.labels[best]
        evidence: list[str] = []
        if explain:
            pushes = heapq.nlargest(
                explain * 4, ((value * weights[best], f) for value, weights, f in rows)
            )
            evidence = feature_names([f for push, f in pushes if push > 0], limit=explain)
        return Prediction(
            label=label,
            confidence=exps[best] / total,
            probabilities={lab: e / total for lab, e in zip(self.labels, exps, strict=True)},
            evidence=evidence,
        )

    def predict_labels(self, texts: Sequence[str]) -> list[str]:
        """Labels only: the fast path for bulk triage and throughput measurements."""
        labels = self.labels
        out = []
        for text in texts:
            scores, _ = self.decision(self.features(text))
            out.append(labels[scores.index(max(scores))])
        return out


CUE_NAMES = {
    "down": "outage words",
    "spam": "spam words",
    "bug": "bug words",
    "wish": "wish words",
    "how": "question words",
    "love": "thanks and praise words",
    "misc": "off-topic words",
    "angry": "frustration words",
}


def feature_names(feats: Sequence[str], *, limit: int) -> list[str]:
    """Readable evidence from the strongest features, strongest first: cues as "[outage
    words]", words and word pairs as written, character n-grams quoted ("…outa…"); a word
    already shown in a pair is not repeated."""
    shown: list[str] = []
    for f in feats:
        if len(shown) >= limit:
            return shown
        if f.startswith("="):
            shown.append(f"[{CUE_NAMES.get(f[1:], f[1:])}]")
        elif not f.startswith("|") and not any(f in s.split(" ") for s in shown):
            shown.append(f)
    grams = [f[1:].strip() for f in feats if f.startswith("|")]
    for gram in grams:
        if len(shown) >= limit:
            break
        if len(gram) > 1 and not any(gram in w for w in shown):
            shown.append(f"…{gram}…")
    return shown


@cache
def model_load(name: str) -> LinearModel:
    """The shipped model `name` ("intent" or "sentiment"), read once per process."""
    path = MODEL_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no triage model {name!r} at {path}; run `python -m mentiondesk.triage.train`"
        )
    return LinearModel.load(path)
