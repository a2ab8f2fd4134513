"""The real labelled corpus: labels in the repository, texts from the shared corpora (their
licences keep them out of it), joined by `mentiondesk triage corpus` and measured by
`mentiondesk triage eval`."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from mentiondesk.cli import main
from mentiondesk.triage.corpus import COLUMNS, REAL_LABELS, corpus_read
from mentiondesk.triage.evaluation import LABELS, TriageDataError
from tests.conftest import shared_folder


@pytest.fixture
def corpora() -> Path:
    return shared_folder("corpora")


def test_every_label_joins_a_real_post_of_many_brands(corpora: Path) -> None:
    corpus = corpus_read(corpora=corpora)

    assert len(corpus) >= 3_000
    assert all(post.text.strip() for post in corpus)
    assert {post.source for post in corpus} == {"twcs", "complaints", "airline"}
    assert len({post.brand for post in corpus}) > 100
    intents = Counter(post.intent for post in corpus)
    assert set(intents) == set(LABELS["intent"])
    assert intents["availability"] >= 100 and intents["spam_report"] >= 50
    # Headline figures come from the natural mix; the enriched rows only add rare classes.
    sampling = Counter(post.sampling for post in corpus)
    assert set(sampling) == {"random", "enriched"} and sampling["random"] >= 3_000
    enriched = Counter(post.intent for post in corpus if post.sampling == "enriched")
    assert enriched["availability"] + enriched["spam_report"] >= 150
    # No text of the corpora is kept in the repository, only ids and labels.
    header = REAL_LABELS.read_text(encoding="utf-8").splitlines()[0]
    assert header == "source,id,brand,intent,sentiment,note,sampling"


def test_the_joined_file_is_what_eval_reads(
    corpora: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "real.csv"
    assert main(["triage", "corpus", "--corpora", str(corpora), "--output", str(out)]) == 0
    assert "labelled posts" in capsys.readouterr().out
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    corpus = corpus_read(corpora=corpora)
    assert len(rows) == len(corpus)
    assert list(rows[0]) == list(COLUMNS)
    assert [(r["text"], r["intent"], r["sampling"]) for r in rows] == [
        (post.text, post.intent, post.sampling) for post in corpus
    ]
    assert main(["triage", "eval", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"({len(rows)} posts)" in printed and "availability recall:" in printed


def test_a_missing_corpus_or_post_is_named(tmp_path: Path) -> None:
    with pytest.raises(TriageDataError, match=r"Tweets\.csv: missing \(the airline corpus"):
        corpus_read(corpora=tmp_path)

    (tmp_path / "twcs-random5k").mkdir()
    (tmp_path / "twcs-random5k" / "twcs_small.csv").write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "1,2,True,x,hello,,\n",
        encoding="utf-8",
    )
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "source,id,brand,intent,sentiment,note,sampling\n"
        "twcs,1,b,other,neutral,,random\ntwcs,9,b,other,neutral,,random\n",
        encoding="utf-8",
    )
    with pytest.raises(TriageDataError, match="line 3: twcs has no post '9'"):
        corpus_read(corpora=tmp_path, labels=labels)


def test_a_label_row_must_say_how_it_was_sampled(tmp_path: Path) -> None:
    (tmp_path / "twcs-random5k").mkdir()
    (tmp_path / "twcs-random5k" / "twcs_small.csv").write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
        "1,2,True,x,hello,,\n",
        encoding="utf-8",
    )
    labels = tmp_path / "labels.csv"
    header = "source,id,brand,intent,sentiment,note,sampling\n"
    labels.write_text(header + "twcs,1,b,other,neutral,,enriched\n", encoding="utf-8")
    assert [post.sampling for post in corpus_read(corpora=tmp_path, labels=labels)] == ["enriched"]

    for wrong in ("keyword", ""):
        labels.write_text(header + f"twcs,1,b,other,neutral,,{wrong}\n", encoding="utf-8")
        with pytest.raises(TriageDataError, match=f"line 2: sampling '{wrong}' is not one"):
            corpus_read(corpora=tmp_path, labels=labels)
    # A labels file from before the column existed is refused, not read as random.
    labels.write_text(
        "source,id,brand,intent,sentiment,note\ntwcs,1,b,other,neutral,\n", encoding="utf-8"
    )
    with pytest.raises(TriageDataError, match="sampling None is not one of random, enriched"):
        corpus_read(corpora=tmp_path, labels=labels)
