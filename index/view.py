"""What answering reads of a corpus: the surface both the embedded snapshot
(``index/snapshot.py``) and a Milvus-backed view (``index/milvus_view.py``) offer.

Positions name passages within one view: slots of the snapshot's segments, or database row ids
on Milvus. A position is only meaningful to the view that returned it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from index.arrays import Ids, Vectors
from index.lexical import TermStatistics
from index.models import Article, Passage, Where
from index.snapshot import Candidates


class CorpusView(Protocol):
    """A consistent, read-only view of the corpus that one question keeps to its end."""

    generation: int
    passage_count: int
    sentence_count: int
    article_count: int

    @property
    def lexical(self) -> TermStatistics: ...

    @property
    def centroid(self) -> Vectors: ...

    def with_acronyms(self, terms: Sequence[str]) -> tuple[str, ...]: ...

    def candidates(
        self,
        vector: Vectors,
        text: str,
        terms: Sequence[str],
        pool: int,
        dense: bool = True,
        lexical: bool = True,
        where: Where | None = None,
    ) -> Candidates: ...

    def passage(self, position: int) -> Passage: ...

    def rowid(self, position: int) -> int: ...

    def article_of(self, position: int) -> Article: ...

    def published_days(self, positions: Ids) -> npt.NDArray[np.float64]: ...

    def sentence_vectors(self, position: int) -> Vectors: ...

    def sentence_terms(self, position: int) -> tuple[frozenset[str], ...]: ...

    def article(self, article_id: str) -> tuple[Article, int] | None: ...

    def iter_articles(self) -> Iterator[tuple[Article, int]]: ...

    def article_page(self, offset: int, limit: int) -> list[tuple[Article, int]]: ...

    def iter_passages(self) -> Iterator[tuple[int, Passage]]: ...
