"""The write side of the corpus: a database (the source of truth: articles, passages, sentences
and their vectors; by default a SQLite file in the data directory, or any SQLAlchemy URL such as a
PostgreSQL shared by several machines) and a data directory holding a checkpoint of the index's
segments and a manifest naming the model.

Readers never wait. ``Corpus.snapshot`` is one attribute read of an immutable ``Snapshot``
(``index/snapshot.py``); writers build the next one beside it and swap the reference. Nothing on
the read path takes a lock, in this process or across processes.

A write costs what it adds. Each batch of articles is embedded outside every lock, then committed
in one database transaction (so every reader in every process sees each article whole or not at
all) and published as one new segment plus deletion marks for the versions it replaced. Small
segments are merged by a background thread; nothing on the write path re-reads the corpus.

Writers take turns: a thread lock in the process and the database's writer lock across processes
and machines (``Database.writer_lock``), held only for the commit and the swap. Every commit logs
the ids of the articles it touched with its generation; a background thread polls the generation
and applies another process's commits by reading just those articles, so a running server sees a
``qa ingest`` beside it within a second, batch by batch.

Each write also keeps the corpus statistics in the database (``index/statistics.py``), in its
own transaction: what ``MilvusCorpus`` (``index/milvus_corpus.py``), this class with its passages
searched on Milvus instead of segments, reads in place of the snapshot's sums.

On open the snapshot is read from the last checkpoint (``index/checkpoint.py``) plus the commits
logged after it, or rebuilt from the database when the checkpoint is unusable: whatever a crash
interrupted, the last committed state is what opens. ``rebuild()`` (``qa reindex``) does the
rebuild on purpose; ``reindex()`` (``qa reindex --embed``) re-chunks and re-embeds every article.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from index import statistics
from index.checkpoint import (
    SEGMENTS_DIR,
    SavedSegment,
    checkpoint_files_exist,
    load_segment,
    remove_unlisted,
    save_segment,
)
from index.chunk import chunk_article
from index.embed import Embedder, Vectors, embed_with_sentences
from index.entities import EntityTagger
from index.errors import (
    ArticleNotFoundError,
    CorruptIndexError,
    IndexMismatchError,
    InvalidArticleError,
)
from index.merge import MergePolicy
from index.models import Article, Entity, Passage
from index.segment import ArticleRows, Segment
from index.snapshot import SegmentState, Snapshot
from index.sources import check_article
from index.statistics import ArticleStatistics
from index.store import Database, StoredArticle, Transaction, content_hash, sqlite_url
from index.text import tokenize
from index.vectors import atomic_write_bytes, remove_stale_temporaries
from index.view import CorpusView

log = logging.getLogger(__name__)
# Meta key naming the tagger (model and version) whose entities the passages hold.
TAGGER_KEY = "tagger"

DB_FILE = "corpus.sqlite"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 2
DEFAULT_CORPUS_KEY = "default_corpus"


@dataclass(frozen=True)
class IndexConfig:
    """How articles are cut and what text of a passage is indexed; fixed for a data directory."""

    max_chars: int = 800
    min_chars: int = 120
    # Index each passage with its article's title in front (retrieval sees the topic of a
    # paragraph that never names it); citations still quote the passage alone.
    title_context: bool = True
    # Segments of this many passages or more are searched through an approximate (HNSW) index,
    # smaller ones exactly: flat search passes 3 ms at 20,000 passages (docs/PERFORMANCE.md,
    # "An index that fits the corpus"). Not part of ``as_dict``: it may change between runs,
    # since each segment records its own kind.
    exact_below: int = 20_000

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


@dataclass
class IngestReport:
    """What an ingest did, article by article."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    passages: int = 0

    def summary(self, done: str = "embedded") -> str:
        """One line: added, updated, unchanged, failed (and how many passages were ``done``)."""
        line = (
            f"added {len(self.added)}, updated {len(self.updated)}, "
            f"unchanged {len(self.unchanged)}, failed {len(self.failed)}"
        )
        return line + (f" ({self.passages} passages {done})" if self.passages else "")


class Corpus:
    """Articles, passages and vectors in a data directory, opened for one embedding model.

    ``refresh_seconds`` is how often a background thread looks for commits made by other
    processes (and merges segments); 0 turns the thread off, leaving ``refresh()`` and
    ``merge()`` to the caller. The same thread writes a checkpoint at most every
    ``checkpoint_seconds`` when the corpus changed; ``close()`` writes one too.
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
        self.merge_policy = merge_policy or MergePolicy()
        # One writer thread at a time in this process (also held by the refresher, so that a
        # commit of ours is never applied twice); the swap lock orders the publications of the
        # writer and the merger. Readers take neither.
        self._write_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._checkpoint_lock = threading.Lock()  # one checkpoint at a time
        # None: the SQLite file in the data directory. With a shared database the directory
        # holds only the checkpoint, and may start empty: the snapshot is then read from the
        # database.
        self.database_url = database_url
        self.db = Database(database_url or sqlite_url(self.data_dir / DB_FILE))
        self._check_model()
        self._check_tagger()
        self.checkpoint_seconds = checkpoint_seconds
        self._saved: dict[str, dict[str, Any]] = {}  # segment name -> its manifest entry
        self._checkpointed = -1  # generation of the last checkpoint written or read
        self._last_checkpoint = time.monotonic()
        with self._exclusive():
            for folder in (self.data_dir, self.data_dir / SEGMENTS_DIR):
                for path in remove_stale_temporaries(folder):
                    log.info("removed %s, left by a writer that stopped mid-write", path)
            self._snapshot = self._load()
            if self._checkpointed != self._snapshot.generation:
                self._write_checkpoint(self._snapshot)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        if refresh_seconds > 0:
            self._worker = threading.Thread(
                target=self._maintain, args=(refresh_seconds,), name="corpus-refresh", daemon=True
            )
            self._worker.start()

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
        ``database_url``) holds no index. ``options`` go to the constructor (a subclass's)."""
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
        try:
            manifest = self.read_manifest()
        except CorruptIndexError as exc:
            # The database names the model; the manifest only mirrors it, and the checkpoint
            # it lists is rebuilt from the database below.
            log.warning("%s; rebuilding the index from the database", exc)
            manifest = None
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

    def _save_segments(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        """Write the files of the snapshot's segments not saved yet (each once: segments never
        change); returns their manifest entries. Costs what was added since the last time."""
        entries = []
        for state in snapshot.states:
            entry = self._saved.get(state.segment.name)
            if entry is None or not checkpoint_files_exist(self.data_dir, state.segment.name):
                entry = save_segment(self.data_dir, state.segment)
                self._saved[state.segment.name] = entry
            entries.append(entry)
        return entries

    def _write_checkpoint(self, snapshot: Snapshot) -> None:
        """Save the snapshot's segments, then the manifest naming them all; call with the writer
        locks held (another process's checkpoint may remove files its manifest does not list,
        so they are checked again here)."""
        entries = self._save_segments(snapshot)
        manifest = {
            "format": MANIFEST_FORMAT,
            "model": self.model_name,
            "query_model": self.query_model,
            "dimension": self.dimension,
            "index_config": self.config.as_dict(),
            "generation": snapshot.generation,
            "articles": snapshot.article_count,
            "passages": snapshot.passage_count,
            "sentences": snapshot.sentence_count,
            "segments": entries,
        }
        atomic_write_bytes(
            self.data_dir / MANIFEST_FILE, json.dumps(manifest, indent=2).encode("utf-8")
        )
        names = {e["name"] for e in entries}
        remove_unlisted(self.data_dir, names)
        self._saved = {k: v for k, v in self._saved.items() if k in names}
        self._checkpointed = snapshot.generation
        self._last_checkpoint = time.monotonic()

    def checkpoint(self) -> bool:
        """Write a checkpoint of the current snapshot if the corpus changed since the last one;
        returns whether one was written. The segment files are written before the writer locks
        are taken, so writers wait only for the manifest."""
        with self._checkpoint_lock:
            self.refresh()
            snapshot = self._snapshot
            if snapshot.generation == self._checkpointed:
                return False
            self._save_segments(snapshot)
            with self._exclusive():
                self._write_checkpoint(snapshot)
            return True

    def _tokens(self, article: Article, passage: Passage) -> list[str]:
        """The lexical index's tokens of a passage."""
        return tokenize(self.config.indexed_text(article, passage))

    def _rows(
        self,
        article: Article,
        rowids: Sequence[int],
        passages: Sequence[Passage],
        vectors: Vectors,
        sentence_vectors: Sequence[Vectors],
    ) -> ArticleRows:
        """An article as a segment takes it: metadata without text, and each passage's tokens."""
        meta = replace(article, text="")
        tokens = [self._tokens(meta, p) for p in passages]
        return ArticleRows(meta, rowids, passages, vectors, sentence_vectors, tokens)

    def _stored_rows(self, stored: StoredArticle) -> ArticleRows:
        """A stored article as a segment takes it."""
        return self._rows(
            stored.article, stored.rowids, stored.passages, stored.vectors, stored.sentence_vectors
        )

    def _store(
        self,
        txn: Transaction,
        article: Article,
        passages: Sequence[Passage],
        vectors: Vectors,
        sentence_vectors: Sequence[Vectors],
    ) -> ArticleRows:
        """Write one article in the transaction: its rows, its change-log entry and its
        statistics (the stored version's taken out first); returns it as a segment takes it."""
        statistics.remove(txn.conn, article.id)
        rowids = self.db.put_article(txn.conn, article, passages, vectors, sentence_vectors)
        self.db.log_change(txn, article.id)
        rows = self._rows(article, rowids, passages, vectors, sentence_vectors)
        stats = ArticleStatistics.of(passages, rows.tokens, vectors)
        statistics.add(txn.conn, article.id, stats)
        return rows

    def _segment(self, stored: Sequence[StoredArticle], *, whole: bool = False) -> Segment:
        """A segment of stored articles, in the order given; ``whole`` for one read at open
        (it may be the corpus, so large enough for an approximate index), else a small one of
        recent changes, searched exactly."""
        rows = [self._stored_rows(s) for s in stored]
        exact_below = self.config.exact_below if whole else None
        return Segment.build(rows, self.dimension, exact_below=exact_below)

    def _saved_segments(self) -> tuple[int, list[SavedSegment]] | None:
        """The generation and segments of the checkpoint, or None when there is none usable."""
        try:
            manifest = self.read_manifest()
        except CorruptIndexError:
            return None  # logged by _check_model
        if not manifest or manifest.get("format") != MANIFEST_FORMAT:
            return None
        try:
            saved = [
                load_segment(self.data_dir, entry, self.dimension)
                for entry in manifest.get("segments", [])
            ]
        except CorruptIndexError as exc:
            log.warning("checkpoint not used (%s); rebuilding from the database", exc)
            return None
        self._saved = {e["name"]: e for e in manifest.get("segments", [])}
        return int(manifest.get("generation", -1)), saved

    def _replayable(self, base: int, generation: int) -> bool:
        """Whether the change log holds every commit after ``base`` up to ``generation`` (call
        inside ``db.reading()``): a state at ``base`` can then be brought up to date."""
        if base == generation:
            return True
        oldest = self.db.oldest_change()
        return base < generation and oldest is not None and oldest <= base + 1

    def _load(self, use_checkpoint: bool = True) -> Snapshot:
        """The snapshot of everything committed: the checkpoint's segments, less what changed
        since, plus the changed articles read from the database; without a usable checkpoint,
        everything from the database. One read transaction, so one committed state."""
        checkpoint = self._saved_segments() if use_checkpoint else None
        with self.db.reading():
            generation = self.db.generation
            if checkpoint is not None and not self._replayable(checkpoint[0], generation):
                log.warning("checkpoint does not match the database's log; rebuilding")
                checkpoint = None
            if checkpoint is None:
                stored = self.db.load_articles(self.dimension)
                segment = self._segment(stored, whole=True)
                states = [SegmentState(segment)] if len(segment) else []
                return Snapshot(generation, states, self.dimension)
            base, saved = checkpoint
            changed = set(self.db.changed_since(base))
            known = {
                s.article.id: s
                for s in self.db.load_articles(self.dimension, with_vectors=False)
                if s.article.id not in changed
            }
            states, covered = self._restore(saved, known)
            rest = sorted(changed.union(set(known) - covered))
            fresh = self.db.load_articles(self.dimension, rest)
        fresh.sort(key=lambda s: s.rowids[0])
        segment = self._segment(fresh, whole=True)
        if len(segment):
            states.append(SegmentState(segment))
        if not changed and set(known) == covered:
            self._checkpointed = base  # the checkpoint is this very state
        return Snapshot(generation, states, self.dimension)

    def _restore(
        self, saved: Sequence[SavedSegment], known: dict[str, StoredArticle]
    ) -> tuple[list[SegmentState], set[str]]:
        """Segments of the checkpoint holding the ``known`` articles exactly as the database
        does (same passages, same sentences); returns them and the ids they hold."""
        states: list[SegmentState] = []
        covered: set[str] = set()
        for item in saved:
            rows = []
            bounds = item.sentence_bounds
            ids = item.article_ids.tolist()
            first = 0
            while first < len(ids):
                last = first
                while last < len(ids) and ids[last] == ids[first]:
                    last += 1
                stored = known.get(ids[first])
                if (
                    stored is not None
                    and stored.rowids == item.rowids[first:last].tolist()
                    and [len(p.sentences) for p in stored.passages]
                    == (bounds[first + 1 : last + 1] - bounds[first:last]).tolist()
                ):
                    sentences = [
                        item.sentence_vectors[bounds[i] : bounds[i + 1]] for i in range(first, last)
                    ]
                    rows.append(
                        self._rows(
                            stored.article,
                            stored.rowids,
                            stored.passages,
                            item.index.matrix[first:last],
                            sentences,
                        )
                    )
                    covered.add(stored.article.id)
                first = last
            # A segment read back whole keeps its name, so the next checkpoint does not rewrite it,
            # and its index as saved, so an approximate one is not built again.
            whole = sum(len(r.passages) for r in rows) == len(ids)
            if whole:
                segment = Segment.build(rows, self.dimension, name=item.name, index=item.index)
            else:
                segment = Segment.build(rows, self.dimension, exact_below=self.config.exact_below)
            if len(segment):
                states.append(SegmentState(segment))
        return states, covered

    # -- reading -------------------------------------------------------------------------------

    @property
    def snapshot(self) -> CorpusView:
        """The current consistent view; keep the reference for the length of one request."""
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

    @property
    def initialised(self) -> bool:
        """Whether anything was ever written here (a store that was emptied stays initialised)."""
        return self.db.generation > 0 or self.stored_setting(DEFAULT_CORPUS_KEY) is not None

    def check_ready(self) -> dict[str, Any]:
        """What readiness reports of the index beyond its counts; raises ``CorpusError`` when a
        part the corpus needs does not answer (none for the embedded index)."""
        return {"vector_store": "faiss"}

    def close(self) -> None:
        """Stop the background thread, write a checkpoint if the corpus changed, and close the
        database (a second call does nothing)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
        try:
            self.checkpoint()
        finally:
            self.db.close()

    # -- keeping up with other processes, merging ------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the writer locks: this process's, then the database's (every process's)."""
        with self._write_lock, self.db.writer_lock():
            yield

    def _maintain(self, seconds: float) -> None:
        """The background thread: apply other processes' commits, then merge segments."""
        while not self._stop.is_set():
            self._wake.wait(seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh(wait=False)
                while self.merge() and not self._stop.is_set():
                    pass
                due = time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds
                if due and self._snapshot.generation != self._checkpointed:
                    self.checkpoint()
            except Exception:  # a failed round is retried on the next one; readers are unaffected
                log.exception("background refresh or merge failed")

    def refresh(self, wait: bool = True) -> bool:
        """Apply commits made by other processes since the snapshot; returns whether any were.

        Reads only the articles those commits touched. With ``wait=False`` it gives up at once
        when a writer of this process is busy (that writer catches up itself).
        """
        if not self._write_lock.acquire(blocking=wait):
            return False
        try:
            return self._catch_up()
        finally:
            self._write_lock.release()

    def _catch_up(self) -> bool:
        """``refresh`` with the process's write lock held."""
        current = self._snapshot.generation
        if self.db.generation == current:
            return False
        with self.db.reading():
            generation = self.db.generation
            if not self._replayable(current, generation):
                # The change log does not reach back to our snapshot: read everything.
                incremental = None
            else:
                changed = self.db.changed_since(current)
                incremental = (changed, self.db.load_articles(self.dimension, changed))
        if incremental is None:
            fresh = self._load()
            with self._swap_lock:
                self._snapshot = fresh
            return True
        changed, stored = incremental
        stored.sort(key=lambda s: s.rowids[0])
        segment = self._segment(stored)
        with self._swap_lock:
            self._snapshot = self._snapshot.changed(generation, changed, segment, self._tokens)
        return True

    def merge(self) -> bool:
        """Merge one group of segments the policy picks; returns whether it merged one.

        The merged segment is built outside every lock; articles deleted meanwhile are marked in
        it when it is swapped in, so no write waits for a merge and none is lost to one.
        """
        before = self._snapshot
        picked = self.merge_policy.pick(before)
        if picked is None:
            return False
        first, last = picked
        group = before.states[first:last]
        merged = Segment.merge(
            [
                (s.segment, s.live if s.live is not None else np.ones(len(s.segment), bool))
                for s in group
            ],
            self.config.exact_below,
        )
        with self._swap_lock:
            now = self._snapshot
            same = len(now.states) >= last and all(
                a.segment is b.segment for a, b in zip(now.states[first:last], group, strict=True)
            )
            if not same:
                return False  # reloaded meanwhile; the next round picks again
            # Articles deleted while the merge ran are marked in the merged segment.
            since: set[str] = set()
            for new, old in zip(now.states[first:last], group, strict=True):
                since |= new.deleted - old.deleted
            kept = [SegmentState(merged).without(since, self._tokens)] if len(merged) else []
            states = (*now.states[:first], *kept, *now.states[last:])
            self._snapshot = Snapshot(now.generation, states, self.dimension)
        return True

    # -- writing -------------------------------------------------------------------------------

    def _tagged(self, passages: list[Passage]) -> list[Passage]:
        """The passages with their entities, offsets moved into the article text."""
        assert self.tagger is not None
        found = self.tagger.tag([p.text for p in passages])
        return [
            replace(
                p, entities=tuple(Entity(p.start + e.start, p.start + e.end, e.label) for e in es)
            )
            for p, es in zip(passages, found, strict=True)
        ]

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
        if embedder.name != self.model_name or embedder.dimension != self.dimension:
            raise self._mismatch("caller", embedder.name, embedder.dimension)
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
        config = self.config
        chunked = [(a, chunk_article(a, config.max_chars, config.min_chars)) for a in fresh]
        if self.tagger is not None:
            chunked = [(a, self._tagged(ps)) for a, ps in chunked]
        texts = [config.indexed_text(a, p) for a, ps in chunked for p in ps]
        # Sentence offsets within each indexed text (it may start with the title).
        spans = []
        for a, ps in chunked:
            for p in ps:
                shift = len(config.indexed_text(a, p)) - len(p.text) - p.start
                spans.append([(s.start + shift, s.end + shift) for s in p.sentences])
        passage_vecs, sentence_vecs = embed_with_sentences(embedder, texts, spans)
        with self._exclusive():
            self._catch_up()
            if not rewrite:
                # Another writer (a replica seeding the same store, say) may have stored the
                # same version while this batch was embedded: it is unchanged now.
                now = self.db.article_hashes(a.id for a, _ in chunked)
                same = {a.id for a, _ in chunked if now.get(a.id) == content_hash(a)}
                report.unchanged.extend(a.id for a, _ in chunked if a.id in same)
            else:
                now, same = known, set()
            todo = []
            cursor = 0
            for article, passages in chunked:
                n = len(passages)
                if article.id not in same:
                    todo.append(
                        (
                            article,
                            passages,
                            passage_vecs[cursor : cursor + n],
                            sentence_vecs[cursor : cursor + n],
                        )
                    )
                cursor += n
            if not todo:  # no commit, and no generation, for a batch that changes nothing
                return
            with self.db.transaction() as txn:
                rows = [self._store(txn, *item) for item in todo]
            self._publish(txn.generation, [a.id for a, *_ in todo], rows)
        for article, passages, *_ in todo:
            (report.updated if article.id in now else report.added).append(article.id)
            report.passages += len(passages)
        self._wake.set()

    def _publish(
        self, generation: int, changed: Sequence[str], rows: Sequence[ArticleRows]
    ) -> None:
        """Make a committed write visible to this process's readers: the ``changed`` articles'
        old versions marked deleted and ``rows`` (their new versions) added as one segment.
        Called with the writer locks held, right after the commit."""
        segment = Segment.build(list(rows), self.dimension) if rows else None
        with self._swap_lock:
            self._snapshot = self._snapshot.changed(generation, changed, segment, self._tokens)

    def delete_article(self, article_id: str) -> None:
        """Delete an article and its passages; raises ``ArticleNotFoundError``."""
        with self._exclusive():
            self._catch_up()
            with self.db.transaction() as txn:
                statistics.remove(txn.conn, article_id)
                if not self.db.delete_article(txn.conn, article_id):
                    raise ArticleNotFoundError(article_id)
                self.db.log_change(txn, article_id)
            self._publish(txn.generation, [article_id], [])
        self._wake.set()

    def copy_in(self, stored: Sequence[StoredArticle], report: IngestReport) -> None:
        """Store articles as another store holds them, passages and vectors included (nothing
        is embedded again: ``qa migrate``); those already stored as they are are unchanged.
        The vectors must come from this corpus's model (the caller checks)."""
        with self._exclusive():
            self._catch_up()
            known = self.db.article_hashes(s.article.id for s in stored)
            todo = [s for s in stored if known.get(s.article.id) != content_hash(s.article)]
            report.unchanged.extend(s.article.id for s in stored if s not in todo)
            if not todo:  # no commit, and no generation, when nothing changes
                return
            with self.db.transaction() as txn:
                rows = [
                    self._store(txn, s.article, s.passages, s.vectors, s.sentence_vectors)
                    for s in todo
                ]
            self._publish(txn.generation, [s.article.id for s in todo], rows)
        for s in todo:
            (report.updated if s.article.id in known else report.added).append(s.article.id)
            report.passages += len(s.passages)
        self._wake.set()

    def rebuild(self) -> Snapshot:
        """Rebuild the index from the database alone (the vectors it stores), swap it in and
        write a new checkpoint: what opening does by itself when the checkpoint is unusable."""
        with self._exclusive():
            fresh = self._load(use_checkpoint=False)
            with self._swap_lock:
                self._snapshot = fresh
            self._write_checkpoint(fresh)
        return fresh

    def _check_tagger(self) -> None:
        """Record which tagger tags this corpus's entities, and warn when the stored passages
        were tagged by another (``qa reindex --embed`` re-tags them all)."""
        if self.tagger is None:
            return
        stored = self.db.get_meta(TAGGER_KEY)
        if stored is None:
            with self._exclusive():
                self.db.set_meta(TAGGER_KEY, self.tagger.name)
        elif stored != self.tagger.name:
            log.warning(
                "entities in %s were tagged by %s, new ones by %s; `qa reindex --embed` re-tags"
                " them all",
                self.data_dir,
                stored,
                self.tagger.name,
            )

    def reindex(
        self, embedder: Embedder, *, progress: bool = False, batch_articles: int = 32
    ) -> int:
        """Re-chunk and re-embed every stored article with this embedder and the directory's
        settings, batch by batch (readers keep answering); returns the number of articles."""
        ids = [a.id for a, _ in self._snapshot.iter_articles()]
        done = 0
        with tqdm(total=len(ids), unit="article", desc="reindex", disable=not progress) as bar:
            for i in range(0, len(ids), batch_articles):
                found = [self.db.get_article(a) for a in ids[i : i + batch_articles]]
                batch = [a for a in found if a is not None]  # deleted meanwhile: skipped
                self._add_batch(batch, embedder, IngestReport(), rewrite=True)
                done += len(batch)
                bar.update(len(batch))
        if self.tagger is not None:
            with self._exclusive():
                self.db.set_meta(TAGGER_KEY, self.tagger.name)
        return done
