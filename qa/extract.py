"""Pick the sentence that best answers the question among the top passages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.models import Span
from index.snapshot import Snapshot
from qa.models import Hit
from qa.retrieve import Query


class SentencePicker:
    """Picks the sentence that best answers among the first ``passages`` hits.

    A sentence scores its cosine to the question (from the sentence vectors stored at ingest, so
    no model call) plus ``overlap_weight`` times the share of the question's words it holds,
    each word weighted by its IDF in the corpus, so rare words count and common ones barely do.
    """

    def __init__(self, passages: int = 3, overlap_weight: float = 0.4) -> None:
        if passages < 1:
            raise ValueError(f"passages must be at least 1, got {passages}")
        if overlap_weight < 0:
            raise ValueError(f"overlap_weight must not be negative, got {overlap_weight}")
        self.passages = passages
        self.overlap_weight = overlap_weight

    def pick(
        self, snapshot: Snapshot, query: Query, hits: Sequence[Hit]
    ) -> tuple[int, Span] | None:
        """Return ``(index into hits, sentence)`` of the best sentence, or None without hits."""
        idf = {t: snapshot.lexical.idf(t) for t in set(query.terms)}
        total = sum(idf.values())
        vector = np.asarray(query.vector, dtype=np.float32)
        best: tuple[float, int, Span] | None = None
        for i, hit in enumerate(hits[: self.passages]):
            cosines = snapshot.sentence_vectors(hit.position) @ vector
            terms = snapshot.sentence_terms(hit.position)
            for sentence, cosine, words in zip(hit.passage.sentences, cosines, terms, strict=True):
                shared = idf.keys() & words
                overlap = sum(idf[t] for t in shared) / total if total else 0.0
                score = float(cosine) + self.overlap_weight * overlap
                if best is None or score > best[0]:
                    best = (score, i, sentence)
        return None if best is None else (best[1], best[2])
