"""Per-segment vector indexes: exact while a segment is small, an HNSW graph beyond the
configured size; filters and deletions answered as exact search would; the kind recorded in
the checkpoint and read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index.corpus import MANIFEST_FILE, Corpus, IndexConfig
from index.merge import MergePolicy
from index.models import Article, Passage
from index.segment import ArticleRows, Segment
from index.snapshot import SegmentState, Snapshot
from index.vectors import (
    EXACT_ROWS,
    FLAT,
    HNSW,
    FlatIndex,
    HNSWIndex,
    build_index,
    exact_search,
    index_from_bytes,
)
from tests.fakes import FakeEmbedder

DIMENSION = 32
RECALL_BAR = 0.95  # recall@10 of the graph against exact search, on clustered data


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, seed: int = 0, centres: int = 50) -> np.ndarray:
    """Unit vectors drawn around random centres with noise (a stand-in for embeddings of
    passages on a few topics)."""
    middle = unit(np.random.default_rng(0).standard_normal((centres, DIMENSION)))  # shared
    rng = np.random.default_rng(1000 + seed)
    noise = rng.standard_normal((n, DIMENSION)) / np.sqrt(DIMENSION)
    return unit(middle[rng.integers(0, centres, n)] + noise)


def exact_top(matrix: np.ndarray, query: np.ndarray, k: int, rows: np.ndarray) -> list[int]:
    """The ``k`` best rows by brute force, the long way."""
    scores = matrix[rows] @ query
    return [int(r) for r in rows[np.argsort(-scores, kind="stable")[:k]]]


def segment_of(vectors: np.ndarray, exact_below: int | None) -> Segment:
    """A segment of one-passage articles ``a0``, ``a1``, ... holding these vectors."""
    rows = []
    for i, vector in enumerate(vectors):
        article = Article(id=f"a{i}", title="", text="")
        passage = Passage(id=f"a{i}:0", article_id=f"a{i}", ordinal=0, start=0, end=1, text="x")
        rows.append(
            ArticleRows(article, [i + 1], [passage], vector[None, :], [vector[None, :]], [["x"]])
        )
    return Segment.build(rows, DIMENSION, exact_below=exact_below)


def no_tokens(article: Article, passage: Passage) -> list[str]:
    return ["x"]


def test_flat_below_the_threshold_and_hnsw_from_it() -> None:
    vectors = clustered(200)
    assert build_index(vectors[:199], exact_below=200).kind == FLAT
    assert build_index(vectors, exact_below=200).kind == HNSW
    assert build_index(vectors, exact_below=None).kind == FLAT  # a write's segment
    assert segment_of(vectors, exact_below=200).vectors.kind == HNSW


def test_hnsw_keeps_the_exact_vectors_once() -> None:
    vectors = clustered(500)
    index = HNSWIndex(vectors)
    assert np.array_equal(index.matrix, vectors)
    assert not index.matrix.flags.owndata  # a view of the graph's own storage


def test_hnsw_recall_against_exact_search_on_clustered_vectors() -> None:
    vectors = clustered(20_000)
    queries = clustered(200, seed=1)
    index = HNSWIndex(vectors)
    everything = np.arange(len(vectors))
    recall = []
    for query in queries:
        rows, scores = index.search(query, 10)
        truth = exact_top(vectors, query, 10, everything)
        recall.append(len(set(rows.tolist()) & set(truth)) / 10)
        assert scores == pytest.approx(vectors[rows] @ query, abs=1e-5)  # cosines
    assert np.mean(recall) >= RECALL_BAR


def test_deleted_rows_never_come_back() -> None:
    vectors = clustered(10_000)
    segment = segment_of(vectors, exact_below=1000)
    assert segment.vectors.kind == HNSW
    query = vectors[7]
    order = np.argsort(-(vectors @ query))
    scattered = np.random.default_rng(3).permutation(len(vectors))[:3000]
    # Through the graph: 30 % deleted at random (a merge rewrites the segment beyond that);
    # compared one by one: all but the 100 passages farthest from the query deleted.
    for dead, exact in ((scattered, False), (order[:9900], True)):
        state = SegmentState(segment).without([f"a{i}" for i in dead], no_tokens)
        assert segment.vectors.exact_for(state.live_passages) == exact
        slots, _ = Snapshot(1, [state], DIMENSION).dense_search(query, 10)
        assert len(slots) == 10 and not set(slots.tolist()) & set(dead.tolist())
        truth = exact_top(vectors, query, 10, np.flatnonzero(state.live))
        if exact:  # few live rows: compared one by one
            assert slots.tolist() == truth
        else:
            assert len(set(slots.tolist()) & set(truth)) >= 9


@pytest.mark.parametrize("allowed", [1, 10, 300, EXACT_ROWS])
def test_selective_filters_return_the_exact_answer(allowed: int) -> None:
    vectors = clustered(6000)
    segment = segment_of(vectors, exact_below=1000)
    assert segment.vectors.kind == HNSW
    snapshot = Snapshot(1, [SegmentState(segment)], DIMENSION)
    rng = np.random.default_rng(allowed)
    for query in clustered(20, seed=2):
        rows = np.sort(rng.choice(len(vectors), allowed, replace=False))
        slots, scores = snapshot.dense_search(query, 10, rows)
        assert slots.tolist() == exact_top(vectors, query, 10, rows)
        assert scores == pytest.approx(vectors[slots] @ query, abs=1e-5)


def test_a_wide_filter_goes_through_the_graph_and_stays_inside_it() -> None:
    vectors = clustered(20_000)
    index = HNSWIndex(vectors)
    rows = np.arange(0, len(vectors), 2)  # half the rows: too many to compare one by one
    assert not index.exact_for(len(rows))
    for query in clustered(20, seed=3):
        found, _ = index.search_rows(query, 10, rows)
        assert len(found) == 10 and set(found.tolist()) <= set(rows.tolist())


def test_exact_search_over_rows() -> None:
    vectors = clustered(100)
    query = vectors[3]
    rows = np.array([90, 3, 50, 4], dtype=np.int64)
    found, scores = exact_search(vectors, query, 10, rows)
    assert found.tolist() == exact_top(vectors, query, 10, rows)
    assert found[0] == 3 and scores[0] == pytest.approx(1.0)


def test_bytes_round_trip_keeps_kind_and_parameters() -> None:
    vectors = clustered(2000)
    graph = HNSWIndex(vectors)
    back = index_from_bytes(graph.to_bytes(), graph.description)
    assert isinstance(back, HNSWIndex) and back.params == graph.params
    assert np.array_equal(back.matrix, vectors)
    assert back.search(vectors[5], 10)[0].tolist() == graph.search(vectors[5], 10)[0].tolist()
    flat = FlatIndex(vectors)
    assert index_from_bytes(flat.to_bytes(), None).kind == FLAT  # no kind recorded: flat
    with pytest.raises(ValueError):
        index_from_bytes(flat.to_bytes(), graph.description)  # not the kind it claims


def news(i: int) -> Article:
    topics = ["harbour cranes", "rail strike", "wheat harvest", "bank rates", "river flood"]
    topic = topics[i % len(topics)]
    return Article(
        id=f"a{i}",
        title=f"Report {i} on {topic}",
        text=f"Report {i} on the {topic}: officials counted {i * 7} cases.\n\n"
        f"Local people said the {topic} changed their week number {i}.",
    )


def open_corpus(path: Path, embedder: FakeEmbedder, exact_below: int) -> Corpus:
    return Corpus(
        path,
        embedder.name,
        embedder.dimension,
        IndexConfig(exact_below=exact_below),
        refresh_seconds=0,
        merge_policy=MergePolicy(factor=2, base=8),
    )


def ranked(corpus: Corpus, embedder: FakeEmbedder) -> list[list[int]]:
    snapshot = corpus.snapshot
    questions = ["cranes in the harbour", "bank rates rise", "week number 12"]
    return [snapshot.dense_search(embedder.embed_query(q), 8)[0].tolist() for q in questions]


def test_merged_segments_get_the_graph_recorded_in_the_manifest_and_reopened(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    corpus = open_corpus(tmp_path, embedder, exact_below=40)
    for i in range(0, 60, 4):
        corpus.add_articles([news(j) for j in range(i, i + 4)], embedder)
        assert all(s.segment.vectors.kind == FLAT for s in corpus.snapshot.states[-1:])
        while corpus.merge():
            pass
    kinds = [(len(s.segment), s.segment.vectors.kind) for s in corpus.snapshot.states]
    assert any(kind == HNSW for _, kind in kinds)
    assert all((kind == HNSW) == (n >= 40) for n, kind in kinds)
    before = ranked(corpus, embedder)
    corpus.close()  # writes a checkpoint

    entries = json.loads((tmp_path / MANIFEST_FILE).read_text())["segments"]
    assert [e["index"]["kind"] for e in entries] == [kind for _, kind in kinds]
    graph = next(e for e in entries if e["index"]["kind"] == HNSW)
    assert graph["index"]["m"] > 0 and graph["index"]["ef_search"] > 0

    # Reopened with another threshold: each segment keeps the kind it was saved with.
    reopened = open_corpus(tmp_path, embedder, exact_below=1_000_000)
    states = reopened.snapshot.states
    assert [s.segment.name for s in states] == [e["name"] for e in entries]
    assert [s.segment.vectors.kind for s in states] == [kind for _, kind in kinds]
    assert ranked(reopened, embedder) == before
    reopened.close()


def test_a_manifest_entry_without_a_kind_loads_as_flat(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    corpus = open_corpus(tmp_path, embedder, exact_below=20_000)
    corpus.add_articles([news(i) for i in range(6)], embedder)
    before = ranked(corpus, embedder)
    corpus.close()
    path = tmp_path / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    for entry in manifest["segments"]:
        del entry["index"]  # as written before segments had kinds
    path.write_text(json.dumps(manifest))

    reopened = open_corpus(tmp_path, embedder, exact_below=20_000)
    states = reopened.snapshot.states
    # The checkpoint was used (the segments kept their names), not rebuilt from the database.
    assert [s.segment.name for s in states] == [e["name"] for e in manifest["segments"]]
    assert [s.segment.vectors.kind for s in states] == [FLAT] * len(states)
    assert ranked(reopened, embedder) == before
    reopened.close()
