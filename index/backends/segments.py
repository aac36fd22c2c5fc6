"""The embedded backend: passages in immutable FAISS and lexical segments in this process
(``index/segment.py``), read through an immutable ``Snapshot`` (``index/snapshot.py``) that
each write replaces with one new segment plus deletion marks, merged in the background
(``index/merge.py``) and checkpointed in the data directory (``index/checkpoint.py``).

On open the snapshot is read from the last checkpoint plus the commits logged after it, or
rebuilt from the database when the checkpoint is unusable: whatever a crash interrupted, the
last committed state is what opens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.backends.base import BackendContext
from index.checkpoint import SEGMENTS_DIR, Checkpoints, SavedSegment
from index.merge import MergePolicy
from index.models import Article, Passage
from index.pipeline import article_rows, passage_tokens, stored_rows
from index.rows import StoredArticle
from index.segment import ArticleRows, Segment
from index.snapshot import SegmentState, Snapshot
from index.vectors import remove_stale_temporaries

log = logging.getLogger(__name__)


class SegmentsBackend:
    """Segments searched in this process (``Backend``). ``checkpoint_seconds`` is how often
    the background round writes a checkpoint when the corpus changed."""

    def __init__(
        self, context: BackendContext, merge_policy: MergePolicy, checkpoint_seconds: float = 60.0
    ) -> None:
        self.context = context
        self.merge_policy = merge_policy
        self.checkpoint_seconds = checkpoint_seconds
        header = {
            "model": context.model_name,
            "query_model": context.query_model,
            "dimension": context.dimension,
            "index_config": context.config.as_dict(),
        }
        self.checkpoints = Checkpoints(context.data_dir, context.dimension, header)
        self._saving = threading.Lock()  # one checkpoint at a time
        for folder in (context.data_dir, context.data_dir / SEGMENTS_DIR):
            for path in remove_stale_temporaries(folder):
                log.info("removed %s, left by a writer that stopped mid-write", path)
        self._snapshot = self._load()
        if self.checkpoints.generation != self._snapshot.generation:
            self.checkpoints.write(self._snapshot)

    @property
    def view(self) -> Snapshot:
        """The current snapshot."""
        return self._snapshot

    def _tokens(self, article: Article, passage: Passage) -> list[str]:
        return passage_tokens(self.context.config, article, passage)

    # -- keeping up --------------------------------------------------------------------------

    def catch_up(self) -> bool:
        """Apply the commits other processes logged since the snapshot, reading only the
        articles they touched (everything when the log does not reach back that far)."""
        db = self.context.db
        current = self._snapshot.generation
        if db.generation == current:
            return False
        with db.reading():
            generation = db.generation
            if not self._replayable(current, generation):
                incremental = None
            else:
                changed = db.changed_since(current)
                incremental = (changed, db.load_articles(self.context.dimension, changed))
        if incremental is None:
            fresh = self._load()
            with self.context.locks.swap:
                self._snapshot = fresh
            return True
        changed, stored = incremental
        stored.sort(key=lambda s: s.rowids[0])
        segment = self._segment(stored)
        with self.context.locks.swap:
            self._snapshot = self._snapshot.changed(generation, changed, segment, self._tokens)
        return True

    def refresh(self) -> bool:
        """``catch_up``: nothing else to repair, the snapshot is built from the database."""
        return self.catch_up()

    def publish(self, generation: int, changed: Sequence[str], rows: Sequence[ArticleRows]) -> None:
        """One new segment of ``rows`` and deletion marks for the old versions."""
        segment = Segment.build(list(rows), self.context.dimension) if rows else None
        with self.context.locks.swap:
            self._snapshot = self._snapshot.changed(generation, changed, segment, self._tokens)

    def rebuild(self) -> Snapshot:
        """Read every article's vectors from the database, swap the snapshot and checkpoint it."""
        fresh = self._load(use_checkpoint=False)
        with self.context.locks.swap:
            self._snapshot = fresh
        self.checkpoints.write(fresh)
        return fresh

    # -- merging and checkpoints ---------------------------------------------------------------

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
            self.context.config.exact_below,
        )
        with self.context.locks.swap:
            now = self._snapshot
            same = len(now.states) >= last and all(
                a.segment is b.segment for a, b in zip(now.states[first:last], group, strict=True)
            )
            if not same:
                return False  # reloaded meanwhile; the next round picks again
            since: set[str] = set()
            for new, old in zip(now.states[first:last], group, strict=True):
                since |= new.deleted - old.deleted
            kept = [SegmentState(merged).without(since, self._tokens)] if len(merged) else []
            states = (*now.states[:first], *kept, *now.states[last:])
            self._snapshot = Snapshot(now.generation, states, self.context.dimension)
        return True

    def save(self) -> bool:
        """Write a checkpoint of the current snapshot if it changed since the last one. The
        segment files are written before the writer locks are taken: writers wait only for the
        manifest."""
        with self._saving:
            snapshot = self._snapshot
            if snapshot.generation == self.checkpoints.generation:
                return False
            self.checkpoints.save_segments(snapshot)
            with self.context.locks.exclusive():
                self.checkpoints.write(snapshot)
            return True

    def maintain(self) -> None:
        """Merge what the policy picks, then checkpoint when one is due."""
        while self.merge():
            pass
        due = time.monotonic() - self.checkpoints.written_at >= self.checkpoint_seconds
        if due and self._snapshot.generation != self.checkpoints.generation:
            self.save()

    def check_ready(self) -> dict[str, Any]:
        """Nothing outside this process to ask."""
        return {"vector_store": "faiss"}

    def close(self) -> None:
        """The segments are memory and files the checkpoint already wrote: nothing to release."""

    # -- loading -------------------------------------------------------------------------------

    def _segment(self, stored: Sequence[StoredArticle], *, whole: bool = False) -> Segment:
        """A segment of stored articles, in the order given; ``whole`` for one read at open
        (it may be the corpus, so large enough for an approximate index), else a small one of
        recent changes, searched exactly."""
        rows = [stored_rows(self.context.config, s) for s in stored]
        exact_below = self.context.config.exact_below if whole else None
        return Segment.build(rows, self.context.dimension, exact_below=exact_below)

    def _replayable(self, base: int, generation: int) -> bool:
        """Whether the change log holds every commit after ``base`` up to ``generation`` (call
        inside ``db.reading()``): a state at ``base`` can then be brought up to date."""
        if base == generation:
            return True
        oldest = self.context.db.oldest_change()
        return base < generation and oldest is not None and oldest <= base + 1

    def _load(self, use_checkpoint: bool = True) -> Snapshot:
        """The snapshot of everything committed: the checkpoint's segments, less what changed
        since, plus the changed articles read from the database; without a usable checkpoint,
        everything from the database. One read transaction, so one committed state."""
        db, dimension = self.context.db, self.context.dimension
        checkpoint = self.checkpoints.read() if use_checkpoint else None
        with db.reading():
            generation = db.generation
            if checkpoint is not None and not self._replayable(checkpoint[0], generation):
                log.warning("checkpoint does not match the database's log; rebuilding")
                checkpoint = None
            if checkpoint is None:
                segment = self._segment(db.load_articles(dimension), whole=True)
                states = [SegmentState(segment)] if len(segment) else []
                return Snapshot(generation, states, dimension)
            base, saved = checkpoint
            changed = set(db.changed_since(base))
            known = {
                s.article.id: s
                for s in db.load_articles(dimension, with_vectors=False)
                if s.article.id not in changed
            }
            states, covered = self._restore(saved, known)
            rest = sorted(changed.union(set(known) - covered))
            fresh = db.load_articles(dimension, rest)
        fresh.sort(key=lambda s: s.rowids[0])
        segment = self._segment(fresh, whole=True)
        if len(segment):
            states.append(SegmentState(segment))
        if not changed and set(known) == covered:
            self.checkpoints.generation = base  # the checkpoint is this very state
        return Snapshot(generation, states, dimension)

    def _restore(
        self, saved: Sequence[SavedSegment], known: dict[str, StoredArticle]
    ) -> tuple[list[SegmentState], set[str]]:
        """Segments of the checkpoint holding the ``known`` articles exactly as the database
        does (same passages, same sentences); returns them and the ids they hold."""
        config, dimension = self.context.config, self.context.dimension
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
                    vectors = item.index.matrix[first:last]
                    rows.append(
                        article_rows(
                            config,
                            stored.article,
                            stored.rowids,
                            stored.passages,
                            vectors,
                            sentences,
                        )
                    )
                    covered.add(stored.article.id)
                first = last
            # A segment read back whole keeps its name, so the next checkpoint does not rewrite it,
            # and its index as saved, so an approximate one is not built again.
            if sum(len(r.passages) for r in rows) == len(ids):
                segment = Segment.build(rows, dimension, name=item.name, index=item.index)
            else:
                segment = Segment.build(rows, dimension, exact_below=config.exact_below)
            if len(segment):
                states.append(SegmentState(segment))
        return states, covered
