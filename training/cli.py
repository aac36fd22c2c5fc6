"""`qa train-answer-model`: the recipe of the answer model, registered on `qa` when the tooling
is installed (the development extras)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from qa.reader import MODEL_DIR
from training.answer_model import Recipe, train

_DEFAULTS = Recipe()


@click.command(name="train-answer-model")
@click.option(
    "--squad",
    "squad_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="SQuAD 1.1 train (train-v1.1.json): the only data the model learns from.",
)
@click.option(
    "--ambiguous",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Ids of questions whose answer offset was guessed, one per line: every sentence "
    "holding their answer counts as holding it.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=MODEL_DIR,
    show_default=True,
    help="Where model.onnx, tokenizer.json and meta.json are written.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".cache/answer-model"),
    show_default=True,
    help="Keeps the float32 export.",
)
@click.option("--layers", default=_DEFAULTS.layers, show_default=True, type=click.IntRange(1, 6))
@click.option("--questions", default=_DEFAULTS.questions, show_default=True, type=click.IntRange(1))
@click.option(
    "--holdout-articles",
    default=_DEFAULTS.holdout_articles,
    show_default=True,
    type=click.IntRange(2),
    help="Whole articles kept out of training and judged at the end.",
)
@click.option("--epochs", default=_DEFAULTS.epochs, show_default=True, type=click.IntRange(1))
@click.option(
    "--max-steps",
    default=None,
    type=click.IntRange(1),
    help="Stop after this many steps; the learning-rate schedule stays the whole run's.",
)
@click.option("--seed", default=_DEFAULTS.seed, show_default=True, type=int)
@click.option("--threads", default=_DEFAULTS.threads, show_default=True, type=click.IntRange(1))
def train_answer_model(
    squad_path: Path,
    ambiguous: Path | None,
    output: Path,
    work_dir: Path,
    layers: int,
    questions: int,
    holdout_articles: int,
    epochs: int,
    max_steps: int | None,
    seed: int,
    threads: int,
) -> None:
    """Train the answer model on SQuAD 1.1 train and write it for the service.

    Builds (question, sentence) pairs from QUESTIONS questions of the training articles, trains
    the first LAYERS layers of all-MiniLM-L6-v2 with a score head and a span head, exports it
    to int8 ONNX and prints its figures on the held-out articles (also written to meta.json).
    The defaults with --max-steps 1420 are the shipped model's recipe (qa/answer_model/CARD.md).

    \b
    Example:
        qa train-answer-model --squad ../shared/train/squad-1.1/train-v1.1.json \\
            --ambiguous ../shared/train/squad-1.1/ambiguous-answer-start-ids.txt \\
            --max-steps 1420
    """
    logging.getLogger("training").setLevel(logging.INFO)
    recipe = Recipe(
        layers=layers,
        questions=questions,
        holdout_articles=holdout_articles,
        epochs=epochs,
        max_steps=max_steps,
        seed=seed,
        threads=threads,
    )
    figures = train(recipe, squad_path, ambiguous, output, work_dir)
    for name, value in vars(figures).items():
        click.echo(f"{name}: {value}")


def register(group: click.Group) -> None:
    """Add the training command to ``group`` (the `qa` entry point's plugin hook)."""
    group.add_command(train_answer_model)
