"""The read side of the corpus: an immutable snapshot of segments that a question keeps to its end.

A request takes ``corpus.snapshot`` once (one attribute read) and works on that object only; a
writer builds the next snapshot beside it and swaps the reference, so no reader ever takes a lock
or sees half an article. A snapshot is cheap to make: it shares every segment with the one before
and copies only the deletion mask of a segment that lost an article.

Positions: the snapshot numbers the passage slots of its segments one after another (a deleted
passage keeps its slot until its segment is merged); retrieval works in these positions.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from index.acronyms import Expansions, expand_acronyms, expansions_of
from index.arrays import Floats, Ids, Vectors
from index.lexical import Deletions, LexicalIndex, SegmentView
from index.models import Article, Passage, Where
from index.segment import Segment
from index.vectors import bitmap_selector

Tokens = Callable[[Article, Passage], Sequence[str]]


@dataclass(frozen=True)
class Candidates:
    """A question's candidate passages and each one's raw scores, to be fused by the caller:
    the passage cosine, its best sentence's cosine and BM25 (0 where not known to match)."""

    positions: Ids
    dense: Floats
    sentence: Floats
    lexical: Floats

    @classmethod
    def none(cls) -> Candidates:
        """No candidates."""
        empty = np.zeros(0, dtype=np.float32)
        return cls(np.zeros(0, dtype=np.int64), empty, empty, empty)


@dataclass(frozen=True)
class SegmentState:
    """A segment as one snapshot sees it: which of its articles are deleted."""

    segment: Segment
    live: npt.NDArray[np.bool_] | None = None  # None: nothing deleted
    deleted: frozenset[str] = frozenset()  # article ids
    deletions: Deletions = field(default_factory=Deletions)
    deleted_sentences: int = 0
    # The sum of the deleted passages' vectors, kept as deletions come (None: none deleted).
    removed_sum: npt.NDArray[np.float64] | None = field(default=None, compare=False)

    @cached_property
    def selector(self) -> tuple[Any, Any] | None:
        """The FAISS selector of the live rows (and the bits it reads), or None if all live."""
        return None if self.live is None else bitmap_selector(self.live)

    @property
    def vector_sum(self) -> npt.NDArray[np.float64]:
        """The sum of the live passages' vectors: the segment's, less its deleted ones."""
        total = self.segment.vector_sum
        return total if self.removed_sum is None else total - self.removed_sum

    @property
    def live_passages(self) -> int:
        """Passages not deleted."""
        return len(self.segment) - self.deletions.count

    def without(self, article_ids: Iterable[str], tokens: Tokens) -> SegmentState:
        """This state with more of its articles deleted (ids it does not hold are ignored)."""
        ranges = self.segment.article_ranges
        gone = [a for a in article_ids if a in ranges and a not in self.deleted]
        if not gone:
            return self
        live = np.ones(len(self.segment), dtype=bool) if self.live is None else self.live.copy()
        removed: list[Sequence[str]] = []
        sentences = 0
        bounds = self.segment.sentence_bounds
        matrix = self.segment.vectors.matrix
        removed_sum = np.zeros(matrix.shape[1]) if self.removed_sum is None else self.removed_sum
        for article_id in gone:
            first, last = ranges[article_id]
            live[first:last] = False
            removed_sum = removed_sum + matrix[first:last].sum(axis=0, dtype=np.float64)
            article = self.segment.articles[article_id]
            removed.extend(tokens(article, p) for p in self.segment.passages[first:last])
            sentences += int(bounds[last] - bounds[first])
        return SegmentState(
            segment=self.segment,
            live=live,
            deleted=self.deleted | frozenset(gone),
            deletions=self.deletions.plus(removed),
            deleted_sentences=self.deleted_sentences + sentences,
            removed_sum=removed_sum,
        )


class Snapshot:
    """A consistent, read-only view of the corpus at one generation."""

    def __init__(self, generation: int, states: Sequence[SegmentState], dimension: int) -> None:
        self.generation = generation
        self.dimension = dimension
        self.states: tuple[SegmentState, ...] = tuple(states)
        sizes = [len(s.segment) for s in self.states]
        self.offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=self.offsets[1:])
        self._starts = self.offsets.tolist()  # for one slot at a time: bisect beats numpy
        self.slots = int(self.offsets[-1])
        self.lexical = LexicalIndex(
            [
                SegmentView(s.segment.lexical, int(off), s.live, s.deletions)
                for s, off in zip(self.states, self.offsets, strict=False)
            ]
        )
        self.passage_count = sum(s.live_passages for s in self.states)
        self.sentence_count = sum(
            s.segment.sentence_count - s.deleted_sentences for s in self.states
        )
        self.article_count = sum(len(s.segment.articles) - len(s.deleted) for s in self.states)

    @cached_property
    def centroid(self) -> Vectors:
        """The direction of the mean live passage vector (unit length; zeros for an empty
        corpus): what the corpus is about as a whole. Summed per segment, so a write costs the
        passages it adds."""
        total = sum((s.vector_sum for s in self.states), np.zeros(self.dimension))
        norm = float(np.linalg.norm(total))
        return (total / norm if norm > 0 else total).astype(np.float32)

    @cached_property
    def acronyms(self) -> dict[str, tuple[str, ...]]:
        """Acronym token → its expansion's tokens, as the live articles define them (the first
        definition met wins when articles disagree)."""
        found: dict[str, tuple[str, ...]] = {}
        for state in self.states:
            for article_id, defined in state.segment.acronyms.items():
                if article_id not in state.deleted:
                    for acronym, expansion in defined.items():
                        found.setdefault(acronym, expansion)
        return found

    @cached_property
    def _expansions(self) -> Expansions:
        return expansions_of(self.acronyms)

    def with_acronyms(self, terms: Sequence[str]) -> tuple[str, ...]:
        """Query tokens with each acronym's expansion added, and each spelled-out expansion's
        acronym, where the corpus defines them (``expand_acronyms``)."""
        return expand_acronyms(terms, self.acronyms, self._expansions)

    # -- positions -----------------------------------------------------------------------------

    def _locate(self, position: int) -> tuple[SegmentState, int]:
        if not 0 <= position < self.slots:
            raise IndexError(f"position {position} is outside the snapshot's {self.slots} slots")
        i = bisect.bisect_right(self._starts, position) - 1
        return self.states[i], position - self._starts[i]

    def _groups(self, positions: Ids) -> Iterator[tuple[int, SegmentState, Ids, Ids]]:
        """``(segment index, state, indices into positions, local positions)`` per segment."""
        if len(self.states) == 1:  # a small corpus, or one just merged: no grouping to do
            yield 0, self.states[0], np.arange(len(positions)), positions
            return
        seg = np.searchsorted(self.offsets, positions, side="right") - 1
        for i in np.unique(seg):
            where = np.flatnonzero(seg == i)
            yield int(i), self.states[i], where, positions[where] - self.offsets[i]

    def is_live(self, position: int) -> bool:
        """Whether the passage in this slot is not deleted."""
        state, local = self._locate(position)
        return state.live is None or bool(state.live[local])

    def passage(self, position: int) -> Passage:
        """The passage in a slot."""
        state, local = self._locate(position)
        return state.segment.passages[local]

    def rowid(self, position: int) -> int:
        """The database row id of the passage in a slot."""
        state, local = self._locate(position)
        return int(state.segment.rowids[local])

    def article_of(self, position: int) -> Article:
        """The article (metadata only) of the passage in a slot."""
        state, local = self._locate(position)
        return state.segment.articles[state.segment.passages[local].article_id]

    def published_days(self, positions: Ids) -> npt.NDArray[np.float64]:
        """The publication day number of each slot's article (NaN for an undated one)."""
        out = np.empty(len(positions), dtype=np.float64)
        for _, state, where, local in self._groups(positions):
            out[where] = state.segment.published_days[local]
        return out

    def vectors(self, positions: Ids) -> Vectors:
        """The passage vectors in these slots, one row each."""
        out = np.empty((len(positions), self.dimension), dtype=np.float32)
        for _, state, where, local in self._groups(positions):
            out[where] = state.segment.vectors.matrix[local]
        return out

    def sentence_vectors(self, position: int) -> Vectors:
        """The vectors of a passage's sentences, one row per sentence."""
        state, local = self._locate(position)
        bounds = state.segment.sentence_bounds
        return state.segment.sentence_vectors[bounds[local] : bounds[local + 1]]

    def sentence_terms(self, position: int) -> tuple[frozenset[str], ...]:
        """The word sets of a passage's sentences (tokenized once per segment)."""
        state, local = self._locate(position)
        return state.segment.sentence_terms(local)

    def best_sentence_cosines(self, positions: Ids, vector: Vectors) -> npt.NDArray[np.float32]:
        """For each slot, the cosine of its sentence closest to ``vector``."""
        out = np.empty(len(positions), dtype=np.float32)
        for _, state, where, local in self._groups(positions):
            bounds = state.segment.sentence_bounds
            starts, ends = bounds[local], bounds[local + 1]
            rows, offsets = _ranges(starts, ends)
            cosines = state.segment.sentence_vectors[rows] @ vector
            # Every passage holds at least one sentence, so each range is non-empty.
            out[where] = np.maximum.reduceat(cosines, offsets)
        return out

    def dense_search(
        self, vector: Vectors, k: int, allowed: Ids | None = None
    ) -> tuple[Ids, npt.NDArray[np.float32]]:
        """Slots and cosines of the ``k`` live passages nearest ``vector``, best first, among
        the ``allowed`` slots if given."""
        found: list[tuple[float, int]] = []
        if allowed is None:
            for state, offset in zip(self.states, self.offsets, strict=False):
                index = state.segment.vectors
                selector = state.selector
                if selector is None:
                    rows, scores = index.search(vector, k)
                else:
                    rows, scores = index.search(vector, k, selector[0], state.live_passages)
                found.extend(zip(scores.tolist(), (rows + offset).tolist(), strict=True))
        elif len(allowed):
            for i, state, _, local in self._groups(np.unique(allowed)):
                if state.live is not None:
                    local = local[state.live[local]]
                if not len(local):
                    continue
                rows, scores = state.segment.vectors.search_rows(vector, k, local)
                start = int(self.offsets[i])
                found.extend(zip(scores.tolist(), (rows + start).tolist(), strict=True))
        best = heapq.nlargest(k, found)
        return (
            np.asarray([p for _, p in best], dtype=np.int64),
            np.asarray([s for s, _ in best], dtype=np.float32),
        )

    def allowed(self, where: Where) -> Ids:
        """The slots of the live passages of the articles ``where`` admits, ascending."""
        if where.only_ids:
            # The common case (one article picked on the chat page): no scan of the articles.
            return self.positions_of(where.article_ids or ())
        return self.positions_matching(
            where.article_ids, where.outlet, where.author, where.published_from, where.published_to
        )

    def candidates(
        self,
        vector: Vectors,
        text: str,
        terms: Sequence[str],
        pool: int,
        dense: bool = True,
        lexical: bool = True,
        where: Where | None = None,
    ) -> Candidates:
        """The ``pool`` best passages by cosine (``dense``) and by BM25 over ``terms``
        (``lexical``), among those ``where`` admits, with their scores; BM25 is scored for
        every candidate. ``text`` (the question's words) is what a full-text engine would
        read; here the tokens are used."""
        lexical_all = self.lexical.scores(terms)
        allowed = None
        if where is not None:
            allowed = self.allowed(where)
            if not len(allowed):
                return Candidates.none()
            mask = np.zeros(len(lexical_all), dtype=bool)
            mask[allowed] = True
            lexical_all = np.where(mask, lexical_all, 0.0).astype(np.float32)
        found: list[int] = []
        if dense:
            positions, _ = self.dense_search(vector, pool, allowed)
            found.extend(positions.tolist())
        if lexical:
            n = min(pool, len(lexical_all))
            if n:
                top = np.argpartition(-lexical_all, n - 1)[:n]
                found.extend(int(p) for p in top if lexical_all[p] > 0)
        positions = np.asarray(sorted(set(found)), dtype=np.int64)
        if not len(positions):
            return Candidates.none()
        return Candidates(
            positions,
            self.vectors(positions) @ vector,
            self.best_sentence_cosines(positions, vector),
            lexical_all[positions],
        )

    # -- articles ------------------------------------------------------------------------------

    def article(self, article_id: str) -> tuple[Article, int] | None:
        """An article's metadata and passage count, or None if it is not in the snapshot."""
        for state in reversed(self.states):
            found = state.segment.article_ranges.get(article_id)
            if found is not None and article_id not in state.deleted:
                return state.segment.articles[article_id], found[1] - found[0]
        return None

    def iter_articles(self) -> Iterator[tuple[Article, int]]:
        """Every live article with its passage count, in id order."""

        def live_ids(i: int, state: SegmentState) -> Iterator[tuple[str, int]]:
            return ((a, i) for a in state.segment.sorted_ids if a not in state.deleted)

        lists = [live_ids(i, s) for i, s in enumerate(self.states)]
        for article_id, i in heapq.merge(*lists):
            segment = self.states[i].segment
            first, last = segment.article_ranges[article_id]
            yield segment.articles[article_id], last - first

    def article_page(self, offset: int, limit: int) -> list[tuple[Article, int]]:
        """A page of ``iter_articles``; empty past the end, however far (``islice`` takes no
        offset beyond ``sys.maxsize``)."""
        if offset >= self.article_count:
            return []
        return list(itertools.islice(self.iter_articles(), offset, offset + limit))

    @cached_property
    def articles(self) -> dict[str, tuple[Article, int]]:
        """Every live article with its passage count, by id in id order (built on first use:
        listings that page should use ``article_page``)."""
        return {a.id: (a, n) for a, n in self.iter_articles()}

    def iter_passages(self) -> Iterator[tuple[int, Passage]]:
        """Every live passage with its slot, in slot order."""
        for state, offset in zip(self.states, self.offsets, strict=False):
            for local, passage in enumerate(state.segment.passages):
                if state.live is None or state.live[local]:
                    yield int(offset) + local, passage

    def positions_of(self, article_ids: Iterable[str]) -> Ids:
        """The slots of these articles' passages (unknown ids are ignored), ascending."""
        parts: list[Ids] = []
        wanted = set(article_ids)
        for state, offset in zip(self.states, self.offsets, strict=False):
            ranges = state.segment.article_ranges
            for article_id in wanted.intersection(ranges).difference(state.deleted):
                first, last = ranges[article_id]
                parts.append(np.arange(first, last, dtype=np.int64) + offset)
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def positions_matching(
        self,
        article_ids: Iterable[str] | None = None,
        outlet: str | None = None,
        author: str | None = None,
        published_from: str | None = None,
        published_to: str | None = None,
    ) -> Ids:
        """The slots of the live articles' passages that match every given field (as
        ``ArticleTable.matching``; ``article_ids`` keeps only those), ascending. Compares
        whole segments' columns at once: no Python loop over the articles."""
        wanted = None if article_ids is None else np.array(sorted(set(article_ids)), dtype=np.str_)
        parts: list[Ids] = []
        for state, offset in zip(self.states, self.offsets, strict=False):
            table = state.segment.article_table
            keep = table.matching(outlet, author, published_from, published_to)
            if wanted is not None:
                keep &= np.isin(table.ids, wanted)
            if state.deleted:
                keep &= ~np.isin(table.ids, np.array(sorted(state.deleted), dtype=np.str_))
            chosen = np.flatnonzero(keep)
            if not len(chosen):
                continue
            rows, _ = _ranges(table.first[chosen], table.last[chosen])
            parts.append(rows + int(offset))
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    # -- the write side's transitions ------------------------------------------------------------

    def changed(
        self,
        generation: int,
        removed: Iterable[str],
        added: Segment | None,
        tokens: Tokens,
    ) -> Snapshot:
        """The next snapshot: articles ``removed`` (their older versions) marked deleted and the
        ``added`` segment appended. Costs what it changes, not the corpus."""
        gone = set(removed)
        states = [s.without(gone, tokens) if gone else s for s in self.states]
        if added is not None and len(added):
            states.append(SegmentState(added))
        return Snapshot(generation, states, self.dimension)


def _ranges(starts: Ids, ends: Ids) -> tuple[Ids, Ids]:
    """The ranges ``starts[i]:ends[i]`` one after another as one array, with where each begins
    in it: numpy's repeat and cumsum instead of an ``arange`` per range."""
    lengths = ends - starts
    begins = np.cumsum(lengths) - lengths
    rows = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - begins, lengths)
    return rows, begins
