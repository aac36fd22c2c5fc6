"""The dense vector index: FAISS inner product over unit vectors, one index per segment: flat
(exact) while a segment is small, an HNSW graph (approximate) once comparing every vector costs
more than a few milliseconds."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.arrays import Ids, Vectors

try:
    import faiss
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the vector index needs FAISS: pip install faiss-cpu==1.15.1") from exc


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


FLAT = "flat"
HNSW = "hnsw"

# A filter on an approximate index letting through up to this many rows, or up to this share
# of them, is answered exactly (docs/PERFORMANCE.md, "An index that fits the corpus"): compared
# one by one, 5,000 rows cost about 3 ms, while a graph walk that must skip most nodes it
# reaches misses true neighbours.
EXACT_ROWS = 5000
EXACT_SHARE = 0.1
# A wider filter widens the walk (efSearch / share of rows allowed), up to this.
MAX_EF_SEARCH = 1024


@dataclass(frozen=True)
class HNSWParams:
    """How an HNSW graph is built and walked (chosen by measurement: docs/PERFORMANCE.md, "An
    index that fits the corpus")."""

    m: int = 16  # neighbours per node
    ef_construction: int = 64  # candidates kept while inserting
    ef_search: int = 256  # candidates kept while searching: recall@10 0.95 at 1M passages


def _block(vectors: Vectors) -> Vectors:
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    if vecs.ndim != 2 or vecs.shape[1] < 1:
        raise ValueError(f"expected a 2-d block of vectors, got shape {vecs.shape}")
    return vecs


def _view(flat: Any) -> Vectors:
    """The vectors a FAISS flat index holds, as an array over its own memory: held once, not
    twice (valid while the index lives)."""
    n, d = int(flat.ntotal), int(flat.d)
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    view: Vectors = faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)
    return view


def exact_search(
    matrix: Vectors, vector: Vectors, k: int, rows: Ids
) -> tuple[Ids, npt.NDArray[np.float32]]:
    """Rows and cosines of the ``k`` of these ``rows`` of ``matrix`` nearest ``vector``, best
    first, compared one by one."""
    k = min(k, len(rows))
    if k < 1:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    rows = np.asarray(rows, dtype=np.int64)
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    scores = matrix[rows] @ query
    top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    top = top[np.argsort(-scores[top], kind="stable")]
    return rows[top], scores[top].astype(np.float32, copy=False)


class VectorIndex:
    """Nearest-neighbour search by cosine similarity over a fixed block of vectors.

    Vectors are normalised before they get here, so inner product = cosine on unit vectors. A
    vector's id is its row. The block never changes after construction, which is what lets any
    number of threads search it while writers build the next block beside it. ``matrix`` holds
    the exact vectors (merges, the corpus centroid and exact searches read them).
    """

    kind: str
    dimension: int
    matrix: Vectors
    _index: Any

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def description(self) -> dict[str, Any]:
        """The kind and parameters, as recorded in a checkpoint's manifest entry."""
        return {"kind": self.kind}

    def to_bytes(self) -> bytes:
        """The FAISS index, serialised."""
        return bytes(faiss.serialize_index(self._index))

    def exact_for(self, allowed: int) -> bool:
        """Whether a search among this many allowed rows is answered by comparing them one by
        one rather than through the index (never for an index that is exact anyway)."""
        return False

    def search(
        self, vector: Vectors, k: int, selector: Any | None = None, allowed: int | None = None
    ) -> tuple[Ids, npt.NDArray[np.float32]]:
        """Rows and cosines of the ``k`` nearest vectors, best first, among those the FAISS
        ``selector`` lets through (all when None); ``allowed`` says how many it lets through
        (an approximate index needs it to search a filter well)."""
        return self._search(self._index, vector, k, self._params(selector, allowed))

    def _params(self, selector: Any | None, allowed: int | None) -> Any | None:
        return None if selector is None else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]

    def _search(
        self, index: Any, vector: Vectors, k: int, params: Any | None
    ) -> tuple[Ids, npt.NDArray[np.float32]]:
        k = min(k, len(self))
        if k < 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        scores, rows = index.search(query, k, params=params)
        found = rows[0] != -1
        return rows[0][found].astype(np.int64), scores[0][found]

    def search_rows(
        self, vector: Vectors, k: int, rows: Ids
    ) -> tuple[Ids, npt.NDArray[np.float32]]:
        """Like ``search``, among these rows only (sorted, distinct)."""
        return self.search(vector, k, batch_selector(rows), len(rows))


class FlatIndex(VectorIndex):
    """Exact search: FAISS ``IndexFlatIP``, every vector compared with the query."""

    kind = FLAT

    def __init__(self, vectors: Vectors, index: Any | None = None) -> None:
        if index is None:
            vecs = _block(vectors)
            index = faiss.IndexFlatIP(int(vecs.shape[1]))
            if len(vecs):
                index.add(vecs)
        self._index = index
        self.dimension = int(index.d)
        self.matrix = _view(index)


class HNSWIndex(VectorIndex):
    """Approximate search: a FAISS ``IndexHNSWFlat`` graph over the exact vectors (inner
    product), for segments too large to compare every vector with each query."""

    kind = HNSW

    def __init__(
        self,
        vectors: Vectors,
        params: HNSWParams | None = None,
        index: Any | None = None,
    ) -> None:
        self.params = params or HNSWParams()
        if index is None:
            vecs = _block(vectors)
            index = faiss.IndexHNSWFlat(
                int(vecs.shape[1]), self.params.m, faiss.METRIC_INNER_PRODUCT
            )
            index.hnsw.efConstruction = self.params.ef_construction
            if len(vecs):
                index.add(vecs)
        index.hnsw.efSearch = self.params.ef_search
        self._index = index
        self._storage = faiss.downcast_index(index.storage)  # the exact vectors, flat
        self.dimension = int(index.d)
        self.matrix = _view(self._storage)

    @property
    def description(self) -> dict[str, Any]:
        """The kind and parameters, as recorded in a checkpoint's manifest entry."""
        return {"kind": self.kind, **asdict(self.params)}

    def exact_for(self, allowed: int) -> bool:
        """Whether a search among this many allowed rows is answered exactly: few rows cost
        little to compare one by one, and a graph walk that must skip most of the nodes it
        reaches finds fewer true neighbours."""
        return allowed <= max(EXACT_ROWS, EXACT_SHARE * len(self))

    def search(
        self, vector: Vectors, k: int, selector: Any | None = None, allowed: int | None = None
    ) -> tuple[Ids, npt.NDArray[np.float32]]:
        """Rows and cosines of (about) the ``k`` nearest vectors, best first, among those the
        FAISS ``selector`` lets through (all when None); exact when ``allowed``, the number it
        lets through, is small (``exact_for``), through the graph otherwise."""
        if selector is not None and self.exact_for(len(self) if allowed is None else allowed):
            # The graph's own flat storage, filtered: exact, and each vector is read once.
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            return self._search(self._storage, vector, k, params)
        return self._search(self._index, vector, k, self._params(selector, allowed))

    def _params(self, selector: Any | None, allowed: int | None) -> Any | None:
        ef = self.params.ef_search
        if selector is not None and allowed:
            # A walk through a filter skips the rows it does not let through: widen it.
            ef = min(max(ef, int(ef * len(self) / allowed)), MAX_EF_SEARCH)
        # Explicit parameters replace the index's own, efSearch included.
        return faiss.SearchParametersHNSW(sel=selector, efSearch=ef)  # type: ignore[attr-defined]

    def search_rows(
        self, vector: Vectors, k: int, rows: Ids
    ) -> tuple[Ids, npt.NDArray[np.float32]]:
        """Like ``search``, among these rows only (sorted, distinct): few are compared one by
        one, more through a bitmap of the allowed rows."""
        if len(rows) <= EXACT_ROWS:
            return exact_search(self.matrix, vector, k, rows)
        mask = np.zeros(len(self), dtype=bool)
        mask[rows] = True
        selector, bits = bitmap_selector(mask)
        found = self.search(vector, k, selector, len(rows))
        del bits  # read by the selector until here
        return found


def build_index(vectors: Vectors, exact_below: int | None = None) -> VectorIndex:
    """An index of these vectors: flat (exact) below ``exact_below`` vectors or when it is
    None, HNSW (approximate) from there on."""
    if exact_below is not None and len(vectors) >= exact_below:
        return HNSWIndex(vectors)
    return FlatIndex(vectors)


def index_from_bytes(data: bytes, description: dict[str, Any] | None) -> VectorIndex:
    """The index ``to_bytes`` wrote, of the kind its ``description`` names (None, as in a
    checkpoint written before indexes had kinds: flat). Raises ``ValueError`` when the bytes
    are not such an index."""
    described = dict(description or {"kind": FLAT})
    kind = described.pop("kind", None)
    index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    if kind == FLAT and isinstance(index, faiss.IndexFlatIP):
        return FlatIndex(np.zeros((0, index.d), dtype=np.float32), index=index)
    if kind == HNSW and isinstance(index, faiss.IndexHNSWFlat):
        try:
            params = HNSWParams(**described)
        except TypeError as exc:
            raise ValueError(f"unknown HNSW parameters {described}") from exc
        return HNSWIndex(np.zeros((0, index.d), dtype=np.float32), params, index=index)
    raise ValueError(f"expected a {kind} index, found {type(index).__name__}")


def bitmap_selector(mask: npt.NDArray[np.bool_]) -> tuple[Any, npt.NDArray[np.uint8]]:
    """A FAISS selector letting through the rows where ``mask`` is true, and the bit array it
    reads (keep that alive as long as the selector is used)."""
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)), bits


def batch_selector(rows: Ids) -> Any:
    """A FAISS selector letting through these rows only."""
    return faiss.IDSelectorBatch(np.ascontiguousarray(rows, dtype=np.int64))
