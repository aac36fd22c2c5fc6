"""The ``qa`` command line: ingest articles, ask questions, serve the API and chat page."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from tqdm import tqdm

from api.schemas import AskResponse
from api.services import (
    article_list,
    build_services,
    load_embedder,
    open_corpus,
    settings_retriever,
)
from api.settings import Settings
from index.corpus import Corpus, IngestReport
from index.embed import Embedder
from index.errors import ArticleNotFoundError, CorpusError
from index.models import Article
from index.sources import SourceError, read_bytes, read_paths
from qa.errors import QuestionError
from qa.retrieve import METHODS, Method

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (database, index, manifest). Default: $QA_DATA_DIR or ./data.",
)

work_dir_option = click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".cache/eval"),
    show_default=True,
    help="Where each evaluation dataset's data directory is kept (ingested once, reused).",
)


# What a terminal may act on rather than show: C0 and C1 control characters (ESC and CSI start
# commands that clear the screen or set the window title), DEL, the bidirectional formatting
# characters that make text read otherwise than it is stored, and lone surrogates (which no
# encoder takes). Article fields are printed with these escaped.
_FORMAT = r"\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(rf"[\x00-\x1f{_FORMAT}]")
_UNSAFE_MULTILINE = re.compile(rf"[\x00-\x08\x0b-\x1f{_FORMAT}]")  # keeps \t and \n
_UNSAFE_IN_JSON = re.compile(rf"[{_FORMAT}]")  # JSON writers escape C0 characters themselves


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with the characters a terminal would act on shown as escapes (``\\x1b``,
    ``\\u202e``); with ``multiline`` (passage text), newlines and tabs are kept."""
    return (_UNSAFE_MULTILINE if multiline else _UNSAFE).sub(_escaped, text)


def _printable_json(text: str) -> str:
    """JSON text with the characters a terminal would act on written as ``\\u`` escapes, which
    read back as the same value (they can only stand inside strings)."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _settings(data_dir: Path | None, **overrides: object) -> Settings:
    settings = Settings()
    changes = {k: v for k, v in {"data_dir": data_dir, **overrides}.items() if v is not None}
    return settings.model_copy(update=changes)


def _open_corpus(settings: Settings, embedder: Embedder | None = None) -> Corpus:
    """The corpus the settings name, for the model the settings name (without ``embedder``:
    for the model that built it, as listing and deleting embed nothing)."""
    return open_corpus(settings, embedder)


@click.group()
@click.version_option("0.1.0", prog_name="qa")
def cli() -> None:
    """Cited answers from news articles: ingest them, ask questions, serve the chat page.

    \b
    Example:
        qa ingest my-articles/ feed.jsonl
        qa ask "Who is China's ambassador to Pakistan?"
        qa serve --port 8000
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)


def _read_stdin() -> list[Article | SourceError]:
    """An article (text, Markdown or HTML) or JSONL lines piped on standard input."""
    data = sys.stdin.buffer.read()
    head = data.lstrip()[:1]
    name = "stdin.jsonl" if head == b"{" else "stdin.html" if head == b"<" else "stdin.txt"
    return list(read_bytes(name, data))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@data_dir_option
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def ingest(paths: tuple[Path, ...], data_dir: Path | None, progress: bool) -> None:
    """Add articles from files, folders or standard input (-) to the corpus.

    A .txt or .md file holds one article (title on the first line or heading, or a page copied
    from a news site, whose chrome is removed); an .html page is reduced to its main content
    and metadata. A .jsonl file holds one article per line:
    {"id"?, "title", "text", "url"?, "author"?, "published"?, "source"?}. Folders are walked.
    Articles already stored unchanged are skipped; changed ones are replaced. Ends with a
    summary: added, updated, unchanged, failed (with reasons).

    \b
    Example:
        qa ingest --data-dir data articles/ more.jsonl
        cat feed.jsonl | qa ingest -
    """
    settings = _settings(data_dir)
    report = IngestReport()
    articles: list[Article] = []
    files = [p for p in paths if str(p) != "-"]
    items = [*read_paths(files), *(_read_stdin() if len(files) < len(paths) else [])]
    for item in items:
        if isinstance(item, SourceError):
            report.failed.append((item.source, item.reason))
        else:
            articles.append(item)
    embedder = load_embedder(settings)
    try:
        corpus = _open_corpus(settings, embedder)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        corpus.add_articles(articles, embedder, progress=progress, report=report)
    finally:
        corpus.close()
    for source, reason in report.failed:
        click.echo(f"failed: {_printable(source)}: {_printable(reason)}", err=True)
    click.echo(report.summary())
    if report.failed and not (report.added or report.updated or report.unchanged):
        sys.exit(1)


@cli.command()
@click.argument("question")
@data_dir_option
@click.option("-k", "--top-k", default=5, show_default=True, help="Citations to show (1-50).")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as POST /api/ask.")
def ask(question: str, data_dir: Path | None, top_k: int, as_json: bool) -> None:
    """Answer a question from the corpus, with numbered citations.

    \b
    Example:
        qa ask "What did the Chinese ambassador say about the attacks?"
        qa ask --json -k 3 "Who is China's ambassador to Pakistan?"
    """
    try:
        services = build_services(_settings(data_dir))
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        answer = services.answerer.ask(question, top_k)
    except QuestionError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        services.close()
    response = AskResponse.of(answer, conversation_id="cli")
    if as_json:
        click.echo(_printable_json(response.model_dump_json(indent=2)))
        return
    if response.answered:
        if response.answer_span is not None:
            click.echo(_printable(response.answer_span.text))
        click.echo(_printable(response.answer or "", multiline=True))
    else:
        click.echo("Not in the articles. Related reading:")
    for c in response.citations:
        byline = _printable(", ".join(x for x in (c.author, c.outlet) if x))
        click.echo(f"\n[{c.rank}] {_printable(c.title)}" + (f" ({byline})" if byline else ""))
        click.echo(f"    {_printable(c.article_id)} chars {c.start}-{c.end}, score {c.score:.3f}")
        click.echo(f"    {_printable(c.text, multiline=True)}")


@cli.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def articles(data_dir: Path | None, as_json: bool) -> None:
    """List the stored articles: id, passages, title, source.

    \b
    Example:
        qa articles --data-dir data
    """
    settings = _settings(data_dir)
    try:
        corpus = _open_corpus(settings)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        for article, passages in article_list(corpus):
            if as_json:
                record = {
                    "id": article.id,
                    "title": article.title,
                    "passages": passages,
                    "source": article.outlet,
                    "author": article.author,
                    "published": article.published,
                    "url": article.url,
                }
                click.echo(_printable_json(json.dumps(record, ensure_ascii=False)))
            else:
                source = f"  ({_printable(article.outlet)})" if article.outlet else ""
                title = _printable(article.title)
                click.echo(f"{_printable(article.id)}\t{passages}\t{title}{source}")
    finally:
        corpus.close()


@cli.command()
@click.argument("article_ids", nargs=-1, required=True)
@data_dir_option
def delete(article_ids: tuple[str, ...], data_dir: Path | None) -> None:
    """Delete articles by id; they are never cited again.

    \b
    Example:
        qa delete --data-dir data 4983 reef
    """
    settings = _settings(data_dir)
    try:
        corpus = _open_corpus(settings)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    missing = []
    try:
        for article_id in article_ids:
            try:
                corpus.delete_article(article_id)
                click.echo(f"deleted {article_id}")
            except ArticleNotFoundError:
                missing.append(article_id)
    finally:
        corpus.close()
    if missing:
        raise click.ClickException(f"no article with id {', '.join(map(repr, missing))}")


@cli.command()
@data_dir_option
@click.option(
    "--embed",
    is_flag=True,
    help="Also re-chunk and re-embed every article with the current model and settings.",
)
def reindex(data_dir: Path | None, embed: bool) -> None:
    """Rebuild the index of a data directory from its database, and write a new checkpoint.

    The index (FAISS segments, BM25 postings, the checkpoint files) is rebuilt from the
    articles, passages and vectors stored in the database, as opening does by itself when the
    checkpoint is damaged. With --embed, every article is chunked and embedded again first,
    batch by batch, while a server on the same directory keeps answering.

    \b
    Example:
        qa reindex --data-dir data
        qa reindex --data-dir data --embed
    """
    settings = _settings(data_dir)
    try:
        if embed:
            embedder = load_embedder(settings)
            corpus = _open_corpus(settings, embedder)
        else:
            corpus = _open_corpus(settings)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        if embed:
            count = corpus.reindex(embedder, progress=True)
            click.echo(f"re-embedded {count} articles")
        snapshot = corpus.rebuild()
        click.echo(
            f"rebuilt: {snapshot.article_count} articles, {snapshot.passage_count} passages, "
            f"generation {snapshot.generation}"
        )
    finally:
        corpus.close()


@cli.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(data_dir: Path | None, host: str, port: int) -> None:
    """Serve the HTTP API and the chat page.

    On first start with an empty data directory the bundled article is ingested.

    \b
    Example:
        qa serve --host 0.0.0.0 --port 8000 --data-dir /srv/qa
        curl -s localhost:8000/api/ask -H 'content-type: application/json' \\
             -d '{"question": "Who is China'"'"'s ambassador to Pakistan?"}'
    """
    import signal

    import uvicorn

    from api.app import create_app

    settings = _settings(data_dir)
    # Open the index before serving, so that a data directory that cannot be used (another
    # model, other settings, damaged files) is reported as one line, not a startup traceback.
    try:
        services = build_services(settings, background=True)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    # uvicorn ends its graceful shutdown by raising SIGTERM again, which would kill the process
    # by the signal (status 143) after a clean stop; this handler, restored by then, exits 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        create_app(settings, lambda _: services),
        host=host,
        port=port,
        # The app logs each request as one JSON line (api.access), with its request id.
        access_log=False,
        # On SIGTERM: stop accepting, let requests in flight finish (a bulk ingest may take a
        # while), then close the index, which writes its checkpoint.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


@cli.command(name="eval")
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
    test), a BEIR folder or a SQuAD .json; default: gold, squad and scifact.
    Each is ingested once into WORK_DIR/NAME; later runs reuse it.

    \b
    Example:
        qa eval gold --method hybrid
        qa eval --chart docs/recall.png --json > docs/eval.json
    """
    from api.services import answerer_opener
    from qa.evaluation import draw_chart, format_table, run_evaluation, to_json

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


@cli.command()
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
    from api.services import answerer_opener
    from qa.evaluation import calibrate as fit
    from qa.evaluation import precision_text
    from qa.refusal import REFUSAL_KEY

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
            corpus = open_corpus(_settings(data_dir), model=(embedder.name, embedder.dimension))
        except CorpusError as exc:
            raise click.ClickException(str(exc)) from exc
        corpus.store_setting(REFUSAL_KEY, json.dumps(model.to_dict()))
        corpus.close()
        click.echo(f"stored with the index in {data_dir}", err=True)


@cli.command()
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
    default=Path(__file__).resolve().parents[1] / "eval" / "scifact" / "corpus.jsonl",
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
    from qa.servebench import run

    try:
        for line in run(
            Path(__file__).resolve().parents[1],
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


@cli.command(name="profile")
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
    from qa.loadtest import default_questions
    from qa.stages import profile

    texts = default_questions()[:questions]
    for line in profile(_settings(data_dir).data_dir, texts, top):
        click.echo(line)


@cli.command(name="bench-writes")
@click.option(
    "--checkout",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path(__file__).resolve().parents[1],
    help="Run the server and qa ingest from this source tree (default: this one).",
)
@click.option(
    "--corpus",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=Path(__file__).resolve().parents[1] / "eval" / "scifact" / "corpus.jsonl",
    show_default=True,
    help="JSONL articles to ingest (BEIR corpus layout).",
)
@click.option("--articles", default=400, show_default=True, type=click.IntRange(0))
@click.option(
    "--sizes",
    default="0,2000,20000",
    show_default=True,
    help="Corpus sizes (passages) for the write-cost trend, comma-separated; empty to skip.",
)
@click.option(
    "--engine-sizes",
    default="",
    help="Corpus sizes (passages) at which to time the index engine alone, in this process "
    "(no model, no HTTP), comma-separated.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep data directories and server logs here (default: a temporary folder).",
)
def bench_writes(
    checkout: Path,
    corpus: Path,
    articles: int,
    sizes: str,
    engine_sizes: str,
    work_dir: Path | None,
) -> None:
    """Measure readers during writes, ingest speed and the cost of one write by corpus size.

    Measures the model alone on ARTICLES articles' passages and sentences (the floor), then
    starts `qa serve` on loopback from CHECKOUT and sends ARTICLES articles through POST
    /api/articles:bulk with nothing else running (passages/s), the next ARTICLES while threads
    ask /api/search and /healthz in a loop, and the next ARTICLES through `qa ingest` in another
    process, again with the readers asking; reports their latencies and failures and how soon the
    other process's last article is found. Then PUTs small articles into synthetic corpora of
    each size (0: the bundled article alone; random vectors stand in for embeddings) and reports
    the median cost.

    \b
    Example:
        qa bench-writes --articles 400 --sizes 2000,20000,200000
        qa bench-writes --checkout ../older-version --sizes 2000
        qa bench-writes --articles 0 --sizes "" --engine-sizes 26,2000,20000,200000
    """
    from qa.benchmark import run

    settings = Settings()
    counts = _numbers(sizes, int, "--sizes")
    engine = _numbers(engine_sizes, int, "--engine-sizes")
    dimension = 384  # all-MiniLM-L6-v2
    lines = run(
        checkout, corpus, articles, counts, settings.model_name, dimension, work_dir, engine
    )
    for line in lines:
        click.echo(line)


@cli.command(name="bench-peer")
@click.option(
    "--dataset",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path(__file__).resolve().parents[1] / "eval" / "scifact",
    show_default=True,
    help="A BEIR folder: corpus.jsonl, queries_test.jsonl, qrels/test.tsv.",
)
@click.option(
    "--articles",
    type=click.IntRange(1),
    default=None,
    help="Only the first N abstracts (and the queries judged on them). Default: all.",
)
@click.option(
    "--pool",
    default=100,
    show_default=True,
    type=click.IntRange(10, 1000),
    help="Passages each search returns, reduced to abstracts for recall@10 and nDCG@10.",
)
@click.option(
    "--threads",
    default=2,
    show_default=True,
    type=click.IntRange(1),
    help="Threads for torch and FAISS, the same for both sides.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep our side's data directory here (default: a temporary folder).",
)
def bench_peer(
    dataset: Path, articles: int | None, pool: int, threads: int, work_dir: Path | None
) -> None:
    """Compare our index with txtai's Embeddings on the same passages and model.

    Cuts the dataset's abstracts into passages with our chunker, then in one run measures the
    model encoding them alone (the floor); our build through the write path (with its
    passage and sentence embeddings apart) and dense and hybrid search; txtai's build and
    search with the same model directory and its FAISS defaults. Prints search p50/p95 over the
    test queries, recall@10 and nDCG@10 per abstract against the qrels, and every time as a
    multiple of its floor. Needs txtai: pip install -e '.[peer]' (make bench-peer does both).

    \b
    Example:
        qa bench-peer --articles 500
        nice -n 19 qa bench-peer --threads 2
    """
    from index.embed import packaged_model_path
    from qa.peer import run

    settings = Settings()
    embedder = load_embedder(settings)
    # The service's own retriever, so "ours" is what it runs (each search names its method).
    retriever = settings_retriever(settings, embedder)
    lines = run(
        dataset,
        retriever,
        settings.model_path or packaged_model_path(),
        settings.index_config(),
        articles=articles,
        pool=pool,
        threads=threads,
        work=work_dir,
    )
    try:
        for line in lines:
            click.echo(line)
    except (RuntimeError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc


def _numbers(text: str, kind: type[int] | type[float], name: str) -> list[Any]:
    try:
        return [kind(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise click.BadParameter(
            f"expected comma-separated numbers: {text!r}", param_hint=name
        ) from exc


@cli.command(name="bench-index")
@click.option(
    "--passages",
    default=1_000_000,
    show_default=True,
    type=click.IntRange(0),
    help="Segment size to build and measure (0: only the --flat-sizes table).",
)
@click.option(
    "--data",
    type=click.Choice(["clustered", "random", "both"]),
    default="both",
    show_default=True,
    help="Stand-in vectors: around 4,000 random centres with noise, uniformly random, or both.",
)
@click.option("--queries", default=300, show_default=True, type=click.IntRange(1))
@click.option("--dimension", default=384, show_default=True, type=click.IntRange(1))
@click.option(
    "--ef-search",
    default="64,128,256",
    show_default=True,
    help="Also search the same graph with these efSearch values, comma-separated.",
)
@click.option(
    "--filters",
    default="0.001,0.01,0.05,0.1,0.3",
    show_default=True,
    help="Shares of rows allowed by a filter to time through the graph and exactly.",
)
@click.option(
    "--flat-sizes",
    default="",
    help="First time flat (exact) search alone at these sizes, comma-separated: the table the "
    "flat/approximate threshold comes from.",
)
@click.option("--build-threads", default=2, show_default=True, type=click.IntRange(1))
@click.option(
    "--real-corpus",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Also measure real embeddings: these articles chunked and embedded with the configured "
    "model, searched with the questions of --real-queries.",
)
@click.option(
    "--real-queries",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=Path(__file__).resolve().parents[1] / "eval" / "scifact" / "queries_train.jsonl",
    show_default=True,
    help="JSONL questions (a `text` each) for --real-corpus.",
)
def bench_index(
    passages: int,
    data: str,
    queries: int,
    dimension: int,
    ef_search: str,
    filters: str,
    flat_sizes: str,
    build_threads: int,
    real_corpus: Path | None,
    real_queries: Path,
) -> None:
    """Measure the vector index a segment of PASSAGES passages gets, on stand-in vectors.

    Builds the approximate index the engine picks for a large segment (index/vectors.py) and
    reports build time, memory (the index's bytes, process peak RSS), search p50/p95 of single
    queries with FAISS on one thread, recall@10 against brute force over the same vectors, and
    exact flat search at the same size. No model, no data directory: random vectors stand in
    for embeddings (`random`, the worst case for a graph) and so do vectors around a few
    thousand centres (`clustered`, with neighbours as real embeddings have); run them apart
    (`--data`) for a peak RSS of one alone.

    \b
    Example:
        qa bench-index --passages 1000000 --data clustered
        qa bench-index --passages 100000 --data random --filters ""
        qa bench-index --passages 0 --flat-sizes 5000,10000,20000,50000,100000
        qa bench-index --passages 0 --real-corpus eval/scifact/corpus.jsonl
    """
    from index.scale import KINDS, flat_latency, measure, real_vectors, run

    shares = _numbers(filters, float, "--filters")
    efs = _numbers(ef_search, int, "--ef-search")
    sizes = _numbers(flat_sizes, int, "--flat-sizes")
    if sizes:
        for line in flat_latency(sizes, dimension, queries=min(queries, 100)):
            click.echo(line)
        click.echo("")
    if real_corpus is not None:
        settings = Settings()
        matrix, probe = real_vectors(
            real_corpus, real_queries, load_embedder(settings), settings.index_config()
        )
        title = f"{len(matrix):,} passages of {real_corpus.name}, {settings.model_name}"
        for line in measure(matrix, probe, title, efs, shares, build_threads):
            click.echo(line)
    if passages == 0:
        return
    for kind in KINDS if data == "both" else (data,):
        lines = run(
            passages,
            kind,
            dimension=dimension,
            queries=queries,
            ef_searches=efs,
            filter_shares=shares,
            build_threads=build_threads,
        )
        for line in lines:
            click.echo(line)


@cli.group()
def feedback() -> None:
    """Work with the thumbs up/down people gave answers."""


@feedback.command(name="export")
@data_dir_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write here instead of standard output.",
)
def feedback_export(data_dir: Path | None, output: Path | None) -> None:
    """Export rated answers as evaluation cases (the gold set's JSONL format).

    Thumbs up: the question with the quoted sentence as its answer. Thumbs down: marked
    needs_review with the rejected sentence, for a person to add the right span. An answer
    quoted from an article since deleted or replaced is exported without its words, marked
    removed and needs_review. Sentences are read from the corpus as it is now.

    \b
    Example:
        qa feedback export --data-dir data -o eval/gold/from-feedback.jsonl
        qa eval eval/gold/from-feedback.jsonl
    """
    from api.services import CONVERSATIONS_FILE
    from qa.conversation.feedback import feedback_cases
    from qa.conversation.store import ConversationStore

    settings = _settings(data_dir)
    path = settings.data_dir / CONVERSATIONS_FILE
    if settings.database_url is None and not path.exists():
        raise click.ClickException(f"no conversations in {settings.data_dir}")
    try:
        corpus = _open_corpus(settings)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    store = ConversationStore(
        settings.database_url or path,
        max_turns=settings.conversation_max_turns,
        max_age_days=settings.conversation_max_age_days,
    )
    try:
        cases = feedback_cases(store, corpus)
    finally:
        store.close()
        corpus.close()
    lines = [json.dumps(case, ensure_ascii=False) for case in cases]
    text = "".join(line + "\n" for line in lines)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(lines)} cases to {output}", err=True)


def main() -> None:
    """Console-script entry point."""
    try:
        cli()
    except ValidationError as exc:  # settings from the environment that do not validate
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: "
            f"{str(error['msg']).removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        click.echo(f"Error: invalid settings: {reasons}", err=True)
        sys.exit(2)


@cli.command(name="bench-load")
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
    from qa.loadtest import run

    texts = None
    if questions is not None:
        with open(questions, encoding="utf-8") as fh:
            texts = [json.loads(line)["question"] for line in fh if line.strip()]
    report = run(
        Path(__file__).resolve().parents[1],
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


@cli.command()
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The data directory to copy (its corpus.sqlite and conversations.sqlite).",
)
def migrate(source: Path) -> None:
    """Copy a data directory's articles (passages and vectors as they are: nothing is embedded
    again), its settings and its conversations into the stores the settings name: the database
    of QA_DATABASE_URL and, with QA_VECTOR_STORE=milvus, the collection at QA_MILVUS_URI. An
    article already there as it is is left alone, so a migration that stopped can be run again.

    Example:
        QA_DATABASE_URL=postgresql+psycopg://qa@db/qa QA_VECTOR_STORE=milvus \\
        QA_MILVUS_URI=http://milvus:19530 qa migrate --from data
    """
    from api.services import CONVERSATIONS_FILE
    from index.corpus import DB_FILE
    from index.store import Database, sqlite_url
    from qa.conversation.store import ConversationStore

    settings = _settings(None)
    if settings.database_url is None and settings.vector_store == "faiss":
        raise click.ClickException(
            "nothing to migrate to: set QA_DATABASE_URL, and QA_VECTOR_STORE=milvus with "
            "QA_MILVUS_URI, to name the stores to copy into"
        )
    path = source / DB_FILE
    if not path.exists():
        raise click.ClickException(f"no corpus in {source} (no {DB_FILE})")
    if settings.database_url is None and settings.data_dir.resolve() == source.resolve():
        raise click.ClickException(f"{source} is the data directory the settings name already")
    origin = Database(sqlite_url(path))
    try:
        model, dimension = origin.get_meta("model"), origin.get_meta("dimension")
        if model is None or dimension is None:
            raise click.ClickException(f"the corpus in {source} names no embedding model")
        target = open_corpus(settings, model=(model, int(dimension)))
    except CorpusError as exc:
        origin.close()
        raise click.ClickException(str(exc)) from exc
    report = IngestReport()
    try:
        with origin.reading():
            ids = [s.article.id for s in origin.load_articles(int(dimension), with_vectors=False)]
        with tqdm(total=len(ids), unit="article", desc="migrate", leave=False) as bar:
            for i in range(0, len(ids), 100):
                with origin.reading():
                    batch = origin.load_articles(int(dimension), ids[i : i + 100])
                target.copy_in(batch, report)
                bar.update(len(batch))
        for key, value in origin.settings().items():
            target.store_setting(key, value)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        origin.close()
        target.close()
    click.echo(f"articles: {report.summary('copied with their vectors')}")
    conversations = source / CONVERSATIONS_FILE
    if conversations.exists():
        old = ConversationStore(conversations)
        new = ConversationStore(settings.database_url or settings.data_dir / CONVERSATIONS_FILE)
        try:
            click.echo(f"conversation turns: {new.copy_from(old)} added")
        finally:
            old.close()
            new.close()
