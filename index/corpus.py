"""The corpus on disk: a SQLite database, a FAISS index and a manifest in one data directory.

Readers work on an immutable ``Snapshot``; a write builds the next snapshot aside and swaps it in,
so a question never sees a half-written article. One writer at a time: a thread lock inside the
process and an exclusive ``flock`` on ``write.lock`` across processes (a ``qa ingest`` beside a
running server waits its turn). A process that finds the database ahead of its snapshot (another
process wrote) reloads before reading or writing.

Save order: database commit, then the FAISS file, then the manifest, each atomic. The manifest
names the database generation and the FAISS file's checksum; on open, if either disagrees (a crash
between two steps), the FAISS index is rebuilt from the vectors in the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from index.chunk import chunk_article
from index.embed import Embedder
from index.errors import ArticleNotFoundError, CorruptIndexError, IndexMismatchError
from index.lexical import LexicalIndex
from index.models import Article, Passage
from index.store import Database, StoredPassages, content_hash
from index.vectors import VectorIndex, atomic_write_bytes

log = logging.getLogger(__name__)

DB_FILE = "corpus.sqlite"
LOCK_FILE = "write.lock"
VECTORS_FILE = "passages.faiss"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class IndexConfig:
    """How articles are cut and what text of a passage is indexed; fixed for a data directory."""

    max_chars: int = 800
    min_chars: int = 120
    # Index each passage with its article's title in front (retrieval sees the topic of a
    # paragraph that never names it); citations still quote the passage alone.
    title_context: bool = True

    def indexed_text(self, article: Article, passage: Passage) -> str:
        """The text embedded and lexically indexed for a passage."""
        return f"{article.title}. {passage.text}" if self.title_context else passage.text

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values, as stored in the manifest."""
        return {
            "max_chars": self.max_chars,
            "min_chars": self.min_chars,
            "title_context": self.title_context,
        }


@dataclass(frozen=True)
class Snapshot:
    """A consistent, read-only view of the corpus at one generation."""

    generation: int
    stored: StoredPassages
    vectors: VectorIndex
    lexical: LexicalIndex  # positions follow ``stored.passages``
    # id -> (article without text, passage count), in id order
    articles: dict[str, tuple[Article, int]]
    position: dict[int, int]  # passage row id -> position in ``stored``

    @property
    def passage_count(self) -> int:
        """Number of passages."""
        return len(self.stored.passages)

    @property
    def sentence_count(self) -> int:
        """Number of sentences."""
        return int(self.stored.sentence_bounds[-1])

    def passage(self, rowid: int) -> Passage:
        """Return the passage stored under a row id."""
        return self.stored.passages[self.position[rowid]]

    def sentence_vectors(self, rowid: int) -> npt.NDArray[np.float32]:
        """Return the vectors of a passage's sentences, one row per sentence."""
        pos = self.position[rowid]
        bounds = self.stored.sentence_bounds
        return self.stored.sentence_vectors[bounds[pos] : bounds[pos + 1]]


@dataclass
class IngestReport:
    """What an ingest did, article by article."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    passages: int = 0

    def summary(self) -> str:
        """One line: added, updated, unchanged, failed."""
        line = (
            f"added {len(self.added)}, updated {len(self.updated)}, "
            f"unchanged {len(self.unchanged)}, failed {len(self.failed)}"
        )
        return line + (f" ({self.passages} passages embedded)" if self.passages else "")


class Corpus:
    """Articles, passages and vectors in a data directory, opened for one embedding model."""

    def __init__(
        self,
        data_dir: Path | str,
        model_name: str,
        dimension: int,
        config: IndexConfig | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CorruptIndexError(f"cannot create data directory {self.data_dir}: {exc}") from exc
        self.model_name = model_name
        self.dimension = dimension
        self.config = config or IndexConfig()
        self._write_lock = threading.Lock()
        self.db = Database(self.data_dir / DB_FILE)
        self._check_model()
        with self._exclusive():
            self._snapshot = self._open_snapshot()

    @classmethod
    def open_existing(cls, data_dir: Path | str, config: IndexConfig | None = None) -> Corpus:
        """Open an index for the model that built it, for work that embeds nothing (listing,
        deleting). Raises ``CorruptIndexError`` when the directory holds no index."""
        path = Path(data_dir) / DB_FILE
        if not path.exists():
            raise CorruptIndexError(
                f"no index in {data_dir}: ingest articles or start the server first"
            )
        db = Database(path)
        try:
            model, dimension = db.get_meta("model"), db.get_meta("dimension")
        finally:
            db.close()
        if model is None or dimension is None:
            raise CorruptIndexError(f"the index in {data_dir} names no embedding model")
        return cls(data_dir, model, int(dimension), config)

    # -- opening -------------------------------------------------------------------------------

    def _mismatch(self, where: str, model: str, dimension: int) -> IndexMismatchError:
        return IndexMismatchError(
            f"the index in {self.data_dir} was built with model {model!r} (dimension {dimension})"
            f" according to its {where}, but the loaded model is {self.model_name!r} (dimension "
            f"{self.dimension}); use a new data directory or load the model the index was built "
            "with"
        )

    def _check_model(self) -> None:
        model, dim = self.db.get_meta("model"), self.db.get_meta("dimension")
        if model is None:
            self.db.set_meta("model", self.model_name)
            self.db.set_meta("dimension", str(self.dimension))
        elif model != self.model_name or int(dim or 0) != self.dimension:
            raise self._mismatch("database", model, int(dim or 0))
        config = json.dumps(self.config.as_dict(), sort_keys=True)
        stored_config = self.db.get_meta("index_config")
        if stored_config is None:
            self.db.set_meta("index_config", config)
        elif stored_config != config:
            raise IndexMismatchError(
                f"the index in {self.data_dir} was built with settings {stored_config}, but "
                f"{config} are configured; use a new data directory or the same settings"
            )
        manifest = self.read_manifest()
        if manifest is not None and (
            manifest.get("model") != self.model_name or manifest.get("dimension") != self.dimension
        ):
            raise self._mismatch(
                "manifest", str(manifest.get("model")), int(manifest.get("dimension") or 0)
            )

    def read_manifest(self) -> dict[str, Any] | None:
        """Return the manifest, or None if there is none yet."""
        path = self.data_dir / MANIFEST_FILE
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorruptIndexError(f"the manifest {path} cannot be read: {exc}") from exc
        if not isinstance(manifest, dict):
            raise CorruptIndexError(f"the manifest {path} is not a JSON object")
        return manifest

    def _open_snapshot(self) -> Snapshot:
        stored = self.db.load_passages(self.dimension)
        generation = self.db.generation
        manifest = self.read_manifest()
        vectors_path = self.data_dir / VECTORS_FILE
        vectors: VectorIndex | None = None
        if manifest and manifest.get("generation") == generation and vectors_path.exists():
            data = vectors_path.read_bytes()
            if hashlib.sha256(data).hexdigest() == manifest.get("vectors_sha256"):
                vectors = VectorIndex.from_bytes(data, self.dimension)
                if len(vectors) != len(stored.passages):
                    vectors = None
        if vectors is None:
            if manifest is not None or stored.passages:
                log.warning("vector index out of step with the database; rebuilding it")
            vectors = VectorIndex.build(stored.rowids, stored.vectors, self.dimension)
            self._save_index(vectors, generation)
        return self._snapshot_of(generation, stored, vectors)

    def _snapshot_of(
        self, generation: int, stored: StoredPassages, vectors: VectorIndex
    ) -> Snapshot:
        articles = {a.id: (a, n) for a, n in self.db.articles()}
        texts = [self.config.indexed_text(articles[p.article_id][0], p) for p in stored.passages]
        return Snapshot(
            generation=generation,
            stored=stored,
            vectors=vectors,
            lexical=LexicalIndex(texts),
            articles=articles,
            position={int(r): i for i, r in enumerate(stored.rowids)},
        )

    def _save_index(self, vectors: VectorIndex, generation: int) -> None:
        data = vectors.save(self.data_dir / VECTORS_FILE)
        counts = self.db.counts()
        manifest = {
            "format": MANIFEST_FORMAT,
            "model": self.model_name,
            "dimension": self.dimension,
            "index_config": self.config.as_dict(),
            "generation": generation,
            **counts,
            "vectors_sha256": hashlib.sha256(data).hexdigest(),
        }
        atomic_write_bytes(
            self.data_dir / MANIFEST_FILE, json.dumps(manifest, indent=2).encode("utf-8")
        )

    # -- reading -------------------------------------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the writer locks: this process's, then the data directory's."""
        with self._write_lock, open(self.data_dir / LOCK_FILE, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the writer locks with the snapshot brought up to the committed state."""
        with self._exclusive():
            if self.db.generation != self._snapshot.generation:
                self._snapshot = self._open_snapshot()
            yield

    @property
    def snapshot(self) -> Snapshot:
        """The current consistent view; keep the reference for the length of one request."""
        if self.db.generation != self._snapshot.generation:
            with self._writing():
                pass  # another process wrote: reloaded on entry
        return self._snapshot

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
        with self._exclusive():
            self.db.set_meta(f"setting:{key}", value)

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    # -- writing -------------------------------------------------------------------------------

    def add_articles(
        self,
        articles: Iterable[Article],
        embedder: Embedder,
        *,
        progress: bool = False,
        batch_articles: int = 256,
        report: IngestReport | None = None,
    ) -> IngestReport:
        """Add new articles and replace changed ones; unchanged ones cost nothing.

        Articles are written in batches, each its own transaction followed by an index save, so
        an interrupted ingest keeps the batches it finished. Readers see the new articles when the
        whole call is done. Returns the report (the one passed in, if any).
        """
        if embedder.name != self.model_name or embedder.dimension != self.dimension:
            raise self._mismatch("caller", embedder.name, embedder.dimension)
        report = report or IngestReport()
        with self._writing():
            known = self.db.article_hashes()
            todo: dict[str, Article] = {}
            for article in articles:
                if known.get(article.id) == content_hash(article) and article.id not in todo:
                    report.unchanged.append(article.id)
                else:
                    todo[article.id] = article  # a later duplicate id wins
            if not todo:
                return report
            config = self.config
            chunked = [
                (a, chunk_article(a, config.max_chars, config.min_chars)) for a in todo.values()
            ]
            total = sum(len(ps) + sum(len(p.sentences) for p in ps) for _, ps in chunked)
            index = self._snapshot.vectors.copy()
            with tqdm(
                total=total, unit="text", desc="embedding", disable=not progress, leave=False
            ) as bar:
                for i in range(0, len(chunked), batch_articles):
                    batch = chunked[i : i + batch_articles]
                    self._write_batch(batch, embedder, index, bar)
                    for article, passages in batch:
                        (report.updated if article.id in known else report.added).append(article.id)
                        report.passages += len(passages)
            self._publish(index)
        return report

    def _write_batch(
        self,
        batch: Sequence[tuple[Article, list[Passage]]],
        embedder: Embedder,
        index: VectorIndex,
        bar: tqdm[Any],
    ) -> None:
        """Embed a batch, commit it to the database, then apply it to ``index`` and save that."""
        texts = [self.config.indexed_text(a, p) for a, ps in batch for p in ps]
        passage_vecs = embedder.embed_passages(texts)
        bar.update(len(texts))
        sentences = [s.text for _, ps in batch for p in ps for s in p.sentences]
        sentence_vecs = embedder.embed_passages(sentences)
        bar.update(len(sentences))
        removed: list[int] = []
        added: list[int] = []
        p_cursor = s_cursor = 0
        with self.db.transaction() as conn:
            for article, passages in batch:
                removed.extend(self.db.passage_rowids(conn, article.id))
                per_passage = []
                for p in passages:
                    per_passage.append(sentence_vecs[s_cursor : s_cursor + len(p.sentences)])
                    s_cursor += len(p.sentences)
                n = len(passages)
                vectors = passage_vecs[p_cursor : p_cursor + n]
                added.extend(self.db.put_article(conn, article, passages, vectors, per_passage))
                p_cursor += n
        index.remove(removed)
        index.add(added, passage_vecs)
        self._save_index(index, self.db.generation)

    def delete_article(self, article_id: str) -> None:
        """Delete an article and its passages; raises ``ArticleNotFoundError``."""
        with self._writing():
            with self.db.transaction() as conn:
                removed = self.db.passage_rowids(conn, article_id)
                if not self.db.delete_article(conn, article_id):
                    raise ArticleNotFoundError(article_id)
            index = self._snapshot.vectors.copy()
            index.remove(removed)
            self._save_index(index, self.db.generation)
            self._publish(index)

    def _publish(self, index: VectorIndex) -> None:
        """Swap in a snapshot of the committed database state with ``index`` as its vectors."""
        stored = self.db.load_passages(self.dimension)
        self._snapshot = self._snapshot_of(self.db.generation, stored, index)
