"""`mentiondesk triage eval|export|classify` as an operator runs them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from mentiondesk.accounts.models import User
from mentiondesk.cli import main
from mentiondesk.triage import services
from tests.triage.factories import post_make

SMALL = """text,intent
"@Driftwood is driftwood.dev down? 502 everywhere",availability
"@DriftwoodStatus pipelines stuck in pending for an hour, outage?",availability
"@Driftwood spam issues with casino links all over the public tracker",spam_report
"@Driftwood please add dark mode to the web IDE",feature_request
"@Driftwood how do I change my email address?",support_question
"@Driftwood thank you, the new release is awesome ❤️",praise
"@Driftwood are you hiring in Lisbon?",other
"@Driftwood the CSV export is empty when a label filter is applied, since the update",bug_report
"""


def test_eval_prints_the_table_macro_f1_and_throughput(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(SMALL, encoding="utf-8")
    assert main(["triage", "eval", str(path)]) == 0
    out = capsys.readouterr().out
    for intent in ("availability", "spam_report", "bug_report", "praise", "other"):
        assert intent in out
    assert "precision" in out and "recall" in out
    assert "macro-F1" in out
    assert "availability recall:" in out
    assert "posts/s on one core" in out


def test_eval_of_the_sentiment_model_reads_the_sentiment_column(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mentiondesk.triage.evaluation import DEV_SET

    assert main(["triage", "eval", str(DEV_SET), "--model", "sentiment", "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "negative" in out and "macro-F1" in out
    assert "availability recall" not in out


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("text,label\nhi,praise\n", "line 1: missing column intent"),
        ('text,intent\nhi,praise\n"@x it is down",outage\n', "line 3: unknown intent 'outage'"),
        ("text,intent\n", "no rows after the header"),
    ],
)
def test_eval_of_a_broken_file_exits_1_and_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, says: str
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["triage", "eval", str(path)])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert str(path) in err
    assert says in err


@pytest.mark.django_db
def test_export_writes_corrections_as_labelled_csv(advocate: User, tmp_path: Path) -> None:
    corrected = post_make("@Driftwood =cmd| the diff view drops the last line")
    services.triage_correct(post=corrected, intent="bug_report", by=advocate)
    services.post_triage(post=post_make("@Driftwood how do I add a deploy key?"))  # uncorrected

    out = io.StringIO()
    call_command("triage", "export", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 1
    # A spreadsheet would run a cell starting with "@" or "=": the text is guarded.
    assert rows[0]["text"] == "'@Driftwood =cmd| the diff view drops the last line"
    assert rows[0]["intent"] == "bug_report"
    assert rows[0]["corrected_by"] == advocate.username
    assert rows[0]["corrected_at"]

    target = tmp_path / "corrections.csv"
    call_command("triage", "export", "--output", str(target), stdout=io.StringIO())
    assert target.read_text(encoding="utf-8") == out.getvalue()
    assert [p.name for p in tmp_path.iterdir()] == ["corrections.csv"]
    # What export writes, eval reads.
    assert main(["triage", "eval", str(target)]) == 0


@pytest.mark.django_db  # the policy's triage rules apply
def test_classify_shows_the_labels_and_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triage", "classify", "@Driftwood great, down again 🙃 502 on driftwood.dev"]) == 0
    out = capsys.readouterr().out
    assert "intent:     availability" in out
    assert "context:    hosted" in out
    assert "evidence:" in out
