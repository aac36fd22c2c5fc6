"""``qa feedback export`` and ``qa migrate``: work on a data directory's stored
conversations and on where its data lives."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tqdm import tqdm

from cli.options import data_dir_option, settings_for
from index.corpus import IngestReport
from index.errors import CorpusError
from service.services import open_corpus


@click.group()
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
    from qa.conversation.feedback import feedback_cases
    from service.services import CONVERSATIONS_FILE, open_conversations

    settings = settings_for(data_dir)
    path = settings.data_dir / CONVERSATIONS_FILE
    if settings.database_url is None and not path.exists():
        raise click.ClickException(f"no conversations in {settings.data_dir}")
    try:
        corpus = open_corpus(settings)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    store = open_conversations(settings)
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


@click.command()
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
    from index.corpus import DB_FILE
    from index.store import Database, sqlite_url
    from qa.conversation.store import ConversationStore
    from service.services import CONVERSATIONS_FILE, open_conversations

    settings = settings_for(None)
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
        new = open_conversations(settings)
        try:
            click.echo(f"conversation turns: {new.copy_from(old)} added")
        finally:
            old.close()
            new.close()
