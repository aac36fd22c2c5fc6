"""A corpus: a database (the source of truth: articles, passages, sentences and their vectors;
by default a SQLite file in the data directory, or any SQLAlchemy URL such as a PostgreSQL
shared by several machines), a backend its passages are searched on, and a data directory.

``Corpus`` is the small surface the rest of the house uses; the work is done by parts with one
concern each, as Lucene splits it:

- ``index/writer.py`` (``CorpusWriter``): validate, chunk → tag → embed (``index/pipeline.py``),
  commit, publish; ``index/locks.py``: the locks writers take turns on.
- ``index/reader.py`` (``CorpusReader``): the current view, one attribute read that readers
  never wait for, and the background thread that applies other processes' commits.
- ``index/backends/``: where passages are searched, behind one ``Backend`` interface: FAISS
  segments checkpointed in the data directory (``segments.py``, ``index/checkpoint.py``) or a
  Milvus collection (``milvus.py``), picked by ``open_backend``.
- ``index/manifest.py``: the model, settings and tagger a data directory was built with,
  checked on every open.

``rebuild()`` (``qa reindex``) rebuilds the backend from the database on purpose; ``reindex()``
(``qa reindex --embed``) re-chunks and re-embeds every article.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from index.backends import Backend, BackendContext, SegmentsStore, VectorStore, open_backend
from index.backends.segments import SegmentsBackend
from index.config import IndexConfig
from index.embed import Embedder
from index.entities import EntityTagger
from index.errors import ArticleNotFoundError, CorpusError, CorruptIndexError
from index.locks import WriterLocks
from index.manifest import MANIFEST_FILE, MANIFEST_FORMAT, TAGGER_KEY, check_model, read_manifest
from index.merge import MergePolicy
from index.models import Article
from index.pipeline import IngestReport
from index.reader import CorpusReader
from index.rows import StoredArticle, content_hash
from index.store import Database, sqlite_url
from index.view import CorpusView
from index.writer import CorpusWriter

DB_FILE = "corpus.sqlite"
DEFAULT_CORPUS_KEY = "default_corpus"

__all__ = [
    "DB_FILE",
    "DEFAULT_CORPUS_KEY",
    "MANIFEST_FILE",
    "MANIFEST_FORMAT",
    "TAGGER_KEY",
    "Corpus",
    "IndexConfig",
    "IngestReport",
]


class Corpus:
    """Articles, passages and vectors in a data directory, opened for one embedding model.

    ``vector_store`` names the backend (default: FAISS segments in this process, merged by
    ``merge_policy``). ``refresh_seconds`` is how often a background thread looks for commits
    made by other processes (and lets the backend merge and checkpoint); 0 turns the thread
    off, leaving ``refresh()`` and ``merge()`` to the caller. A checkpoint is written at most
    every ``checkpoint_seconds`` when the corpus changed; ``close()`` writes one too.
    """

    def __init__(
        self,
        data_dir: Path | str,
        model_name: str,
        dimension: int,
        config: IndexConfig | None = None,
        *,
        refresh_seconds: float = 0.5,
        checkpoint_seconds: float = 60.0,
        merge_policy: MergePolicy | None = None,
        tagger: EntityTagger | None = None,
        query_model: str | None = None,
        database_url: str | None = None,
        vector_store: VectorStore | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        # Tags each new passage's named entities at ingest; None stores passages without them.
        self.tagger = tagger
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CorruptIndexError(f"cannot create data directory {self.data_dir}: {exc}") from exc
        self.model_name = model_name
        # What encodes questions, when not the passages' model itself (the int8 encoder of the
        # same model): recorded in the manifest beside the model, for whoever reads it.
        self.query_model = query_model or model_name
        self.dimension = dimension
        self.config = config or IndexConfig()
        # None: the SQLite file in the data directory. With a shared database the directory
        # holds only the checkpoint, and may start empty: the view is then read from the
        # database.
        self.database_url = database_url
        self.db = Database(database_url or sqlite_url(self.data_dir / DB_FILE))
        check_model(self.db, self.data_dir, (model_name, dimension), self.config)
        self.locks = WriterLocks(self.db)
        context = BackendContext(
            self.db, self.data_dir, model_name, self.query_model, dimension, self.config, self.locks
        )
        store = vector_store or SegmentsStore(merge_policy or MergePolicy())
        with self.locks.exclusive():
            self.backend: Backend = open_backend(
                store, context, checkpoint_seconds=checkpoint_seconds
            )
        self.writer = CorpusWriter(
            self.db,
            self.backend,
            self.locks,
            self.data_dir,
            (model_name, dimension),
            self.config,
            tagger=tagger,
            written=self._written,
        )
        self.writer.record_tagger()
        self._checkpoint_lock = threading.Lock()
        self.reader = CorpusReader(self.backend, self.locks, refresh_seconds)

    def _written(self) -> None:
        self.reader.wake()

    @classmethod
    def open_existing(
        cls,
        data_dir: Path | str,
        config: IndexConfig | None = None,
        database_url: str | None = None,
        **options: Any,
    ) -> Corpus:
        """Open an index for the model that built it, for work that embeds nothing (listing,
        deleting). Raises ``CorruptIndexError`` when the directory (or the database at
        ``database_url``) holds no index. ``options`` go to the constructor."""
        path = Path(data_dir) / DB_FILE
        if database_url is None and not path.exists():
            raise CorruptIndexError(
                f"no index in {data_dir}: ingest articles or start the server first"
            )
        db = Database(database_url or sqlite_url(path))
        try:
            model, dimension = db.get_meta("model"), db.get_meta("dimension")
        finally:
            db.close()
        if model is None or dimension is None:
            where = data_dir if database_url is None else "the database"
            raise CorruptIndexError(f"the index in {where} names no embedding model")
        return cls(
            data_dir,
            model,
            int(dimension),
            config,
            refresh_seconds=0,
            database_url=database_url,
            **options,
        )

    # -- reading -------------------------------------------------------------------------------

    @property
    def snapshot(self) -> CorpusView:
        """The current consistent view; keep the reference for the length of one request."""
        return self.reader.view

    def read_manifest(self) -> dict[str, Any] | None:
        """Return the manifest, or None if there is none yet."""
        return read_manifest(self.data_dir)

    def get_article(self, article_id: str) -> Article:
        """Return an article with its full text; raises ``ArticleNotFoundError``."""
        article = self.db.get_article(article_id)
        if article is None:
            raise ArticleNotFoundError(article_id)
        return article

    def holds(self, article: Article) -> bool | None:
        """None if no article has this id, True if it is stored as given, False if it differs."""
        stored = self.db.article_hash(article.id)
        return None if stored is None else stored == content_hash(article)

    def stored_setting(self, key: str) -> str | None:
        """A value stored with the index by a higher layer (e.g. a calibrated threshold)."""
        return self.db.get_meta(f"setting:{key}")

    def store_setting(self, key: str, value: str) -> None:
        """Store a value with the index."""
        with self.locks.exclusive():
            self.db.set_meta(f"setting:{key}", value)

    @property
    def initialised(self) -> bool:
        """Whether anything was ever written here (a store that was emptied stays initialised)."""
        return self.db.generation > 0 or self.stored_setting(DEFAULT_CORPUS_KEY) is not None

    def check_ready(self) -> dict[str, Any]:
        """What readiness reports of the index beyond its counts; raises ``CorpusError`` when a
        part the corpus needs does not answer (none for the embedded index)."""
        return self.backend.check_ready()

    def refresh(self, wait: bool = True) -> bool:
        """Apply commits made by other processes since the snapshot; returns whether any were.
        With ``wait=False`` it gives up at once when a writer of this process is busy."""
        return self.reader.refresh(wait)

    # -- writing -------------------------------------------------------------------------------

    def add_articles(
        self,
        articles: Iterable[Article],
        embedder: Embedder,
        *,
        progress: bool = False,
        batch_articles: int = 32,
        report: IngestReport | None = None,
    ) -> IngestReport:
        """Add new articles and replace changed ones; unchanged ones cost nothing.

        Articles go in batches: each is embedded with no lock held, then committed in one
        transaction and published at once, so readers see the ingest progress batch by batch and
        an interrupted ingest keeps the batches it finished. An article that cannot be stored
        (``check_article``), or whose id an earlier article of the call has, is reported in
        ``failed`` with the reason, and the others go in. Returns the report (the one passed in,
        if any).
        """
        return self.writer.add_articles(
            articles, embedder, progress=progress, batch_articles=batch_articles, report=report
        )

    def delete_article(self, article_id: str) -> None:
        """Delete an article and its passages; raises ``ArticleNotFoundError``."""
        self.writer.delete_article(article_id)

    def copy_in(self, stored: Sequence[StoredArticle], report: IngestReport) -> None:
        """Store articles as another store holds them (``qa migrate``; see ``CorpusWriter``)."""
        self.writer.copy_in(stored, report)

    def reindex(
        self, embedder: Embedder, *, progress: bool = False, batch_articles: int = 32
    ) -> int:
        """Re-chunk and re-embed every stored article with this embedder and the directory's
        settings, batch by batch (readers keep answering); returns the number of articles."""
        ids = [a.id for a, _ in self.snapshot.iter_articles()]
        return self.writer.reindex(ids, embedder, progress=progress, batch_articles=batch_articles)

    def rebuild(self) -> CorpusView:
        """Rebuild the backend from the database alone (the vectors it stores) and swap it in:
        what opening does by itself when a checkpoint is unusable."""
        with self.locks.exclusive():
            return self.backend.rebuild()

    # -- housekeeping --------------------------------------------------------------------------

    @property
    def segments(self) -> SegmentsBackend:
        """The segments backend, for its merges; raises ``CorpusError`` on another backend
        (Milvus merges its own segments)."""
        if not isinstance(self.backend, SegmentsBackend):
            raise CorpusError("this corpus is not searched on local segments")
        return self.backend

    def merge(self) -> bool:
        """Merge one group of segments the policy picks; returns whether it merged one."""
        return self.segments.merge()

    def checkpoint(self) -> bool:
        """Catch up, then save what the backend keeps in this process if the corpus changed
        since the last time (a checkpoint of the segments); returns whether it wrote one."""
        with self._checkpoint_lock:
            self.refresh()
            return self.backend.save()

    def close(self) -> None:
        """Stop the background thread, write a checkpoint if the corpus changed, and close the
        backend and the database (a second call does nothing)."""
        if self.reader.stopped:
            return
        self.reader.stop()
        try:
            self.checkpoint()
        finally:
            try:
                self.backend.close()
            finally:
                self.db.close()
