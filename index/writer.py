"""The write side of a corpus (Lucene's ``IndexWriter``): validate, run the pipeline (chunk →
tag → embed, outside every lock), commit to the database, publish to the backend.

A write costs what it adds. Each batch of articles is embedded with no lock held, then committed
in one database transaction (so every reader in every process sees each article whole or not at
all) and published to the backend (``index/backends/``) as what it added and what it replaced.
Writers take turns: a thread lock in the process and the database's writer lock across
processes and machines (``index/locks.py``), held only for the commit and the publication.
Every commit logs the ids of the articles it touched with its generation, which is how readers
in other processes catch up (``index/reader.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from tqdm import tqdm

from index import statistics
from index.backends import Backend
from index.config import IndexConfig
from index.embed import Embedder
from index.entities import EntityTagger
from index.errors import ArticleNotFoundError, InvalidArticleError
from index.locks import WriterLocks
from index.manifest import TAGGER_KEY, mismatch, tagger_is_new
from index.models import Article
from index.pipeline import IngestReport, Prepared, prepare, store_article
from index.rows import StoredArticle, content_hash
from index.sources import check_article
from index.store import Database


class CorpusWriter:
    """Adds, replaces and deletes the articles of one store, for one model (name, dimension),
    in the data directory ``data_dir`` (named in messages). ``written`` is called after each
    publication (the reader wakes: merges may be due)."""

    def __init__(
        self,
        db: Database,
        backend: Backend,
        locks: WriterLocks,
        data_dir: Path,
        model: tuple[str, int],
        config: IndexConfig,
        *,
        tagger: EntityTagger | None = None,
        written: Callable[[], None] = lambda: None,
    ) -> None:
        self.db, self.backend, self.locks = db, backend, locks
        self.data_dir, self.model, self.config, self.tagger = data_dir, model, config, tagger
        self._written = written

    def record_tagger(self) -> None:
        """Record which tagger tags new passages' entities (warning when the stored ones were
        tagged by another: ``qa reindex --embed`` re-tags them)."""
        if self.tagger is not None and tagger_is_new(self.db, self.data_dir, self.tagger):
            with self.locks.exclusive():
                self.db.set_meta(TAGGER_KEY, self.tagger.name)

    def add_articles(
        self,
        articles: Iterable[Article],
        embedder: Embedder,
        *,
        progress: bool = False,
        batch_articles: int = 32,
        report: IngestReport | None = None,
    ) -> IngestReport:
        """Add new articles and replace changed ones (see ``Corpus.add_articles``)."""
        if (embedder.name, embedder.dimension) != self.model:
            raise mismatch(self.data_dir, "caller", (embedder.name, embedder.dimension), self.model)
        if batch_articles < 1:
            raise ValueError(f"batch_articles must be at least 1, got {batch_articles}")
        report = report or IngestReport()
        todo: dict[str, Article] = {}
        for article in articles:
            try:
                check_article(article)
            except InvalidArticleError as exc:
                report.failed.append((article.id, str(exc)))
                continue
            if article.id in todo:  # never a silent replace of what this call brought
                duplicate = f"duplicate id {article.id!r}: an earlier article in this ingest has it"
                report.failed.append((article.id, f"{duplicate}; not stored"))
                continue
            todo[article.id] = article
        pending = list(todo.values())
        with tqdm(
            total=len(pending), unit="article", desc="ingest", disable=not progress, leave=False
        ) as bar:
            for i in range(0, len(pending), batch_articles):
                batch = pending[i : i + batch_articles]
                self._add_batch(batch, embedder, report)
                bar.update(len(batch))
        return report

    def _add_batch(
        self,
        batch: Sequence[Article],
        embedder: Embedder,
        report: IngestReport,
        rewrite: bool = False,
    ) -> None:
        """Embed, commit and publish one batch; ``rewrite`` re-embeds unchanged articles too."""
        known = self.db.article_hashes(a.id for a in batch)
        fresh = []
        for article in batch:
            if not rewrite and known.get(article.id) == content_hash(article):
                report.unchanged.append(article.id)
            else:
                fresh.append(article)
        if not fresh:
            return
        prepared = prepare(fresh, self.config, embedder, self.tagger)
        with self.locks.exclusive():
            self.backend.catch_up()
            if not rewrite:
                # Another writer (a replica seeding the same store, say) may have stored the
                # same version while this batch was embedded: it is unchanged now.
                now = self.db.article_hashes(p.article.id for p in prepared)
                same = {
                    p.article.id
                    for p in prepared
                    if now.get(p.article.id) == content_hash(p.article)
                }
                report.unchanged.extend(p.article.id for p in prepared if p.article.id in same)
            else:
                now, same = known, set()
            todo = [p for p in prepared if p.article.id not in same]
            if not todo:  # no commit, and no generation, for a batch that changes nothing
                return
            self._commit(todo)
        for item in todo:
            (report.updated if item.article.id in now else report.added).append(item.article.id)
            report.passages += len(item.passages)
        self._written()

    def _commit(self, todo: Sequence[Prepared]) -> None:
        """Store the articles in one transaction and publish them (writer locks held)."""
        with self.db.transaction() as txn:
            rows = [store_article(self.db, txn, self.config, item) for item in todo]
        self.backend.publish(txn.generation, [p.article.id for p in todo], rows)

    def delete_article(self, article_id: str) -> None:
        """Delete an article and its passages; raises ``ArticleNotFoundError``."""
        with self.locks.exclusive():
            self.backend.catch_up()
            with self.db.transaction() as txn:
                statistics.remove(txn.conn, article_id)
                if not self.db.delete_article(txn.conn, article_id):
                    raise ArticleNotFoundError(article_id)
                self.db.log_change(txn, article_id)
            self.backend.publish(txn.generation, [article_id], [])
        self._written()

    def copy_in(self, stored: Sequence[StoredArticle], report: IngestReport) -> None:
        """Store articles as another store holds them, passages and vectors included (nothing
        is embedded again: ``qa migrate``); those already stored as they are are unchanged.
        The vectors must come from this corpus's model (the caller checks)."""
        with self.locks.exclusive():
            self.backend.catch_up()
            known = self.db.article_hashes(s.article.id for s in stored)
            todo = [s for s in stored if known.get(s.article.id) != content_hash(s.article)]
            report.unchanged.extend(s.article.id for s in stored if s not in todo)
            if not todo:  # no commit, and no generation, when nothing changes
                return
            self._commit(
                [Prepared(s.article, list(s.passages), s.vectors, s.sentence_vectors) for s in todo]
            )
        for s in todo:
            (report.updated if s.article.id in known else report.added).append(s.article.id)
            report.passages += len(s.passages)
        self._written()

    def reindex(
        self,
        ids: Sequence[str],
        embedder: Embedder,
        *,
        progress: bool = False,
        batch_articles: int = 32,
    ) -> int:
        """Re-chunk and re-embed these stored articles with this embedder and the directory's
        settings, batch by batch (readers keep answering); returns the number of articles."""
        done = 0
        with tqdm(total=len(ids), unit="article", desc="reindex", disable=not progress) as bar:
            for i in range(0, len(ids), batch_articles):
                found = [self.db.get_article(a) for a in ids[i : i + batch_articles]]
                batch = [a for a in found if a is not None]  # deleted meanwhile: skipped
                self._add_batch(batch, embedder, IngestReport(), rewrite=True)
                done += len(batch)
                bar.update(len(batch))
        if self.tagger is not None:
            with self.locks.exclusive():
                self.db.set_meta(TAGGER_KEY, self.tagger.name)
        return done
