"""Metrics, dataset loaders and the evaluator on tiny datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.datasets import (
    Conversation,
    Dataset,
    EvalQuery,
    load_beir,
    load_gold,
    load_recency,
    load_squad,
)
from evaluation.metrics import Evaluator, followup_recall, ndcg, recall, reciprocal_rank, refusal
from evaluation.runs import EVAL_DIR
from index.corpus import Corpus
from qa.answer import Answerer
from qa.refusal import RefusalModel
from qa.retrieve import Retriever
from tests.conftest import FIVE_ARTICLES, SEED, write_beir
from tests.fakes import FakeEmbedder


def test_metrics_on_a_known_ranking() -> None:
    ranked = ["a", "b", "c", "d"]
    relevant = {"b": 1, "d": 1}
    assert recall(ranked, relevant, 1) == 0.0
    assert recall(ranked, relevant, 2) == 0.5
    assert recall(ranked, relevant, 4) == 1.0
    assert reciprocal_rank(ranked, relevant, 10) == 0.5
    ideal = 1 + 1 / 1.584962500721156
    assert ndcg(ranked, relevant, 10) == pytest.approx(
        (1 / 1.584962500721156 + 1 / 2.321928) / ideal, rel=1e-5
    )
    assert ndcg(["b", "d"], relevant, 10) == pytest.approx(1.0)
    assert ndcg(ranked, {}, 10) == 0.0


def test_load_beir(tmp_path: Path) -> None:
    write_beir(
        tmp_path,
        docs=[("d1", "T1", "Text one."), ("d2", "", "Text two.")],
        queries=[("q1", "one?"), ("q2", "x")],
        qrels=[("q1", "d1")],
    )
    data = load_beir(tmp_path)
    assert [a.id for a in data.articles] == ["d1", "d2"]
    assert data.articles[1].title == "d2"
    assert [(q.id, dict(q.relevant)) for q in data.queries] == [("q1", {"d1": 1})]


def test_load_squad(tmp_path: Path) -> None:
    path = tmp_path / "squad.json"
    path.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "title": "Space_Race",
                        "paragraphs": [
                            {
                                "context": "The race began in 1957.",
                                "qas": [
                                    {
                                        "id": "a",
                                        "question": "When did it begin?",
                                        "is_impossible": False,
                                        "answers": [
                                            {"text": "1957", "answer_start": 18},
                                            {"text": "1957", "answer_start": 18},
                                        ],
                                    },
                                    {
                                        "id": "b",
                                        "question": "Who lost?",
                                        "is_impossible": True,
                                        "answers": [],
                                    },
                                ],
                            }
                        ],
                    }
                ]
            }
        )
    )
    data = load_squad(path)
    [article] = data.articles
    assert (article.id, article.title) == ("space-race-0", "Space Race")
    assert data.queries[0].answers == ("1957",) and data.queries[0].relevant == {"space-race-0": 1}
    assert not data.queries[1].answerable and not data.queries[1].relevant


def test_load_gold_reads_the_bundled_set() -> None:
    gold = EVAL_DIR / "gold" / "diplomat.jsonl"
    data = load_gold(gold, SEED)
    answerable = [q for q in data.queries if q.answerable]
    assert len(answerable) >= 40 and len(data.queries) - len(answerable) >= 15
    text = data.articles[0].text
    assert all(any(span in text for span in q.answers) for q in answerable)
    assert all(q.kind for q in data.queries)  # every question labelled with its answer type


def test_load_recency_reads_stories_told_twice() -> None:
    data = load_recency(EVAL_DIR / "recency")
    texts = {a.id: a.text for a in data.articles}
    dates = {a.id: a.published for a in data.articles}
    assert data.kind == "recency" and len(data.queries) >= 30
    for query in data.queries:
        (newer,) = query.relevant
        assert any(span in texts[newer] for span in query.answers)
        assert all(span not in texts[newer] for span in query.stale)
    assert all(dates[a.id] for a in data.articles)


def test_answer_scores_per_labelled_type_and_stale_sentences(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    always = RefusalModel(weights=(0.0, 0.0, 0.0, 0.0), bias=10.0, threshold=0.5)
    answerer = Answerer(corpus, Retriever(embedder), refusal=always)
    bread = next(a for a in FIVE_ARTICLES if a.id == "bread")
    first = bread.text.split(".")[0]
    queries = [
        EvalQuery("1", "sourdough wild yeast flour", True, {"bread": 1}, (first,), "other"),
        EvalQuery(
            "2",
            "sourdough wild yeast flour",
            True,
            {"bread": 1},
            ("no such words",),
            "place",
            stale=(first,),
        ),
    ]
    scores = Evaluator(answerer, Dataset("five", "recency", list(FIVE_ARTICLES), queries))
    result = scores.answers()
    assert sorted(result.by_type) == ["other", "place"]
    assert result.by_type["other"].sentence_holds == 1.0
    assert result.by_type["place"].sentence_holds == 0.0
    assert result.by_type["place"].sentence_stale == 1.0
    assert result.cited_first == 1.0 and result.answered == 1.0


def test_evaluator_on_five_articles(corpus: Corpus, embedder: FakeEmbedder) -> None:
    always = RefusalModel(weights=(0.0, 0.0, 0.0, 0.0), bias=10.0, threshold=0.5)
    answerer = Answerer(corpus, Retriever(embedder), refusal=always)
    queries = [
        EvalQuery("1", "sourdough wild yeast flour", True, {"bread": 1}),
        EvalQuery("2", "chess final draw six hours", True, {"chess": 1}),
        EvalQuery("3", "nothing", False),
    ]
    evaluator = Evaluator(answerer, Dataset("five", "beir", list(FIVE_ARTICLES), queries))
    scores = evaluator.retrieval("hybrid")
    assert scores.queries == 2
    assert scores.recall[1] == 1.0 and scores.ndcg_at_10 == 1.0 and scores.mrr_at_10 == 1.0
    diversity = evaluator.diversity(cap=1, k=3)
    assert diversity.distinct_articles == 3.0 and diversity.article_recall == 1.0
    result = refusal(answerer, ["sourdough yeast"], ["quantum"])
    assert (result.recall, result.false_refusals, result.precision) == (0.0, 0.0, None)


def test_followup_recall_reads_each_turn_after_the_one_before(
    corpus: Corpus, embedder: FakeEmbedder
) -> None:
    conversation = Conversation(
        id="volcano",
        questions=("Who evacuated the residents before the eruption?", "Why?"),
        answers=("civil protection agency",),
    )
    answerer = Answerer(corpus, Retriever(embedder))
    scores = followup_recall(
        answerer, [conversation], FIVE_ARTICLES[0].text, min_specificity=100.0, k=1
    )
    assert (scores.conversations, scores.with_history) == (1, 1.0)


def test_span_scores_follow_squad() -> None:
    from evaluation.metrics import exact_match, token_f1

    assert exact_match("the Jiang Zaidong", "Jiang Zaidong.")
    assert not exact_match("Jiang", "Jiang Zaidong")
    assert token_f1("Jiang", "Jiang Zaidong") == pytest.approx(2 / 3)
    assert token_f1("Monday", "Jiang Zaidong") == 0.0
