from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mentiondesk.core.management.base import domain_errors_as_command_errors
from mentiondesk.triage import selectors, services
from mentiondesk.triage.classify import triage_classify
from mentiondesk.triage.corpus import corpus_read, corpus_write
from mentiondesk.triage.evaluation import LABELS, examples_read, report_make, throughput
from mentiondesk.triage.model import MODEL_DIR, MODEL_DIR_ENV, model_load

MODELS = ("intent", "sentiment")


class Command(BaseCommand):
    help = (
        "Triage: `triage eval FILE.csv` measures the shipped model on your labelled posts; "
        "`triage export` writes agents' corrections as labelled CSV; `triage classify TEXT` "
        "shows what triage makes of one text, with the policy's rules; `triage corpus` joins "
        "the real labelled corpus to its texts; `triage train` retrains both models from it, "
        "dev.csv and the team's corrections."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        evaluate = sub.add_parser(
            "eval", help="per-label precision/recall, macro-F1 and throughput on a CSV"
        )
        evaluate.add_argument(
            "file", metavar="FILE.csv", help="columns text,intent (or the --model)"
        )
        evaluate.add_argument(
            "--model", default="intent", metavar="|".join(MODELS), help="default: intent"
        )
        evaluate.add_argument(
            "--split",
            metavar="NAME",
            help="only rows whose split column is NAME (the shipped dev.csv: test)",
        )
        export = sub.add_parser("export", help="corrections as CSV: text,intent,corrected_by,…")
        export.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
        classify = sub.add_parser("classify", help="triage one text and explain it")
        classify.add_argument("text")
        corpus = sub.add_parser(
            "corpus",
            help="join the real labelled corpus (labels in the repo) to its texts, as CSV",
        )
        corpus.add_argument(
            "--corpora",
            default="../shared/corpora",
            metavar="DIR",
            help="the corpora folder (default: %(default)s)",
        )
        corpus.add_argument("--output", required=True, metavar="FILE")
        train = sub.add_parser(
            "train",
            help="retrain both models from the real corpus, dev.csv and the team's corrections "
            "(needs scikit-learn)",
        )
        train.add_argument(
            "--corpora",
            default="../shared/corpora",
            metavar="DIR",
            help="the corpora folder (default: %(default)s)",
        )
        train.add_argument(
            "--labels", metavar="FILE.csv", help="your own labelled posts: text,intent[,sentiment]"
        )
        train.add_argument(
            "--out",
            metavar="DIR",
            help=f"where the models go (default: ${MODEL_DIR_ENV}, else DATA_DIR/triage-model)",
        )
        train.add_argument(
            "--quick",
            action="store_true",
            help="no evaluation, no search: refit with the current model's parameters",
        )
        train.add_argument(
            "--real",
            type=int,
            metavar="N",
            help="only the first N posts of the real corpus (0: none; default: all)",
        )
        train.add_argument("--no-dev", action="store_true", help="leave out dev.csv")
        train.add_argument(
            "--no-corrections", action="store_true", help="leave out the stored corrections"
        )

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "eval":
            self.evaluate(Path(options["file"]), options["model"], options["split"])
        elif action == "export":
            self.export(options["output"])
        elif action == "corpus":
            found = corpus_read(corpora=Path(options["corpora"]))
            corpus_write(found, Path(options["output"]))
            brands = len({e.brand for e in found})
            self.stdout.write(
                f"Wrote {len(found):,} labelled posts ({brands} brands) to {options['output']}"
            )
        elif action == "train":
            self.train(options)
        else:
            self.classify(options["text"])

    def evaluate(self, path: Path, name: str, split: str | None) -> None:
        if name not in MODELS:
            raise CommandError(f"--model: use one of {', '.join(MODELS)}, not {name!r}")
        examples = examples_read(path, column=name)
        if split:
            examples = [e for e in examples if e.split == split]
            if not examples:
                raise CommandError(f"{path}: no rows with split={split}")
        model = model_load(name)
        texts = [e.text for e in examples]
        predicted = model.predict_labels(texts)
        report = report_make([e.label for e in examples], predicted, LABELS[name])
        rate, scored = throughput(model.predict_labels, texts)
        self.stdout.write(f"{name} model {model.version} on {path} ({len(examples)} posts)\n")
        self.stdout.write(report.table())
        if name == "intent":
            self.stdout.write(
                f"availability recall: {report.score('availability').recall:.3f} "
                f"({report.score('availability').support} availability posts)"
            )
        self.stdout.write(
            f"throughput: {rate:,.0f} posts/s on one core ({scored:,} posts scored, "
            "features and model; no database)"
        )

    def train(self, options: dict[str, Any]) -> None:
        try:
            from mentiondesk.triage.train import models_train
        except ImportError as exc:
            raise CommandError(
                f"triage train needs scikit-learn ({exc.name} is missing): "
                "pip install -e '.[dev]' (or pip install scikit-learn==1.9.1)"
            ) from None
        if options["real"] is not None and options["real"] < 0:
            raise CommandError("--real: a number of posts, 0 or more")
        out = Path(
            options["out"]
            or os.environ.get(MODEL_DIR_ENV)
            or Path(settings.DATA_DIR) / "triage-model"
        )
        corrections = (
            []
            if options["no_corrections"]
            else [(r.post.text, r.corrected_intent) for r in selectors.triage_corrections()]
        )
        specs = models_train(
            corpora=None if options["real"] == 0 else Path(options["corpora"]),
            out=out,
            quick=options["quick"],
            real_limit=options["real"],
            dev=not options["no_dev"],
            corrections=corrections,
            labels=Path(options["labels"]) if options["labels"] else None,
            log=self.stdout.write,
        )
        versions = ", ".join(spec["version"] for spec in specs.values())
        self.stdout.write(f"\nTrained {versions} ({len(corrections)} corrections) into {out}.")
        if out.resolve() != MODEL_DIR.resolve():
            self.stdout.write(f"Triage uses them where {MODEL_DIR_ENV}={out.resolve()} is set.")

    def export(self, output: str | None) -> None:
        results = selectors.triage_corrections()
        chunks = selectors.triage_corrections_csv(results=results)
        if not output:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        path = Path(output)
        # Written beside the target and renamed into place: a failed export never leaves a
        # half-written file under the name asked for.
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise CommandError(f"--output: cannot write to {path}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.stdout.write(f"Wrote {results.count()} corrections to {path}")

    def classify(self, text: str) -> None:
        rules, config = services.triage_policy()
        result = triage_classify(text, rules=rules, config=config)
        self.stdout.write(
            f"intent:     {result.intent} ({result.intent_confidence:.0%}, {result.source})\n"
            f"sentiment:  {result.sentiment}\n"
            f"context:    {result.context}\n"
            f"evidence:   {'; '.join(result.evidence) or '-'}\n"
            f"model:      {result.model_version}"
        )
