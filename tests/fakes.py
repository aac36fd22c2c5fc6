"""A tiny deterministic embedder for fast tests: hashed bag of words, unit length."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence

import numpy as np

from index.embed import Vectors
from index.models import Entity
from index.text import tokenize


class FakeEmbedder:
    """Each word maps to a fixed random vector seeded by its hash; a text is their normalised sum,
    so texts sharing words are close, which is enough to rank passages in tests."""

    name = "fake-bag-of-words"
    dimension = 64

    def __init__(self) -> None:
        self.calls = 0

    def _word(self, word: str) -> Vectors:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def _text(self, text: str) -> Vectors:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in tokenize(text):
            vector += self._word(word)
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            vector[0] = 1.0
            return vector
        return vector / norm

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._text(t) for t in texts])

    def embed_query(self, text: str) -> Vectors:
        return self.embed_passages([text])[0]


class FakeTagger:
    """Tags each run of capitalised words as a PERSON and each number as CARDINAL: enough to
    check that entities are stored and moved into article offsets."""

    name = "fake-capitals"

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        return [
            [
                Entity(m.start(), m.end(), "CARDINAL" if m.group()[0].isdigit() else "PERSON")
                for m in re.finditer(r"\b(?:[A-Z][a-z]+(?: [A-Z][a-z]+)*|\d+)\b", text)
            ]
            for text in texts
        ]


class SlowFakeEmbedder(FakeEmbedder):
    """The fake embedder taking ``seconds`` over every call: an ingest that lasts long enough
    to be interrupted."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        time.sleep(self.seconds)
        return super().embed_passages(texts)
