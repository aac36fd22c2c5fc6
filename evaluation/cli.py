"""The evaluation commands (`qa eval`, `qa calibrate`), registered on `qa` when the tooling is
installed (the development extras)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.options import settings_for, work_dir_option
from index.errors import CorpusError
from qa.retrieve import METHODS, Method
from service.services import load_embedder, open_corpus
from service.settings import Settings


@click.command(name="eval")
@click.argument("datasets", nargs=-1)
@click.option(
    "--method",
    "methods",
    multiple=True,
    type=click.Choice(METHODS),
    help="Retrieval method(s) to compare; repeat the option. Default: all three.",
)
@work_dir_option
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N queries.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Draw recall@k curves per method to this PNG.",
)
def evaluate(
    datasets: tuple[str, ...],
    methods: tuple[Method, ...],
    work_dir: Path,
    limit: int | None,
    as_json: bool,
    chart: Path | None,
) -> None:
    """Measure retrieval, answer sentences and refusals through the real pipeline.

    DATASETS are gold (the bundled article's own questions), squad-typed (questions labelled by
    answer type on 25 SQuAD paragraphs), squad (SQuAD 2.0 dev subset), scifact (BEIR SciFact
    test), recency (stories updated days later), temporal (questions naming a time, "latest"
    questions and timelines), a BEIR folder or a SQuAD .json; default: gold, squad and scifact.
    Each is ingested once into WORK_DIR/NAME; later runs reuse it.

    \b
    Example:
        qa eval gold --method hybrid
        qa eval temporal --method hybrid
        qa eval --chart docs/recall.png --json > docs/eval.json
    """
    from evaluation.runs import answerer_opener, draw_chart, format_table, run_evaluation, to_json

    settings = Settings().model_copy(update={"data_dir": work_dir})
    try:
        report = run_evaluation(
            datasets or ("gold", "squad", "scifact"),
            methods or METHODS,
            answerer_opener(settings, load_embedder(settings)),
            followup_specificity=settings.followup_specificity,
            limit=limit,
            progress=not as_json,
        )
    except (ValueError, FileNotFoundError, CorpusError) as exc:
        raise click.ClickException(str(exc)) from exc
    if chart is not None:
        draw_chart(report, chart)
    click.echo(json.dumps(to_json(report), indent=2) if as_json else format_table(report))


@click.command()
@click.option(
    "--max-false-refusals",
    type=click.FloatRange(0.0, 0.5),
    default=0.03,
    show_default=True,
    help="Share of answerable calibration questions the threshold may refuse.",
)
@work_dir_option
@click.option(
    "--store",
    "store_in",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Store the fitted model with the index in this data directory; repeat for several.",
)
def calibrate(max_false_refusals: float, work_dir: Path, store_in: tuple[Path, ...]) -> None:
    """Fit the "not in the articles" decision and print it as JSON.

    The model is fitted on half of SQuAD's and the gold set's answerable questions against
    three kinds of out-of-corpus questions (SciFact's train claims, half of SQuAD's
    unanswerable questions, half of the gold set's) and scored on the other halves, each kind
    apart. New indexes get the shipped fit; --store replaces the one stored with an existing
    index. QA_REFUSAL_THRESHOLD overrides the threshold at run time.

    \b
    Example:
        qa calibrate --max-false-refusals 0.03 --store data
    """
    from evaluation.runs import answerer_opener, precision_text
    from evaluation.runs import calibrate as fit
    from qa.refusal import refusal_key

    settings = Settings().model_copy(update={"data_dir": work_dir})
    embedder = load_embedder(settings)
    try:
        model, held_out = fit(answerer_opener(settings, embedder), max_false_refusals)
    except (ValueError, FileNotFoundError, CorpusError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(model.to_dict(), indent=2))
    for kind, scores in held_out.items():
        click.echo(
            f"held out, {kind}: {scores.false_refusals:.3f} of {scores.answerable} answerable "
            f"refused, {scores.recall:.3f} of {scores.unanswerable} out of corpus refused, "
            f"precision {precision_text(scores)}",
            err=True,
        )
    for data_dir in store_in:
        try:
            corpus = open_corpus(settings_for(data_dir), model=(embedder.name, embedder.dimension))
        except CorpusError as exc:
            raise click.ClickException(str(exc)) from exc
        corpus.store_setting(refusal_key(model.features), json.dumps(model.to_dict()))
        corpus.close()
        click.echo(f"stored with the index in {data_dir}", err=True)


def register(group: click.Group) -> None:
    """Add the evaluation commands to ``group`` (the `qa` entry point's plugin hook)."""
    group.add_command(evaluate)
    group.add_command(calibrate)
