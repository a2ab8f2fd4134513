"""The shipped text classifiers, scored in plain Python: no NumPy, no scikit-learn, no Django.

A model is a TF-IDF vector (sublinear term frequency, L2-normalised) of the features below,
times the weights of a linear SVM, softmax with a fitted temperature for the probabilities,
exported by `triage.train` (`mentiondesk triage train`) to `model/<name>.json`. `features()` is
the very function scikit-learn used as its analyzer when the model was fitted, so the scores
here are the fitted model's, not an approximation of them (tests/triage/test_model.py
compares both on the held-out split).

Features, for one post:
- words and word pairs of the normalised text: lowercased, every link one `_url_` token,
  every @handle one `_at_` token followed by only the role words of its name
  (`@DriftwoodStatus` → `_at_ status`, `@AmazonHelp` → `_at_ help`): a brand's name is not
  a feature, so the model cannot learn "posts to this brand are usually X" (it is judged on
  brands it never saw), while "status" counts whichever company's status handle it is;
  numbers of 5 digits or more (orders, phones, the corpora's anonymised ids) one `_num_`
  token, shorter ones ("503", "2fa") kept; `?`, `!` and emoji kept as tokens of their own;
- cues (`=` + name) from lexicon.py: phrases any company's posts use for an outage, a wish,
  a question, thanks, spam..., so a few hundred examples generalise past their own words;
- optionally, character n-grams of each token padded with spaces (`|` + n-gram): misspelt,
  inflected and other languages' words share them (train.py chooses, by cross-validation
  on brands held out).

A model records the `FEATURES_ID` it was trained with; loading one trained on other features
fails instead of scoring garbage.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
import operator
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from . import lexicon

MODEL_DIR = Path(__file__).resolve().parent / "model"
# A team's own retrained models (`mentiondesk triage train --out DIR`) are used instead of
# the shipped ones when this names their folder.
MODEL_DIR_ENV = "MENTIONDESK_TRIAGE_MODEL_DIR"
FORMAT = "mentiondesk-linear-tfidf/1"

_URL = re.compile(r"https?://\S+|\bt\.co/\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@(\w{1,50})")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# Words, and single characters that are neither word, space nor ASCII punctuation (emoji,
# symbols). `?` and `!` are the punctuation worth keeping: questions and exclamations.
# Variation selectors and joiners only style an emoji: not tokens.
_TOKEN = re.compile(r"\w+|[?!]|[^\w\s\x00-\x7f\ufe0e\ufe0f\u200d]")
_LONG_NUMBER = re.compile(r"(?<![^\W\d_])\d{5,}(?![^\W\d_])")
# The words of a handle's name that say what the account is for, whoever's it is.
HANDLE_ROLES = frozenset(
    {"support", "help", "helps", "care", "cares", "service", "status", "ask", "team", "assist"}
    | {"customer", "news", "desk"}
)


def _handle_words(match: re.Match[str]) -> str:
    parts = [p for p in _CAMEL.findall(match.group(1)) if p.lower() in HANDLE_ROLES]
    return " _at_ " + " ".join(parts) + " "


def tokens(text: str) -> list[str]:
    """The normalised tokens of `text` (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" _url_ ", text)
    text = _HANDLE.sub(_handle_words, text)
    text = _LONG_NUMBER.sub(" _num_ ", text)
    return _TOKEN.findall(text.lower())


def english_unlikely(text: str) -> bool:
    """Whether `text` is most likely not English: most of its letters outside the Latin
    script, or more of its common words another language's than English's. Cheap (one pass
    over the tokens); measured on the real corpus's posts in other languages (train.py)."""
    words = [w for w in tokens(text) if not w.startswith("_")]
    letters = [c for w in words for c in w if c.isalpha()]
    if not letters:
        return False
    if sum(1 for c in letters if c > "\u024f") * 2 > len(letters):
        return True
    english = sum(1 for w in words if w in lexicon.ENGLISH_WORDS)
    other = sum(1 for w in words if w in lexicon.OTHER_LANGUAGE_WORDS)
    return other >= 2 and other > english


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
            "2",
            _URL.pattern,
            _LONG_NUMBER.pattern,
            sorted(HANDLE_ROLES),
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
        out.extend(_char_grams(word, char_min, char_max))
    return out


@lru_cache(maxsize=100_000)
def _char_grams(word: str, char_min: int, char_max: int) -> tuple[str, ...]:
    # Cached: most words of a post were in an earlier one, and the n-grams are most of the
    # scorer's time.
    padded = f" {word} "
    size = len(padded)
    return tuple(
        "|" + padded[i : i + n]
        for n in range(char_min, min(char_max, size) + 1)
        for i in range(size - n + 1)
    )


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
        # Probabilities are softmax(temperature * score), the temperature fitted on scores of
        # brands held out: a linear SVM's scores are not log-odds.
        self.temperature: float = float(spec.get("temperature", 1.0))
        self.meta: dict[str, Any] = spec.get("meta", {})
        if spec.get("features_id") != FEATURES_ID:
            raise ValueError(
                f"model {self.name} was trained on other features "
                f"({spec.get('features_id')!r}, this code makes {FEATURES_ID!r}); "
                "retrain it with `mentiondesk triage train`"
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
        counts = Counter(feats)
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
        values = [value for value, _, _ in rows]
        # One label's weights at a time, multiplied in C (map): most of the scorer's time.
        for k, column in enumerate(zip(*(weights for _, weights, _ in rows), strict=True)):
            scores[k] += sum(map(operator.mul, values, column))
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


def model_dir() -> Path:
    """Where the models are read from: $MENTIONDESK_TRIAGE_MODEL_DIR, else the shipped ones."""
    return Path(os.environ.get(MODEL_DIR_ENV) or MODEL_DIR)


@cache
def model_load(name: str) -> LinearModel:
    """The model `name` ("intent" or "sentiment") from `model_dir()`, read once per process."""
    path = model_dir() / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no triage model {name!r} at {path}; run `mentiondesk triage train --out "
            f"{path.parent}` (or unset {MODEL_DIR_ENV} to use the shipped models)"
        )
    return LinearModel.load(path)
