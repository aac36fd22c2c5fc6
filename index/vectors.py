"""The dense vector index: FAISS inner product over unit vectors, keyed by passage row id."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.errors import CorruptIndexError

try:
    import faiss
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the vector index needs FAISS: pip install faiss-cpu==1.15.1") from exc

Ids = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class VectorIndex:
    """Exact nearest-neighbour search by cosine similarity.

    Vectors are normalised before they get here, so inner product = cosine on unit vectors.
    """

    def __init__(self, dimension: int) -> None:
        if dimension < 1:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.dimension = dimension
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @classmethod
    def build(cls, ids: Sequence[int] | Ids, vectors: Vectors, dimension: int) -> VectorIndex:
        """Return a new index holding ``vectors`` under ``ids``."""
        index = cls(dimension)
        index.add(ids, vectors)
        return index

    def add(self, ids: Sequence[int] | Ids, vectors: Vectors) -> None:
        """Add vectors under the given (new) ids."""
        ids_arr = np.asarray(ids, dtype=np.int64)
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[1] != self.dimension or len(ids_arr) != len(vecs):
            raise ValueError(
                f"expected {len(ids_arr)} vectors of dimension {self.dimension}, got {vecs.shape}"
            )
        if len(ids_arr):
            self._index.add_with_ids(vecs, ids_arr)

    def remove(self, ids: Sequence[int] | Ids) -> int:
        """Remove the vectors with these ids; returns how many were removed."""
        ids_arr = np.asarray(ids, dtype=np.int64)
        if not len(ids_arr):
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids_arr)))

    def search(
        self, vector: Vectors, k: int, allowed: Ids | None = None
    ) -> list[tuple[int, float]]:
        """Return up to ``k`` ``(id, cosine)`` pairs, best first, among ``allowed`` ids if given."""
        if k < 1 or len(self) == 0:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        params = None
        if allowed is not None:
            if not len(allowed):
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))  # type: ignore[call-arg]
        scores, ids = self._index.search(query, min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def copy(self) -> VectorIndex:
        """Return an independent copy (writers change a copy while readers use the original)."""
        clone = VectorIndex(self.dimension)
        clone._index = faiss.clone_index(self._index)
        return clone

    def to_bytes(self) -> bytes:
        """Return the serialised index."""
        return bytes(faiss.serialize_index(self._index))

    def save(self, path: Path) -> bytes:
        """Write the index to ``path`` atomically; returns the bytes written."""
        data = self.to_bytes()
        atomic_write_bytes(path, data)
        return data

    @classmethod
    def from_bytes(cls, data: bytes, dimension: int) -> VectorIndex:
        """Read an index written by ``to_bytes``; raises ``CorruptIndexError`` if it is not one."""
        try:
            raw = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:
            raise CorruptIndexError(f"the vector index file cannot be read: {exc}") from exc
        if raw.d != dimension:
            raise CorruptIndexError(
                f"the vector index holds vectors of dimension {raw.d}, expected {dimension}"
            )
        index = cls(dimension)
        index._index = raw
        return index
