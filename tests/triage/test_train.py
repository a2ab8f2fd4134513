"""`mentiondesk triage train`: corrections and a team's own labels reach the next model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mentiondesk.accounts.models import User
from mentiondesk.triage import services
from mentiondesk.triage.model import LinearModel, model_load
from tests.triage.factories import post_make

pytest.importorskip("sklearn", reason="scikit-learn (the dev extra) trains the models")

# Words no corpus has: only the corrections can teach the model what they mean.
CORRECTED = [
    "@Driftwood zorblax quibbit again in my feed",
    "@Driftwood another zorblax quibbit thread this morning",
    "@Driftwood the zorblax quibbit accounts are back",
    "@Driftwood zorblax quibbit everywhere in the forum",
    "@Driftwood who lets zorblax quibbit post here",
    "@Driftwood zorblax quibbit, zorblax quibbit, zorblax quibbit",
]
PROBE = "@Driftwood zorblax quibbit in the issues"


def _train(out: Path, *extra: str) -> str:
    log = io.StringIO()
    # Quick: the shipped parameters, fitted on dev.csv's train split (and what the test
    # adds) only, not the real corpus: seconds, not minutes.
    call_command("triage", "train", "--quick", "--real", "0", "--out", str(out), *extra, stdout=log)
    return log.getvalue()


@pytest.mark.django_db
def test_corrections_reach_the_next_training_run(advocate: User, tmp_path: Path) -> None:
    before = model_load("intent").predict(PROBE).label
    assert before != "spam_report"
    for text in CORRECTED:
        post = post_make(text)
        services.post_triage(post=post)
        services.triage_correct(post=post, intent="spam_report", by=advocate)

    log = _train(tmp_path)

    spec = json.loads((tmp_path / "intent.json").read_text())
    assert spec["meta"]["trained_on"]["corrections"] == len(CORRECTED)
    assert f"({len(CORRECTED)} corrections)" in log
    retrained = LinearModel(spec)
    assert retrained.predict(PROBE).label == "spam_report"
    assert retrained.version != model_load("intent").version
    # Corrections say nothing about tone: the sentiment model was not fed them.
    sentiment = json.loads((tmp_path / "sentiment.json").read_text())
    assert "corrections" not in sentiment["meta"]["trained_on"]


@pytest.mark.django_db
def test_a_labels_file_teaches_both_models_and_no_corrections_leaves_them_out(
    advocate: User, tmp_path: Path
) -> None:
    post = post_make(CORRECTED[0])
    services.triage_correct(post=post, intent="spam_report", by=advocate)
    labels = tmp_path / "ours.csv"
    rows = "".join(f'"{text}",praise,positive\n' for text in CORRECTED)
    labels.write_text("text,intent,sentiment\n" + rows, encoding="utf-8")

    _train(tmp_path / "out", "--labels", str(labels), "--no-corrections")

    intent = json.loads((tmp_path / "out" / "intent.json").read_text())
    sentiment = json.loads((tmp_path / "out" / "sentiment.json").read_text())
    assert intent["meta"]["trained_on"]["labels"] == len(CORRECTED)
    assert "corrections" not in intent["meta"]["trained_on"]
    assert sentiment["meta"]["trained_on"]["labels"] == len(CORRECTED)
    assert LinearModel(intent).predict(PROBE).label == "praise"
    assert LinearModel(sentiment).predict(PROBE).label == "positive"


def test_a_bad_labels_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    labels = tmp_path / "ours.csv"
    labels.write_text("text,intent,sentiment\nfine,praise,\nhm,praise,meh\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 3: unknown sentiment 'meh'"):
        _train(tmp_path / "out", "--labels", str(labels), "--no-corrections")
    assert not (tmp_path / "out").exists()


def test_measuring_without_the_real_corpus_is_refused_with_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"needs the real corpus.*--quick"):
        call_command(
            "triage",
            "train",
            "--real",
            "0",
            "--no-corrections",
            "--out",
            str(tmp_path),
            stdout=io.StringIO(),
        )
    assert not list(tmp_path.iterdir())
