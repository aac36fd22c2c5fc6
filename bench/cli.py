"""The measurement commands (`qa bench`, `bench-load`, `bench-writes`, `bench-peer`,
`bench-index`, `profile`), registered on `qa` when the tooling is installed (the development
extras); the service's image ships without them. Answering is measured here (`qa bench`,
`bench-load`, `profile`), the index in ``bench.cli_index``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bench.cli_index import bench_index, bench_peer, bench_writes
from bench.harness import CHECKOUT
from cli.options import data_dir_option, settings_for
from evaluation.runs import EVAL_DIR


def checkout() -> Path:
    """This source tree; a usage error when the tooling runs from an installed package."""
    if not (CHECKOUT / "pyproject.toml").is_file():
        raise click.ClickException(
            f"this command starts servers from a source checkout, and {CHECKOUT} is not one: "
            "run it from a clone of the repository (make install)"
        )
    return CHECKOUT


@click.command()
@click.option("--url", default=None, help="Measure this running server instead of starting one.")
@click.option("--questions", default=200, show_default=True, type=click.IntRange(1))
@click.option("--clients", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--concurrent-questions", default=400, show_default=True, type=click.IntRange(1))
@click.option(
    "--articles",
    default=200,
    show_default=True,
    type=click.IntRange(0),
    help="SciFact abstracts sent through POST /api/articles:bulk (0: no ingest phase; with "
    "--url the server must be started with QA_API_KEY=bench-key).",
)
@click.option(
    "--corpus",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=EVAL_DIR / "scifact" / "corpus.jsonl",
    show_default=True,
    help="JSONL articles for the ingest phase (BEIR corpus layout).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the started server's data directory and logs here (default: a temporary folder).",
)
def bench(
    url: str | None,
    questions: int,
    clients: int,
    concurrent_questions: int,
    articles: int,
    corpus: Path,
    work_dir: Path | None,
) -> None:
    """Measure a real server: latency, throughput, ingest, start-up and memory.

    First times the packaged model alone in this process (the floors): one question through
    the int8 encoder on one thread and through PyTorch, and a batch of the ARTICLES' passages.
    Then starts `qa serve` from this source tree on loopback on a new data directory (the cold
    start: model load and the bundled article ingested), stops it and starts it again on that
    directory, and sends QUESTIONS distinct questions one at a time over a keep-alive connection
    (the gold set's, then SQuAD 2.0 dev's), then CONCURRENT-QUESTIONS others from CLIENTS threads
    at once, then ARTICLES SciFact abstracts through POST /api/articles:bulk. Prints p50/p95/p99,
    questions/s, passages/s and the server's peak RSS, each beside its floor.

    \b
    Example:
        qa bench
        qa bench --clients 16 --concurrent-questions 800 --articles 0
        qa bench --url http://127.0.0.1:8000 --articles 0
    """
    from bench.serve import run

    try:
        for line in run(
            checkout(),
            corpus,
            questions=questions,
            clients=clients,
            concurrent_questions=concurrent_questions,
            articles=articles,
            url=url,
            work=work_dir,
        ):
            click.echo(line)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.command(name="profile")
@data_dir_option
@click.option("-n", "--questions", default=300, show_default=True, type=click.IntRange(1))
@click.option(
    "--cprofile",
    "top",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Also list this many functions by their own time (cProfile).",
)
def profile_command(data_dir: Path | None, questions: int, top: int) -> None:
    """Time each stage of answering a question, in this process, and print the medians.

    Asks QUESTIONS distinct questions (the gold set's, then SQuAD 2.0 dev's) of the corpus in
    the data directory (the bundled article when new) and times encode, retrieve, the refusal
    signals, the answer sentence, the stored turn and the response's JSON one by one. The HTTP
    layer is left out: `qa bench` measures whole requests.

    \b
    Example:
        qa profile --data-dir data -n 300 --cprofile 20
    """
    from bench.load import default_questions
    from bench.stages import profile

    texts = default_questions()[:questions]
    for line in profile(settings_for(data_dir).data_dir, texts, top):
        click.echo(line)


@click.command(name="bench-load")
@click.option("--seconds", default=60, show_default=True, type=click.IntRange(1))
@click.option("--clients", default=6, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--write-share",
    default=0.3,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Share of requests that write (half of them add, the rest replace or delete).",
)
@click.option("--url", default=None, help="Load this running server instead of starting one.")
@click.option("--key", envvar="QA_API_KEY", default=None, help="The server's API key (with --url).")
@click.option(
    "--questions",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help='JSONL with a "question" per line; default: the gold set, then SQuAD 2.0 dev.',
)
@click.option("--seed", default=0, show_default=True, help="Seed of the clients' choices.")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the started server's data directory and log here (default: a temporary folder).",
)
def bench_load(
    seconds: int,
    clients: int,
    write_share: float,
    url: str | None,
    key: str | None,
    questions: Path | None,
    seed: int,
    work_dir: Path | None,
) -> None:
    """Load a server with questions and writes at once for SECONDS, then read every write back.

    Starts `qa serve` from this source tree on loopback on a new data directory (the bundled
    article), or loads --url. CLIENTS threads each send questions (POST /api/ask, GET
    /api/search, distinct questions) and, for the write share, PUTs of new small articles,
    replacements and DELETEs of their own. Prints requests/s and p50/p95/p99 latency by kind,
    the count of each status, the 5xx, and the lost writes: acknowledged writes the server does
    not show afterwards. First measures the model encoding one question alone, the floor the
    latencies are compared with. Exits with an error when an answer was a 5xx, a request got no
    answer or a write was lost.

    \b
    Example:
        qa bench-load --seconds 60 --clients 6
        qa bench-load --url http://127.0.0.1:8000 --key "$QA_API_KEY" --seconds 30
    """
    from bench.load import run

    texts = None
    if questions is not None:
        with open(questions, encoding="utf-8") as fh:
            texts = [json.loads(line)["question"] for line in fh if line.strip()]
    report = run(
        checkout(),
        seconds,
        clients,
        url=url,
        key=key,
        questions=texts,
        write_share=write_share,
        seed=seed,
        work=work_dir,
    )
    for line in report.lines():
        click.echo(line)
    if report.server_errors or report.unanswered or report.lost:
        raise click.ClickException(
            f"{report.server_errors} answers were 5xx, {report.unanswered} requests got no "
            f"answer and {len(report.lost)} writes were lost"
        )


@click.command(name="bench-answer-model")
@click.option("--sentences", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--rounds", default=30, show_default=True, type=click.IntRange(1))
def bench_answer_model(sentences: int, rounds: int) -> None:
    """Time the answer model reading SENTENCES sentences against the int8 encode of one question.

    Both run in this process, interleaved, on the bundled article's sentences: the ratio is what
    the model adds to a question, in units of the question encoder's own cost.

    \b
    Example:
        qa bench-answer-model --sentences 8
    """
    from bench.answer_model import run

    for line in run(sentences, rounds):
        click.echo(line)


COMMANDS = (
    bench_answer_model,
    bench,
    bench_load,
    bench_writes,
    bench_peer,
    bench_index,
    profile_command,
)


def register(group: click.Group) -> None:
    """Add the measurement commands to ``group`` (the `qa` entry point's plugin hook)."""
    for command in COMMANDS:
        group.add_command(command)
