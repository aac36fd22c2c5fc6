"""Pick the sentence that best answers the question among the top passages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.corpus import Snapshot
from index.embed import Vectors
from index.models import Span
from index.text import tokenize
from qa.models import Hit


class SentencePicker:
    """Scores each sentence of the first ``passages`` hits by cosine to the question (from the
    sentence vectors stored at ingest, so no extra model call) plus the share of the question's
    words it contains, and returns the best one."""

    def __init__(self, passages: int = 3, overlap_weight: float = 0.3) -> None:
        if passages < 1:
            raise ValueError(f"passages must be at least 1, got {passages}")
        if overlap_weight < 0:
            raise ValueError(f"overlap_weight must not be negative, got {overlap_weight}")
        self.passages = passages
        self.overlap_weight = overlap_weight

    def pick(
        self, snapshot: Snapshot, question: str, query_vector: Vectors, hits: Sequence[Hit]
    ) -> tuple[int, Span] | None:
        """Return ``(index into hits, sentence)`` of the best sentence, or None without hits."""
        terms = set(tokenize(question))
        best: tuple[float, int, Span] | None = None
        query = np.asarray(query_vector, dtype=np.float32)
        for i, hit in enumerate(hits[: self.passages]):
            cosines = snapshot.sentence_vectors(hit.rowid) @ query
            for sentence, cosine in zip(hit.passage.sentences, cosines, strict=True):
                overlap = len(terms & set(tokenize(sentence.text))) / len(terms) if terms else 0.0
                score = float(cosine) + self.overlap_weight * overlap
                if best is None or score > best[0]:
                    best = (score, i, sentence)
        return None if best is None else (best[1], best[2])
