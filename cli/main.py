"""The ``qa`` command line: ingest articles, ask questions, serve the API and chat page."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path

import click
from pydantic import ValidationError

from api.schemas import AskResponse
from cli.feeds import feeds, fetch_pages
from cli.maintenance import feedback, migrate
from cli.mcp import mcp as mcp_command
from cli.options import as_of_option, data_dir_option, settings_for
from cli.output import printable, printable_json, window_line
from cli.timeline import timeline as timeline_command
from index.corpus import Corpus, IngestReport
from index.embed import Embedder
from index.errors import ArticleNotFoundError, CorpusError
from index.models import Article
from index.sources import SourceError, read_bytes, read_paths
from index.stories import StoryIndex
from qa.errors import QuestionError
from service.poller import stored
from service.services import (
    article_list,
    build_services,
    load_embedder,
    open_corpus,
)
from service.settings import Settings


def _open_corpus(settings: Settings, embedder: Embedder | None = None) -> Corpus:
    """The corpus the settings name, for the model the settings name (without ``embedder``:
    for the model that built it, as listing and deleting embed nothing)."""
    return open_corpus(settings, embedder)


@click.group()
@click.version_option("0.1.0", prog_name="qa")
@click.option(
    "-v", "--verbose", is_flag=True, help="Also print the libraries' logs (model loading, ...)."
)
def cli(verbose: bool) -> None:
    """Cited answers from news articles: ingest them, ask questions, serve the chat page.

    \b
    Example:
        qa ingest my-articles/ feed.jsonl
        qa ask "Who is China's ambassador to Pakistan?"
        qa serve --port 8000
    """
    # A command prints what was asked for; the libraries' progress notes only with -v (a
    # server raises its own level: its log is its output).
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)


def _read_stdin() -> list[Article | SourceError]:
    """An article (text, Markdown or HTML) or JSONL lines piped on standard input."""
    data = sys.stdin.buffer.read()
    head = data.lstrip()[:1]
    name = "stdin.jsonl" if head == b"{" else "stdin.html" if head == b"<" else "stdin.txt"
    return list(read_bytes(name, data))


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@data_dir_option
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def ingest(sources: tuple[str, ...], data_dir: Path | None, progress: bool) -> None:
    """Add articles from files, folders, web pages (http/https URLs) or standard input (-).

    A .txt or .md file holds one article (title on the first line or heading, or a page copied
    from a news site, whose chrome is removed); an .html page is reduced to its main content
    and metadata, as is a page fetched by URL (its URL derives its id: fetching it again
    updates it). A .jsonl file holds one article per line:
    {"id"?, "title", "text", "url"?, "author"?, "published"?, "source"?}. Folders are walked.
    Articles already stored unchanged are skipped; changed ones are replaced. Ends with a
    summary: added, updated, unchanged, failed (with reasons).

    \b
    Example:
        qa ingest --data-dir data articles/ more.jsonl
        qa ingest https://example.com/news/harbour-reopens
        cat feed.jsonl | qa ingest -
    """
    settings = settings_for(data_dir)
    report = IngestReport()
    articles: list[Article] = []
    urls = [s for s in sources if s.startswith(("http://", "https://"))]
    files = [Path(s) for s in sources if s != "-" and s not in urls]
    items = [*read_paths(files), *(_read_stdin() if "-" in sources else [])]
    items += fetch_pages(urls, settings)
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
        StoryIndex(corpus.db.engine, settings.story_threshold).assign(stored(articles, report))
    finally:
        corpus.close()
    for source, reason in report.failed:
        click.echo(f"failed: {printable(source)}: {printable(reason)}", err=True)
    click.echo(report.summary())
    if report.failed and not (report.added or report.updated or report.unchanged):
        sys.exit(1)


@cli.command()
@click.argument("question")
@data_dir_option
@click.option("-k", "--top-k", default=5, show_default=True, help="Citations to show (1-50).")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as POST /api/ask.")
@as_of_option
def ask(
    question: str, data_dir: Path | None, top_k: int, as_json: bool, as_of: datetime | None
) -> None:
    """Answer a question from the corpus, with numbered citations.

    A period the question names ("last week", "in March") limits the answer to articles
    published then, read against --as-of (default today), and is printed above the answer.

    \b
    Example:
        qa ask "What did the Chinese ambassador say about the attacks?"
        qa ask --json -k 3 "Who is China's ambassador to Pakistan?"
        qa ask --as-of 2025-04-20 "What was offered to the dockers last week?"
    """
    try:
        services = build_services(settings_for(data_dir))
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        answer = services.answerer.ask(question, top_k, as_of=as_of.date() if as_of else None)
    except QuestionError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        services.close()
    response = AskResponse.of(answer, conversation_id="cli")
    if as_json:
        click.echo(printable_json(response.model_dump_json(indent=2)))
        return
    if response.time_window is not None:
        click.echo(window_line(response.time_window))
    if response.refusal is not None:
        click.echo(f"No answer: {response.refusal}.")
    elif response.answered:
        if response.answer_span is not None:
            click.echo(printable(response.answer_span.text))
        click.echo(printable(response.answer or "", multiline=True))
    else:
        click.echo("Not in the articles. Related reading:")
    for c in response.citations:
        byline = printable(", ".join(x for x in (c.author, c.outlet) if x))
        click.echo(f"\n[{c.rank}] {printable(c.title)}" + (f" ({byline})" if byline else ""))
        click.echo(f"    {printable(c.article_id)} chars {c.start}-{c.end}, score {c.score:.3f}")
        click.echo(f"    {printable(c.text, multiline=True)}")


@cli.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def articles(data_dir: Path | None, as_json: bool) -> None:
    """List the stored articles: id, passages, title, source.

    \b
    Example:
        qa articles --data-dir data
    """
    settings = settings_for(data_dir)
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
                click.echo(printable_json(json.dumps(record, ensure_ascii=False)))
            else:
                source = f"  ({printable(article.outlet)})" if article.outlet else ""
                title = printable(article.title)
                click.echo(f"{printable(article.id)}\t{passages}\t{title}{source}")
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
    settings = settings_for(data_dir)
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
    settings = settings_for(data_dir)
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

    logging.getLogger().setLevel(logging.INFO)

    import uvicorn

    from api.app import create_app

    settings = settings_for(data_dir)
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


def register_tooling(group: click.Group) -> None:
    """Add the commands of the tooling packages that are installed (measurement, evaluation,
    training: the development extras) to ``group``, each through its ``register`` hook listed
    under the ``cited_answers.commands`` entry points. The service's image has none of them."""
    for entry in entry_points(group="cited_answers.commands"):
        try:
            register = entry.load()
        except ModuleNotFoundError:  # a tooling package this installation leaves out
            continue
        register(group)


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


cli.add_command(timeline_command)
cli.add_command(feeds)
cli.add_command(feedback)
cli.add_command(migrate)
cli.add_command(mcp_command)
register_tooling(cli)
