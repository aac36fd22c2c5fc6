"""Index-only figures at scale: the vector index a segment of N passages gets, built and
searched as the engine does (``index.vectors.build_index``), on stand-in vectors.

Two stand-ins for embeddings, reported apart: ``random`` unit vectors (a worst case for graph
and cluster indexes: every vector is about as far from a query as every other) and
``clustered`` unit vectors drawn around a few thousand random centres with noise (neighbours
exist, as they do among real passage embeddings). Searches run one query at a time with FAISS
held to one thread; exact answers come from brute force over the same vectors.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from bench.harness import percentile
from index.arrays import Ids, Vectors
from index.config import IndexConfig, indexed_passages
from index.embed import Embedder
from index.models import Article
from index.sources import read_paths
from index.vectors import HNSWIndex, VectorIndex, batch_selector, build_index, exact_search

KINDS = ("clustered", "random")
CENTRES = 4000  # of the clustered stand-in


def stand_in(kind: str, n: int, dimension: int, seed: int) -> Vectors:
    """``n`` unit vectors of the stand-in ``kind`` (``random`` or ``clustered``), generated
    in blocks so that the float64 intermediates stay small."""
    if kind not in KINDS:
        raise ValueError(f"unknown stand-in {kind!r}; expected one of {', '.join(KINDS)}")
    # The centres are the same for every seed (passages and queries share topics).
    centres = np.random.default_rng(0).standard_normal((CENTRES, dimension), dtype=np.float32)
    rng = np.random.default_rng(1000 + seed)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dimension), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = out[start : start + 100_000]
        block[:] = rng.standard_normal(block.shape, dtype=np.float32)
        if kind == "clustered":
            # Noise of unit length around a unit centre: a passage's cosine to its centre is
            # about 0.7, to another centre about 0.
            block /= np.sqrt(dimension)
            block += centres[rng.integers(0, CENTRES, len(block))]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _graph_top(index: VectorIndex, query: Vectors, rows: Ids | None = None) -> Ids:
    """The index's 10 best rows, among ``rows`` if given (through a FAISS selector, the walk
    not widened)."""
    selector = None if rows is None else batch_selector(rows)
    return index.search(query, 10, selector)[0]


def _rows_top(index: VectorIndex, rows: Ids, query: Vectors) -> Ids:
    """The 10 best of ``rows`` as the engine finds them (``search_rows``)."""
    return index.search_rows(query, 10, rows)[0]


def _exact_top(matrix: Vectors, rows: Ids, query: Vectors) -> Ids:
    """The 10 best of ``rows``, compared one by one (as the engine does for few rows)."""
    return exact_search(matrix, query, 10, rows)[0]


def _brute_top(matrix: Vectors, query: Vectors) -> Ids:
    """The 10 best rows by brute force over all of ``matrix`` (FAISS flat search's kernel)."""
    found: Ids = faiss.knn(query[None, :], matrix, 10, metric=faiss.METRIC_INNER_PRODUCT)[1][0]
    return found


def _percentiles(seconds: Sequence[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return percentile(ms, 50), percentile(ms, 95)


def _timed(
    search: Callable[[Vectors], npt.NDArray[np.int64]], queries: Vectors
) -> tuple[list[float], list[npt.NDArray[np.int64]]]:
    times, found = [], []
    for query in queries:
        start = time.perf_counter()
        rows = search(query)
        times.append(time.perf_counter() - start)
        found.append(rows)
    return times, found


def _recall(found: Sequence[npt.NDArray[np.int64]], truth: npt.NDArray[np.int64]) -> float:
    k = truth.shape[1]
    return float(
        np.mean(
            [len(set(f.tolist()) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)]
        )
    )


def _index_bytes(index: VectorIndex) -> tuple[int, int]:
    """Bytes of the exact vectors, and of the rest of the index (the graph's links)."""
    vectors = int(index.matrix.nbytes)
    if isinstance(index, HNSWIndex):
        hnsw = index._index.hnsw
        links = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        return vectors, int(links)
    return vectors, 0


def peak_rss_mib() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def flat_latency(sizes: Sequence[int], dimension: int = 384, queries: int = 100) -> list[str]:
    """Lines of a table: exact (flat) search p50/p95 of one query by segment size."""
    faiss.omp_set_num_threads(1)
    lines = ["passages | flat p50 ms | flat p95 ms", "---: | ---: | ---:"]
    for n in sizes:
        matrix = stand_in("random", n, dimension, seed=0)
        index = build_index(matrix, exact_below=None)
        del matrix
        probe = stand_in("random", queries, dimension, seed=1)
        times, _ = _timed(partial(_graph_top, index), probe)
        p50, p95 = _percentiles(times)
        lines.append(f"{n:,} | {p50:.2f} | {p95:.2f}")
    return lines


def run(
    passages: int,
    kind: str,
    *,
    dimension: int = 384,
    queries: int = 300,
    ef_searches: Sequence[int] = (),
    filter_shares: Sequence[float] = (),
    build_threads: int = 2,
) -> list[str]:
    """Build the index a segment of ``passages`` stand-in vectors gets and measure it; returns
    report lines (Markdown)."""
    matrix = stand_in(kind, passages, dimension, seed=0)
    probe = stand_in(kind, queries, dimension, seed=1)
    title = f"{passages:,} passages, {kind} stand-in, {dimension}-d"
    return measure(matrix, probe, title, ef_searches, filter_shares, build_threads)


def real_vectors(
    corpus: Path, queries: Path, embedder: Embedder, config: IndexConfig
) -> tuple[Vectors, Vectors]:
    """Passage vectors of the articles in ``corpus`` (read, chunked and embedded as an ingest
    does) and query vectors of the questions in ``queries`` (JSONL, a ``text`` per line)."""
    articles = [item for item in read_paths([corpus]) if isinstance(item, Article)]
    texts = [text for _, _, text in indexed_passages(articles, config)]
    lines = queries.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["text"] for line in lines if line.strip()]
    matrix = embedder.embed_passages(texts)
    probe = np.stack([embedder.embed_query(q) for q in questions])
    return matrix.astype(np.float32), probe.astype(np.float32)


def measure(
    matrix: Vectors,
    probe: Vectors,
    title: str,
    ef_searches: Sequence[int] = (),
    filter_shares: Sequence[float] = (),
    build_threads: int = 2,
) -> list[str]:
    """Build the approximate index of ``matrix`` and measure it with the ``probe`` queries;
    returns report lines (Markdown)."""
    queries = len(probe)
    faiss.omp_set_num_threads(build_threads)
    start = time.perf_counter()
    index = build_index(matrix, exact_below=1)  # the approximate kind, whatever the size
    built = time.perf_counter() - start
    del matrix  # the index holds the vectors (``index.matrix``)
    truth = faiss.knn(probe, index.matrix, 10, metric=faiss.METRIC_INNER_PRODUCT)[1]
    faiss.omp_set_num_threads(1)
    vectors_bytes, extra_bytes = _index_bytes(index)
    lines = [
        f"### {title}",
        "",
        f"- index: {index.description}",
        f"- build: {built:.1f} s with {build_threads} FAISS threads",
        f"- memory: vectors {vectors_bytes / 2**20:,.0f} MiB + graph {extra_bytes / 2**20:,.0f} "
        f"MiB; process peak RSS so far {peak_rss_mib():,.0f} MiB",
        f"- queries: {queries}, one at a time, FAISS on 1 thread; recall@10 against brute force",
        "- load average (1, 5, 15 min) before searching: "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "",
        "search | p50 ms | p95 ms | recall@10",
        "--- | ---: | ---: | ---:",
    ]
    variants: list[tuple[str, VectorIndex]] = [(f"{index.kind} (default)", index)]
    if isinstance(index, HNSWIndex):
        for ef in ef_searches:
            if ef != index.params.ef_search:
                other = HNSWIndex(index.matrix, replace(index.params, ef_search=ef), index._index)
                variants.append((f"{index.kind} efSearch={ef}", other))
    for label, variant in variants:
        times, found = _timed(partial(_graph_top, variant), probe)
        p50, p95 = _percentiles(times)
        lines.append(f"{label} | {p50:.2f} | {p95:.2f} | {_recall(found, truth):.3f}")
    if isinstance(index, HNSWIndex):
        index._index.hnsw.efSearch = index.params.ef_search  # the variants shared the graph
    flat_probe = probe[: min(queries, 30)]
    times, _ = _timed(partial(_brute_top, index.matrix), flat_probe)
    p50, p95 = _percentiles(times)
    lines.append(f"flat (exact, brute force) | {p50:.2f} | {p95:.2f} | 1.000")
    if filter_shares:
        lines += [
            "",
            "filter: share allowed (rows) | graph, plain efSearch: p50 ms | recall@10 | "
            "engine (search_rows): p50 ms | recall@10 | engine's way",
            "--- | ---: | ---: | ---: | ---: | ---",
        ]
        rng = np.random.default_rng(2)
        few = probe[: min(queries, 50)]
        for share in filter_shares:
            count = max(1, int(share * len(index)))
            rows = np.sort(rng.choice(len(index), count, replace=False))
            exact = np.asarray([_exact_top(index.matrix, rows, q) for q in few])
            plain_times, plain_found = _timed(partial(_graph_top, index, rows=rows), few)
            engine_times, engine_found = _timed(partial(_rows_top, index, rows), few)
            way = "exact" if index.exact_for(count) else "graph, wider walk"
            lines.append(
                f"{share:g} ({count:,}) | {_percentiles(plain_times)[0]:.2f} | "
                f"{_recall(plain_found, exact):.3f} | {_percentiles(engine_times)[0]:.2f} | "
                f"{_recall(engine_found, exact):.3f} | {way}"
            )
    lines += ["", f"process peak RSS: {peak_rss_mib():,.0f} MiB", ""]
    return lines
