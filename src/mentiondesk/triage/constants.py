"""The labels triage gives a post besides its intent (core/intents.py). Plain tuples: the scorer
and the training script use them without Django."""

from __future__ import annotations

SENTIMENTS = ("positive", "neutral", "negative")
# The policy's escalation categories for the two kinds of install are hosted/self_managed.
CONTEXTS = ("hosted", "self_managed", "unknown")
SOURCES = ("model", "rule")
# The most confidence the intent model's label gets for a post that is most likely not in
# English (model.english_unlikely): below any sensible [triage] act_above, so the label is a
# suggestion. The model is trained mostly on English.
NOT_ENGLISH_CONFIDENCE = 0.5

# Spreadsheets run a cell starting with one of these as a formula (CSV injection, see
# audit/constants.py): exported post texts get a leading single quote, which the scorer's
# tokenizer ignores and `examples_read` removes again.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
