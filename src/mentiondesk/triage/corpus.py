"""The real labelled corpus: real customer posts to brands, labelled by the labelling guide.

The labels live in the repository (`data/real-labels.csv`: source, id, brand, intent,
sentiment, note); the texts do not, since the corpora's licences are non-commercial or
research-only. `corpus_read` joins the two from a folder laid out as `shared/corpora/`:

| source | file | licence |
| --- | --- | --- |
| `twcs` | `twcs-random5k/twcs_small.csv` (Customer Support on Twitter, 2017) | CC BY-NC-SA 4.0 |
| `complaints` | `complaints-acl2019/complaints-data.csv` (ACL 2019) | research release |
| `airline` | `airline-sentiment/Tweets.csv` (US airlines, 2015) | CC BY-NC-SA 4.0 |

`brand` is the account the post is addressed to (from the thread's brand replies, else its
first @handle; the airline's handle), the unit of leave-brand-out evaluation. `sampling`
says how a post entered the set (`SAMPLINGS`): `random` rows are the natural mix (every
customer tweet of twcs-random5k, a uniform sample of the other two) and the only rows that
estimate real-world figures; `enriched` rows were found by keyword search for the rare
classes and are for training. How the labels were made: `data/LABELS.md`."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

from .evaluation import LABELS, TriageDataError

REAL_LABELS = Path(__file__).resolve().parent / "data" / "real-labels.csv"
COLUMNS = ("text", "intent", "sentiment", "brand", "source", "id", "note", "sampling")
SAMPLINGS = ("random", "enriched")


@dataclass(frozen=True)
class Labelled:
    """One real post with its labels; its fields are `COLUMNS`, in order."""

    text: str
    intent: str
    sentiment: str
    brand: str
    source: str
    id: str
    note: str
    sampling: str


def _twcs(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row["tweet_id"], row["text"]


def _complaints(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f):  # no header: tweet_id, text, complaint, domain
            yield row[0], row[1]


def _airline(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row["tweet_id"], row["text"]


SOURCES: dict[str, tuple[str, Callable[[Path], Iterator[tuple[str, str]]]]] = {
    "twcs": ("twcs-random5k/twcs_small.csv", _twcs),
    "complaints": ("complaints-acl2019/complaints-data.csv", _complaints),
    "airline": ("airline-sentiment/Tweets.csv", _airline),
}


def corpus_read(*, corpora: Path, labels: Path = REAL_LABELS) -> list[Labelled]:
    """Every labelled post of `labels` with its text from `corpora`, in the labels' order.

    Raises TriageDataError naming what is wrong: a missing corpus file, a label row for a
    source or id the corpora do not have, an intent or tone outside the guide's, a sampling
    outside `SAMPLINGS`."""
    with labels.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    texts: dict[str, dict[str, str]] = {}
    for source in sorted({row["source"] for row in rows}):
        if source not in SOURCES:
            raise TriageDataError(f"{labels}: unknown source {source!r}")
        name, read = SOURCES[source]
        path = corpora / name
        if not path.is_file():
            raise TriageDataError(f"{path}: missing (the {source} corpus; see {labels.name})")
        texts[source] = dict(read(path))
    corpus = []
    for line, row in enumerate(rows, start=2):
        text = texts[row["source"]].get(row["id"])
        if text is None:
            raise TriageDataError(
                f"{labels}: line {line}: {row['source']} has no post {row['id']!r}"
            )
        for column in ("intent", "sentiment"):
            if row[column] not in LABELS[column]:
                raise TriageDataError(f"{labels}: line {line}: unknown {column} {row[column]!r}")
        if row.get("sampling") not in SAMPLINGS:
            raise TriageDataError(
                f"{labels}: line {line}: sampling {row.get('sampling')!r} is not one of "
                f"{', '.join(SAMPLINGS)}"
            )
        corpus.append(
            Labelled(
                text,
                row["intent"],
                row["sentiment"],
                row["brand"],
                row["source"],
                row["id"],
                row["note"],
                row["sampling"],
            )
        )
    return corpus


def corpus_write(corpus: list[Labelled], path: Path) -> None:
    """The joined corpus as CSV (`COLUMNS`), readable by `mentiondesk triage eval`."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        out.writerows(astuple(e) for e in corpus)
