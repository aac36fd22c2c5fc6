"""The lexical index: BM25 (bm25s, Lucene variant) over the passages' stemmed words."""

from __future__ import annotations

import math
from collections.abc import Sequence

import bm25s
import numpy as np
import numpy.typing as npt

from index.text import tokenize


class LexicalIndex:
    """BM25 over a fixed list of texts; positions are the texts' order.

    Built from the stored passages with every snapshot, so it is always in step with the vectors.
    """

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(texts)
        tokens = [tokenize(t) for t in texts]
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        # bm25s cannot index an empty corpus; an empty index simply scores nothing.
        if self.size:
            self._bm25.index(tokens, show_progress=False)
        self._df: dict[str, int] = {}
        for doc in tokens:
            for term in set(doc):
                self._df[term] = self._df.get(term, 0) + 1

    def scores(self, query_terms: Sequence[str]) -> npt.NDArray[np.float32]:
        """BM25 score of every text for the (already tokenized) query."""
        if not self.size or not query_terms:
            return np.zeros(self.size, dtype=np.float32)
        known = [t for t in query_terms if t in self._df]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def idf(self, term: str) -> float:
        """Lucene's BM25 idf of a term (0 for a term no text holds)."""
        df = self._df.get(term, 0)
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
        known = sum(self.idf(t) for t in query_terms if t in self._df)
        total = known + unseen * sum(1 for t in query_terms if t not in self._df)
        return known / total if total > 0 else 0.0

    def known(self, term: str) -> bool:
        """Whether any text holds the term."""
        return term in self._df
