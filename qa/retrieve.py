"""Passage retrieval over a corpus snapshot."""

from __future__ import annotations

import numpy as np

from index.corpus import Snapshot
from index.embed import Embedder, Vectors
from qa.models import Hit


class Retriever:
    """Ranks passages for a question by cosine similarity of their embeddings."""

    def __init__(self, embedder: Embedder) -> None:
        if not isinstance(embedder, Embedder):
            raise TypeError(f"embedder must implement the Embedder protocol, got {embedder!r}")
        self.embedder = embedder

    def encode(self, question: str) -> Vectors:
        """The question's vector: the one model call a question costs."""
        return self.embedder.embed_query(question)

    def search(self, snapshot: Snapshot, query_vector: Vectors, k: int) -> list[Hit]:
        """Return the ``k`` best passages, best first."""
        hits = []
        for rowid, score in snapshot.vectors.search(np.asarray(query_vector), k):
            passage = snapshot.passage(rowid)
            article, _ = snapshot.articles[passage.article_id]
            hits.append(
                Hit(rowid=rowid, passage=passage, article=article, score=score, dense=score)
            )
        return hits
