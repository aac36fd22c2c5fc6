"""Segments: immutable blocks of passages with everything a question needs of them.

A write adds a segment holding the articles it wrote (their passages, vectors, sentence vectors,
postings and metadata) and never touches the segments already published; a deletion only marks
passages dead in the snapshot. Small segments are merged in the background, the way Lucene merges
its segments, so a corpus built by many small writes is searched as a few large blocks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from index.acronyms import defined_tokens
from index.arrays import Ids, Vectors
from index.lexical import LexicalSegment
from index.models import Article, Passage, published_day
from index.text import tokenize
from index.vectors import VectorIndex, build_index


@dataclass(frozen=True)
class ArticleRows:
    """One article as a segment is built from it: metadata, passages and their vectors."""

    article: Article  # metadata only; ``text`` is empty
    rowids: Sequence[int]
    passages: Sequence[Passage]
    vectors: Vectors  # one row per passage
    sentence_vectors: Sequence[Vectors]  # per passage, one row per sentence
    tokens: Sequence[Sequence[str]]  # per passage, the tokens of its indexed text


@dataclass(frozen=True)
class ArticleTable:
    """A segment's articles as columns, in segment order: what filters compare, compared for all
    articles at once by numpy instead of one article at a time in Python."""

    ids: npt.NDArray[np.str_]
    outlets: npt.NDArray[np.str_]  # case-folded; "" when unknown
    authors: npt.NDArray[np.str_]  # case-folded; "" when unknown
    days: npt.NDArray[np.str_]  # "YYYY-MM-DD"; "" when undated
    first: Ids  # the article's first passage position in the segment
    last: Ids  # one past its last

    @classmethod
    def of(cls, articles: Sequence[Article], ranges: dict[str, tuple[int, int]]) -> ArticleTable:
        """The table of these articles, with their passage ranges."""
        bounds = np.array([ranges[a.id] for a in articles], dtype=np.int64).reshape(-1, 2)
        return cls(
            ids=np.array([a.id for a in articles], dtype=np.str_),
            outlets=np.array([(a.outlet or "").casefold() for a in articles], dtype=np.str_),
            authors=np.array([(a.author or "").casefold() for a in articles], dtype=np.str_),
            days=np.array([(a.published or "")[:10] for a in articles], dtype=np.str_),
            first=bounds[:, 0],
            last=bounds[:, 1],
        )

    def matching(
        self,
        outlet: str | None = None,
        author: str | None = None,
        published_from: str | None = None,
        published_to: str | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Which articles match: the outlet equal and the author a substring, ignoring case;
        the day within the inclusive bounds (an undated article fails a date bound)."""
        keep = np.ones(len(self.ids), dtype=bool)
        if not len(keep):
            return keep
        if outlet is not None:
            keep &= self.outlets == outlet.casefold()
        if author is not None:
            keep &= np.strings.find(self.authors, author.casefold()) >= 0
        if published_from is not None or published_to is not None:
            keep &= self.days != ""
            if published_from is not None:
                keep &= self.days >= published_from
            if published_to is not None:
                keep &= self.days <= published_to
        return keep


@dataclass(frozen=True)
class Segment:
    """Passages of some articles, each article's passages contiguous and in row id order."""

    rowids: Ids
    passages: tuple[Passage, ...]
    vectors: VectorIndex  # position in the segment = id in the FAISS index
    sentence_bounds: Ids  # sentences of passage i: rows bounds[i]:bounds[i+1]
    sentence_vectors: Vectors
    lexical: LexicalSegment
    articles: dict[str, Article]  # in the order their passages appear
    article_ranges: dict[str, tuple[int, int]]  # id -> [first, last + 1) passage positions
    sorted_ids: tuple[str, ...]  # article ids in id order, for listings
    name: str  # its files' name once checkpointed (index/checkpoint.py)
    # Words of each passage's sentences, tokenized on first use and kept with the segment, which
    # every later snapshot shares (the answer picker asks for the same passages again and again).
    _sentence_terms: dict[int, tuple[frozenset[str], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def sentence_terms(self, position: int) -> tuple[frozenset[str], ...]:
        """The word sets (``index.text.tokenize``) of a passage's sentences."""
        found = self._sentence_terms.get(position)
        if found is None:
            sentences = self.passages[position].sentences
            found = tuple(frozenset(tokenize(s.text)) for s in sentences)
            self._sentence_terms[position] = found
        return found

    @cached_property
    def acronyms(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """The acronyms its passages spell out, per article: article id → acronym token →
        the expansion's tokens ("cpec" → ("china", "pakistan", "econom", "corridor"))."""
        found: dict[str, dict[str, tuple[str, ...]]] = {}
        for passage in self.passages:
            defined = defined_tokens(passage.text)
            if defined:
                found.setdefault(passage.article_id, {}).update(defined)
        return found

    @cached_property
    def vector_sum(self) -> npt.NDArray[np.float64]:
        """The sum of the passage vectors, once per segment (snapshots sum these into the
        corpus centroid)."""
        total: npt.NDArray[np.float64] = self.vectors.matrix.sum(axis=0, dtype=np.float64)
        return total

    @cached_property
    def article_table(self) -> ArticleTable:
        """Its articles' filterable fields as arrays, built once per segment."""
        return ArticleTable.of(list(self.articles.values()), self.article_ranges)

    @cached_property
    def published_days(self) -> npt.NDArray[np.float64]:
        """Per passage, its article's publication day number (NaN when undated): what the
        recency tie-break reads for a whole candidate pool at once."""
        days = {a.id: published_day(a.published) for a in self.articles.values()}
        return np.array([days[p.article_id] for p in self.passages], dtype=np.float64)

    @property
    def sentence_count(self) -> int:
        """Sentences of all the segment's passages."""
        return int(self.sentence_bounds[-1])

    def __len__(self) -> int:
        return len(self.passages)

    @classmethod
    def _ready(cls, **fields: Any) -> Segment:
        """The segment with what questions read of it as a whole (its vector sum, its acronyms)
        worked out now, by the writer or merger that builds it, not by the first reader."""
        segment = cls(**fields)
        _ = segment.vector_sum, segment.acronyms, segment.published_days, segment.article_table
        return segment

    @classmethod
    def build(
        cls,
        rows: Sequence[ArticleRows],
        dimension: int,
        name: str | None = None,
        *,
        exact_below: int | None = None,
        index: VectorIndex | None = None,
    ) -> Segment:
        """A segment of these articles' passages, in the order given (a new ``name`` unless
        one is given: a segment read back from a checkpoint keeps its own).

        Its vectors are searched exactly below ``exact_below`` passages (always when None, as
        for a write's small segment) and through an approximate index from there on; ``index``,
        when given, is the index of exactly these passages' vectors (read back with them).
        """
        passages: list[Passage] = []
        rowids: list[int] = []
        sentence_blocks: list[Vectors] = []
        counts: list[int] = []
        tokens: list[Sequence[str]] = []
        ranges: dict[str, tuple[int, int]] = {}
        for item in rows:
            ranges[item.article.id] = (len(passages), len(passages) + len(item.passages))
            passages.extend(item.passages)
            rowids.extend(item.rowids)
            sentence_blocks.extend(item.sentence_vectors)
            counts.extend(len(v) for v in item.sentence_vectors)
            tokens.extend(item.tokens)
        if index is None:
            index = build_index(
                (
                    np.concatenate([r.vectors for r in rows]).astype(np.float32, copy=False)
                    if rows
                    else np.zeros((0, dimension), dtype=np.float32)
                ),
                exact_below,
            )
        elif len(index) != len(passages):
            raise ValueError(f"an index of {len(index)} vectors for {len(passages)} passages")
        bounds = np.zeros(len(passages) + 1, dtype=np.int64)
        np.cumsum(counts, out=bounds[1:])
        sentences = (
            np.concatenate(sentence_blocks).astype(np.float32, copy=False)
            if sentence_blocks
            else np.zeros((0, dimension), dtype=np.float32)
        )
        return cls._ready(
            rowids=np.asarray(rowids, dtype=np.int64),
            passages=tuple(passages),
            vectors=index,
            sentence_bounds=bounds,
            sentence_vectors=sentences,
            lexical=LexicalSegment.build(tokens),
            articles={r.article.id: r.article for r in rows},
            article_ranges=ranges,
            sorted_ids=tuple(sorted(ranges)),
            name=name or uuid.uuid4().hex,
        )

    @classmethod
    def merge(
        cls,
        parts: Sequence[tuple[Segment, npt.NDArray[np.bool_]]],
        exact_below: int | None = None,
    ) -> Segment:
        """One segment from the live passages of several, in order; dead ones are dropped. Its
        vectors get an approximate index from ``exact_below`` passages on (none when None)."""
        passages: list[Passage] = []
        rowids: list[Ids] = []
        vectors: list[Vectors] = []
        sentence_rows: list[Vectors] = []
        counts: list[Ids] = []
        articles: dict[str, Article] = {}
        ranges: dict[str, tuple[int, int]] = {}
        for segment, live in parts:
            for article in segment.articles.values():
                first, last = segment.article_ranges[article.id]
                if not live[first:last].all():
                    continue  # deletions are whole articles: this one is gone
                start = len(passages)
                ranges[article.id] = (start, start + last - first)
                articles[article.id] = article
                passages.extend(segment.passages[first:last])
            keep = np.flatnonzero(live)
            rowids.append(segment.rowids[keep])
            vectors.append(segment.vectors.matrix[keep])
            bounds = segment.sentence_bounds
            counts.append(bounds[keep + 1] - bounds[keep])
            if len(keep):
                rows = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in keep])
                sentence_rows.append(segment.sentence_vectors[rows])
        dimension = parts[0][0].vectors.dimension
        all_counts = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
        sentence_bounds = np.zeros(len(passages) + 1, dtype=np.int64)
        np.cumsum(all_counts, out=sentence_bounds[1:])
        return cls._ready(
            rowids=np.concatenate(rowids),
            passages=tuple(passages),
            vectors=build_index(np.concatenate(vectors), exact_below),
            sentence_bounds=sentence_bounds,
            sentence_vectors=(
                np.concatenate(sentence_rows)
                if sentence_rows
                else np.zeros((0, dimension), dtype=np.float32)
            ),
            lexical=LexicalSegment.merge([(s.lexical, live) for s, live in parts]),
            articles=articles,
            article_ranges=ranges,
            sorted_ids=tuple(sorted(ranges)),
            name=uuid.uuid4().hex,
        )
