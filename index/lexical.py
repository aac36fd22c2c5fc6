"""The lexical index: BM25 (Lucene's variant) over the passages' stemmed words, kept in segments.

bm25s precomputes every (term, passage) score with the corpus-wide IDF baked in, so one new
article would mean re-indexing the whole corpus. Here each segment keeps raw postings (term
frequencies and passage lengths) and the collection statistics (passage count, document
frequencies, average length) are summed over the segments of a snapshot at question time, with
deleted passages subtracted. Adding an article builds postings for that article alone; deleting one
subtracts its terms; both give exactly the scores a full rebuild would (``tests/index`` checks this
against bm25s itself).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from index.arrays import Floats, Ids
from index.text import tokenize

K1 = 1.2
B = 0.75

Positions = Ids  # positions within a segment


@dataclass(frozen=True)
class LexicalSegment:
    """Postings of one immutable block of texts; positions are the texts' order in the block."""

    # term -> (positions holding it, ascending; its frequency at each)
    postings: Mapping[str, tuple[npt.NDArray[np.int32], Floats]]
    lengths: Floats  # tokens per text

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]]) -> LexicalSegment:
        """Postings of texts already tokenized (``index.text.tokenize``)."""
        positions: dict[str, list[int]] = {}
        freqs: dict[str, list[int]] = {}
        for i, tokens in enumerate(token_lists):
            for term, tf in Counter(tokens).items():
                positions.setdefault(term, []).append(i)
                freqs.setdefault(term, []).append(tf)
        postings = {
            t: (np.asarray(p, dtype=np.int32), np.asarray(freqs[t], dtype=np.float32))
            for t, p in positions.items()
        }
        lengths = np.asarray([len(t) for t in token_lists], dtype=np.float32)
        return cls(postings, lengths)

    @classmethod
    def merge(cls, parts: Sequence[tuple[LexicalSegment, npt.NDArray[np.bool_]]]) -> LexicalSegment:
        """One segment from the live texts of several, in order (``live`` masks per part)."""
        lists: dict[str, list[tuple[npt.NDArray[np.int32], Floats]]] = {}
        lengths: list[Floats] = []
        offset = 0
        for segment, live in parts:
            # New position of each old one: its rank among the live texts, after the earlier parts.
            remap = (np.cumsum(live) - 1 + offset).astype(np.int32)
            for term, (pos, tf) in segment.postings.items():
                keep = live[pos]
                if keep.any():
                    lists.setdefault(term, []).append((remap[pos[keep]], tf[keep]))
            lengths.append(segment.lengths[live])
            offset += int(live.sum())
        postings = {
            t: (np.concatenate([p for p, _ in ps]), np.concatenate([f for _, f in ps]))
            for t, ps in lists.items()
        }
        empty = np.zeros(0, dtype=np.float32)
        return cls(postings, np.concatenate(lengths) if lengths else empty)

    def __len__(self) -> int:
        return len(self.lengths)

    def df(self, term: str) -> int:
        """How many texts of the segment hold the term (deleted ones included)."""
        found = self.postings.get(term)
        return 0 if found is None else len(found[0])


@dataclass(frozen=True)
class Deletions:
    """What a segment's deleted texts take out of the collection statistics."""

    count: int = 0
    length: float = 0.0
    df: Mapping[str, int] = field(default_factory=dict)

    def plus(self, token_lists: Iterable[Sequence[str]]) -> Deletions:
        """These statistics with more texts deleted (a copy; the receiver is left as it is)."""
        df = dict(self.df)
        count, length = self.count, self.length
        for tokens in token_lists:
            count += 1
            length += len(tokens)
            for term in set(tokens):
                df[term] = df.get(term, 0) + 1
        return Deletions(count, length, df)


@dataclass(frozen=True)
class SegmentView:
    """A lexical segment as one snapshot sees it: its postings, which texts are live, where its
    positions start in the snapshot, and what its deleted texts take out of the statistics."""

    segment: LexicalSegment
    offset: int
    live: npt.NDArray[np.bool_] | None  # None: every text is live
    deletions: Deletions


class TermStatistics:
    """Lucene's BM25 idf and what follows from it, over a collection of ``size`` texts whose
    document frequencies ``df`` gives (subclasses say where they come from)."""

    size: int
    avg_length: float
    k1: float = K1
    b: float = B

    def df(self, term: str) -> int:
        """How many live texts hold the term."""
        raise NotImplementedError

    def score_texts(
        self, query_terms: Sequence[str], texts: Sequence[tuple[Mapping[str, int], int]]
    ) -> Floats:
        """BM25 of the query for each text given as (its term frequencies, its length in
        tokens), with these collection statistics: what ``LexicalIndex.scores`` gives the same
        texts, for texts held elsewhere."""
        out = np.zeros(len(texts), dtype=np.float32)
        if not self.size or not query_terms:
            return out
        weights = Counter(t for t in query_terms if self.df(t) > 0)
        norm = np.float32(self.avg_length or 1.0)
        lengths = np.asarray([n for _, n in texts], dtype=np.float32)
        for term, times in weights.items():
            tf = np.asarray([f.get(term, 0) for f, _ in texts], dtype=np.float32)
            idf = np.float32(self.idf(term) * times)
            denom = tf + self.k1 * ((1 - self.b) + self.b * lengths / norm)
            out += idf * tf / denom
        return out

    def idf(self, term: str) -> float:
        """Lucene's BM25 idf of a term (0 for a term no live text holds)."""
        df = self.df(term)
        if df == 0:
            return 0.0
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def coverage(self, query_terms: Sequence[str]) -> float:
        """Share of the query's IDF mass that the texts hold: a word no text holds counts with
        the highest IDF possible, so a question resting on unknown words scores near 0 and one
        whose words all occur scores 1 (0 for a query without words)."""
        if not query_terms:
            return 0.0
        unseen = math.log(1 + (self.size + 0.5) / 0.5)
        known = sum(self.idf(t) for t in query_terms if self.known(t))
        total = known + unseen * sum(1 for t in query_terms if not self.known(t))
        return known / total if total > 0 else 0.0

    def known(self, term: str) -> bool:
        """Whether any live text holds the term."""
        return self.df(term) > 0


class TermCounts(TermStatistics):
    """Statistics read from elsewhere (a database): ``lookup`` gives the document frequencies
    of several terms at once (absent: none); each is asked once for the object's lifetime."""

    def __init__(
        self,
        size: int,
        lookup: Callable[[Sequence[str]], Mapping[str, int]],
        avg_length: float = 0.0,
    ) -> None:
        self.size = size
        self.avg_length = avg_length
        self._lookup = lookup
        self._df: dict[str, int] = {}

    def _fetch(self, terms: Iterable[str]) -> None:
        wanted = [t for t in dict.fromkeys(terms) if t not in self._df]
        if wanted:
            found = self._lookup(wanted)
            self._df.update({t: int(found.get(t, 0)) for t in wanted})

    def df(self, term: str) -> int:
        """How many texts hold the term."""
        self._fetch([term])
        return self._df[term]

    def coverage(self, query_terms: Sequence[str]) -> float:
        """As ``TermStatistics.coverage``, with the terms looked up in one call."""
        self._fetch(query_terms)
        return super().coverage(query_terms)


class LexicalIndex(TermStatistics):
    """BM25 over the live texts of several segments, addressed by snapshot position.

    Built once per snapshot from segment views (cheap: it only adds up sizes); per-term document
    frequencies are computed on first use and remembered for the snapshot's lifetime.
    """

    def __init__(self, views: Sequence[SegmentView], k1: float = K1, b: float = B) -> None:
        self._views = tuple(views)
        self.k1, self.b = k1, b
        self.slots = sum(len(v.segment) for v in self._views)
        self.size = self.slots - sum(v.deletions.count for v in self._views)
        total = sum(float(v.segment.lengths.sum()) - v.deletions.length for v in self._views)
        self.avg_length = total / self.size if self.size else 0.0
        self._df: dict[str, int] = {}

    @classmethod
    def of_texts(cls, texts: Sequence[str]) -> LexicalIndex:
        """An index of one segment holding these texts."""
        segment = LexicalSegment.build([tokenize(t) for t in texts])
        return cls([SegmentView(segment, 0, None, Deletions())])

    def df(self, term: str) -> int:
        """How many live texts hold the term."""
        cached = self._df.get(term)
        if cached is None:
            cached = sum(v.segment.df(term) - v.deletions.df.get(term, 0) for v in self._views)
            self._df[term] = cached
        return cached

    def scores(self, query_terms: Sequence[str]) -> Floats:
        """BM25 score of every snapshot position for the (already tokenized) query; deleted
        positions score 0. A term repeated in the query counts each time, as in bm25s."""
        out = np.zeros(self.slots, dtype=np.float32)
        if not self.size or not query_terms:
            return out
        weights = Counter(t for t in query_terms if self.df(t) > 0)
        norm = np.float32(self.avg_length or 1.0)
        for view in self._views:
            lengths = view.segment.lengths
            for term, times in weights.items():
                found = view.segment.postings.get(term)
                if found is None:
                    continue
                pos, tf = found
                idf = np.float32(self.idf(term) * times)
                denom = tf + self.k1 * ((1 - self.b) + self.b * lengths[pos] / norm)
                out[view.offset + pos] += idf * tf / denom
            if view.live is not None:
                out[view.offset : view.offset + len(lengths)] *= view.live
        return out
