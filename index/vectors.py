"""The dense vector index: FAISS inner product over unit vectors, one flat index per segment."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    import faiss
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the vector index needs FAISS: pip install faiss-cpu==1.15.1") from exc

Ids = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]


def set_threads(threads: int) -> None:
    """The size of FAISS's OpenMP pool for this process: what builds and batch searches use. A
    single question's search runs on the calling thread whatever the pool."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    faiss.omp_set_num_threads(threads)


_TEMPORARY = re.compile(r"\A\..+\.tmp-(\d+)\Z")  # ".<name>.tmp-<pid>", as written below


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one
    (and a temporary file beside it, which ``remove_stale_temporaries`` clears)."""
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


def _running(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, run by another user
        return True
    except OverflowError:  # no such process id can exist
        return False
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files of ``atomic_write_bytes`` in ``folder`` that a process which
    no longer runs left behind (a crash between writing and renaming); returns them.

    Those of this process and of other running ones are kept: another process on the same data
    directory (a server beside a ``qa ingest``) may be writing one at this moment.
    """
    removed: list[Path] = []
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.is_file()]
    except FileNotFoundError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and not _running(pid):
            path = folder / name
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class FlatIndex:
    """Exact nearest-neighbour search by cosine similarity over a fixed block of vectors.

    Vectors are normalised before they get here, so inner product = cosine on unit vectors. A
    vector's id is its row. The block never changes after construction, which is what lets any
    number of threads search it while writers build the next block beside it.
    """

    def __init__(self, vectors: Vectors) -> None:
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[1] < 1:
            raise ValueError(f"expected a 2-d block of vectors, got shape {vecs.shape}")
        self.dimension = int(vecs.shape[1])
        self._index: Any = faiss.IndexFlatIP(self.dimension)
        if len(vecs):
            self._index.add(vecs)
            # A view of FAISS's own copy: the vectors are held once, not twice.
            self.matrix: Vectors = faiss.rev_swig_ptr(
                self._index.get_xb(), len(vecs) * self.dimension
            ).reshape(len(vecs), self.dimension)
        else:
            self.matrix = np.zeros((0, self.dimension), dtype=np.float32)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def to_bytes(self) -> bytes:
        """The FAISS index, serialised."""
        return bytes(faiss.serialize_index(self._index))

    def search(
        self, vector: Vectors, k: int, selector: Any | None = None
    ) -> tuple[Ids, npt.NDArray[np.float32]]:
        """Rows and cosines of the ``k`` nearest vectors, best first, among those the FAISS
        ``selector`` lets through (all when None)."""
        k = min(k, len(self))
        if k < 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        params = None if selector is None else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, rows = self._index.search(query, k, params=params)
        found = rows[0] != -1
        return rows[0][found].astype(np.int64), scores[0][found]


def bitmap_selector(mask: npt.NDArray[np.bool_]) -> tuple[Any, npt.NDArray[np.uint8]]:
    """A FAISS selector letting through the rows where ``mask`` is true, and the bit array it
    reads (keep that alive as long as the selector is used)."""
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)), bits


def batch_selector(rows: Ids) -> Any:
    """A FAISS selector letting through these rows only."""
    return faiss.IDSelectorBatch(np.ascontiguousarray(rows, dtype=np.int64))
