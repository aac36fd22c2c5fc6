"""The peer comparison's own logic: passages, abstract rankings, scores, our side end to end with
the fake embedder. Nothing here needs txtai."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.peer import (
    PeerReport,
    Row,
    TimedEmbedder,
    abstract_ranking,
    interleaved_searches,
    judged_within,
    our_index,
    our_searchers,
    passages_of,
    quality,
    txtai_version,
)
from evaluation.datasets import EvalQuery, load_beir
from index.corpus import IndexConfig
from index.models import Article
from qa.retrieve import Retriever
from tests.conftest import write_beir
from tests.fakes import FakeEmbedder

LONG = " ".join(f"Sentence number {i} talks about bees and pollen." for i in range(30))


def test_passages_are_the_indexed_texts_with_their_abstract() -> None:
    articles = [
        Article(id="a", title="Bees", text=LONG),
        Article(id="b", title="Rail", text="The new line opened. Trains run hourly."),
    ]
    passages = passages_of(articles, IndexConfig())
    assert passages.article_ids[0] == "a" and passages.article_ids[-1] == "b"
    assert passages.article_ids.count("a") > 1  # the long abstract is cut
    assert passages.texts[0].startswith("Bees. Sentence number 0")
    assert passages.texts[-1] == "Rail. The new line opened. Trains run hourly."
    cut = [p for a in articles for p in IndexConfig().passages(a)]
    assert passages.sentences == sum(len(p.sentences) for p in cut)
    assert len(passages.texts) == len(cut)


def test_abstract_ranking_keeps_each_abstract_once_at_its_best_passage() -> None:
    owners = ["a", "a", "b", "c", "c"]
    assert abstract_ranking([4, 0, 3, 1, 2], owners) == ["c", "a", "b"]
    assert abstract_ranking([], owners) == []


def test_judged_within_drops_judgements_outside_the_kept_abstracts() -> None:
    queries = [
        EvalQuery("1", "q1", True, {"a": 1, "z": 1}),
        EvalQuery("2", "q2", True, {"z": 2}),
    ]
    kept = judged_within(queries, ["a", "b"])
    assert [(q.id, dict(q.relevant)) for q in kept] == [("1", {"a": 1})]


def test_quality_is_mean_recall_and_ndcg_at_10() -> None:
    found, gain = quality([["a", "x"], ["y", "b"]], [{"a": 1}, {"b": 1, "c": 1}])
    assert found == pytest.approx((1.0 + 0.5) / 2)
    # the second: b at rank 2 out of an ideal of two relevant at ranks 1 and 2
    second = (1 / 1.5849625) / (1 + 1 / 1.5849625)
    assert gain == pytest.approx((1.0 + second) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="rankings for"):
        quality([["a"]], [])


def test_timed_embedder_splits_passage_and_sentence_calls() -> None:
    timed = TimedEmbedder(FakeEmbedder())
    timed.calls = [1.0, 2.0, 0.5, 0.25]
    assert timed.split() == (1.5, 2.25)
    timed.calls.append(1.0)
    with pytest.raises(ValueError, match="pairs"):
        timed.split()


def test_report_states_times_as_multiples_of_their_floor() -> None:
    report = PeerReport(10, 30, 4, 2, 100, floor_seconds=2.0, query_floor_ms=5.0)
    report.rows.append(Row("ours, dense", 6.0, [10.0, 20.0], 1.0, 0.9))
    report.rows.append(Row("ours, hybrid", None, [5.0, 5.0], 1.0, 1.0))
    table = "\n".join(report.table())
    # p50 and p95 are the harness's nearest-rank percentiles: of two searches, the first and
    # the second.
    assert (
        "| ours, dense | 6.0 s (3.00x) | 10.0 ms (2.00x) | 20.0 ms (4.00x) | 1.000 | 0.900 |"
        in (table)
    )
    assert "| ours, hybrid | (same index) | 5.0 ms (1.00x)" in table


def test_searches_interleave_and_rotate_the_searchers() -> None:
    calls: list[str] = []

    def searcher(name: str) -> Callable[[str], list[str]]:
        def search(text: str) -> list[str]:
            calls.append(f"{name}:{text}")
            return [name, text]

        return search

    queries = [EvalQuery(str(i), f"q{i}", True, {"a": 1}) for i in range(3)]
    measured = interleaved_searches({"x": searcher("x"), "y": searcher("y")}, queries, warm=1)
    assert calls == ["x:q0", "y:q0", "x:q0", "y:q0", "y:q1", "x:q1", "x:q2", "y:q2"]
    timings, rankings = measured["y"]
    assert len(timings) == 3 and all(t >= 0 for t in timings)
    assert rankings == [["y", "q0"], ["y", "q1"], ["y", "q2"]]


def test_our_side_builds_through_the_write_path_and_ranks_abstracts(tmp_path: Path) -> None:
    folder = write_beir(
        tmp_path / "beir",
        docs=[
            ("d1", "Bees and pesticides", "Bees exposed to pesticides forage less."),
            ("d2", "Rail line", "The new rail line opened with twelve trains."),
            ("d3", "Sourdough", "Wild yeast ferments the flour and the bread rises."),
        ],
        queries=[("q1", "pesticides and bees"), ("q2", "yeast in bread")],
        qrels=[("q1", "d1"), ("q2", "d3")],
    )
    data = load_beir(folder)
    embedder = FakeEmbedder()
    with our_index(data.articles, embedder, IndexConfig(), tmp_path / "data") as (snap, parts):
        assert snap.article_count == 3
        seconds = dict(parts)
        ingest = seconds["ingest (Corpus.add_articles)"]
        assert ingest >= seconds["  of which the passages' embeddings"]
        searchers = our_searchers(Retriever(embedder), snap, pool=10)
        assert list(searchers) == ["ours, dense", "ours, hybrid"]
        measured = interleaved_searches(searchers, data.queries)
    for _, rankings in measured.values():
        assert sorted(rankings[0]) == ["d1", "d2", "d3"]
        found, _ = quality(rankings, [q.relevant for q in data.queries])
        assert found == 1.0  # three abstracts: all of them are in every top ten
    assert measured["ours, hybrid"][1][0][0] == "d1"


def test_a_missing_txtai_is_named_with_its_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    def absent(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", absent)
    with pytest.raises(RuntimeError, match=r"txtai is not installed: pip install -e '\.\[peer\]'"):
        txtai_version()
